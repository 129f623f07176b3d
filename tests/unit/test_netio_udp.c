/*
 * The network probe's UDP half: the datagram header codec, and the real responder on
 * libvirt's event loop (this thread, as in the daemon) against the real probe client (another
 * thread, standing in for the guest) and hostile raw datagrams, on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "check.h"
#include "collectors/guest/netio.h"
#include "daemon/util/buf.h"
#include "daemon/util/log.h"
#include "probes/netclient.h"
#include "vmscale/clock.h"
#include "vmscale/netudp.h"
#include "vmscale/protocol.h"

#define OWNER "6f1c3a52-1d0e-4c1b-9a57-3f0e2b7c9d11"
#define RATE (4u << 20) /* bytes/s per burst */

static void
test_codec(void)
{
	unsigned char b[VMS_UDP_HEADER + 8];
	struct vms_udp_header h = {.flags = VMS_UDP_FLAG_LAST,
	                           .id = 0x0102030405060708ull,
	                           .seq = 41,
	                           .count = 42},
	                      o;
	vms_udp_header_encode(b, &h);
	CHECK(memcmp(b, "vmsU\x01\x01\0\0\x01\x02\x03\x04\x05\x06\x07\x08\0\0\0\x29\0\0\0\x2a",
	             VMS_UDP_HEADER) == 0);
	CHECK(vms_udp_header_decode(b, sizeof(b), &o));
	CHECK(o.id == h.id && o.seq == 41 && o.count == 42 && o.flags == VMS_UDP_FLAG_LAST);
	CHECK(!vms_udp_header_decode(b, VMS_UDP_HEADER - 1, &o)); /* short */
	unsigned char bad[VMS_UDP_HEADER];
	struct {
		size_t at;
		unsigned char v;
	} breaks[] = {{0, 'V'}, {4, 2}, {5, 2}, {6, 1}, {7, 1}, {19, 42}, {23, 0}};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		memcpy(bad, b, sizeof(bad));
		bad[breaks[i].at] = breaks[i].v;
		if (!CHECK(!vms_udp_header_decode(bad, sizeof(bad), &o)))
			fprintf(stderr, "  byte %zu = %u accepted\n", breaks[i].at, breaks[i].v);
	}
	h.seq = 0;
	h.count = VMS_UDP_MAX_COUNT + 1;
	vms_udp_header_encode(b, &h);
	CHECK(!vms_udp_header_decode(b, sizeof(b), &o));
	h.count = VMS_UDP_MAX_COUNT;
	vms_udp_header_encode(b, &h);
	CHECK(vms_udp_header_decode(b, sizeof(b), &o) && o.count == VMS_UDP_MAX_COUNT);
}

/* A port free for TCP and UDP on loopback, for a moment. */
static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static void
on_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void
pump(unsigned ms)
{
	uint64_t end = vms_monotonic_ns() + ms * NS_PER_MS;
	while (vms_monotonic_ns() < end)
		virEventRunDefaultImpl();
}

struct client {
	const char *addr; /* NULL: 127.0.0.1 */
	bool tcp;         /* a TCP receive of 1 KiB (proves the address), not a UDP burst */
	unsigned port;
	char token[VMS_TOKEN_LEN + 1];
	uint64_t id;
	uint32_t block, count;
	uint64_t bytes;
	unsigned max_ms;
	struct vmsp_result r;
	atomic_bool done;
};

static void *
client_main(void *arg)
{
	struct client *c = arg;
	const char *addr = c->addr ? c->addr : "127.0.0.1";
	if (c->tcp)
		vmsp_net_measure(addr, c->port, c->token, false, 1024, 1024, 1000, &c->r);
	else
		vmsp_udp_measure(addr, c->port, c->token, c->id, c->block, c->bytes, c->max_ms,
		                 &c->r, &c->count);
	atomic_store(&c->done, true);
	return NULL;
}

static void
run_client(struct client *c)
{
	pthread_t th;
	atomic_store(&c->done, false);
	if (pthread_create(&th, NULL, client_main, c) != 0) {
		CHECK(!"pthread_create");
		return;
	}
	while (!atomic_load(&c->done))
		virEventRunDefaultImpl();
	pthread_join(th, NULL);
}

static void
grant(struct vms_netio *n, char token[VMS_TOKEN_LEN + 1], const char *owner, uint64_t max_bytes,
      unsigned max_conns, unsigned valid_ms)
{
	CHECK_INT(vms_token_new(token), 0);
	CHECK_INT(vms_netio_grant(n, token, owner, max_bytes, max_conns,
	                          vms_monotonic_ns() + valid_ms * NS_PER_MS),
	          0);
}

/* A TCP transfer presenting token from 127.0.0.1 to addr: the address a UDP burst may go to
 * (it uses one of the grant's connections). */
static void
prove(unsigned port, const char *token, const char *addr)
{
	struct client c = {.addr = addr, .tcp = true, .port = port};
	snprintf(c.token, sizeof(c.token), "%s", token);
	run_client(&c);
	if (!CHECK_INT(c.r.err, 0))
		fprintf(stderr, "  TCP proof: %s\n", c.r.why ? c.r.why : "?");
}

static struct vms_netio_stats
stats(const struct vms_netio *n)
{
	struct vms_netio_stats st;
	vms_netio_get_stats(n, &st);
	return st;
}

/* A burst on loopback: everything arrives, at no more than the pace. */
static void
test_burst(struct vms_netio *n, unsigned port)
{
	struct client c = {
	    .port = port, .id = 7, .block = 1024, .bytes = 512 * 1024, .max_ms = 1000};
	grant(n, c.token, OWNER, c.bytes, 5, 10000);
	prove(port, c.token, NULL);
	uint64_t t0 = vms_monotonic_ns();
	run_client(&c);
	if (!CHECK_INT(c.r.err, 0))
		fprintf(stderr, "  %s\n", c.r.why ? c.r.why : "?");
	CHECK_INT(c.count, 512);
	CHECK_INT(c.r.ops, 512);
	CHECK(c.r.bytes == 511 * 1024ull);
	/* 512 KiB at 4 MiB/s: 125 ms; the host never runs ahead of its pace. */
	double secs = (double)(c.r.end_ns - c.r.start_ns) / 1e9;
	CHECK(secs >= 511.0 * 1024 / RATE * 0.95);
	CHECK(vms_monotonic_ns() - t0 < 2000 * NS_PER_MS);
	struct vms_netio_result hr;
	CHECK(vms_netio_find_udp_result(n, OWNER, 1024, &hr));
	CHECK(hr.udp && hr.datagrams == 512 && hr.complete && hr.bytes == 512 * 1024ull);
	CHECK(hr.host_ns >= (uint64_t)(511.0 * 1024 / RATE * 1e9));
	/* TCP results apart: the proof's TCP receive of 1 KiB is its own. */
	CHECK(vms_netio_find_result(n, OWNER, false, 1024, &hr) && !hr.udp && hr.requested == 1024);
	CHECK(vms_netio_find_udp_result(n, OWNER, 1024, &hr) && hr.udp);
	fprintf(stderr, "  udp 1 KiB: %.1f MB/s, %u/%u datagrams\n", (double)c.r.bytes / secs / 1e6,
	        (unsigned)c.r.ops, c.count);

	/* More than 50 ms of 4 MiB/s asked within 50 ms: dropped, never answered (the host
	 * neither clips nor rounds: a burst is exactly what was asked, or nothing). */
	struct client big = {
	    .port = port, .id = 8, .block = 32768, .bytes = RATE / 20 + 1, .max_ms = 50};
	snprintf(big.token, sizeof(big.token), "%s", c.token);
	uint64_t fast = stats(n).udp_dropped[VMS_NETIO_UDP_TOO_FAST];
	run_client(&big);
	CHECK_INT(big.r.err, ETIMEDOUT);
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_TOO_FAST] > fast);
	/* What 50 ms allow, in 32 KiB datagrams: floor(209715 / 32768) = 6, none beyond. */
	big.id = 9;
	big.bytes = RATE / 20;
	run_client(&big);
	CHECK_INT(big.r.err, 0);
	CHECK_INT(big.count, (uint32_t)(RATE / 20 / 32768));
	CHECK(vms_netio_find_udp_result(n, OWNER, 32768, &hr) && hr.bytes <= RATE / 20);
	/* The last use of the grant asks for more than it allows: dropped, never answered. */
	struct client over = {
	    .port = port, .id = 10, .block = 1024, .bytes = c.bytes + 1, .max_ms = 1000};
	snprintf(over.token, sizeof(over.token), "%s", c.token);
	uint64_t before = stats(n).udp_dropped[VMS_NETIO_UDP_TOO_MANY_BYTES];
	run_client(&over);
	CHECK_INT(over.r.err, ETIMEDOUT);
	/* Sent again while nothing arrived: each one counted. */
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_TOO_MANY_BYTES] >= before + 2);
	vms_netio_revoke(n, OWNER);
}

/* A UDP socket from 127.0.0.<from> (any port) connected to 127.0.0.1:port. */
static int
raw_socket_from(unsigned port, unsigned from)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in src = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	src.sin_addr.s_addr = htonl(0x7f000000u | from);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	                connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
raw_socket(unsigned port)
{
	return raw_socket_from(port, 1);
}

/* Sends one datagram, runs the loop, and says whether anything came back. */
static bool
answered(int fd, const char *msg, size_t len)
{
	(void)send(fd, msg, len, 0);
	pump(30);
	char buf[2048];
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0;
}

static void
request_id(char *out, size_t outsz, const char *token, uint64_t id, uint64_t block, uint64_t bytes)
{
	snprintf(out, outsz, "udp proto=1 token=%s id=%llu block=%llu bytes=%llu ms=100\n", token,
	         (unsigned long long)id, (unsigned long long)block, (unsigned long long)bytes);
}

static void
request(char *out, size_t outsz, const char *token, unsigned proto, uint64_t bytes)
{
	snprintf(out, outsz, "udp proto=%u token=%s id=1 block=1024 bytes=%llu ms=100\n", proto,
	         token, (unsigned long long)bytes);
}

/* Datagrams waiting on fd, read and counted. */
static unsigned
drain(int fd)
{
	char buf[2048];
	unsigned k = 0;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		k++;
	return k;
}

/* Bad requests are dropped, counted by reason, and never answered. */
static void
test_hostile(struct vms_netio *n, unsigned port)
{
	int fd = raw_socket(port);
	if (!CHECK(fd >= 0))
		return;
	char tok[VMS_TOKEN_LEN + 1], expired[VMS_TOKEN_LEN + 1], msg[1200];
	grant(n, tok, OWNER, 1 << 20, 2, 10000);
	grant(n, expired, "expired-owner", 1 << 20, 2, 1000);
	prove(port, tok, NULL);
	prove(port, expired, NULL);
	pump(1000);
	struct vms_netio_stats st0 = stats(n);
	struct {
		const char *what;
		enum vms_netio_udp_drop why;
	} cases[] = {
	    {"garbage", VMS_NETIO_UDP_SYNTAX},
	    {"udp proto=1 token=00 id=1 block=1024 bytes=1 ms=1", VMS_NETIO_UDP_BAD_TOKEN},
	    {"bad version", VMS_NETIO_UDP_VERSION},
	    {"unknown token", VMS_NETIO_UDP_BAD_TOKEN},
	    {"expired", VMS_NETIO_UDP_EXPIRED},
	    {"too many bytes", VMS_NETIO_UDP_TOO_MANY_BYTES},
	    {"block too small", VMS_NETIO_UDP_SYNTAX},
	    {"oversized", VMS_NETIO_UDP_SYNTAX},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		snprintf(msg, sizeof(msg), "%s", cases[i].what);
		if (i == 2)
			request(msg, sizeof(msg), tok, 2, 1024);
		if (i == 3)
			request(msg, sizeof(msg), "0123456789abcdef0123456789abcdef", 1, 1024);
		if (i == 4)
			request(msg, sizeof(msg), expired, 1, 1024);
		if (i == 5)
			request(msg, sizeof(msg), tok, 1, (1 << 20) + 1);
		if (i == 6)
			snprintf(msg, sizeof(msg),
			         "udp proto=1 token=%s id=1 block=63 bytes=1 ms=1", tok);
		len = strlen(msg);
		if (i == 7) {
			memset(msg, 'a', sizeof(msg));
			len = sizeof(msg);
		}
		uint64_t before = stats(n).udp_dropped[cases[i].why];
		CHECK(!answered(fd, msg, len));
		if (!CHECK(stats(n).udp_dropped[cases[i].why] == before + 1))
			fprintf(stderr, "  %s: not counted as %s\n", cases[i].what,
			        vms_netio_udp_drop_name(cases[i].why));
	}
	/* None of it used the grant: the good request still gets its burst. */
	request(msg, sizeof(msg), tok, 1, 4096);
	CHECK(answered(fd, msg, strlen(msg)));
	pump(50);
	drain(fd);
	/* Used up: its connections are gone (one TCP, one UDP). */
	uint64_t before = stats(n).udp_dropped[VMS_NETIO_UDP_USED_UP];
	CHECK(!answered(fd, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_USED_UP] == before + 1);
	struct vms_netio_stats st1 = stats(n);
	CHECK(st1.udp_requests == st0.udp_requests + 10);
	CHECK(st1.udp_datagrams_sent == st0.udp_datagrams_sent + 4);
	close(fd);
	vms_netio_revoke(n, OWNER);
}

/*
 * Review finding 1: a request's source address can be forged. A burst goes only to an address
 * from which a granted TCP connection presented the same token (the handshake proved the
 * guest receives there); from anywhere else the request is dropped and counted, and nothing
 * is sent to the forged address.
 */
static void
test_unproven_address(struct vms_netio *n, unsigned port)
{
	char tok[VMS_TOKEN_LEN + 1], msg[256];
	int other = raw_socket_from(port, 3), self = raw_socket(port);
	if (!CHECK(other >= 0 && self >= 0))
		return;
	grant(n, tok, OWNER, 1 << 20, 4, 10000);
	request_id(msg, sizeof(msg), tok, 1, 1024, 4096);
	/* Before any TCP connection presented the token: proven nowhere. */
	uint64_t unproven = stats(n).udp_dropped[VMS_NETIO_UDP_UNPROVEN];
	CHECK(!answered(self, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_UNPROVEN] == unproven + 1);
	prove(port, tok, NULL); /* from 127.0.0.1 */
	uint64_t sent = stats(n).udp_datagrams_sent;
	CHECK(!answered(other, msg, strlen(msg))); /* "from" 127.0.0.3: not proven */
	pump(50);
	CHECK_INT(drain(other), 0);
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_UNPROVEN] == unproven + 2);
	CHECK(stats(n).udp_datagrams_sent == sent);
	/* The grant is not used by those: from the proven address the burst comes. */
	CHECK(answered(self, msg, strlen(msg)));
	pump(50);
	CHECK(drain(self) + 1 == 4);
	close(other);
	close(self);
	vms_netio_revoke(n, OWNER);
}

/*
 * Review findings 2 and 3: a block larger than the bytes asked (or than the grant's bytes)
 * is refused, not sent whole; a burst is floor(bytes / block) datagrams, nothing rounded up;
 * a retried request (the same id, or an older one) never starts a second burst.
 */
static void
test_sizes_and_repeats(struct vms_netio *n, unsigned port)
{
	char tok[VMS_TOKEN_LEN + 1], small[VMS_TOKEN_LEN + 1], msg[256];
	int fd = raw_socket(port);
	if (!CHECK(fd >= 0))
		return;
	grant(n, tok, OWNER, 1 << 20, 4, 10000);
	grant(n, small, "small-owner", 2000, 3, 10000);
	prove(port, tok, NULL);
	prove(port, small, NULL);
	uint64_t big = stats(n).udp_dropped[VMS_NETIO_UDP_BLOCK_TOO_BIG];
	request_id(msg, sizeof(msg), tok, 1, 1024, 1000); /* block > bytes */
	CHECK(!answered(fd, msg, strlen(msg)));
	request_id(msg, sizeof(msg), small, 1, 4096, 2000); /* block > bytes, > max_bytes */
	CHECK(!answered(fd, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_BLOCK_TOO_BIG] == big + 2);
	/* 2000 bytes in 1024-byte datagrams: one, not two. */
	uint64_t sent = stats(n).udp_bytes_sent;
	request_id(msg, sizeof(msg), small, 1, 1024, 2000);
	CHECK(answered(fd, msg, strlen(msg)));
	pump(20);
	CHECK_INT(drain(fd), 0);
	CHECK(stats(n).udp_bytes_sent - sent == 1024);
	/* The same request again, after its burst: dropped, not a second burst. */
	uint64_t rep = stats(n).udp_dropped[VMS_NETIO_UDP_REPEATED];
	CHECK(!answered(fd, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_REPEATED] == rep + 1);
	/* Two at once, the same id: one burst. */
	request_id(msg, sizeof(msg), tok, 5, 1024, 4096);
	(void)send(fd, msg, strlen(msg), 0);
	(void)send(fd, msg, strlen(msg), 0);
	pump(50);
	CHECK_INT(drain(fd), 4);
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_REPEATED] == rep + 2);
	request_id(msg, sizeof(msg), tok, 4, 1024, 4096); /* an older id */
	CHECK(!answered(fd, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_REPEATED] == rep + 3);
	request_id(msg, sizeof(msg), tok, 6, 1024, 4096); /* a new one is fine */
	CHECK(answered(fd, msg, strlen(msg)));
	close(fd);
	vms_netio_revoke(n, OWNER);
	vms_netio_revoke(n, "small-owner");
}

/* A responder of its own on HOST (":" alone: every address) at a free port, UDP on at rate;
 * NULL (the failed checks said why) if it cannot be had. A port free for TCP need not be free
 * for UDP: a few tries. */
static struct vms_netio *
open_udp_responder(const char *host, uint64_t rate)
{
	char spec[64], err[256] = "";
	struct vms_netio *n = NULL;
	for (int tries = 0; !n && tries < 10; tries++) {
		snprintf(spec, sizeof(spec), "%s:%d", host, free_port());
		n = vms_netio_open(spec, err, sizeof(err));
	}
	if (!CHECK(n != NULL) || !CHECK_INT(vms_netio_udp_open(n, rate, err, sizeof(err)), 0)) {
		fprintf(stderr, "  %s: %s\n", spec, err);
		vms_netio_close(n);
		return NULL;
	}
	return n;
}

/*
 * Review finding 4: with a wildcard listener, the burst leaves from the address the request
 * was sent to (127.0.0.2 here), so the guest's connected socket takes it; from the
 * routing's choice (127.0.0.1) it would be dropped by the guest's kernel.
 */
static void
test_wildcard_source(void)
{
	struct vms_netio *w = open_udp_responder("", RATE);
	if (!w)
		return;
	unsigned port = vms_netio_port(w);
	struct client c = {.addr = "127.0.0.2",
	                   .port = port,
	                   .id = 1,
	                   .block = 1024,
	                   .bytes = 64 * 1024,
	                   .max_ms = 1000};
	grant(w, c.token, OWNER, c.bytes, 2, 10000);
	prove(port, c.token, "127.0.0.2");
	run_client(&c);
	if (!CHECK_INT(c.r.err, 0))
		fprintf(stderr, "  via 127.0.0.2: %s\n", c.r.why ? c.r.why : "?");
	CHECK_INT(c.r.ops, 64);
	vms_netio_close(w);
}

/* The same over IPv6: on [::1], and on the dual-stack wildcard [::] asked at 127.0.0.2 (an
 * IPv4 request arrives v4-mapped; the reply must still leave from 127.0.0.2). */
static void
test_ipv6(void)
{
	int probe = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		fprintf(stderr, "  SKIP IPv6: no ::1 here (%s)\n", strerror(errno));
		if (probe >= 0)
			close(probe);
		return;
	}
	close(probe);
	const char *specs[2] = {"[::1]", "[::]"}, *addrs[2] = {"::1", "127.0.0.2"};
	for (int k = 0; k < 2; k++) {
		struct vms_netio *w = open_udp_responder(specs[k], RATE);
		if (!w)
			continue;
		unsigned port = vms_netio_port(w);
		struct client c = {.addr = addrs[k],
		                   .port = port,
		                   .id = 1,
		                   .block = 1024,
		                   .bytes = 64 * 1024,
		                   .max_ms = 1000};
		grant(w, c.token, OWNER, c.bytes, 2, 10000);
		prove(port, c.token, addrs[k]);
		run_client(&c);
		if (!CHECK_INT(c.r.err, 0))
			fprintf(stderr, "  %s via %s: %s\n", specs[k], addrs[k],
			        c.r.why ? c.r.why : "?");
		CHECK_INT(c.r.ops, 64);
		vms_netio_close(w);
	}
}

/* Holds the probe thread in a signal handler while datagrams queue for it. */
static void
on_stall(int sig)
{
	(void)sig;
	struct timespec ts = {0, 400 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

struct stalled {
	unsigned port;
	struct vmsp_result r;
	uint32_t count;
};

static void *
stalled_main(void *arg)
{
	struct stalled *s = arg;
	vmsp_udp_measure("127.0.0.1", s->port, "0123456789abcdef0123456789abcdef", 77, 1024, 10240,
	                 1000, &s->r, &s->count);
	return NULL;
}

/*
 * Review finding 5, guest side: arrivals are timed by the kernel (SO_TIMESTAMPNS), not at
 * read(). A host (this thread) sends 10 datagrams 20 ms apart while the probe's thread is
 * held for 400 ms: read times would put them all within a moment; the kernel's are 180 ms
 * apart, the true window.
 */
static void
test_kernel_timestamps(void)
{
	struct sigaction sa = {.sa_handler = on_stall};
	sigaction(SIGUSR1, &sa, NULL);
	int hfd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ha = {.sin_family = AF_INET}, peer;
	ha.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t hl = sizeof(ha), pl = sizeof(peer);
	if (!CHECK(hfd >= 0 && bind(hfd, (struct sockaddr *)&ha, hl) == 0 &&
	           getsockname(hfd, (struct sockaddr *)&ha, &hl) == 0))
		return;
	struct stalled s = {.port = ntohs(ha.sin_port)};
	pthread_t th;
	if (!CHECK(pthread_create(&th, NULL, stalled_main, &s) == 0))
		return;
	char req[512];
	CHECK(recvfrom(hfd, req, sizeof(req), 0, (struct sockaddr *)&peer, &pl) > 0);
	pthread_kill(th, SIGUSR1);
	unsigned char dg[1024] = {0};
	for (uint32_t i = 0; i < 10; i++) {
		struct vms_udp_header h = {
		    .flags = i == 9 ? VMS_UDP_FLAG_LAST : 0, .id = 77, .seq = i, .count = 10};
		vms_udp_header_encode(dg, &h);
		(void)sendto(hfd, dg, sizeof(dg), 0, (struct sockaddr *)&peer, pl);
		struct timespec ts = {0, 20 * 1000 * 1000};
		if (i < 9)
			nanosleep(&ts, NULL);
	}
	pthread_join(th, NULL);
	close(hfd);
	signal(SIGUSR1, SIG_DFL);
	CHECK_INT(s.r.err, 0);
	CHECK_INT(s.r.ops, 10);
	double ms = (double)(s.r.end_ns - s.r.start_ns) / 1e6;
	if (!CHECK(ms >= 150 && ms < 400))
		fprintf(stderr, "  window %.1f ms, expected about 180\n", ms);
}

/* The second review's M2: however small the blocks and fast the rate, one turn of the event
 * loop sends a bounded number of datagrams (each is a sendmsg): a fast responder's burst of
 * 2048 datagrams of 1 KiB is spread over many turns, and all of it arrives. */
static void
test_turn_bound(void)
{
	struct vms_netio *fast = open_udp_responder("127.0.0.1", VMS_NETIO_UDP_MAX_RATE / 4);
	if (!fast)
		return;
	unsigned port = vms_netio_port(fast);
	struct client c = {
	    .port = port, .id = 1, .block = 1024, .bytes = 2048 * 1024, .max_ms = 1000};
	grant(fast, c.token, OWNER, c.bytes, 5, 10000);
	prove(port, c.token, NULL);
	pthread_t th;
	atomic_store(&c.done, false);
	if (!CHECK(pthread_create(&th, NULL, client_main, &c) == 0)) {
		vms_netio_close(fast);
		return;
	}
	uint64_t before = stats(fast).udp_datagrams_sent, most = 0;
	unsigned turns = 0;
	while (!atomic_load(&c.done)) {
		uint64_t sent = stats(fast).udp_datagrams_sent;
		virEventRunDefaultImpl();
		uint64_t now_sent = stats(fast).udp_datagrams_sent;
		most = now_sent - sent > most ? now_sent - sent : most;
		turns += now_sent > sent;
	}
	pthread_join(th, NULL);
	CHECK_INT(c.r.err, 0);
	CHECK(stats(fast).udp_datagrams_sent - before == 2048);
	/* A turn may both start the burst and pace it. */
	unsigned cap = VMS_NETIO_UDP_SESSION_DATAGRAMS + VMS_NETIO_UDP_TURN_DATAGRAMS;
	if (!CHECK(most <= 128) || !CHECK(most <= cap) || !CHECK(turns >= 2048 / 128))
		fprintf(stderr, "  %llu datagrams in one turn at most, %u turns\n",
		        (unsigned long long)most, turns);
	vms_netio_close(fast);
}

/* Review finding 5, host side: the guest's window against the host's send window; and the
 * second review's: the bytes the guest reports are exactly the blocks after the first, and a
 * short burst gets no allowance that would let any window pass. */
static void
test_plausible(void)
{
	/* 101 datagrams of 1 KiB sent over 100 ms: 1 ms between sends. */
	struct vms_netio_result hr = {
	    .udp = true, .datagrams = 101, .block = 1024, .host_ns = 100 * NS_PER_MS};
	CHECK(vms_netio_udp_plausible(&hr, 101, 100 * 1024, 100 * NS_PER_MS));
	CHECK(vms_netio_udp_plausible(&hr, 101, 100 * 1024, 67 * NS_PER_MS)); /* within 1.5x */
	CHECK(
	    !vms_netio_udp_plausible(&hr, 101, 100 * 1024, 60 * NS_PER_MS)); /* faster than sent */
	CHECK(!vms_netio_udp_plausible(&hr, 101, 100 * 1024, 1 * NS_PER_MS));
	/* Lost datagrams shrink the window in proportion: 51 received over 50 ms is fine. */
	CHECK(vms_netio_udp_plausible(&hr, 51, 50 * 1024, 50 * NS_PER_MS));
	CHECK(!vms_netio_udp_plausible(&hr, 51, 50 * 1024, 25 * NS_PER_MS));
	CHECK(!vms_netio_udp_plausible(&hr, 102, 101 * 1024, 100 * NS_PER_MS)); /* more than sent */
	/* Bytes that are not the blocks after the first: an invented rate. */
	CHECK(!vms_netio_udp_plausible(&hr, 101, 2000000000, 100 * NS_PER_MS));
	CHECK(!vms_netio_udp_plausible(&hr, 101, 100 * 1024 + 1, 100 * NS_PER_MS));
	CHECK(!vms_netio_udp_plausible(&hr, 101, 101 * 1024, 100 * NS_PER_MS));
	/* One datagram has no window to time: no rate, whatever it says. */
	CHECK(!vms_netio_udp_plausible(&hr, 1, 1024, 1));
	/* A short burst (100 datagrams in 24 ms): a 10 us window is not within any jitter. */
	hr.host_ns = 24 * NS_PER_MS;
	CHECK(vms_netio_udp_plausible(&hr, 101, 100 * 1024, 20 * NS_PER_MS));
	CHECK(!vms_netio_udp_plausible(&hr, 101, 100 * 1024, 10000));
	hr.udp = false;
	CHECK(!vms_netio_udp_plausible(&hr, 101, 100 * 1024, 100 * NS_PER_MS)); /* not UDP */
}

/* Sessions are bounded: one per owner, VMS_NETIO_UDP_MAX_SESSIONS host-wide; a revoke ends
 * its owner's burst at once. */
static void
test_sessions(struct vms_netio *n, unsigned port)
{
	int fds[VMS_NETIO_UDP_MAX_SESSIONS + 1];
	char tok[VMS_NETIO_UDP_MAX_SESSIONS + 1][VMS_TOKEN_LEN + 1], owner[32], msg[256];
	uint64_t completed = stats(n).udp_completed, aborted = stats(n).udp_aborted;
	for (int i = 0; i <= VMS_NETIO_UDP_MAX_SESSIONS; i++) {
		snprintf(owner, sizeof(owner), "owner-%d", i);
		grant(n, tok[i], owner, 64u << 20, 3, 10000);
		prove(port, tok[i], NULL);
		fds[i] = raw_socket(port);
		/* 2 s worth at the pace: still running when the next ones ask. */
		snprintf(msg, sizeof(msg), "udp proto=1 token=%s id=1 block=1024 bytes=%u ms=2000",
		         tok[i], 2 * RATE);
		(void)send(fds[i], msg, strlen(msg), 0);
		if (i == 0) {
			pump(10);
			uint64_t busy = stats(n).udp_dropped[VMS_NETIO_UDP_OWNER_BUSY];
			snprintf(msg, sizeof(msg),
			         "udp proto=1 token=%s id=2 block=1024 bytes=%u ms=2000", tok[i],
			         2 * RATE);
			(void)send(fds[0], msg, strlen(msg), 0); /* the same owner again */
			pump(10);
			CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_OWNER_BUSY] == busy + 1);
		}
	}
	uint64_t full = stats(n).udp_dropped[VMS_NETIO_UDP_FULL];
	pump(20);
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_FULL] == full + 1);
	uint64_t sent = stats(n).udp_datagrams_sent;
	for (int i = 0; i <= VMS_NETIO_UDP_MAX_SESSIONS; i++) {
		snprintf(owner, sizeof(owner), "owner-%d", i);
		vms_netio_revoke(n, owner);
	}
	CHECK(stats(n).udp_aborted == aborted + VMS_NETIO_UDP_MAX_SESSIONS);
	CHECK(stats(n).udp_completed == completed);
	pump(50);
	CHECK(stats(n).udp_datagrams_sent == sent); /* nothing after the revoke */
	/* Host-wide, the bursts of a few tens of ms sent no more than their pace allows. */
	CHECK(sent < VMS_NETIO_UDP_MAX_SESSIONS * (RATE / 1024) / 4);
	for (int i = 0; i <= VMS_NETIO_UDP_MAX_SESSIONS; i++)
		close(fds[i]);
}

static void
test_render(struct vms_netio *n)
{
	struct vms_buf b;
	vms_buf_init(&b);
	struct vms_netio_stats st = stats(n);
	CHECK(st.udp);
	vms_netio_render_stats(&st, &b);
	CHECK(strstr(b.data, "vmscale_netio_udp_dropped_total{reason=\"bad_token\"} ") != NULL);
	CHECK(strstr(b.data, "vmscale_netio_udp_bursts_total{result=\"completed\"} ") != NULL);
	vms_buf_free(&b);
	vms_buf_init(&b);
	st.udp = false;
	vms_netio_render_stats(&st, &b);
	CHECK(strstr(b.data, "udp") == NULL); /* off: not a word of it */
	vms_buf_free(&b);
}

int
main(void)
{
	vms_log_init("test_netio_udp", false);
	test_codec();
	if (virEventRegisterDefaultImpl() < 0) {
		CHECK(!"libvirt event loop");
		return check_done("test_netio_udp");
	}
	int ticker = virEventAddTimeout(5, on_tick, NULL, NULL);
	virEventRunDefaultImpl();
	char spec[64], err[256] = "";
	struct vms_netio *n = NULL;
	for (int tries = 0; !n && tries < 10; tries++) { /* free for UDP need not be for TCP */
		snprintf(spec, sizeof(spec), "127.0.0.1:%d", free_port());
		n = vms_netio_open(spec, err, sizeof(err));
	}
	if (!CHECK(n != NULL)) {
		fprintf(stderr, "  %s\n", err);
		return check_done("test_netio_udp");
	}
	CHECK(!stats(n).udp);
	CHECK_INT(vms_netio_udp_open(n, 0, err, sizeof(err)), -1);
	CHECK_INT(vms_netio_udp_open(n, VMS_NETIO_UDP_MIN_RATE - 1, err, sizeof(err)), -1);
	CHECK_INT(vms_netio_udp_open(n, VMS_NETIO_UDP_MAX_RATE + 1ull, err, sizeof(err)), -1);
	if (!CHECK_INT(vms_netio_udp_open(n, RATE, err, sizeof(err)), 0)) {
		fprintf(stderr, "  %s\n", err);
		return check_done("test_netio_udp");
	}
	unsigned port = vms_netio_port(n);
	test_burst(n, port);
	test_turn_bound();
	test_hostile(n, port);
	test_unproven_address(n, port);
	test_sizes_and_repeats(n, port);
	test_sessions(n, port);
	test_render(n);
	vms_netio_close(n);
	test_wildcard_source();
	test_ipv6();
	test_kernel_timestamps();
	test_plausible();
	virEventRemoveTimeout(ticker);
	return check_done("test_netio_udp");
}

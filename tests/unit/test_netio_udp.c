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
#include <stdatomic.h>
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
	vmsp_udp_measure("127.0.0.1", c->port, c->token, c->id, c->block, c->bytes, c->max_ms,
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
	grant(n, c.token, OWNER, c.bytes, 3, 10000);
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
	CHECK(!vms_netio_find_result(n, OWNER, false, 1024, &hr)); /* TCP results apart */
	fprintf(stderr, "  udp 1 KiB: %.1f MB/s, %u/%u datagrams\n", (double)c.r.bytes / secs / 1e6,
	        (unsigned)c.r.ops, c.count);

	/* The burst is bounded by time at the pace: 50 ms of 4 MiB/s, not the 512 KiB asked. */
	struct client big = {
	    .port = port, .id = 8, .block = 32768, .bytes = 512 * 1024, .max_ms = 50};
	snprintf(big.token, sizeof(big.token), "%s", c.token);
	run_client(&big);
	CHECK_INT(big.r.err, 0);
	CHECK_INT(big.count, (uint32_t)(RATE / 20 / 32768));
	/* The third use of the grant asks for more than it allows: dropped, never answered. */
	struct client over = {
	    .port = port, .id = 9, .block = 1024, .bytes = c.bytes + 1, .max_ms = 100};
	snprintf(over.token, sizeof(over.token), "%s", c.token);
	uint64_t before = stats(n).udp_dropped[VMS_NETIO_UDP_TOO_MANY_BYTES];
	run_client(&over);
	CHECK_INT(over.r.err, ETIMEDOUT);
	/* Sent again while nothing arrived: each one counted. */
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_TOO_MANY_BYTES] >= before + 2);
	vms_netio_revoke(n, OWNER);
}

static int
raw_socket(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
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
request(char *out, size_t outsz, const char *token, unsigned proto, uint64_t bytes)
{
	snprintf(out, outsz, "udp proto=%u token=%s id=1 block=1024 bytes=%llu ms=100\n", proto,
	         token, (unsigned long long)bytes);
}

/* Bad requests are dropped, counted by reason, and never answered. */
static void
test_hostile(struct vms_netio *n, unsigned port)
{
	int fd = raw_socket(port);
	if (!CHECK(fd >= 0))
		return;
	char tok[VMS_TOKEN_LEN + 1], expired[VMS_TOKEN_LEN + 1], msg[1200];
	grant(n, tok, OWNER, 1 << 20, 1, 10000);
	grant(n, expired, "expired-owner", 1 << 20, 1, 1);
	pump(5);
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
	char buf[2048];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	/* Used up: its one connection is gone. */
	uint64_t before = stats(n).udp_dropped[VMS_NETIO_UDP_USED_UP];
	CHECK(!answered(fd, msg, strlen(msg)));
	CHECK(stats(n).udp_dropped[VMS_NETIO_UDP_USED_UP] == before + 1);
	struct vms_netio_stats st1 = stats(n);
	CHECK(st1.udp_requests == st0.udp_requests + 10);
	CHECK(st1.udp_datagrams_sent == st0.udp_datagrams_sent + 4);
	close(fd);
	vms_netio_revoke(n, OWNER);
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
		fds[i] = raw_socket(port);
		/* 2 s worth at the pace: still running when the next ones ask. */
		snprintf(msg, sizeof(msg), "udp proto=1 token=%s id=1 block=1024 bytes=%u ms=2000",
		         tok[i], 2 * RATE);
		(void)send(fds[i], msg, strlen(msg), 0);
		if (i == 0) {
			pump(10);
			uint64_t busy = stats(n).udp_dropped[VMS_NETIO_UDP_OWNER_BUSY];
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
	if (!CHECK_INT(vms_netio_udp_open(n, RATE, err, sizeof(err)), 0)) {
		fprintf(stderr, "  %s\n", err);
		return check_done("test_netio_udp");
	}
	unsigned port = vms_netio_port(n);
	test_burst(n, port);
	test_hostile(n, port);
	test_sessions(n, port);
	test_render(n);
	vms_netio_close(n);
	virEventRemoveTimeout(ticker);
	return check_done("test_netio_udp");
}

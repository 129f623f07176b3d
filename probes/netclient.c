/* NetIO-style throughput client (see netclient.h and PROTOCOL.md). libc only. */
#include "probes/netclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmscale/protocol.h"
#include "vmscale/clock.h"

#define READ_CHUNK (64 * 1024) /* reads need not match the block size */

/* What the guest sends: never written, so it stays zeros and costs no memory (bss). */
static char zeros[VMSP_NET_MAX_BLOCK];

static void
fail(struct vmsp_result *r, int err, const char *why)
{
	r->err = err;
	r->why = why;
}

int
vmsp_wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = vms_monotonic_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t ms = (deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static const char *
connect_why(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "connection refused";
	case ETIMEDOUT:
		return "connect timed out";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	default:
		return "cannot connect";
	}
}

int
vmsp_net_addr(const char *addr, unsigned port, struct sockaddr_storage *out, socklen_t *outlen,
              struct vmsp_result *r)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[INET6_ADDRSTRLEN];
	size_t al = strlen(addr);
	memset(&ss, 0, sizeof(ss));
	/* "[::1]" as well as "::1": the daemon writes IPv6 listen addresses in brackets. */
	if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']') {
		addr++;
		al -= 2;
	}
	if (port == 0 || port > 65535 || al >= sizeof(host)) {
		fail(r, EINVAL, "bad address or port");
		return -1;
	}
	memcpy(host, addr, al);
	host[al] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		fail(r, EINVAL, "not an IP address");
		return -1;
	}
	*out = ss;
	*outlen = sl;
	return 0;
}

static int
connect_to(const char *addr, unsigned port, uint64_t deadline, struct vmsp_result *r)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (vmsp_net_addr(addr, port, &ss, &sl, r) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(r, errno, "cannot create a socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		fail(r, errno, connect_why(errno));
		goto cleanup;
	}
	int rc = vmsp_wait_fd(fd, POLLOUT, deadline);
	if (rc <= 0) {
		fail(r, rc == 0 ? ETIMEDOUT : errno, connect_why(rc == 0 ? ETIMEDOUT : errno));
		goto cleanup;
	}
	int soerr = 0;
	socklen_t el = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0)
		soerr = errno;
	if (soerr) {
		fail(r, soerr, connect_why(soerr));
		goto cleanup;
	}
	return fd;

cleanup:
	close(fd);
	return -1;
}

/* What send_step did besides sending bytes (its count, > 0). */
enum { SEND_AGAIN = 0, SEND_FAILED = -1, SEND_DEADLINE = -2 };

/* One non-blocking send; a full socket is waited for until deadline, then SEND_AGAIN. Also
 * SEND_AGAIN on EINTR; SEND_FAILED with errno. */
static ssize_t
send_step(int fd, const char *p, size_t len, uint64_t deadline)
{
	ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w > 0)
		return w;
	if (w < 0 && errno == EINTR)
		return SEND_AGAIN;
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		int rc = vmsp_wait_fd(fd, POLLOUT, deadline);
		return rc > 0 ? SEND_AGAIN : rc == 0 ? SEND_DEADLINE : SEND_FAILED;
	}
	return SEND_FAILED;
}

/* 0, or -1 with errno (ETIMEDOUT at the deadline). */
static int
send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t w = send_step(fd, p, len, deadline);
		if (w == SEND_DEADLINE)
			errno = ETIMEDOUT;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Reads one record from the host into rec. Bytes that arrived after its LF are left at the
 * start of buf, their count in *extra. 0, or -1 with errno: ETIMEDOUT, ECONNRESET (closed
 * before a whole line), EPROTO (not a record).
 */
static int
read_record(int fd, char *buf, size_t cap, size_t *extra, uint64_t deadline, struct vms_record *rec)
{
	size_t have = 0;
	if (cap > VMS_PROTO_MAX_RECORD)
		cap = VMS_PROTO_MAX_RECORD;
	for (;;) {
		char *lf = memchr(buf, '\n', have);
		if (lf) {
			size_t len = (size_t)(lf - buf);
			if (vms_record_parse(rec, buf, len) != VMS_PROTO_OK) {
				errno = EPROTO;
				return -1;
			}
			*extra = have - len - 1;
			memmove(buf, lf + 1, *extra);
			return 0;
		}
		if (have == cap) {
			errno = EPROTO;
			return -1;
		}
		ssize_t r = recv(fd, buf + have, cap - have, MSG_DONTWAIT);
		if (r > 0) {
			have += (size_t)r;
			continue;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		int rc = vmsp_wait_fd(fd, POLLIN, deadline);
		if (rc == 0)
			errno = ETIMEDOUT;
		if (rc <= 0)
			return -1;
	}
}

/* The host's refusal reasons (daemon/netio.c), mapped to an errno and a static string. */
static const struct {
	const char *name;
	int err;
	const char *why;
} refusals[] = {
    {"bad_token", EACCES, "host refused: bad_token"},
    {"expired", EACCES, "host refused: expired"},
    {"used_up", EACCES, "host refused: used_up"},
    {"too_many_bytes", EMSGSIZE, "host refused: too_many_bytes"},
    {"too_many_connections", EBUSY, "host refused: too_many_connections"},
    {"timeout", ETIMEDOUT, "host refused: timeout"},
    {"syntax", EPROTO, "host refused: syntax"},
    {"oversized", EPROTO, "host refused: oversized"},
    {"bad_version", EPROTO, "host refused: bad_version"},
};

/* Reads the host's answer to the request: 0 on "ok", 1 refused, -1 failed (r filled). */
static int
read_answer(int fd, char *buf, size_t cap, size_t *extra, uint64_t deadline, struct vms_record *rec,
            struct vmsp_result *r)
{
	if (read_record(fd, buf, cap, extra, deadline, rec) < 0) {
		if (errno == ETIMEDOUT)
			fail(r, ETIMEDOUT, "no answer from the host");
		else if (errno == EPROTO)
			fail(r, EPROTO, "unexpected answer from the host");
		else
			fail(r, errno, "connection closed by the host");
		return -1;
	}
	if (strcmp(rec->type, "ok") == 0)
		return 0;
	if (strcmp(rec->type, "refused") == 0) {
		const char *reason = vms_record_get(rec, "reason");
		for (size_t i = 0; reason && i < sizeof(refusals) / sizeof(refusals[0]); i++) {
			if (strcmp(reason, refusals[i].name) == 0) {
				fail(r, refusals[i].err, refusals[i].why);
				return 1;
			}
		}
		fail(r, EACCES, "host refused");
		return 1;
	}
	fail(r, EPROTO, "unexpected answer from the host");
	return -1;
}

static uint64_t
blocks(uint64_t bytes, uint32_t block)
{
	return bytes / block + (bytes % block != 0);
}

static void
run_send(int fd, uint32_t block, uint64_t bytes, unsigned max_ms, struct vms_record *rec,
         struct vmsp_result *r)
{
	char line[VMS_PROTO_MAX_RECORD];
	uint64_t start = vms_monotonic_ns(), deadline = start + max_ms * NS_PER_MS;
	uint64_t sent = 0;
	uint32_t off = 0;
	r->start_ns = start;
	while (sent < bytes && vms_monotonic_ns() < deadline) {
		uint64_t left = bytes - sent;
		size_t want = left < block - off ? (size_t)left : block - off;
		ssize_t w = send_step(fd, zeros, want, deadline);
		if (w == SEND_DEADLINE)
			break;
		if (w < 0) {
			fail(r, errno, "connection lost while sending");
			return;
		}
		sent += (size_t)w;
		off = (uint32_t)((off + (size_t)w) % block);
	}
	/* Our end of the data: the host answers once what we sent has arrived. */
	shutdown(fd, SHUT_WR);
	size_t extra;
	uint64_t host_bytes;
	uint64_t confirm = vms_monotonic_ns() + VMSP_NET_CONFIRM_MS * NS_PER_MS;
	if (read_record(fd, line, sizeof(line), &extra, confirm, rec) == 0) {
		r->end_ns = vms_monotonic_ns();
		if (strcmp(rec->type, "done") != 0 ||
		    vms_record_get_u64(rec, "bytes", &host_bytes) != VMS_PROTO_OK) {
			fail(r, EPROTO, "unexpected answer from the host");
			return;
		}
		r->bytes = host_bytes < sent ? host_bytes : sent;
	} else if (errno == ETIMEDOUT) {
		/* A slow path still draining our buffers: count what the host's kernel took.
		 * The queue counts our FIN as one more unacknowledged byte until it is. */
		int outq;
		r->end_ns = vms_monotonic_ns();
		if (ioctl(fd, SIOCOUTQ, &outq) < 0 || outq < 0 || (uint64_t)outq > sent + 1) {
			fail(r, ETIMEDOUT, "no confirmation from the host");
			return;
		}
		r->bytes = sent - (outq > 0 ? (uint64_t)outq - 1 : 0);
	} else {
		fail(r, errno == EPROTO ? EPROTO : ECONNRESET,
		     errno == EPROTO ? "unexpected answer from the host"
		                     : "connection closed by the host");
		return;
	}
	if (r->bytes == 0) {
		fail(r, ETIMEDOUT, "no data moved before the deadline");
		return;
	}
	r->ops = blocks(r->bytes, block);
}

static void
run_recv(int fd, char *buf, uint32_t block, uint64_t bytes, uint64_t got, unsigned max_ms,
         uint64_t start, struct vmsp_result *r)
{
	uint64_t deadline = start + max_ms * NS_PER_MS;
	uint64_t end = start;
	r->start_ns = start;
	while (got < bytes) {
		uint64_t left = bytes - got;
		size_t want = left < block ? (size_t)left : block;
		if (want > READ_CHUNK)
			want = READ_CHUNK;
		ssize_t n = recv(fd, buf, want, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			end = vms_monotonic_ns();
			if (got < bytes && end >= deadline)
				break;
			continue;
		}
		if (n == 0) {
			fail(r, ECONNRESET, "connection closed by the host");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rc = vmsp_wait_fd(fd, POLLIN, deadline);
			if (rc == 0) {
				end = vms_monotonic_ns(); /* cut: the window is the whole max_ms */
				break;
			}
			if (rc > 0)
				continue;
		}
		fail(r, errno, "connection lost while receiving");
		return;
	}
	r->end_ns = end;
	r->bytes = got;
	/* Tell the host how much arrived: its own clock stops there. */
	struct vms_writer w;
	vms_writer_begin(&w, "done");
	vms_writer_add_u64(&w, "bytes", got);
	size_t len = vms_writer_finish(&w);
	uint64_t confirm = vms_monotonic_ns() + VMSP_NET_CONFIRM_MS * NS_PER_MS;
	if (len && send_all(fd, w.buf, len, confirm) == 0) {
		/* Closing with unread payload would reset the connection and could destroy our
		 * "done" on the way: read until the host closes (it stops sending on "done"). */
		shutdown(fd, SHUT_WR);
		while (vmsp_wait_fd(fd, POLLIN, confirm) > 0) {
			ssize_t n = recv(fd, buf, READ_CHUNK, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				break;
		}
	}
	if (got == 0) {
		fail(r, ETIMEDOUT, "no data moved before the deadline");
		return;
	}
	r->ops = blocks(got, block);
}

void
vmsp_net_measure(const char *addr, unsigned port, const char *token, bool guest_sends,
                 uint32_t block, uint64_t bytes, unsigned max_ms, struct vmsp_result *r)
{
	/* Both on the stack: the probe allocates nothing after start. */
	char buf[READ_CHUNK];
	struct vms_record rec;
	memset(r, 0, sizeof(*r));
	if (!addr || !token || block < VMSP_NET_MIN_BLOCK || block > VMSP_NET_MAX_BLOCK ||
	    bytes == 0 || max_ms == 0) {
		fail(r, EINVAL, "bad arguments");
		return;
	}
	struct vms_writer w;
	vms_writer_begin(&w, "netio");
	vms_writer_add_u64(&w, "proto", 1);
	vms_writer_add_str(&w, "token", token);
	vms_writer_add_str(&w, "dir", guest_sends ? "send" : "recv");
	vms_writer_add_u64(&w, "block", block);
	vms_writer_add_u64(&w, "bytes", bytes);
	size_t len = vms_writer_finish(&w);
	if (!len) {
		fail(r, EINVAL, "bad token");
		return;
	}

	uint64_t setup = vms_monotonic_ns() + VMSP_NET_SETUP_MS * NS_PER_MS;
	int fd = connect_to(addr, port, setup, r);
	if (fd < 0)
		return;
	size_t extra = 0;
	if (send_all(fd, w.buf, len, setup) < 0) {
		int err = errno;
		/* The host may have refused before reading (too many connections): say why. */
		if (read_answer(fd, buf, sizeof(buf), &extra, vms_monotonic_ns() + 100 * NS_PER_MS,
		                &rec, r) != 1)
			fail(r, err,
			     err == ETIMEDOUT ? "no answer from the host"
			                      : "connection closed by the host");
		goto cleanup;
	}
	if (read_answer(fd, buf, sizeof(buf), &extra, setup, &rec, r) != 0)
		goto cleanup;
	if (guest_sends) {
		run_send(fd, block, bytes, max_ms, &rec, r);
	} else {
		/* Payload that came with "ok" is the start of the transfer. */
		uint64_t start = vms_monotonic_ns();
		run_recv(fd, buf, block, bytes, extra < bytes ? extra : bytes, max_ms, start, r);
	}

cleanup:
	close(fd);
}

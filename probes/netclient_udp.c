/* UDP receive rate and loss, guest side (see netclient.h and vmscale/netudp.h). libc only. */
#include "probes/netclient.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include "vmscale/clock.h"
#include "vmscale/netudp.h"
#include "vmscale/protocol.h"

#define RCVBUF (1 << 20) /* a burst's datagrams wait here while the guest is descheduled */

/* One burst as it arrives. Arrival times are the kernel's (SO_TIMESTAMPNS, CLOCK_REALTIME)
 * moved onto the monotonic clock by real_off, taken when the measurement starts: a probe
 * descheduled while datagrams queue still sees when each arrived, not when it read it. */
struct burst {
	uint64_t id;
	int64_t real_off; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	uint32_t block, count, received;
	uint64_t first_ns, last_ns;
	bool last_seen;
	unsigned char seen[VMS_UDP_MAX_COUNT / 8]; /* one bit per seq: repeats count once */
};

static void
fail(struct vmsp_result *r, int err, const char *why)
{
	r->err = err;
	r->why = why;
}

/* Counts one datagram of len bytes if it belongs to the burst. */
static void
take(struct burst *b, const unsigned char *buf, size_t len, uint64_t now)
{
	struct vms_udp_header h;
	if (len != b->block || !vms_udp_header_decode(buf, len, &h) || h.id != b->id ||
	    (b->count && h.count != b->count))
		return;
	if (!b->count) {
		b->count = h.count;
		b->first_ns = now;
	}
	if (b->seen[h.seq / 8] & (1u << (h.seq % 8)))
		return;
	b->seen[h.seq / 8] |= (unsigned char)(1u << (h.seq % 8));
	b->received++;
	b->last_ns = now;
	if (h.flags & VMS_UDP_FLAG_LAST)
		b->last_seen = true;
}

/* When to stop waiting for the next datagram. */
static uint64_t
wait_until(const struct burst *b, uint64_t setup, uint64_t end)
{
	if (!b->count)
		return setup;
	uint64_t idle =
	    b->last_ns + (b->last_seen ? VMSP_UDP_IDLE_MS / 5 : VMSP_UDP_IDLE_MS) * NS_PER_MS;
	return idle < end ? idle : end;
}

/* One datagram into buf, and when it arrived: the kernel's receive time on the monotonic
 * clock, or now if the kernel gave none. */
static ssize_t
read_datagram(int fd, unsigned char *buf, size_t cap, const struct burst *b, uint64_t *at)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr m = {.msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = ctl.buf,
	                   .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
	*at = vms_monotonic_ns();
	if (n < 0)
		return n;
	if (m.msg_flags & MSG_TRUNC)
		return (ssize_t)cap + 1; /* not a datagram of ours */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		int64_t mono = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - b->real_off;
		/* A step of the real-time clock since real_off must not move it past now. */
		if (mono > 0 && (uint64_t)mono <= *at)
			*at = (uint64_t)mono;
	}
	return n;
}

/* Receives the burst; 0, or -1 with r filled. */
static int
receive(int fd, const char *req, size_t reqlen, unsigned max_ms, struct burst *b,
        struct vmsp_result *r)
{
	unsigned char buf[VMS_UDP_MAX_BLOCK];
	uint64_t now = vms_monotonic_ns(), setup = now + VMSP_NET_SETUP_MS * NS_PER_MS;
	uint64_t retry = now + VMSP_UDP_RETRY_MS * NS_PER_MS, end = UINT64_MAX;
	while (!b->count || b->received < b->count) {
		uint64_t until = wait_until(b, setup, end);
		if (!b->count && retry < until)
			until = retry;
		int rc = vmsp_wait_fd(fd, POLLIN, until);
		now = vms_monotonic_ns();
		if (rc < 0) {
			fail(r, errno, "poll failed");
			return -1;
		}
		if (rc == 0) {
			if (b->count || now >= setup)
				break;
			(void)send(fd, req, reqlen, MSG_DONTWAIT | MSG_NOSIGNAL); /* lost? again */
			retry = now + VMSP_UDP_RETRY_MS * NS_PER_MS;
			continue;
		}
		uint64_t at;
		ssize_t n = read_datagram(fd, buf, sizeof(buf), b, &at);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0) {
			fail(r, errno,
			     errno == ECONNREFUSED ? "nothing listens on the UDP port"
			                           : "cannot receive");
			return -1;
		}
		bool first = !b->count;
		take(b, buf, (size_t)n, at);
		if (first && b->count)
			end = now + ((uint64_t)max_ms + VMSP_NET_CONFIRM_MS) * NS_PER_MS;
	}
	if (!b->count) {
		fail(r, ETIMEDOUT, "no UDP datagram from the host");
		return -1;
	}
	return 0;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, ns. */
static int64_t
realtime_offset(void)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	return (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)vms_monotonic_ns();
}

void
vmsp_udp_measure(const char *addr, unsigned port, const char *token, uint64_t id, uint32_t block,
                 uint64_t bytes, unsigned max_ms, struct vmsp_result *r, uint32_t *count)
{
	static struct burst b; /* 8 KiB of bits: not on the stack beside the datagram buffer */
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(r, 0, sizeof(*r));
	*count = 0;
	if (!addr || !token || bytes == 0 || max_ms == 0) {
		fail(r, EINVAL, "bad arguments");
		return;
	}
	if (block < VMS_UDP_MIN_BLOCK || block > VMS_UDP_MAX_BLOCK) {
		fail(r, EMSGSIZE, "block size out of the UDP bounds");
		return;
	}
	if (vmsp_net_addr(addr, port, &ss, &sl, r) < 0)
		return;
	struct vms_writer w;
	vms_writer_begin(&w, "udp");
	vms_writer_add_u64(&w, "proto", VMS_UDP_PROTO);
	vms_writer_add_str(&w, "token", token);
	vms_writer_add_u64(&w, "id", id);
	vms_writer_add_u64(&w, "block", block);
	vms_writer_add_u64(&w, "bytes", bytes);
	vms_writer_add_u64(&w, "ms", max_ms);
	size_t len = vms_writer_finish(&w);
	if (!len) {
		fail(r, EINVAL, "bad token");
		return;
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail(r, errno, "cannot create a socket");
		return;
	}
	int sz = RCVBUF, on = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) < 0) {
		fail(r, errno, "cannot ask for kernel receive times");
		goto cleanup;
	}
	/* Connected: the kernel hands us only the host's datagrams. */
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(fd, w.buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		fail(r, errno, "cannot send the UDP request");
		goto cleanup;
	}
	memset(&b, 0, sizeof(b));
	b.real_off = realtime_offset();
	b.id = id;
	b.block = block;
	if (receive(fd, w.buf, len, max_ms, &b, r) < 0)
		goto cleanup;
	*count = b.count;
	r->ops = b.received;
	if (b.received < 2) {
		fail(r, ENODATA, "a single UDP datagram arrived: no rate");
		goto cleanup;
	}
	r->start_ns = b.first_ns;
	r->end_ns = b.last_ns;
	r->bytes = (uint64_t)(b.received - 1) * block;

cleanup:
	close(fd);
}

/*
 * The responder's UDP half (see netio.h, vmscale/netudp.h and probes/PROTOCOL.md, "UDP
 * receive rate and loss"): a guest presents its run's token in one request datagram; the
 * host answers with a burst of numbered datagrams paced at the configured rate, and nothing
 * else. A request it does not honour is dropped and counted, never answered: the host sends
 * only to a peer that presented a granted token, at most what the grant allows, never faster
 * than the rate, and at most VMS_NETIO_UDP_MAX_SESSIONS bursts at once, one per owner.
 */
#include "collectors/guest/netio_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/alloc.h"
#include "vmscale/clock.h"
#include "vmscale/netudp.h"

#define SNDBUF (1 << 20) /* a burst's turn fits without EAGAIN on a fast host */

static const char *const drop_names[VMS_NETIO_UDP_DROP_COUNT] = {
    [VMS_NETIO_UDP_SYNTAX] = "syntax",
    [VMS_NETIO_UDP_VERSION] = "bad_version",
    [VMS_NETIO_UDP_BAD_TOKEN] = "bad_token",
    [VMS_NETIO_UDP_EXPIRED] = "expired",
    [VMS_NETIO_UDP_USED_UP] = "used_up",
    [VMS_NETIO_UDP_TOO_MANY_BYTES] = "too_many_bytes",
    [VMS_NETIO_UDP_OWNER_BUSY] = "owner_busy",
    [VMS_NETIO_UDP_FULL] = "too_many_sessions",
    [VMS_NETIO_UDP_UNPROVEN] = "unproven_address",
    [VMS_NETIO_UDP_BLOCK_TOO_BIG] = "block_exceeds_bytes",
    [VMS_NETIO_UDP_TOO_FAST] = "exceeds_rate",
    [VMS_NETIO_UDP_REPEATED] = "repeated_id",
};

const char *
vms_netio_udp_drop_name(enum vms_netio_udp_drop reason)
{
	if ((unsigned)reason >= VMS_NETIO_UDP_DROP_COUNT)
		return "unknown";
	return drop_names[reason];
}

static unsigned
active_sessions(const struct vms_netio *n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++)
		k += n->usess[i].active;
	return k;
}

static void
session_end(struct vms_netio *n, struct udp_session *s, bool complete, uint64_t now)
{
	if (complete) {
		struct vms_netio_result res = {
		    .udp = true,
		    .block = s->block,
		    .requested = s->requested,
		    .bytes = (uint64_t)s->sent * s->block,
		    .host_ns = s->last_ns - s->start_ns,
		    .complete = s->sent == s->count,
		    .end_mono_ns = now,
		    .datagrams = s->sent,
		};
		netio_record_result(n, s->owner, &res);
		n->st.udp_completed++;
	} else {
		n->st.udp_aborted++;
	}
	s->active = false;
	vms_tick_arm(&n->upace, active_sessions(n) > 0);
}

/* Sends one datagram of the burst from the local address its request arrived at. */
static ssize_t
send_one(const struct vms_netio *n, struct udp_session *s)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = n->ubuf, .iov_len = s->block};
	struct msghdr m = {
	    .msg_name = &s->peer, .msg_namelen = s->peerlen, .msg_iov = &iov, .msg_iovlen = 1};
	if (s->have_local) {
		bool v6 = s->local_v6;
		size_t len = v6 ? sizeof(s->local.v6) : sizeof(s->local.v4);
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(len);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
		cm->cmsg_type = v6 ? IPV6_PKTINFO : IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(len);
		memcpy(CMSG_DATA(cm), &s->local, len);
	}
	return sendmsg(n->ufd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Sends what the pace allows by now: never more than rate * elapsed + one datagram, nor more
 * than this turn's datagrams (*left, shared by the bursts). */
static void
session_pace(struct vms_netio *n, struct udp_session *s, uint64_t now, unsigned *left)
{
	double due = floor((double)n->udp_rate * (double)(now - s->start_ns) / 1e9 / s->block) + 1;
	uint32_t allowed = due >= s->count ? s->count : (uint32_t)due;
	size_t budget = VMS_NETIO_UDP_BUDGET;
	unsigned datagrams = VMS_NETIO_UDP_SESSION_DATAGRAMS;
	while (s->sent < allowed && budget >= s->block && datagrams > 0 && *left > 0) {
		struct vms_udp_header h = {
		    .flags = s->sent + 1 == s->count ? VMS_UDP_FLAG_LAST : 0,
		    .id = s->id,
		    .seq = s->sent,
		    .count = s->count,
		};
		vms_udp_header_encode(n->ubuf, &h);
		ssize_t w = send_one(n, s);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return; /* the socket is full: the same datagram next turn */
		if (w < 0) {
			vms_complain(&n->udp_send_complaint, LOG_WARNING, NULL,
			             "netio: UDP burst of %s cut: %s", s->owner, strerror(errno));
			session_end(n, s, false, now);
			return;
		}
		s->sent++;
		datagrams--;
		(*left)--;
		s->last_ns = vms_monotonic_ns();
		budget -= s->block;
		n->st.udp_datagrams_sent++;
		n->st.udp_bytes_sent += s->block;
	}
	if (s->sent == s->count)
		session_end(n, s, true, now);
}

static void
on_pace(void *opaque)
{
	struct vms_netio *n = opaque;
	uint64_t now = vms_monotonic_ns();
	unsigned left = VMS_NETIO_UDP_TURN_DATAGRAMS;
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++)
		if (n->usess[i].active)
			session_pace(n, &n->usess[i], now, &left);
}

/* The request's sizes against its grant and the rate: its burst's datagram count, or 0 with
 * the reason. Exactly floor(bytes / block) datagrams: never a byte beyond the request. */
static uint32_t
burst_count(const struct vms_netio *n, const struct grant *g, uint64_t bytes, uint64_t ms,
            uint64_t block, enum vms_netio_udp_drop *why)
{
	*why = bytes > g->max_bytes                    ? VMS_NETIO_UDP_TOO_MANY_BYTES
	       : block > bytes || block > g->max_bytes ? VMS_NETIO_UDP_BLOCK_TOO_BIG
	       : (double)bytes > (double)n->udp_rate * (double)ms / 1e3 ? VMS_NETIO_UDP_TOO_FAST
	                                                                : VMS_NETIO_UDP_DROP_COUNT;
	if (*why != VMS_NETIO_UDP_DROP_COUNT)
		return 0;
	uint64_t count = bytes / block;
	return count > VMS_UDP_MAX_COUNT ? VMS_UDP_MAX_COUNT : (uint32_t)count;
}

/* The grant of a request's token, if it is usable from the request's source; else NULL and
 * the reason. */
static struct grant *
request_grant(struct vms_netio *n, const char *token, const struct udp_session *s,
              enum vms_netio_udp_drop *why)
{
	*why = VMS_NETIO_UDP_BAD_TOKEN;
	struct grant *g = vms_token_valid(token) ? netio_grant_find(n, token) : NULL;
	if (!g)
		return NULL;
	uint64_t now = vms_monotonic_ns();
	*why = now >= g->expires_ns                        ? VMS_NETIO_UDP_EXPIRED
	       : g->used >= g->max_conns                   ? VMS_NETIO_UDP_USED_UP
	       : !netio_grant_proven(g, &s->peer)          ? VMS_NETIO_UDP_UNPROVEN
	       : g->udp_started && s->id <= g->udp_last_id ? VMS_NETIO_UDP_REPEATED
	                                                   : VMS_NETIO_UDP_DROP_COUNT;
	return *why == VMS_NETIO_UDP_DROP_COUNT ? g : NULL;
}

/* Checks one request; its grant is used and a session slot filled, or a drop reason. */
static int
check_request(struct vms_netio *n, const char *buf, size_t len, struct udp_session *s,
              enum vms_netio_udp_drop *why)
{
	struct vms_record *rec = &n->rec;
	uint64_t proto, block, bytes, ms;
	if (len && buf[len - 1] == '\n')
		len--;
	*why = VMS_NETIO_UDP_SYNTAX;
	if (vms_record_parse(rec, buf, len) != VMS_PROTO_OK || strcmp(rec->type, "udp") != 0 ||
	    vms_record_get_u64(rec, "proto", &proto) != VMS_PROTO_OK)
		return -1;
	if (proto != VMS_UDP_PROTO) {
		*why = VMS_NETIO_UDP_VERSION;
		return -1;
	}
	const char *token = vms_record_get(rec, "token");
	if (!token || vms_record_get_u64(rec, "id", &s->id) != VMS_PROTO_OK ||
	    vms_record_get_u64(rec, "block", &block) != VMS_PROTO_OK ||
	    vms_record_get_u64(rec, "bytes", &bytes) != VMS_PROTO_OK ||
	    vms_record_get_u64(rec, "ms", &ms) != VMS_PROTO_OK || block < VMS_UDP_MIN_BLOCK ||
	    block > VMS_UDP_MAX_BLOCK || bytes == 0 || ms == 0 || ms > VMS_MAX_BOUND_MS)
		return -1;
	struct grant *g = request_grant(n, token, s, why);
	if (!g)
		return -1;
	s->count = burst_count(n, g, bytes, ms, block, why);
	if (!s->count)
		return -1;
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++) {
		if (n->usess[i].active && strcmp(n->usess[i].owner, g->owner) == 0) {
			*why = VMS_NETIO_UDP_OWNER_BUSY;
			return -1;
		}
	}
	if (active_sessions(n) == VMS_NETIO_UDP_MAX_SESSIONS) {
		*why = VMS_NETIO_UDP_FULL;
		return -1;
	}
	g->used++;
	g->udp_started = true;
	g->udp_last_id = s->id;
	snprintf(s->owner, sizeof(s->owner), "%s", g->owner);
	s->block = (uint32_t)block;
	s->requested = bytes;
	return 0;
}

/* Reads one request datagram and the local address it was sent to (s->local). */
static ssize_t
read_request(int fd, char *buf, size_t cap, struct udp_session *s)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		         CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr m = {.msg_name = &s->peer,
	                   .msg_namelen = sizeof(s->peer),
	                   .msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = ctl.buf,
	                   .msg_controllen = sizeof(ctl.buf)};
	ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);
	if (r < 0)
		return r;
	s->peerlen = m.msg_namelen;
	if (m.msg_flags & MSG_TRUNC)
		r = (ssize_t)cap + 1; /* longer than any request */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			memcpy(&s->local.v4, CMSG_DATA(cm), sizeof(s->local.v4));
			s->local.v4.ipi_spec_dst = s->local.v4.ipi_addr; /* the reply's source */
			s->local.v4.ipi_ifindex = 0;                     /* routed as usual */
			s->have_local = true;
			s->local_v6 = false;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&s->local.v6, CMSG_DATA(cm), sizeof(s->local.v6));
			s->local.v6.ipi6_ifindex = 0;
			s->have_local = true;
			s->local_v6 = true;
		}
	}
	return r;
}

static void
on_request(int watch, int fd, int events, void *opaque)
{
	struct vms_netio *n = opaque;
	(void)watch;
	(void)events;
	char buf[VMS_PROTO_MAX_RECORD + 1];
	for (int k = 0; k < VMS_NETIO_UDP_READS; k++) {
		struct udp_session s = {0};
		ssize_t r = read_request(fd, buf, sizeof(buf), &s);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return; /* EAGAIN, or an error the next datagram may not have */
		n->st.udp_requests++;
		enum vms_netio_udp_drop why = VMS_NETIO_UDP_SYNTAX;
		if ((size_t)r > VMS_PROTO_MAX_RECORD ||
		    check_request(n, buf, (size_t)r, &s, &why) < 0) {
			char peer[INET6_ADDRSTRLEN + 8];
			n->st.udp_dropped[why]++;
			vms_complain(&n->udp_complaint[why], LOG_WARNING, NULL,
			             "netio: dropped a UDP request from %s: %s",
			             netio_peer_name(&s.peer, peer, sizeof(peer)),
			             vms_netio_udp_drop_name(why));
			continue;
		}
		unsigned i = 0;
		while (n->usess[i].active)
			i++; /* check_request saw a free slot */
		s.active = true;
		s.start_ns = s.last_ns = vms_monotonic_ns();
		n->usess[i] = s;
		vms_tick_arm(&n->upace, true);
		unsigned left = VMS_NETIO_UDP_SESSION_DATAGRAMS; /* its first datagrams at once */
		session_pace(n, &n->usess[i], s.start_ns, &left);
	}
}

int
vms_netio_udp_open(struct vms_netio *n, uint64_t rate, char *err, size_t errsz)
{
	if (n->ufd >= 0 || rate < VMS_NETIO_UDP_MIN_RATE || rate > VMS_NETIO_UDP_MAX_RATE) {
		snprintf(err, errsz, "netio: UDP is open already, or the rate is not within %u..%u",
		         VMS_NETIO_UDP_MIN_RATE, VMS_NETIO_UDP_MAX_RATE);
		return -1;
	}
	int fd = socket(n->laddr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&n->laddr, n->laddrlen) < 0) {
		snprintf(err, errsz, "netio: cannot bind the UDP port %u: %s", n->port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int sz = SNDBUF, on = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* With a wildcard address the reply must leave from the address the request hit: the
	 * guest's connected socket takes nothing from another. IPv4 requests on a dual-stack
	 * IPv6 socket come with IPV6_PKTINFO too (a v4-mapped address). */
	if (setsockopt(fd, n->laddr.ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
	               n->laddr.ss_family == AF_INET6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &on,
	               sizeof(on)) < 0) {
		snprintf(err, errsz, "netio: cannot ask for the UDP requests' local address: %s",
		         strerror(errno));
		close(fd);
		return -1;
	}
	n->ufd = fd;
	n->udp_rate = rate;
	n->ubuf = vms_xcalloc(1, VMS_UDP_MAX_BLOCK);
	n->uwatch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_request, n, NULL);
	if (n->uwatch < 0 || vms_tick_add(&n->upace, VMS_NETIO_UDP_PACE_MS, on_pace, n) < 0) {
		snprintf(err, errsz, "netio: cannot watch the UDP port: no event loop registered?");
		netio_udp_close(n);
		return -1;
	}
	vms_info("netio: UDP on port %u, %llu bytes/s per guest", n->port,
	         (unsigned long long)rate);
	return 0;
}

void
netio_udp_revoke(struct vms_netio *n, const char *owner)
{
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++)
		if (n->usess[i].active && strcmp(n->usess[i].owner, owner) == 0)
			session_end(n, &n->usess[i], false, vms_monotonic_ns());
}

void
netio_udp_close(struct vms_netio *n)
{
	if (n->uwatch >= 0)
		virEventRemoveHandle(n->uwatch);
	vms_tick_remove(&n->upace);
	if (n->ufd >= 0)
		close(n->ufd);
	n->ufd = n->uwatch = -1;
	free(n->ubuf);
	n->ubuf = NULL;
}

bool
vms_netio_udp_plausible(const struct vms_netio_result *hr, uint64_t received, uint64_t bytes,
                        uint64_t guest_ns)
{
	if (!hr->udp || received > hr->datagrams || received < 2 || hr->datagrams < 2)
		return false; /* more than was sent, or no gap between arrivals to time */
	if (bytes != (received - 1) * (uint64_t)hr->block)
		return false; /* the bytes after the first datagram, and nothing else */
	/* Both windows are spans on one clock each: no skew allowance, only jitter's 1.5. */
	double host_ns = (double)hr->host_ns * (double)(received - 1) / (double)(hr->datagrams - 1);
	return (double)guest_ns * 1.5 >= host_ns;
}

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
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/alloc.h"
#include "vmscale/clock.h"
#include "vmscale/netudp.h"

#define SNDBUF (1 << 20) /* a burst's turn fits without EAGAIN on a fast host */

static const char *const drop_names[VMS_NETIO_UDP_DROP_COUNT] = {
    [VMS_NETIO_UDP_SYNTAX] = "syntax",         [VMS_NETIO_UDP_VERSION] = "bad_version",
    [VMS_NETIO_UDP_BAD_TOKEN] = "bad_token",   [VMS_NETIO_UDP_EXPIRED] = "expired",
    [VMS_NETIO_UDP_USED_UP] = "used_up",       [VMS_NETIO_UDP_TOO_MANY_BYTES] = "too_many_bytes",
    [VMS_NETIO_UDP_OWNER_BUSY] = "owner_busy", [VMS_NETIO_UDP_FULL] = "too_many_sessions",
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

/* Sends what the pace allows by now: never more than rate * elapsed + one datagram. */
static void
session_pace(struct vms_netio *n, struct udp_session *s, uint64_t now)
{
	double due = floor((double)n->udp_rate * (double)(now - s->start_ns) / 1e9 / s->block) + 1;
	uint32_t allowed = due >= s->count ? s->count : (uint32_t)due;
	size_t budget = VMS_NETIO_UDP_BUDGET;
	while (s->sent < allowed && budget >= s->block) {
		struct vms_udp_header h = {
		    .flags = s->sent + 1 == s->count ? VMS_UDP_FLAG_LAST : 0,
		    .id = s->id,
		    .seq = s->sent,
		    .count = s->count,
		};
		vms_udp_header_encode(n->ubuf, &h);
		ssize_t w = sendto(n->ufd, n->ubuf, s->block, MSG_DONTWAIT | MSG_NOSIGNAL,
		                   (const struct sockaddr *)&s->peer, s->peerlen);
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
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++)
		if (n->usess[i].active)
			session_pace(n, &n->usess[i], now);
}

/* The burst a request asks for and its grant allows: datagrams, at least one. */
static uint32_t
burst_count(const struct vms_netio *n, uint64_t bytes, uint64_t ms, uint32_t block)
{
	double by_time = (double)n->udp_rate * (double)ms / 1e3;
	double b = (double)bytes < by_time ? (double)bytes : by_time;
	double count = floor(b / block);
	if (count < 1)
		return 1;
	return count > VMS_UDP_MAX_COUNT ? VMS_UDP_MAX_COUNT : (uint32_t)count;
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
	*why = VMS_NETIO_UDP_BAD_TOKEN;
	struct grant *g = vms_token_valid(token) ? netio_grant_find(n, token) : NULL;
	if (!g)
		return -1;
	uint64_t now = vms_monotonic_ns();
	*why = now >= g->expires_ns      ? VMS_NETIO_UDP_EXPIRED
	       : g->used >= g->max_conns ? VMS_NETIO_UDP_USED_UP
	       : bytes > g->max_bytes    ? VMS_NETIO_UDP_TOO_MANY_BYTES
	                                 : VMS_NETIO_UDP_DROP_COUNT;
	if (*why != VMS_NETIO_UDP_DROP_COUNT)
		return -1;
	for (unsigned i = 0; i < VMS_NETIO_UDP_MAX_SESSIONS; i++) {
		if (n->usess[i].active && strcmp(n->usess[i].owner, g->owner) == 0) {
			*why = VMS_NETIO_UDP_OWNER_BUSY; /* also a repeated request */
			return -1;
		}
	}
	if (active_sessions(n) == VMS_NETIO_UDP_MAX_SESSIONS) {
		*why = VMS_NETIO_UDP_FULL;
		return -1;
	}
	g->used++;
	snprintf(s->owner, sizeof(s->owner), "%s", g->owner);
	s->block = (uint32_t)block;
	s->requested = bytes;
	s->count = burst_count(n, bytes, ms, s->block);
	return 0;
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
		s.peerlen = sizeof(s.peer);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
		                     (struct sockaddr *)&s.peer, &s.peerlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return; /* EAGAIN, or an error the next datagram may not have */
		n->st.udp_requests++;
		enum vms_netio_udp_drop why = VMS_NETIO_UDP_SYNTAX;
		if ((size_t)r > VMS_PROTO_MAX_RECORD ||
		    check_request(n, buf, (size_t)r, &s, &why) < 0) {
			n->st.udp_dropped[why]++;
			vms_complain(&n->udp_complaint[why], LOG_WARNING, NULL,
			             "netio: dropped a UDP request: %s",
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
		session_pace(n, &n->usess[i], s.start_ns);
	}
}

int
vms_netio_udp_open(struct vms_netio *n, uint64_t rate, char *err, size_t errsz)
{
	if (n->ufd >= 0 || rate == 0) {
		snprintf(err, errsz, "netio: UDP is open already, or no rate");
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
	int sz = SNDBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
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

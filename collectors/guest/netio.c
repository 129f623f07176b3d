/* NetIO-style throughput responder: the listener, accepting, the deadline sweep (see netio.h
 * and probes/PROTOCOL.md; a connection's protocol is in netio_conn.c, grants in netio_grants.c). */
#include "collectors/guest/netio.h"
#include "collectors/guest/netio_internal.h"
#include "daemon/util/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "vmscale/protocol.h"
#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/tick.h"

#define ACCEPT_PAUSE_MS 1000 /* out of descriptors: stop accepting instead of spinning */
#define ACCEPTS_PER_WAKEUP 16
#define LISTEN_BACKLOG 16

const char *
netio_peer_name(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, outsz, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, outsz, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		snprintf(out, outsz, "?");
	}
	return out;
}

/* The sweep runs only while a deadline can pass. */
void
netio_tick_sync(struct vms_netio *n)
{
	vms_tick_arm(&n->tick, n->nconns > 0 || n->accept_paused);
}

/* No slot to linger in: one best-effort line, then close. */
static void
refuse_unheard(struct vms_netio *n, int fd, const char *peer, enum vms_netio_refuse reason)
{
	n->st.refused[reason]++;
	vms_complain(&n->refuse_complaint[reason], LOG_WARNING, NULL,
	             "netio: refused a connection from %s: %s", peer,
	             vms_netio_refuse_name(reason));
	struct vms_writer w;
	vms_writer_begin(&w, "refused");
	vms_writer_add_str(&w, "reason", vms_netio_refuse_name(reason));
	size_t len = vms_writer_finish(&w);
	if (len)
		(void)send(fd, w.buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* Connections from this peer's address that no grant owns: waiting for a request, or
 * refused and lingering. Owned ones count against their owner's share instead. */
static unsigned
peer_pending(const struct vms_netio *n, const struct sockaddr_storage *ss)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n->nconns; i++)
		if (!n->conns[i]->owner[0] && vms_sockaddr_same_host(&n->conns[i]->addr, ss))
			k++;
	return k;
}

static void
on_listen(int watch, int lfd, int events, void *opaque)
{
	struct vms_netio *n = opaque;
	(void)watch;
	(void)events;
	for (int k = 0; k < ACCEPTS_PER_WAKEUP; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: the socket stays readable, so stop
			 * watching it for a while rather than spin. */
			vms_complain(&n->accept_complaint, LOG_WARNING, NULL,
			             "netio: cannot accept a connection: %s", strerror(errno));
			virEventUpdateHandle(n->lwatch, 0);
			n->accept_paused = true;
			n->accept_resume_ns = vms_monotonic_ns() + ACCEPT_PAUSE_MS * NS_PER_MS;
			netio_tick_sync(n);
			return;
		}
		vms_complain_recovered(&n->accept_complaint, NULL,
		                       "netio: accepting connections again");
		n->st.connections++;
		char peer[sizeof(((struct conn *)0)->peer)];
		netio_peer_name(&ss, peer, sizeof(peer));
		/* The peer's own share first: a guest that holds slots is told, and counted, as
		 * such rather than as the host being full. */
		if (peer_pending(n, &ss) >= VMS_NETIO_MAX_PEER_PENDING) {
			refuse_unheard(n, fd, peer, VMS_NETIO_REFUSE_PEER_PENDING);
			continue;
		}
		if (n->nconns == VMS_NETIO_MAX_CONNS) {
			refuse_unheard(n, fd, peer, VMS_NETIO_REFUSE_TOO_MANY_CONNS);
			continue;
		}
		struct conn *c = vms_xcalloc(1, sizeof(*c));
		c->n = n;
		c->fd = fd;
		c->state = ST_REQUEST;
		c->accepted_ns = c->progress_ns = vms_monotonic_ns();
		c->addr = ss;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		c->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, netio_on_conn, c, NULL);
		if (c->watch < 0) {
			vms_err("netio: cannot watch a connection from %s", peer);
			close(fd);
			free(c);
			continue;
		}
		n->conns[n->nconns++] = c;
		netio_tick_sync(n);
	}
}

static void
on_tick(void *opaque)
{
	struct vms_netio *n = opaque;
	uint64_t now = vms_monotonic_ns();
	if (n->accept_paused && now >= n->accept_resume_ns) {
		n->accept_paused = false;
		virEventUpdateHandle(n->lwatch, VIR_EVENT_HANDLE_READABLE);
	}
	/* Backwards: freeing moves the last connection into the freed slot, already seen. */
	for (unsigned i = n->nconns; i-- > 0;) {
		struct conn *c = n->conns[i];
		if (now - c->accepted_ns >= VMS_NETIO_LIFETIME_MS * NS_PER_MS) {
			netio_conn_abort(c, "lasted too long", true);
			continue;
		}
		switch (c->state) {
		case ST_REQUEST:
			if (now - c->accepted_ns >= VMS_NETIO_REQUEST_MS * NS_PER_MS)
				(void)netio_refuse(c, VMS_NETIO_REFUSE_TIMEOUT);
			break;
		case ST_RECEIVE:
		case ST_SEND:
		case ST_AWAIT_DONE:
			if (now - c->progress_ns >= VMS_NETIO_IDLE_MS * NS_PER_MS)
				netio_conn_abort(c, "idle", true);
			break;
		case ST_FLUSH:
		case ST_DRAIN:
			if (now >= c->linger_until_ns)
				netio_conn_free(c);
			break;
		}
	}
	netio_tick_sync(n);
}

struct vms_netio *
vms_netio_open(const char *listen_spec, char *err, size_t errsz)
{
	struct sockaddr_storage ss;
	size_t sl;
	char why[256];
	struct vms_netio *n = NULL;
	int fd = -1;
	if (vms_sockaddr_parse(listen_spec, &ss, &sl, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "netio: %s", why);
		goto cleanup;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsz, "netio: cannot create a socket for %s: %s", listen_spec,
		         strerror(errno));
		goto cleanup;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		snprintf(err, errsz, "netio: cannot bind %s: %s", listen_spec, strerror(errno));
		goto cleanup;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errsz, "netio: cannot listen on %s: %s", listen_spec,
		         strerror(errno));
		goto cleanup;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &bl) < 0) {
		snprintf(err, errsz, "netio: %s: %s", listen_spec, strerror(errno));
		goto cleanup;
	}
	n = vms_xcalloc(1, sizeof(*n));
	n->zeros = vms_xcalloc(1, VMS_NETIO_MAX_BLOCK);
	n->lfd = fd;
	n->lwatch = -1;
	n->ufd = n->uwatch = -1;
	n->laddr = bound;
	n->laddrlen = bl;
	n->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                            : ((struct sockaddr_in *)&bound)->sin_port);
	n->lwatch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_listen, n, NULL);
	int tick_rc = vms_tick_add(&n->tick, VMS_TICK_MS, on_tick, n);
	if (n->lwatch < 0 || tick_rc < 0) {
		snprintf(err, errsz, "netio: cannot watch %s: no event loop registered?",
		         listen_spec);
		goto cleanup;
	}
	vms_info("netio: listening on %s", listen_spec);
	return n;

cleanup:
	if (n) {
		vms_netio_close(n);
	} else if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

void
vms_netio_close(struct vms_netio *n)
{
	if (!n)
		return;
	while (n->nconns > 0)
		netio_conn_free(n->conns[n->nconns - 1]);
	netio_udp_close(n);
	if (n->lwatch >= 0)
		virEventRemoveHandle(n->lwatch);
	vms_tick_remove(&n->tick);
	close(n->lfd);
	for (size_t i = 0; i < n->nowners; i++)
		free(n->owners[i]);
	free(n->owners);
	free(n->zeros);
	free(n);
}

unsigned
vms_netio_port(const struct vms_netio *n)
{
	return n->port;
}

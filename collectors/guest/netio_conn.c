/* One NetIO connection: request, payload either way, the last reply, the drain (see netio.h
 * and probes/PROTOCOL.md, "Network throughput (NetIO-style)"). */
#include "collectors/guest/netio_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "vmscale/protocol.h"
#include "daemon/util/log.h"
#include "vmscale/clock.h"

#define IO_BUDGET (256 * 1024) /* payload bytes per wakeup and connection: others get a turn */
#define DRAIN_MS 1000          /* after the last reply: let it reach the peer before closing */
#define DRAIN_MAX (64 * 1024)

static int
conn_events(const struct conn *c)
{
	int ev = 0;
	if (c->outoff < c->outlen || c->state == ST_SEND)
		ev |= VIR_EVENT_HANDLE_WRITABLE;
	if (c->state != ST_FLUSH)
		ev |= VIR_EVENT_HANDLE_READABLE;
	return ev;
}

static void
conn_update(struct conn *c)
{
	virEventUpdateHandle(c->watch, conn_events(c));
}

void
netio_conn_free(struct conn *c)
{
	struct vms_netio *n = c->n;
	virEventRemoveHandle(c->watch);
	close(c->fd);
	for (unsigned i = 0; i < n->nconns; i++) {
		if (n->conns[i] == c) {
			n->conns[i] = n->conns[--n->nconns];
			break;
		}
	}
	free(c);
	netio_tick_sync(n);
}

void
netio_conn_abort(struct conn *c, const char *why, bool complain)
{
	struct vms_netio *n = c->n;
	if (c->transfer) {
		n->st.aborted++;
		if (complain)
			vms_complain(&n->abort_complaint, LOG_WARNING, NULL,
			             "netio: transfer of %s from %s ended early: %s", c->owner,
			             c->peer, why);
		else
			vms_debug("netio: transfer of %s from %s ended: %s", c->owner, c->peer,
			          why);
	}
	netio_conn_free(c);
}

/* Appends one record after whatever the peer has not taken yet ("ok" before "done"). */
static void
queue_reply(struct conn *c, struct vms_writer *w)
{
	size_t len = vms_writer_finish(w);
	size_t pending = c->outlen - c->outoff;
	memmove(c->out, c->out + c->outoff, pending);
	c->outoff = 0;
	c->outlen = pending;
	/* Our records are short and at most two are ever queued. */
	if (len && pending + len <= sizeof(c->out)) {
		memcpy(c->out + pending, w->buf, len);
		c->outlen += len;
	}
}

/* 0: reply sent; 1: the socket is full; -1: the peer is gone. */
static int
flush_out(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
	return 0;
}

/*
 * The last reply goes out, then the write side closes and input is discarded for a while:
 * closing with unread input would reset the connection and could destroy the reply.
 * Returns false if c is gone.
 */
static bool
conn_finish(struct conn *c)
{
	int rc = flush_out(c);
	if (rc < 0) {
		netio_conn_free(c);
		return false;
	}
	if (rc == 0) {
		shutdown(c->fd, SHUT_WR);
		c->state = ST_DRAIN;
	} else {
		c->state = ST_FLUSH;
	}
	c->linger_until_ns = vms_monotonic_ns() + DRAIN_MS * NS_PER_MS;
	conn_update(c);
	return true;
}

bool
netio_refuse(struct conn *c, enum vms_netio_refuse reason)
{
	struct vms_netio *n = c->n;
	n->st.refused[reason]++;
	vms_complain(&n->refuse_complaint[reason], LOG_WARNING, NULL,
	             "netio: refused a connection from %s: %s", c->peer,
	             vms_netio_refuse_name(reason));
	struct vms_writer w;
	vms_writer_begin(&w, "refused");
	vms_writer_add_str(&w, "reason", vms_netio_refuse_name(reason));
	queue_reply(c, &w);
	return conn_finish(c);
}

static void
transfer_done(struct conn *c, uint64_t bytes, uint64_t host_ns, uint64_t now)
{
	struct vms_netio *n = c->n;
	struct vms_netio_result res = {
	    .guest_sends = c->guest_sends,
	    .block = c->block,
	    .requested = c->requested,
	    .bytes = bytes,
	    .host_ns = host_ns,
	    .complete = bytes == c->requested,
	    .end_mono_ns = now,
	};
	netio_record_result(n, c->owner, &res);
	n->st.completed++;
	c->transfer = false;
	vms_debug("netio: %s from %s: dir=%s block=%u bytes=%llu/%llu in %.3f ms (%.1f MB/s)",
	          c->owner, c->peer, c->guest_sends ? "send" : "recv", c->block,
	          (unsigned long long)bytes, (unsigned long long)c->requested, host_ns / 1e6,
	          host_ns ? bytes * 1e3 / host_ns : 0.0);
}

/* Guest sends: everything requested arrived, or the guest shut its side. */
static bool
receive_done(struct conn *c, uint64_t now)
{
	uint64_t host_ns = c->first_ns && c->last_ns > c->first_ns ? c->last_ns - c->first_ns : 0;
	transfer_done(c, c->moved, host_ns, now);
	struct vms_writer w;
	vms_writer_begin(&w, "done");
	vms_writer_add_u64(&w, "bytes", c->moved);
	vms_writer_add_u64(&w, "host_ns", host_ns);
	queue_reply(c, &w);
	return conn_finish(c);
}

static void
account_received(struct conn *c, size_t len, uint64_t now)
{
	c->last_ns = now;
	c->progress_ns = now;
	c->moved += len;
	c->n->st.bytes_received += len;
}

/* Checks a request line; returns -1 if refused (reason set), 0 if accepted. */
static int
check_request(struct conn *c, const char *line, size_t len, enum vms_netio_refuse *reason)
{
	struct vms_netio *n = c->n;
	struct vms_record *rec = &n->rec;
	uint64_t proto, block, bytes;
	*reason = VMS_NETIO_REFUSE_SYNTAX;
	if (vms_record_parse(rec, line, len) != VMS_PROTO_OK || strcmp(rec->type, "netio") != 0)
		return -1;
	if (vms_record_get_u64(rec, "proto", &proto) != VMS_PROTO_OK)
		return -1;
	if (proto != VMS_NETIO_PROTO) {
		*reason = VMS_NETIO_REFUSE_VERSION;
		return -1;
	}
	const char *token = vms_record_get(rec, "token");
	const char *dir = vms_record_get(rec, "dir");
	if (!token || !dir || vms_record_get_u64(rec, "block", &block) != VMS_PROTO_OK ||
	    vms_record_get_u64(rec, "bytes", &bytes) != VMS_PROTO_OK)
		return -1;
	/* Tiny blocks would make the host spend a system call per few bytes. */
	if ((strcmp(dir, "send") != 0 && strcmp(dir, "recv") != 0) || block < VMS_NETIO_MIN_BLOCK ||
	    block > VMS_NETIO_MAX_BLOCK || bytes == 0)
		return -1;
	*reason = VMS_NETIO_REFUSE_BAD_TOKEN;
	if (!vms_token_valid(token))
		return -1;
	struct grant *g = netio_grant_find(n, token);
	if (!g)
		return -1;
	uint64_t now = vms_monotonic_ns();
	if (now >= g->expires_ns) {
		*reason = VMS_NETIO_REFUSE_EXPIRED;
		return -1;
	}
	if (g->used >= g->max_conns) {
		*reason = VMS_NETIO_REFUSE_USED_UP;
		return -1;
	}
	if (bytes > g->max_bytes) {
		*reason = VMS_NETIO_REFUSE_TOO_MANY_BYTES;
		return -1;
	}
	/* Checked last: a refusal for the owner's share must not hide a bad request. */
	if (netio_owner_conns(n, g->owner) >= VMS_NETIO_MAX_OWNER_CONNS) {
		*reason = VMS_NETIO_REFUSE_OWNER_CONNS;
		return -1;
	}
	g->used++;
	netio_grant_prove(g, &c->addr); /* the handshake showed the peer receives there */
	snprintf(c->owner, sizeof(c->owner), "%s", g->owner);
	c->guest_sends = strcmp(dir, "send") == 0;
	c->block = (uint32_t)block;
	c->block_left = c->block;
	c->requested = bytes;
	return 0;
}

static bool
read_request(struct conn *c, uint64_t now)
{
	struct vms_netio *n = c->n;
	ssize_t r;
	do
		r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return true;
	if (r <= 0) {
		/* Gone before asking anything: a port scan, not a refusal. */
		n->st.silent++;
		netio_conn_free(c);
		return false;
	}
	size_t old = c->inlen;
	c->inlen += (size_t)r;
	char *lf = memchr(c->in + old, '\n', c->inlen - old);
	if (!lf) {
		if (c->inlen == sizeof(c->in))
			return netio_refuse(c, VMS_NETIO_REFUSE_OVERSIZED);
		return true;
	}
	size_t len = (size_t)(lf - c->in);
	enum vms_netio_refuse reason;
	if (check_request(c, c->in, len, &reason) < 0)
		return netio_refuse(c, reason);

	n->st.accepted++;
	c->transfer = true;
	c->progress_ns = now;
	struct vms_writer w;
	vms_writer_begin(&w, "ok");
	queue_reply(c, &w);
	/* The host's clock starts as "ok" leaves: the guest starts on it, in both directions.
	 * Not at the first payload byte read, which may have waited in the socket's buffer; and
	 * read before sending, since the guest may run before send() even returns. */
	uint64_t ok_ns = vms_monotonic_ns();
	int rc = flush_out(c);
	if (rc < 0) {
		netio_conn_abort(c, strerror(errno), true);
		return false;
	}
	if (rc == 0)
		c->first_ns = ok_ns;
	/* Bytes after the request: payload when the guest sends, else the start of its "done". */
	size_t extra = c->inlen - len - 1;
	memmove(c->in, lf + 1, extra);
	c->inlen = extra;
	if (c->guest_sends) {
		c->state = ST_RECEIVE;
		size_t take = extra < c->requested ? extra : (size_t)c->requested;
		c->inlen = 0;
		if (take)
			account_received(c, take, now);
		if (c->moved == c->requested)
			return receive_done(c, now);
	} else {
		c->state = ST_SEND;
	}
	conn_update(c);
	return true;
}

static bool
read_payload(struct conn *c)
{
	struct vms_netio *n = c->n;
	size_t budget = IO_BUDGET;
	while (budget > 0 && c->moved < c->requested) {
		uint64_t left = c->requested - c->moved;
		size_t want = left < sizeof(n->scratch) ? (size_t)left : sizeof(n->scratch);
		ssize_t r = recv(c->fd, n->scratch, want, MSG_DONTWAIT);
		uint64_t now = vms_monotonic_ns();
		if (r > 0) {
			account_received(c, (size_t)r, now);
			budget -= (size_t)r < budget ? (size_t)r : budget;
			continue;
		}
		if (r == 0)
			return receive_done(c, now); /* the guest stopped early: its deadline */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		netio_conn_abort(c, strerror(errno), true);
		return false;
	}
	if (c->moved == c->requested)
		return receive_done(c, vms_monotonic_ns());
	return true;
}

/* Guest receives: its "done bytes=N" ends the transfer (early when it hit its deadline). */
static bool
read_done(struct conn *c, uint64_t now)
{
	struct vms_netio *n = c->n;
	ssize_t r = 0;
	if (c->inlen < sizeof(c->in)) {
		do
			r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (r == 0) {
			netio_conn_abort(c, "closed without done", true);
			return false;
		}
		if (r < 0) {
			netio_conn_abort(c, strerror(errno), true);
			return false;
		}
		c->inlen += (size_t)r;
	}
	char *lf = memchr(c->in, '\n', c->inlen);
	if (!lf) {
		if (c->inlen == sizeof(c->in)) {
			netio_conn_abort(c, "oversized done", true);
			return false;
		}
		return true;
	}
	uint64_t bytes;
	if (vms_record_parse(&n->rec, c->in, (size_t)(lf - c->in)) != VMS_PROTO_OK ||
	    strcmp(n->rec.type, "done") != 0 ||
	    vms_record_get_u64(&n->rec, "bytes", &bytes) != VMS_PROTO_OK) {
		netio_conn_abort(c, "malformed done", true);
		return false;
	}
	/* The guest cannot have received more than we wrote: a larger claim is not believed. */
	if (bytes > c->moved)
		bytes = c->moved;
	transfer_done(c, bytes, c->first_ns ? now - c->first_ns : 0, now);
	c->inlen = 0;
	return conn_finish(c);
}

static bool
drain(struct conn *c)
{
	struct vms_netio *n = c->n;
	for (;;) {
		ssize_t r = recv(c->fd, n->scratch, sizeof(n->scratch), MSG_DONTWAIT);
		if (r > 0) {
			c->drained += (size_t)r;
			if (c->drained <= DRAIN_MAX)
				continue;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return true;
		}
		netio_conn_free(c); /* EOF, an error, or a peer that keeps sending */
		return false;
	}
}

/* Guest receives: payload in writes of one block (the rest of it after a short write). */
static bool
write_payload(struct conn *c)
{
	struct vms_netio *n = c->n;
	size_t budget = IO_BUDGET;
	while (budget > 0 && c->moved < c->requested) {
		uint64_t left = c->requested - c->moved;
		size_t want = left < c->block_left ? (size_t)left : c->block_left;
		ssize_t w = send(c->fd, n->zeros, want, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			c->moved += (size_t)w;
			c->block_left -= (uint32_t)w;
			if (c->block_left == 0)
				c->block_left = c->block;
			c->progress_ns = vms_monotonic_ns();
			n->st.bytes_sent += (size_t)w;
			budget -= (size_t)w < budget ? (size_t)w : budget;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		netio_conn_abort(c, w < 0 ? strerror(errno) : "short write", true);
		return false;
	}
	if (c->moved == c->requested) {
		c->state = ST_AWAIT_DONE;
		conn_update(c);
	}
	return true;
}

static bool
conn_writable(struct conn *c)
{
	uint64_t before = vms_monotonic_ns();
	int rc = flush_out(c);
	if (rc < 0) {
		if (c->state == ST_FLUSH || c->state == ST_DRAIN)
			netio_conn_free(c);
		else
			netio_conn_abort(c, strerror(errno), true);
		return false;
	}
	if (rc > 0)
		return true;
	if (c->transfer && !c->first_ns)
		c->first_ns = before; /* "ok" went out late */
	switch (c->state) {
	case ST_FLUSH:
		return conn_finish(c);
	case ST_SEND:
		return write_payload(c);
	default:
		conn_update(c); /* the reply is out: stop asking for writability */
		return true;
	}
}

static bool
conn_readable(struct conn *c, uint64_t now)
{
	switch (c->state) {
	case ST_REQUEST:
		return read_request(c, now);
	case ST_RECEIVE:
		return read_payload(c);
	case ST_SEND:
	case ST_AWAIT_DONE:
		return read_done(c, now);
	case ST_DRAIN:
		return drain(c);
	case ST_FLUSH:
		break;
	}
	netio_conn_free(c); /* hangup or error while we only wanted to write */
	return false;
}

void
netio_on_conn(int watch, int fd, int events, void *opaque)
{
	struct conn *c = opaque;
	(void)watch;
	(void)fd;
	if ((events & VIR_EVENT_HANDLE_WRITABLE) && !conn_writable(c))
		return;
	if (events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR))
		(void)conn_readable(c, vms_monotonic_ns());
}

/* NetIO-style throughput responder (see netio.h and probes/PROTOCOL.md). */
#include "collectors/guest/netio.h"
#include "daemon/util/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "vmscale/protocol.h"
#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/tick.h"

#define IO_BUDGET (256 * 1024) /* payload bytes per wakeup and connection: others get a turn */
#define DRAIN_MS 1000          /* after the last reply: let it reach the peer before closing */
#define DRAIN_MAX (64 * 1024)
#define ACCEPT_PAUSE_MS 1000   /* out of descriptors: stop accepting instead of spinning */
#define ACCEPTS_PER_WAKEUP 16
#define LISTEN_BACKLOG 16
#define RESULTS_PER_OWNER 12   /* two directions times six block sizes (the seeds' 1k..32k) */
#define MAX_OWNERS 1024        /* results kept; owners are domains, forgotten when they go */
#define SCRATCH (64 * 1024)    /* reads need not match the block size: recv() takes what is there */

enum conn_state {
	ST_REQUEST,    /* reading the request line */
	ST_RECEIVE,    /* guest sends: reading payload */
	ST_SEND,       /* guest receives: writing payload */
	ST_AWAIT_DONE, /* guest receives: all written, waiting for its "done" */
	ST_FLUSH,      /* writing the last reply ("refused ...", "done ...") */
	ST_DRAIN,      /* write side shut: discard input until EOF, a bound or the deadline */
};

struct conn {
	struct vms_netio *n;
	int fd, watch;
	enum conn_state state;
	char peer[INET6_ADDRSTRLEN + 8];
	char owner[VMS_NETIO_OWNER_MAX + 1]; /* empty until a grant matched */
	bool transfer;                       /* started: ends counted completed or aborted */
	bool guest_sends;
	uint32_t block;
	uint32_t block_left; /* bytes left to write in the current block */
	uint64_t requested, moved;
	uint64_t accepted_ns, first_ns, last_ns, progress_ns, linger_until_ns;
	size_t drained;
	char in[VMS_PROTO_MAX_RECORD];
	size_t inlen;
	char out[VMS_PROTO_MAX_RECORD + 1];
	size_t outlen, outoff;
};

struct grant {
	char token[VMS_TOKEN_LEN + 1];
	char owner[VMS_NETIO_OWNER_MAX + 1];
	uint64_t max_bytes;
	unsigned max_conns, used;
	uint64_t expires_ns;
	uint64_t seq; /* creation order: the oldest unusable grant goes first */
};

struct owner_results {
	char owner[VMS_NETIO_OWNER_MAX + 1];
	struct vms_netio_result r[RESULTS_PER_OWNER];
	unsigned nr, last;
	uint64_t touched;
};

struct vms_netio {
	int lfd, lwatch;
	struct vms_tick tick; /* deadline sweep, only while something can time out */
	bool accept_paused;
	uint64_t accept_resume_ns;
	unsigned port;
	struct conn *conns[VMS_NETIO_MAX_CONNS];
	unsigned nconns;
	struct grant grants[VMS_NETIO_MAX_GRANTS];
	unsigned ngrants;
	uint64_t seq;
	struct owner_results **owners;
	size_t nowners, capowners;
	struct vms_netio_stats st;
	/* Per reason: a port scanner's bad tokens must not hide our own expired grants. */
	struct vms_complaint refuse_complaint[VMS_NETIO_REFUSE_COUNT];
	struct vms_complaint abort_complaint, accept_complaint;
	struct vms_record rec; /* 2 KiB: parsed here, one thread only */
	char scratch[SCRATCH]; /* guest payload lands here and goes nowhere */
	/* Payload the host sends: zeros, never written, so that no guest's data can reach
	 * another guest (and, calloc'd, its pages stay the kernel's shared zero page). */
	char *zeros;
};

static const char *const refuse_names[VMS_NETIO_REFUSE_COUNT] = {
	[VMS_NETIO_REFUSE_SYNTAX] = "syntax",
	[VMS_NETIO_REFUSE_OVERSIZED] = "oversized",
	[VMS_NETIO_REFUSE_VERSION] = "bad_version",
	[VMS_NETIO_REFUSE_BAD_TOKEN] = "bad_token",
	[VMS_NETIO_REFUSE_EXPIRED] = "expired",
	[VMS_NETIO_REFUSE_USED_UP] = "used_up",
	[VMS_NETIO_REFUSE_TOO_MANY_BYTES] = "too_many_bytes",
	[VMS_NETIO_REFUSE_TOO_MANY_CONNS] = "too_many_connections",
	[VMS_NETIO_REFUSE_TIMEOUT] = "timeout",
};

const char *
vms_netio_refuse_name(enum vms_netio_refuse reason)
{
	if ((unsigned)reason >= VMS_NETIO_REFUSE_COUNT)
		return "unknown";
	return refuse_names[reason];
}

static void
format_peer(const struct sockaddr_storage *ss, char *out, size_t outsz)
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
}

/* The sweep runs only while a deadline can pass. */
static void
timer_sync(struct vms_netio *n)
{
	vms_tick_arm(&n->tick, n->nconns > 0 || n->accept_paused);
}

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

static void
conn_free(struct conn *c)
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
	timer_sync(n);
}

static void
conn_abort(struct conn *c, const char *why, bool complain)
{
	struct vms_netio *n = c->n;
	if (c->transfer) {
		n->st.aborted++;
		if (complain)
			vms_complain(&n->abort_complaint, LOG_WARNING, NULL,
				     "netio: transfer of %s from %s ended early: %s", c->owner, c->peer,
				     why);
		else
			vms_debug("netio: transfer of %s from %s ended: %s", c->owner, c->peer, why);
	}
	conn_free(c);
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
		conn_free(c);
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

static bool
refuse(struct conn *c, enum vms_netio_refuse reason)
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

static struct owner_results *
owner_find(const struct vms_netio *n, const char *owner, size_t *idx)
{
	for (size_t i = 0; i < n->nowners; i++) {
		if (strcmp(n->owners[i]->owner, owner) == 0) {
			if (idx)
				*idx = i;
			return n->owners[i];
		}
	}
	return NULL;
}

static void
record_result(struct vms_netio *n, const char *owner, const struct vms_netio_result *res)
{
	struct owner_results *o = owner_find(n, owner, NULL);
	if (!o) {
		if (n->nowners == MAX_OWNERS) {
			/* Reuse the owner heard from least recently. */
			size_t old = 0;
			for (size_t i = 1; i < n->nowners; i++)
				if (n->owners[i]->touched < n->owners[old]->touched)
					old = i;
			o = n->owners[old];
			memset(o, 0, sizeof(*o));
		} else {
			if (n->nowners == n->capowners) {
				n->capowners = n->capowners ? n->capowners * 2 : 8;
				n->owners = vms_xrealloc(n->owners, n->capowners, sizeof(*n->owners));
			}
			o = vms_xcalloc(1, sizeof(*o));
			n->owners[n->nowners++] = o;
		}
		snprintf(o->owner, sizeof(o->owner), "%s", owner);
	}
	o->touched = ++n->seq;
	unsigned slot = o->nr;
	for (unsigned i = 0; i < o->nr; i++) {
		if (o->r[i].guest_sends == res->guest_sends && o->r[i].block == res->block) {
			slot = i;
			break;
		}
	}
	if (slot == RESULTS_PER_OWNER) {
		/* A guest inventing block sizes only pushes out its own oldest result. */
		slot = 0;
		for (unsigned i = 1; i < o->nr; i++)
			if (o->r[i].end_mono_ns < o->r[slot].end_mono_ns)
				slot = i;
	} else if (slot == o->nr) {
		o->nr++;
	}
	o->r[slot] = *res;
	o->last = slot;
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
	record_result(n, c->owner, &res);
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

static struct grant *
grant_find(struct vms_netio *n, const char *token)
{
	for (unsigned i = 0; i < n->ngrants; i++)
		if (vms_token_equal(n->grants[i].token, token))
			return &n->grants[i];
	return NULL;
}

static bool
grant_usable(const struct grant *g, uint64_t now)
{
	return now < g->expires_ns && g->used < g->max_conns;
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
	struct grant *g = grant_find(n, token);
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
	g->used++;
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
		conn_free(c);
		return false;
	}
	size_t old = c->inlen;
	c->inlen += (size_t)r;
	char *lf = memchr(c->in + old, '\n', c->inlen - old);
	if (!lf) {
		if (c->inlen == sizeof(c->in))
			return refuse(c, VMS_NETIO_REFUSE_OVERSIZED);
		return true;
	}
	size_t len = (size_t)(lf - c->in);
	enum vms_netio_refuse reason;
	if (check_request(c, c->in, len, &reason) < 0)
		return refuse(c, reason);

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
		conn_abort(c, strerror(errno), true);
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
		conn_abort(c, strerror(errno), true);
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
			conn_abort(c, "closed without done", true);
			return false;
		}
		if (r < 0) {
			conn_abort(c, strerror(errno), true);
			return false;
		}
		c->inlen += (size_t)r;
	}
	char *lf = memchr(c->in, '\n', c->inlen);
	if (!lf) {
		if (c->inlen == sizeof(c->in)) {
			conn_abort(c, "oversized done", true);
			return false;
		}
		return true;
	}
	uint64_t bytes;
	if (vms_record_parse(&n->rec, c->in, (size_t)(lf - c->in)) != VMS_PROTO_OK ||
	    strcmp(n->rec.type, "done") != 0 ||
	    vms_record_get_u64(&n->rec, "bytes", &bytes) != VMS_PROTO_OK) {
		conn_abort(c, "malformed done", true);
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
		conn_free(c); /* EOF, an error, or a peer that keeps sending */
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
		conn_abort(c, w < 0 ? strerror(errno) : "short write", true);
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
			conn_free(c);
		else
			conn_abort(c, strerror(errno), true);
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
	conn_free(c); /* hangup or error while we only wanted to write */
	return false;
}

static void
on_conn(int watch, int fd, int events, void *opaque)
{
	struct conn *c = opaque;
	(void)watch;
	(void)fd;
	if ((events & VIR_EVENT_HANDLE_WRITABLE) && !conn_writable(c))
		return;
	if (events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR))
		(void)conn_readable(c, vms_monotonic_ns());
}

static void
refuse_unheard(struct vms_netio *n, int fd, const char *peer)
{
	n->st.refused[VMS_NETIO_REFUSE_TOO_MANY_CONNS]++;
	vms_complain(&n->refuse_complaint[VMS_NETIO_REFUSE_TOO_MANY_CONNS], LOG_WARNING, NULL,
		     "netio: refused a connection from %s: %s", peer,
		     vms_netio_refuse_name(VMS_NETIO_REFUSE_TOO_MANY_CONNS));
	/* No slot to linger in: one best-effort line, then close. */
	struct vms_writer w;
	vms_writer_begin(&w, "refused");
	vms_writer_add_str(&w, "reason", vms_netio_refuse_name(VMS_NETIO_REFUSE_TOO_MANY_CONNS));
	size_t len = vms_writer_finish(&w);
	if (len)
		(void)send(fd, w.buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
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
			timer_sync(n);
			return;
		}
		vms_complain_recovered(&n->accept_complaint, NULL, "netio: accepting connections again");
		n->st.connections++;
		char peer[sizeof(((struct conn *)0)->peer)];
		format_peer(&ss, peer, sizeof(peer));
		if (n->nconns == VMS_NETIO_MAX_CONNS) {
			refuse_unheard(n, fd, peer);
			continue;
		}
		struct conn *c = vms_xcalloc(1, sizeof(*c));
		c->n = n;
		c->fd = fd;
		c->state = ST_REQUEST;
		c->accepted_ns = c->progress_ns = vms_monotonic_ns();
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		c->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_conn, c, NULL);
		if (c->watch < 0) {
			vms_err("netio: cannot watch a connection from %s", peer);
			close(fd);
			free(c);
			continue;
		}
		n->conns[n->nconns++] = c;
		timer_sync(n);
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
			conn_abort(c, "lasted too long", true);
			continue;
		}
		switch (c->state) {
		case ST_REQUEST:
			if (now - c->accepted_ns >= VMS_NETIO_REQUEST_MS * NS_PER_MS)
				(void)refuse(c, VMS_NETIO_REFUSE_TIMEOUT);
			break;
		case ST_RECEIVE:
		case ST_SEND:
		case ST_AWAIT_DONE:
			if (now - c->progress_ns >= VMS_NETIO_IDLE_MS * NS_PER_MS)
				conn_abort(c, "idle", true);
			break;
		case ST_FLUSH:
		case ST_DRAIN:
			if (now >= c->linger_until_ns)
				conn_free(c);
			break;
		}
	}
	timer_sync(n);
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
		conn_free(n->conns[n->nconns - 1]);
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

int
vms_netio_grant(struct vms_netio *n, const char *token, const char *owner, uint64_t max_bytes,
		unsigned max_conns, uint64_t expires_mono_ns)
{
	uint64_t now = vms_monotonic_ns();
	if (!token || !vms_token_valid(token) || !owner || !*owner ||
	    strlen(owner) > VMS_NETIO_OWNER_MAX || max_bytes == 0 || max_conns == 0 ||
	    expires_mono_ns <= now) {
		errno = EINVAL;
		return -1;
	}
	if (grant_find(n, token)) {
		errno = EEXIST;
		return -1;
	}
	if (n->ngrants == VMS_NETIO_MAX_GRANTS) {
		unsigned victim = VMS_NETIO_MAX_GRANTS;
		for (unsigned i = 0; i < n->ngrants; i++)
			if (!grant_usable(&n->grants[i], now) &&
			    (victim == VMS_NETIO_MAX_GRANTS ||
			     n->grants[i].seq < n->grants[victim].seq))
				victim = i;
		if (victim == VMS_NETIO_MAX_GRANTS) {
			errno = ENOSPC;
			return -1;
		}
		n->grants[victim] = n->grants[--n->ngrants];
	}
	struct grant *g = &n->grants[n->ngrants++];
	memset(g, 0, sizeof(*g));
	memcpy(g->token, token, VMS_TOKEN_LEN + 1);
	snprintf(g->owner, sizeof(g->owner), "%s", owner);
	g->max_bytes = max_bytes;
	g->max_conns = max_conns;
	g->expires_ns = expires_mono_ns;
	g->seq = ++n->seq;
	return 0;
}

void
vms_netio_revoke(struct vms_netio *n, const char *owner)
{
	for (unsigned i = 0; i < n->ngrants;) {
		if (strcmp(n->grants[i].owner, owner) == 0)
			n->grants[i] = n->grants[--n->ngrants];
		else
			i++;
	}
	for (unsigned i = n->nconns; i-- > 0;)
		if (strcmp(n->conns[i]->owner, owner) == 0)
			conn_abort(n->conns[i], "revoked", false);
}

void
vms_netio_forget(struct vms_netio *n, const char *owner)
{
	vms_netio_revoke(n, owner);
	size_t i;
	if (owner_find(n, owner, &i)) {
		free(n->owners[i]);
		n->owners[i] = n->owners[--n->nowners];
	}
}

void
vms_netio_get_stats(const struct vms_netio *n, struct vms_netio_stats *out)
{
	uint64_t now = vms_monotonic_ns();
	*out = n->st;
	out->active = n->nconns;
	out->grants = 0;
	for (unsigned i = 0; i < n->ngrants; i++)
		if (grant_usable(&n->grants[i], now))
			out->grants++;
}

bool
vms_netio_last_result(const struct vms_netio *n, const char *owner, struct vms_netio_result *out)
{
	const struct owner_results *o = owner_find(n, owner, NULL);
	if (!o || o->nr == 0)
		return false;
	*out = o->r[o->last];
	return true;
}

bool
vms_netio_find_result(const struct vms_netio *n, const char *owner, bool guest_sends,
		      uint32_t block, struct vms_netio_result *out)
{
	const struct owner_results *o = owner_find(n, owner, NULL);
	if (!o)
		return false;
	for (unsigned i = 0; i < o->nr; i++) {
		if (o->r[i].guest_sends == guest_sends && o->r[i].block == block) {
			*out = o->r[i];
			return true;
		}
	}
	return false;
}

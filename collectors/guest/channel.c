/* Probe channels: connecting, reconnecting, accepted connections, reading lines (see
 * channel.h; the records are handled in channel_reports.c, active runs in channel_runs.c). */
#include "collectors/guest/channel.h"
#include "collectors/guest/channel_internal.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/log.h"
#include "collectors/guest/netio.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/regex_bound.h"

#define READ_CHUNK 4096
/* Per wakeup, so that one busy channel cannot starve the others in that turn of the loop; a
 * domain's rate is bounded by its buckets (channel_throttle.c). */
#define READ_BUDGET (64 * 1024)
#define BACKOFF_MIN_NS (1 * NS_PER_S)
#define BACKOFF_MAX_NS (30 * NS_PER_S)

/* Intervals of silence after connecting before we say the probe is not talking. */
#define SILENT_INTERVALS 3

/* Connection lines written plainly before the rest are rate-limited: a probe restart's worth
 * (closed or replaced, connected over, hello). A connection that says hello and holds for
 * CONN_STEADY_NS ends the burst. */
#define CONN_LINES_FREE 4
#define CONN_STEADY_NS (60 * NS_PER_S)

/* For log lines: the socket path, or the transport of an accepted connection. */
const char *
chan_where(const struct chan *ch)
{
	return ch->accepted || !ch->path ? ch->transport : ch->path;
}

void
chan_log_conn(struct chan *ch, const char *fmt, ...)
{
	if (ch->conn_lines++ == 0)
		ch->conn_burst_ns = vms_monotonic_ns();
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ch->conn_lines <= CONN_LINES_FREE)
		vms_log(LOG_INFO, ch->name, "%s", msg);
	else
		vms_complain(&ch->conn_complaint, LOG_WARNING, ch->name,
		             "%s (the probe keeps reconnecting: such lines rate-limited)", msg);
}

/* A connection that said hello and held for CONN_STEADY_NS ends a burst of connection lines. */
static void
chan_check_steady(struct chan *ch, const struct vms_domain *d, uint64_t now_ns)
{
	if (ch->conn_lines == 0 || ch->fd < 0 || !d->probe.hello ||
	    now_ns - ch->connected_at_ns < CONN_STEADY_NS)
		return;
	vms_complain_recovered(&ch->conn_complaint, ch->name,
	                       "probe connection over %s steady again after %u connection events "
	                       "in %llu s",
	                       chan_where(ch), ch->conn_lines,
	                       (unsigned long long)((now_ns - ch->conn_burst_ns) / NS_PER_S));
	ch->conn_lines = 0;
}

struct vms_channels *
vms_channels_new(struct vms_store *st)
{
	struct vms_channels *c = vms_xcalloc(1, sizeof(*c));
	c->store = st;
	/* Until a plan is set: the protocol's defaults, no active runs. */
	vms_schedule_defaults(&c->plan.schedule);
	c->plan.schedule.cpu_ms = st->probe_interval_ms;
	c->plan.runs.concurrency = 1;
	c->psched = vms_psched_new(&c->plan.runs);
	return c;
}

static void
probe_disconnected(struct vms_channels *c, const char *uuid)
{
	struct vms_domain *d = vms_store_find(c->store, uuid);
	if (d && d->probe.connected) {
		d->probe.connected = false;
		d->probe.hello = false;
		vms_store_part_changed(c->store, VMS_STORE_PROBES);
	}
}

static void
chan_close(struct chan *ch)
{
	if (ch->watch >= 0) {
		virEventRemoveHandle(ch->watch);
		ch->watch = -1;
	}
	if (ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	ch->seq_valid = false;
	ch->cpu_seen = false;
	ch->throttled = false; /* its watch is gone; the buckets stay the domain's */
	vms_linebuf_reset(&ch->lines);
	chan_run_abandon(ch);
	vms_psched_remove(ch->owner->psched, ch->uuid);
	if (ch->owner->plan.netio)
		vms_netio_forget(ch->owner->plan.netio, ch->uuid);
	probe_disconnected(ch->owner, ch->uuid);
}

static void
chan_schedule_retry(struct chan *ch)
{
	ch->backoff_ns = ch->backoff_ns ? ch->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (ch->backoff_ns > BACKOFF_MAX_NS)
		ch->backoff_ns = BACKOFF_MAX_NS;
	ch->retry_at_ns = vms_monotonic_ns() + ch->backoff_ns;
}

/* Best-effort write of one small record; a socket that cannot take 1 KiB is broken. */
int
chan_send(struct chan *ch, const char *rec, size_t len)
{
	if (len == 0)
		return -1;
	ssize_t w = send(ch->fd, rec, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return w == (ssize_t)len ? 0 : -1;
}

struct chan *
chan_find(const struct vms_channels *c, const char *uuid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->chans[i]->uuid, uuid) == 0)
			return c->chans[i];
	return NULL;
}

struct line_ctx {
	struct chan *ch;
	uint64_t now_ns;
};

static void
on_line(void *opaque, const char *line, size_t len)
{
	struct line_ctx *lc = opaque;
	vms_bucket_take(&lc->ch->records, 1);
	vms_channels_handle_line(lc->ch->owner, lc->ch->uuid, line, len, lc->now_ns);
}

static void
on_line_error(void *opaque, enum vms_proto_error err)
{
	struct line_ctx *lc = opaque;
	struct chan *ch = lc->ch;
	vms_bucket_take(&ch->records, 1);
	chan_count_reject(ch->owner, ch, vms_store_find(ch->owner->store, ch->uuid), err);
}

static void
on_readable(int watch, int fd, int events, void *opaque)
{
	struct chan *ch = opaque;
	(void)watch;
	struct line_ctx lc = {.ch = ch, .now_ns = vms_monotonic_ns()};
	size_t budget = READ_BUDGET;
	bool closed = false;
	if (events & VIR_EVENT_HANDLE_READABLE) {
		char buf[READ_CHUNK];
		vms_bucket_refill(&ch->records, lc.now_ns);
		vms_bucket_refill(&ch->bytes, lc.now_ns);
		while (budget > 0) {
			enum vms_throttle why;
			size_t want = chan_read_allowance(ch, sizeof(buf), &why);
			if (!want) {
				chan_throttle(ch->owner, ch, why, lc.now_ns);
				break;
			}
			ssize_t r = recv(fd, buf, want, MSG_DONTWAIT);
			if (r > 0) {
				vms_bucket_take(&ch->bytes, (double)r);
				vms_linebuf_feed(&ch->lines, buf, (size_t)r, on_line, on_line_error,
				                 &lc);
				budget -= (size_t)r < budget ? (size_t)r : budget;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			closed = true; /* EOF or a hard error */
			break;
		}
	} else if (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)) {
		closed = true;
	}
	if (closed) {
		chan_log_conn(ch, "probe channel %s closed", chan_where(ch));
		bool was_accepted = ch->accepted;
		chan_close(ch);
		/* An accepted connection is the guest's to remake; a unix channel is ours. */
		ch->accepted = false;
		ch->transport = "virtio-serial";
		if (!was_accepted)
			chan_schedule_retry(ch);
	}
}

static int chan_start(struct vms_channels *c, struct chan *ch, int fd);

static void
chan_open(struct vms_channels *c, struct chan *ch)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ch->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vms_complain(&ch->connect_complaint, LOG_WARNING, ch->name,
		             "cannot connect to probe channel %s: %s", ch->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		chan_schedule_retry(ch);
		return;
	}
	if (chan_start(c, ch, fd) < 0) {
		chan_schedule_retry(ch);
		return;
	}
	vms_complain_recovered(&ch->connect_complaint, ch->name, "connected to probe channel %s",
	                       ch->path);
	ch->backoff_ns = 0;
}

/*
 * Whatever the transport: watches fd (which the chan now owns), marks the probe connected and
 * greets it with the host record. Returns -1 (fd closed) if the event loop refuses the fd.
 */
static int
chan_start(struct vms_channels *c, struct chan *ch, int fd)
{
	ch->fd = fd;
	ch->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_readable, ch, NULL);
	if (ch->watch < 0) {
		vms_err("cannot watch probe channel %s", chan_where(ch));
		close(fd);
		ch->fd = -1;
		return -1;
	}
	ch->connected_at_ns = vms_monotonic_ns();
	ch->silence_reported = false;
	struct vms_domain *d = vms_store_find(c->store, ch->uuid);
	if (d) {
		d->probe.connected = true;
		d->probe.hello = false;
		vms_store_part_changed(c->store, VMS_STORE_PROBES);
	}
	char out[VMS_PROTO_MAX_RECORD + 1];
	if (chan_send(ch, out, vms_encode_host(out, sizeof(out))) < 0)
		vms_log(LOG_DEBUG, ch->name, "probe channel %s did not take the host record",
		        chan_where(ch));
	return 0;
}

static void
chan_free(struct chan *ch)
{
	if (!ch)
		return;
	chan_close(ch);
	free(ch->name);
	free(ch->path);
	free(ch);
}

int
vms_channels_set_filter(struct vms_channels *c, const char *regex, char *err, size_t errsz)
{
	if (c->has_filter) {
		regfree(&c->filter);
		c->has_filter = false;
	}
	if (!regex)
		return 0;
	char why[384];
	if (vms_regex_compile(&c->filter, regex, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "'%s' %s", regex, why);
		return -1;
	}
	c->has_filter = true;
	return 0;
}

static bool
filter_ok(const struct vms_channels *c, const struct vms_domain *d)
{
	return !c->has_filter || regexec(&c->filter, d->name, 0, NULL, 0) == 0;
}

static bool
wanted(const struct vms_channels *c, const struct vms_domain *d)
{
	return d->channel_path && filter_ok(c, d);
}

/* The domain's chan, made (unconnected, without a path) if it has none; its name refreshed. */
static struct chan *
chan_get(struct vms_channels *c, const struct vms_domain *d)
{
	struct chan *ch = chan_find(c, d->key);
	if (!ch) {
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			c->chans = vms_xrealloc(c->chans, c->cap, sizeof(*c->chans));
		}
		ch = vms_xcalloc(1, sizeof(*ch));
		ch->owner = c;
		snprintf(ch->uuid, sizeof(ch->uuid), "%s", d->key);
		ch->transport = "virtio-serial";
		ch->fd = ch->watch = -1;
		vms_linebuf_reset(&ch->lines);
		chan_throttle_init(ch, vms_monotonic_ns());
		c->chans[c->n++] = ch;
	}
	if (!ch->name || strcmp(ch->name, d->name) != 0) {
		free(ch->name);
		ch->name = vms_xstrdup(d->name);
	}
	return ch;
}

int
vms_channels_attach(struct vms_channels *c, const char *key, int fd, const char *transport)
{
	struct vms_domain *d = vms_store_find(c->store, key);
	if (!d || !filter_ok(c, d)) {
		close(fd);
		errno = d ? EPERM : ENOENT;
		return -1;
	}
	struct chan *ch = chan_get(c, d);
	if (ch->fd >= 0) {
		/* The newer connection wins: a restarted probe's old one may be half-open. */
		chan_log_conn(ch, "probe channel %s replaced by a %s connection", chan_where(ch),
		              transport);
		chan_close(ch);
	}
	ch->accepted = true;
	ch->transport = transport;
	if (chan_start(c, ch, fd) < 0) {
		ch->accepted = false;
		ch->transport = "virtio-serial";
		errno = EIO;
		return -1;
	}
	chan_log_conn(ch, "probe connected over %s", transport);
	return 0;
}

bool
vms_channels_connected(const struct vms_channels *c, const char *key)
{
	const struct chan *ch = chan_find(c, key);
	return ch && ch->fd >= 0;
}

/* A channel we opened is still its domain's and still wanted: the domain runs, is claimed,
 * and its socket path is the one we know (a restarted domain gets a new one). */
static bool
chan_still_wanted(const struct vms_channels *c, const struct chan *ch, const struct vms_domain *d)
{
	return d && wanted(c, d) && ch->path && strcmp(d->channel_path, ch->path) == 0;
}

void
vms_channels_sync(struct vms_channels *c)
{
	uint64_t now = vms_monotonic_ns();
	/* Close channels whose domain vanished or whose socket path changed (domain restart). */
	for (size_t i = 0; i < c->n;) {
		struct chan *ch = c->chans[i];
		struct vms_domain *d = vms_store_find(c->store, ch->uuid);
		bool keep = ch->accepted ? d && filter_ok(c, d) : chan_still_wanted(c, ch, d);
		if (keep) {
			chan_check_steady(ch, d, now);
			i++;
			continue;
		}
		chan_free(ch);
		c->chans[i] = c->chans[--c->n];
	}
	for (size_t i = 0; i < c->store->ndomains; i++) {
		struct vms_domain *d = c->store->domains[i];
		bool want = wanted(c, d);
		/* A container's socket (sockdir.c) is claimed by the same filter. */
		bool excluded = (d->channel_path || d->socket_dir) && !filter_ok(c, d);
		if (excluded != d->probe_excluded) {
			d->probe_excluded = excluded;
			vms_store_part_changed(c->store, VMS_STORE_PROBES);
		}
		if (!want)
			continue;
		struct chan *ch = chan_get(c, d);
		if (!ch->path)
			ch->path = vms_xstrdup(d->channel_path);
		if (ch->fd < 0 && now >= ch->retry_at_ns)
			chan_open(c, ch);
		else if (ch->fd >= 0 && !d->probe.hello && !ch->silence_reported &&
		         now - ch->connected_at_ns > (uint64_t)SILENT_INTERVALS *
		                                         c->store->probe_interval_ms * 1000000ull) {
			/* connect() succeeds while QEMU's single-client socket is still held by
			 * someone else: our connection then waits in its backlog, unheard. */
			ch->silence_reported = true;
			vms_log(
			    LOG_WARNING, ch->name,
			    "no hello on probe channel %s after %u s: is vmscale-probe running in "
			    "the guest, or does another client hold the channel?",
			    chan_where(ch), SILENT_INTERVALS * c->store->probe_interval_ms / 1000);
		}
	}
}

void
vms_channels_retry(struct vms_channels *c)
{
	uint64_t now = vms_monotonic_ns();
	for (size_t i = 0; i < c->n; i++) {
		struct chan *ch = c->chans[i];
		if (ch->accepted || ch->fd >= 0 || !ch->path || now < ch->retry_at_ns)
			continue;
		/* A sync may not have run since the domain changed. */
		if (chan_still_wanted(c, ch, vms_store_find(c->store, ch->uuid)))
			chan_open(c, ch);
	}
}

void
vms_channels_free(struct vms_channels *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		chan_free(c->chans[i]);
	free(c->chans);
	if (c->has_filter)
		regfree(&c->filter);
	chan_throttle_fini(c);
	vms_psched_free(c->psched);
	free(c);
}

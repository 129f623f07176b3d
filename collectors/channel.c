/* Probe channels (see channel.h). */
#include "channel.h"

#include <errno.h>
#include <regex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "../daemon/log.h"

#define READ_CHUNK 4096
#define READ_BUDGET (64 * 1024) /* per wakeup: a flooding guest cannot starve the others */
#define BACKOFF_MIN_NS (1ull * 1000000000ull)
#define BACKOFF_MAX_NS (30ull * 1000000000ull)

struct chan {
	struct vms_channels *owner;
	char uuid[VMS_UUID_LEN + 1];
	char *name; /* for log lines */
	char *path;
	int fd;
	int watch;
	struct vms_linebuf lines;
	uint64_t retry_at_ns;
	uint64_t backoff_ns;
	bool seq_valid;
	uint64_t last_seq;
	uint64_t connected_at_ns;
	bool silence_reported;
	struct vms_complaint connect_complaint;
	struct vms_complaint reject_complaint;
};

/* Intervals of silence after connecting before we say the probe is not talking. */
#define SILENT_INTERVALS 3

struct vms_channels {
	struct vms_store *store;
	regex_t filter;
	bool has_filter;
	struct chan **chans;
	size_t n, cap;
};

struct vms_channels *
vms_channels_new(struct vms_store *st)
{
	struct vms_channels *c = vms_xcalloc(1, sizeof(*c));
	c->store = st;
	return c;
}

static void
probe_disconnected(struct vms_channels *c, const char *uuid)
{
	struct vms_domain *d = vms_store_find(c->store, uuid);
	if (d && d->probe.connected) {
		d->probe.connected = false;
		d->probe.hello = false;
		vms_store_changed(c->store);
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
	vms_linebuf_reset(&ch->lines);
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
static int
chan_send(struct chan *ch, const char *rec, size_t len)
{
	if (len == 0)
		return -1;
	ssize_t w = send(ch->fd, rec, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return w == (ssize_t)len ? 0 : -1;
}

static void
count_reject(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	     enum vms_proto_error err)
{
	if (d) {
		d->probe.rejected[err]++;
		vms_store_changed(c->store);
	}
	vms_complain(&ch->reject_complaint, LOG_WARNING, ch->name,
		     "rejected a record from the probe: %s", vms_proto_error_name(err));
}

static struct chan *
chan_find(struct vms_channels *c, const char *uuid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->chans[i]->uuid, uuid) == 0)
			return c->chans[i];
	return NULL;
}

static enum vms_proto_error
accept_cpu(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	   const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_cpu_report r;
	enum vms_proto_error err = vms_decode_cpu(rec, &r);
	if (err)
		return err;
	if (!d->probe.hello)
		return VMS_PROTO_E_SEQUENCE;
	if (ch->seq_valid) {
		if (r.seq <= ch->last_seq)
			return VMS_PROTO_E_SEQUENCE;
		/* Counters are cumulative since guest boot; within one hello they never fall. */
		if (d->probe.have_cpu)
			for (unsigned m = 0; m < r.nmodes && m < d->probe.cpu.nmodes; m++)
				if (r.ticks[m] < d->probe.cpu.ticks[m])
					return VMS_PROTO_E_SEQUENCE;
		/* A monotonic clock that went backwards makes every guest timing meaningless. */
		if (d->probe.have_cpu && r.mono_ns < d->probe.cpu.mono_ns)
			return VMS_PROTO_E_SEQUENCE;
		d->probe.reports_lost_total += r.seq - ch->last_seq - 1;
		/* Compare the guest's clock with ours over the same span (receive jitter included). */
		d->probe.clock_skew_s = ((double)(r.mono_ns - d->probe.cpu.mono_ns) -
					 (double)(now_ns - d->probe.last_report_ns)) / 1e9;
	} else {
		d->probe.clock_skew_s = NAN;
	}
	ch->seq_valid = true;
	ch->last_seq = r.seq;
	d->probe.cpu = r;
	d->probe.have_cpu = true;
	d->probe.last_report_ns = now_ns;
	d->probe.reports_total++;
	vms_store_changed(c->store);
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_channels_handle_line(struct vms_channels *c, const char *uuid, const char *line, size_t len,
			 uint64_t now_ns)
{
	struct chan *ch = chan_find(c, uuid);
	struct vms_domain *d = vms_store_find(c->store, uuid);
	if (!ch || !d)
		return VMS_PROTO_E_SEQUENCE;
	static struct vms_record rec; /* 2 KiB: keep it off the stack; one thread only */
	enum vms_proto_error err = vms_record_parse(&rec, line, len);
	if (err == VMS_PROTO_OK) {
		if (strcmp(rec.type, "hello") == 0) {
			struct vms_hello h;
			err = vms_decode_hello(&rec, &h);
			if (err == VMS_PROTO_OK) {
				bool first = !d->probe.hello;
				d->probe.hello = true;
				d->probe.info = h;
				ch->seq_valid = false;
				vms_store_changed(c->store);
				if (first)
					vms_log(LOG_INFO, ch->name, "probe %s connected (protocol %u, caps %s)",
						h.probe_version, h.proto, h.caps);
				char out[VMS_PROTO_MAX_RECORD + 1];
				struct vms_schedule s = {.cpu_ms = c->store->probe_interval_ms};
				if (ch->fd >= 0)
					(void)chan_send(ch, out, vms_encode_schedule(out, sizeof(out), &s));
			}
		} else if (strcmp(rec.type, "cpu") == 0) {
			err = accept_cpu(c, ch, d, &rec, now_ns);
		} else {
			err = VMS_PROTO_E_UNKNOWN;
		}
	}
	if (err != VMS_PROTO_OK)
		count_reject(c, ch, d, err);
	return err;
}

struct line_ctx {
	struct chan *ch;
	uint64_t now_ns;
};

static void
on_line(void *opaque, const char *line, size_t len)
{
	struct line_ctx *lc = opaque;
	vms_channels_handle_line(lc->ch->owner, lc->ch->uuid, line, len, lc->now_ns);
}

static void
on_line_error(void *opaque, enum vms_proto_error err)
{
	struct line_ctx *lc = opaque;
	struct chan *ch = lc->ch;
	count_reject(ch->owner, ch, vms_store_find(ch->owner->store, ch->uuid), err);
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
		while (budget > 0) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				vms_linebuf_feed(&ch->lines, buf, (size_t)r, on_line, on_line_error, &lc);
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
		vms_log(LOG_INFO, ch->name, "probe channel %s closed", ch->path);
		chan_close(ch);
		chan_schedule_retry(ch);
	}
}

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
	ch->fd = fd;
	ch->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_readable, ch, NULL);
	if (ch->watch < 0) {
		vms_err("cannot watch probe channel %s", ch->path);
		close(fd);
		ch->fd = -1;
		chan_schedule_retry(ch);
		return;
	}
	vms_complain_recovered(&ch->connect_complaint, ch->name, "connected to probe channel %s",
			       ch->path);
	ch->backoff_ns = 0;
	ch->connected_at_ns = vms_monotonic_ns();
	ch->silence_reported = false;
	struct vms_domain *d = vms_store_find(c->store, ch->uuid);
	if (d) {
		d->probe.connected = true;
		d->probe.hello = false;
		vms_store_changed(c->store);
	}
	char out[VMS_PROTO_MAX_RECORD + 1];
	if (chan_send(ch, out, vms_encode_host(out, sizeof(out))) < 0)
		vms_log(LOG_DEBUG, ch->name, "probe channel %s did not take the host record", ch->path);
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
	int rc = regcomp(&c->filter, regex, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &c->filter, why, sizeof(why));
		snprintf(err, errsz, "'%s' is not an extended regular expression: %s", regex, why);
		return -1;
	}
	c->has_filter = true;
	return 0;
}

static bool
wanted(const struct vms_channels *c, const struct vms_domain *d)
{
	return d->channel_path && (!c->has_filter || regexec(&c->filter, d->name, 0, NULL, 0) == 0);
}

void
vms_channels_sync(struct vms_channels *c)
{
	/* Close channels whose domain vanished or whose socket path changed (domain restart). */
	for (size_t i = 0; i < c->n;) {
		struct chan *ch = c->chans[i];
		struct vms_domain *d = vms_store_find(c->store, ch->uuid);
		if (d && wanted(c, d) && strcmp(d->channel_path, ch->path) == 0) {
			i++;
			continue;
		}
		chan_free(ch);
		c->chans[i] = c->chans[--c->n];
	}
	uint64_t now = vms_monotonic_ns();
	for (size_t i = 0; i < c->store->ndomains; i++) {
		struct vms_domain *d = c->store->domains[i];
		bool want = wanted(c, d);
		bool excluded = d->channel_path && !want;
		if (excluded != d->probe_excluded) {
			d->probe_excluded = excluded;
			vms_store_changed(c->store);
		}
		if (!want)
			continue;
		struct chan *ch = chan_find(c, d->uuid);
		if (!ch) {
			if (c->n == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 16;
				c->chans = vms_xrealloc(c->chans, c->cap, sizeof(*c->chans));
			}
			ch = vms_xcalloc(1, sizeof(*ch));
			ch->owner = c;
			snprintf(ch->uuid, sizeof(ch->uuid), "%s", d->uuid);
			ch->path = vms_xstrdup(d->channel_path);
			ch->fd = ch->watch = -1;
			vms_linebuf_reset(&ch->lines);
			c->chans[c->n++] = ch;
		}
		if (!ch->name || strcmp(ch->name, d->name) != 0) {
			free(ch->name);
			ch->name = vms_xstrdup(d->name);
		}
		if (ch->fd < 0 && now >= ch->retry_at_ns)
			chan_open(c, ch);
		else if (ch->fd >= 0 && !d->probe.hello && !ch->silence_reported &&
			 now - ch->connected_at_ns >
				 (uint64_t)SILENT_INTERVALS * c->store->probe_interval_ms * 1000000ull) {
			/* connect() succeeds while QEMU's single-client socket is still held by
			 * someone else: our connection then waits in its backlog, unheard. */
			ch->silence_reported = true;
			vms_log(LOG_WARNING, ch->name,
				"no hello on probe channel %s after %u s: is vmscale-probe running in "
				"the guest, or does another client hold the channel?",
				ch->path, SILENT_INTERVALS * c->store->probe_interval_ms / 1000);
		}
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
	free(c);
}

/* Probe channels (see channel.h). */
#include "collectors/guest/channel.h"

#include <errno.h>
#include <regex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/log.h"
#include "collectors/guest/netio.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define READ_CHUNK 4096
#define READ_BUDGET (64 * 1024) /* per wakeup: a flooding guest cannot starve the others */
#define BACKOFF_MIN_NS (1ull * 1000000000ull)
#define BACKOFF_MAX_NS (30ull * 1000000000ull)

struct chan {
	struct vms_channels *owner;
	char uuid[VMS_DOMAIN_KEY_LEN + 1]; /* the domain's store key (its UUID on one URI) */
	char *name; /* for log lines */
	char *path;       /* the unix socket we connect to; NULL for a listener's chan */
	const char *transport; /* "virtio-serial", "vsock" or "tcp": where fd came from */
	bool accepted;    /* fd came from a listener (vms_channels_attach), not connect() */
	int fd;
	int watch;
	struct vms_linebuf lines;
	uint64_t retry_at_ns;
	uint64_t backoff_ns;
	bool seq_valid;
	uint64_t last_seq;
	bool cpu_seen;      /* a cpu report arrived since the last hello */
	/* The active run in progress: its samples wait here until "done" judges them. */
	struct {
		bool active;
		uint64_t id;
		enum vms_family family;
		uint64_t sent_ns, deadline_ns;
		bool have_ref;      /* the last cpu report before the run: clocks to compare */
		uint64_t ref_guest_ns, ref_host_ns;
		unsigned nsamples;
		struct vms_sample samples[VMS_MAX_RUN_SAMPLES];
	} run;
	uint64_t abandoned_run_id; /* a run we gave up on: its late records are ignored */
	struct vms_complaint run_complaint;
	uint64_t connected_at_ns;
	bool silence_reported;
	struct vms_complaint connect_complaint;
	struct vms_complaint reject_complaint;
};

/* For log lines: the socket path, or the transport of an accepted connection. */
static const char *
chan_where(const struct chan *ch)
{
	return ch->accepted || !ch->path ? ch->transport : ch->path;
}

/* Intervals of silence after connecting before we say the probe is not talking. */
#define SILENT_INTERVALS 3

struct vms_channels {
	struct vms_store *store;
	struct vms_probe_plan plan;
	struct vms_psched *psched;
	uint64_t next_run_id;
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
		vms_store_changed(c->store);
	}
}

/* Ends the run in progress without a verdict (the channel closed, or it overran). */
static void
run_abandon(struct chan *ch)
{
	if (!ch->run.active)
		return;
	ch->run.active = false;
	ch->abandoned_run_id = ch->run.id;
	vms_psched_finish(ch->owner->psched, ch->uuid, vms_monotonic_ns());
	if (ch->owner->plan.netio && ch->run.family == VMS_FAM_NETWORK)
		vms_netio_revoke(ch->owner->plan.netio, ch->uuid);
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
	vms_linebuf_reset(&ch->lines);
	run_abandon(ch);
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
chan_find(const struct vms_channels *c, const char *uuid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->chans[i]->uuid, uuid) == 0)
			return c->chans[i];
	return NULL;
}

/* Every record after hello carries seq from one counter: it must grow; gaps are losses. */
static enum vms_proto_error
check_seq(const struct chan *ch, const struct vms_domain *d, uint64_t seq)
{
	if (!d->probe.hello)
		return VMS_PROTO_E_SEQUENCE;
	if (ch->seq_valid && seq <= ch->last_seq)
		return VMS_PROTO_E_SEQUENCE;
	return VMS_PROTO_OK;
}

static void
advance_seq(struct chan *ch, struct vms_domain *d, uint64_t seq)
{
	if (ch->seq_valid)
		d->probe.reports_lost_total += seq - ch->last_seq - 1;
	ch->seq_valid = true;
	ch->last_seq = seq;
}

static enum vms_proto_error
accept_cpu(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	   const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_cpu_report r;
	enum vms_proto_error err = vms_decode_cpu(rec, &r);
	if (err)
		return err;
	if ((err = check_seq(ch, d, r.seq)))
		return err;
	if (ch->cpu_seen && d->probe.have_cpu) {
		/* Counters are cumulative since guest boot; within one hello they never fall. */
		for (unsigned m = 0; m < r.nmodes && m < d->probe.cpu.nmodes; m++)
			if (r.ticks[m] < d->probe.cpu.ticks[m])
				return VMS_PROTO_E_SEQUENCE;
		/* A monotonic clock that went backwards makes every guest timing meaningless. */
		if (r.mono_ns < d->probe.cpu.mono_ns)
			return VMS_PROTO_E_SEQUENCE;
		/* Compare the guest's clock with ours over the same span (receive jitter included). */
		d->probe.clock_skew_s = ((double)(r.mono_ns - d->probe.cpu.mono_ns) -
					 (double)(now_ns - d->probe.last_report_ns)) / 1e9;
	} else {
		d->probe.clock_skew_s = NAN;
	}
	advance_seq(ch, d, r.seq);
	ch->cpu_seen = true;
	d->probe.cpu = r;
	d->probe.have_cpu = true;
	d->probe.last_report_ns = now_ns;
	d->probe.reports_total++;
	vms_store_changed(c->store);
	return VMS_PROTO_OK;
}

static enum vms_proto_error
accept_disk(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	    const struct vms_record *rec)
{
	struct vms_disk_report r;
	enum vms_proto_error err = vms_decode_disk(rec, &r);
	if (err)
		return err;
	if ((err = check_seq(ch, d, r.seq)))
		return err;
	advance_seq(ch, d, r.seq);
	struct vms_probe_state *p = &d->probe;
	unsigned i = 0;
	while (i < p->ndisks && strcmp(p->disks[i].dev, r.dev) != 0)
		i++;
	if (i == p->ndisks) {
		if (p->ndisks == VMS_PROBE_MAX_DISKS) {
			p->disks_dropped_total++;
			return VMS_PROTO_OK;
		}
		p->ndisks++;
	} else {
		/* Cumulative since guest boot: within one hello a falling counter is a lie. */
		for (unsigned f = 0; f < r.nfields && f < p->disks[i].nfields; f++)
			if (f != VMS_DISK_IN_FLIGHT && r.v[f] < p->disks[i].v[f])
				return VMS_PROTO_E_SEQUENCE;
	}
	p->disks[i] = r;
	vms_store_changed(c->store);
	return VMS_PROTO_OK;
}

static enum vms_proto_error
accept_cost(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	    const struct vms_record *rec)
{
	struct vms_cost_report r;
	enum vms_proto_error err = vms_decode_cost(rec, &r);
	if (err)
		return err;
	if ((err = check_seq(ch, d, r.seq)))
		return err;
	advance_seq(ch, d, r.seq);
	struct vms_probe_state *p = &d->probe;
	/* Cumulative per probe process: a value that fell means the probe restarted, and its
	 * whole value is new cost. The exported counter only grows. */
	for (unsigned f = 0; f <= VMS_FAM_COUNT; f++) {
		uint64_t cur = f < VMS_FAM_COUNT ? r.ns[f] : r.other_ns;
		uint64_t prev = !p->have_cost ? 0
				: f < VMS_FAM_COUNT ? p->last_cost.ns[f] : p->last_cost.other_ns;
		uint64_t delta = cur >= prev ? cur - prev : cur;
		p->cost_seconds[f] += (double)delta / 1e9;
	}
	p->last_cost = r;
	p->have_cost = true;
	vms_store_changed(c->store);
	return VMS_PROTO_OK;
}

/* Records of a run we abandoned arrive late: not the guest's fault, not counted. */
static bool
abandoned(const struct chan *ch, const struct vms_record *rec)
{
	uint64_t id;
	return ch->abandoned_run_id && vms_record_get_u64(rec, "id", &id) == VMS_PROTO_OK &&
	       id == ch->abandoned_run_id && (!ch->run.active || ch->run.id != id);
}

static enum vms_proto_error
accept_sample(struct chan *ch, struct vms_domain *d, const struct vms_record *rec)
{
	struct vms_sample sm;
	enum vms_proto_error err = vms_decode_sample(rec, &sm);
	if (err)
		return err;
	if ((err = check_seq(ch, d, sm.seq)))
		return err;
	if (!ch->run.active || sm.id != ch->run.id || vms_op_family(sm.op) != ch->run.family)
		return VMS_PROTO_E_SEQUENCE;
	if (ch->run.nsamples == VMS_MAX_RUN_SAMPLES)
		return VMS_PROTO_E_VALUE;
	advance_seq(ch, d, sm.seq);
	ch->run.samples[ch->run.nsamples++] = sm;
	return VMS_PROTO_OK;
}

static struct vms_probe_value *
value_slot(struct vms_probe_state *p, const struct vms_sample *sm)
{
	if (vms_op_family(sm->op) != VMS_FAM_NETWORK)
		return &p->ops[sm->op];
	unsigned dir = sm->op == VMS_OP_NET_SEND ? 0 : 1, i = 0;
	while (i < p->net_nblocks && p->net_blocks[i] != sm->block)
		i++;
	if (i == p->net_nblocks) {
		if (p->net_nblocks == VMS_MAX_NET_BLOCKS)
			return NULL;
		p->net_blocks[p->net_nblocks++] = sm->block;
		memset(p->net[i], 0, sizeof(p->net[i]));
	}
	return &p->net[i][dir];
}

static double
sample_value(const struct vms_sample *sm)
{
	double secs = (double)(sm->end_ns - sm->start_ns) / 1e9;
	switch (vms_op_kind(sm->op)) {
	case VMS_KIND_RATE:
		return (double)sm->ops / secs;
	case VMS_KIND_THROUGHPUT:
		return (double)sm->bytes / secs;
	case VMS_KIND_LATENCY:
		return secs / (double)sm->ops;
	}
	return NAN;
}

static double
realtime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The run is over: judge the guest's clock, then keep its samples or flag them. Seed 001's
 * benchmark timings shrank impossibly under contention because the guest clock lied; so a
 * run counts only if the guest's elapsed time agrees with ours, from the last cpu report
 * before the run to "done", within the tolerance, and the run does not claim to have taken
 * longer than the host waited for it.
 */
static enum vms_proto_error
accept_done(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	    const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_done dn;
	enum vms_proto_error err = vms_decode_done(rec, &dn);
	if (err)
		return err;
	if ((err = check_seq(ch, d, dn.seq)))
		return err;
	if (!ch->run.active || dn.id != ch->run.id || dn.family != ch->run.family)
		return VMS_PROTO_E_SEQUENCE;
	advance_seq(ch, d, dn.seq);
	struct vms_probe_state *p = &d->probe;
	enum vms_family f = dn.family;
	double tol = (double)c->plan.skew_tolerance_ms * 1e6;
	bool flagged = (double)(dn.end_ns - dn.start_ns) > (double)(now_ns - ch->run.sent_ns) + tol;
	if (ch->run.have_ref) {
		double guest = (double)dn.mono_ns - (double)ch->run.ref_guest_ns;
		double host = (double)(now_ns - ch->run.ref_host_ns);
		if (fabs(guest - host) > tol)
			flagged = true;
	}
	for (unsigned i = 0; i < ch->run.nsamples; i++) {
		const struct vms_sample *sm = &ch->run.samples[i];
		if (!sm->err && (sm->start_ns < dn.start_ns || sm->end_ns > dn.end_ns))
			flagged = true;
		/* The responder timed the same transfer on our clock: a guest figure well above
		 * the host's means the guest's clock ran slow. */
		struct vms_netio_result hr;
		if (!sm->err && f == VMS_FAM_NETWORK && c->plan.netio &&
		    vms_netio_find_result(c->plan.netio, ch->uuid, sm->op == VMS_OP_NET_SEND,
					  sm->block, &hr) &&
		    hr.end_mono_ns >= ch->run.sent_ns && hr.host_ns > 0 && hr.bytes > 0) {
			double host_secs = (double)hr.host_ns / 1e9 * (double)sm->bytes / (double)hr.bytes;
			double guest_secs = (double)(sm->end_ns - sm->start_ns) / 1e9;
			if (guest_secs * 1.5 + tol / 1e9 < host_secs)
				flagged = true;
		}
	}
	for (unsigned i = 0; i < ch->run.nsamples; i++) {
		const struct vms_sample *sm = &ch->run.samples[i];
		if (sm->err) {
			p->sample_errors_total[f]++;
			continue;
		}
		p->samples_total[f]++;
		if (flagged) {
			p->samples_flagged_total[f]++;
			continue;
		}
		struct vms_probe_value *v = value_slot(p, sm);
		if (v)
			*v = (struct vms_probe_value){.have = true, .value = sample_value(sm),
						      .at_ns = now_ns};
	}
	if (flagged)
		vms_complain(&ch->run_complaint, LOG_WARNING, ch->name,
			     "%s run flagged: the guest clock disagreed with the host's by more "
			     "than %u ms; its samples are counted, not used",
			     vms_family_name(f), (unsigned)c->plan.skew_tolerance_ms);
	p->run_flagged[f] = flagged;
	/* The run's window in host time, through the arrival of "done". */
	double now_real = realtime_s();
	p->run_start_unix[f] = now_real - (double)(dn.mono_ns - dn.start_ns) / 1e9;
	p->run_end_unix[f] = now_real - (double)(dn.mono_ns - dn.end_ns) / 1e9;
	p->have_run_window[f] = true;
	p->runs_total[f][VMS_RUN_OK]++;
	ch->run.active = false;
	vms_psched_finish(c->psched, ch->uuid, now_ns);
	if (c->plan.netio && f == VMS_FAM_NETWORK)
		vms_netio_revoke(c->plan.netio, ch->uuid);
	vms_store_changed(c->store);
	return VMS_PROTO_OK;
}

static unsigned
parse_caps(const char *caps)
{
	unsigned mask = 0;
	char buf[VMS_PROTO_MAX_VALUE + 1];
	snprintf(buf, sizeof(buf), "%s", caps);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int f = vms_family_from_name(tok);
		if (f >= 0) /* unknown families are a newer probe's: ignored */
			mask |= 1u << f;
	}
	return mask;
}

/* The active families the host will run for a probe with these caps. */
static unsigned
runnable(const struct vms_channels *c, unsigned caps)
{
	unsigned mask = 0;
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
		if ((caps & (1u << f)) && c->plan.runs.interval_ms[f] > 0 &&
		    (f != VMS_FAM_NETWORK || c->plan.netio))
			mask |= 1u << f;
	return mask;
}

static void
send_schedule(struct vms_channels *c, struct chan *ch)
{
	char out[VMS_PROTO_MAX_RECORD + 1];
	if (ch->fd >= 0 &&
	    chan_send(ch, out, vms_encode_schedule(out, sizeof(out), &c->plan.schedule)) < 0)
		vms_log(LOG_DEBUG, ch->name, "probe channel %s did not take the schedule", chan_where(ch));
}

static enum vms_proto_error
accept_hello(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
	     const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_hello h;
	enum vms_proto_error err = vms_decode_hello(rec, &h);
	if (err)
		return err;
	bool first = !d->probe.hello;
	d->probe.hello = true;
	d->probe.hello_at_ns = now_ns;
	d->probe.info = h;
	d->probe.caps = parse_caps(h.caps);
	d->probe.ndisks = 0; /* devices may have changed with the probe */
	ch->seq_valid = false;
	ch->cpu_seen = false;
	/* A hello mid-run means the probe restarted: that run will never finish. */
	run_abandon(ch);
	vms_psched_add(c->psched, ch->uuid, runnable(c, d->probe.caps), now_ns);
	vms_store_changed(c->store);
	if (first)
		vms_log(LOG_INFO, ch->name, "probe %s connected (protocol %u, caps %s)",
			h.probe_version, h.proto, h.caps);
	send_schedule(c, ch);
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
		if (strcmp(rec.type, "hello") == 0)
			err = accept_hello(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "cpu") == 0)
			err = accept_cpu(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "disk") == 0)
			err = accept_disk(c, ch, d, &rec);
		else if (strcmp(rec.type, "cost") == 0)
			err = accept_cost(c, ch, d, &rec);
		else if ((strcmp(rec.type, "sample") == 0 || strcmp(rec.type, "done") == 0) &&
			 abandoned(ch, &rec))
			return VMS_PROTO_OK;
		else if (strcmp(rec.type, "sample") == 0)
			err = accept_sample(ch, d, &rec);
		else if (strcmp(rec.type, "done") == 0)
			err = accept_done(c, ch, d, &rec, now_ns);
		else
			err = VMS_PROTO_E_UNKNOWN;
	}
	if (err != VMS_PROTO_OK)
		count_reject(c, ch, d, err);
	return err;
}

/* How long a run of this family may take before the host gives up on it: the sum of the
 * schedule's own bounds plus room for a slow (emulated, contended) guest. */
static uint64_t
run_deadline_ms(const struct vms_schedule *s, enum vms_family f)
{
	const uint64_t slack = 15000;
	switch (f) {
	case VMS_FAM_MEMORY:
		return 3ull * s->mem_ms + slack;
	case VMS_FAM_DISK_READ:
		return s->disk_read_ms + slack;
	case VMS_FAM_NETWORK:
		return 2ull * s->net_nblocks * (s->net_ms + 2000) + slack;
	case VMS_FAM_MICRO:
		return 6ull * s->micro_ms + slack;
	default:
		return slack;
	}
}

static void
start_run(struct vms_channels *c, struct chan *ch, enum vms_family f, uint64_t now_ns)
{
	struct vms_domain *d = vms_store_find(c->store, ch->uuid);
	struct vms_run r = {.id = ++c->next_run_id, .family = f};
	uint64_t deadline = now_ns + run_deadline_ms(&c->plan.schedule, f) * 1000000ull;
	if (f == VMS_FAM_NETWORK) {
		if (!c->plan.netio || vms_token_new(r.token) < 0 ||
		    vms_netio_grant(c->plan.netio, r.token, ch->uuid, c->plan.schedule.net_bytes,
				    2 * c->plan.schedule.net_nblocks, deadline) < 0) {
			vms_complain(&ch->run_complaint, LOG_WARNING, ch->name,
				     "cannot grant a network run: %s", strerror(errno));
			vms_psched_finish(c->psched, ch->uuid, now_ns);
			return;
		}
		snprintf(r.addr, sizeof(r.addr), "%s", c->plan.netio_addr);
		r.port = c->plan.netio_port;
	}
	char out[VMS_PROTO_MAX_RECORD + 1];
	if (!d || ch->fd < 0 || chan_send(ch, out, vms_encode_run(out, sizeof(out), &r)) < 0) {
		vms_psched_finish(c->psched, ch->uuid, now_ns);
		if (c->plan.netio && f == VMS_FAM_NETWORK)
			vms_netio_revoke(c->plan.netio, ch->uuid);
		return;
	}
	ch->run.active = true;
	ch->run.id = r.id;
	ch->run.family = f;
	ch->run.sent_ns = now_ns;
	ch->run.deadline_ns = deadline;
	ch->run.nsamples = 0;
	ch->run.have_ref = ch->cpu_seen && d->probe.have_cpu;
	ch->run.ref_guest_ns = d->probe.cpu.mono_ns;
	ch->run.ref_host_ns = d->probe.last_report_ns;
}

void
vms_channels_tick(struct vms_channels *c, uint64_t now_ns)
{
	for (size_t i = 0; i < c->n; i++) {
		struct chan *ch = c->chans[i];
		if (!ch->run.active || now_ns < ch->run.deadline_ns)
			continue;
		struct vms_domain *d = vms_store_find(c->store, ch->uuid);
		vms_complain(&ch->run_complaint, LOG_WARNING, ch->name,
			     "%s run %llu did not finish in time; giving up on it",
			     vms_family_name(ch->run.family), (unsigned long long)ch->run.id);
		if (d) {
			d->probe.runs_total[ch->run.family][VMS_RUN_TIMEOUT]++;
			vms_store_changed(c->store);
		}
		run_abandon(ch);
	}
	const char *key;
	enum vms_family f;
	while (vms_psched_next(c->psched, now_ns, &key, &f)) {
		struct chan *ch = chan_find(c, key);
		if (!ch) {
			vms_psched_remove(c->psched, key);
			continue;
		}
		start_run(c, ch, f, now_ns);
	}
}

void
vms_channels_set_plan(struct vms_channels *c, const struct vms_probe_plan *plan)
{
	uint64_t now = vms_monotonic_ns();
	c->plan = *plan;
	vms_psched_configure(c->psched, &plan->runs, now);
	for (size_t i = 0; i < c->n; i++) {
		struct chan *ch = c->chans[i];
		struct vms_domain *d = vms_store_find(c->store, ch->uuid);
		if (ch->fd < 0 || !d || !d->probe.hello)
			continue;
		vms_psched_add(c->psched, ch->uuid, runnable(c, d->probe.caps), now);
		send_schedule(c, ch);
	}
}

uint64_t
vms_channels_runs_delayed(const struct vms_channels *c)
{
	return vms_psched_delayed_total(c->psched);
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
		vms_log(LOG_INFO, ch->name, "probe channel %s closed", chan_where(ch));
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
		vms_store_changed(c->store);
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
		vms_log(LOG_INFO, ch->name, "probe channel %s replaced by a %s connection",
			chan_where(ch), transport);
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
	vms_log(LOG_INFO, ch->name, "probe connected over %s", transport);
	return 0;
}

bool
vms_channels_connected(const struct vms_channels *c, const char *key)
{
	const struct chan *ch = chan_find(c, key);
	return ch && ch->fd >= 0;
}

void
vms_channels_sync(struct vms_channels *c)
{
	/* Close channels whose domain vanished or whose socket path changed (domain restart). */
	for (size_t i = 0; i < c->n;) {
		struct chan *ch = c->chans[i];
		struct vms_domain *d = vms_store_find(c->store, ch->uuid);
		bool keep = ch->accepted ? d && filter_ok(c, d)
					 : d && wanted(c, d) && ch->path &&
						   strcmp(d->channel_path, ch->path) == 0;
		if (keep) {
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
		struct chan *ch = chan_get(c, d);
		if (!ch->path)
			ch->path = vms_xstrdup(d->channel_path);
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
				chan_where(ch), SILENT_INTERVALS * c->store->probe_interval_ms / 1000);
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
	vms_psched_free(c->psched);
	free(c);
}

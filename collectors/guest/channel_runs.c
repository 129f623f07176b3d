/* Active probe runs: starting them (the plan, the schedule, netio grants), collecting their
 * samples, and the verdict on the guest's clock when "done" arrives (see channel.h). */
#include "collectors/guest/channel_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/util/log.h"
#include "collectors/guest/netio.h"
#include "collectors/guest/probesched.h"
#include "vmscale/clock.h"

/* Ends the run in progress without a verdict (the channel closed, or it overran). */
void
chan_run_abandon(struct chan *ch)
{
	if (!ch->run.active)
		return;
	ch->run.active = false;
	ch->abandoned_run_id = ch->run.id;
	vms_psched_finish(ch->owner->psched, ch->uuid, vms_monotonic_ns());
	if (ch->owner->plan.netio && ch->run.family == VMS_FAM_NETWORK)
		vms_netio_revoke(ch->owner->plan.netio, ch->uuid);
}

/* Records of a run we abandoned arrive late: not the guest's fault, not counted. */
bool
chan_run_abandoned(const struct chan *ch, const struct vms_record *rec)
{
	uint64_t id;
	return ch->abandoned_run_id && vms_record_get_u64(rec, "id", &id) == VMS_PROTO_OK &&
	       id == ch->abandoned_run_id && (!ch->run.active || ch->run.id != id);
}

/* The responder's own result for the transfer of sm, if it is from this run. */
static bool
host_result(const struct vms_channels *c, const struct chan *ch, const struct vms_sample *sm,
            struct vms_netio_result *hr)
{
	if (!c->plan.netio)
		return false;
	bool found = sm->op == VMS_OP_NET_UDP_RECV
	                 ? vms_netio_find_udp_result(c->plan.netio, ch->uuid, sm->block, hr)
	                 : vms_netio_find_result(c->plan.netio, ch->uuid, sm->op == VMS_OP_NET_SEND,
	                                         sm->block, hr);
	return found && hr->end_mono_ns >= ch->run.sent_ns;
}

/*
 * A UDP figure is only as good as the burst behind it: the responder must have sent this
 * guest, in this run, a burst of that block size. A measurement of datagrams the host never
 * sent (a burst it refused, or never saw asked for) is rejected, not stored.
 */
static enum vms_proto_error
udp_match(const struct vms_channels *c, struct chan *ch, const struct vms_sample *sm)
{
	struct vms_netio_result hr;
	if (sm->op != VMS_OP_NET_UDP_RECV || sm->err || host_result(c, ch, sm, &hr))
		return VMS_PROTO_OK;
	vms_complain(&ch->plaus_complaint, LOG_WARNING, ch->name,
	             "rejected a UDP measurement of %u-byte datagrams: the host sent no such burst",
	             (unsigned)sm->block);
	return VMS_PROTO_E_UNMATCHED;
}

enum vms_proto_error
chan_accept_sample(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                   const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_sample sm;
	enum vms_proto_error err = vms_decode_sample(rec, &sm);
	if (err)
		return err;
	if ((err = chan_check_seq(ch, d, sm.seq, now_ns)))
		return err;
	if (!ch->run.active || sm.id != ch->run.id || vms_op_family(sm.op) != ch->run.family)
		return VMS_PROTO_E_SEQUENCE;
	if (ch->run.nsamples == VMS_MAX_RUN_SAMPLES)
		return VMS_PROTO_E_VALUE;
	chan_advance_seq(ch, d, sm.seq, now_ns);
	if ((err = chan_plaus_sample(c, ch, d, &sm, now_ns)))
		return err; /* received, not lost: its seq counts */
	if ((err = udp_match(c, ch, &sm)))
		return err;
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
		memset(p->udp[i], 0, sizeof(p->udp[i]));
	}
	return sm->op == VMS_OP_NET_UDP_RECV ? &p->udp[i][0] : &p->net[i][dir];
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
 * The responder timed the same transfer on our clock: a figure well above the host's means
 * the guest's clock ran slow (or the guest lies). For UDP the guest's window (first to last
 * arrival, kernel receive times) must not be shorter than the host's send window over as
 * many datagrams, and the guest cannot have received more datagrams than the host sent.
 */
static bool
host_disagrees(const struct vms_channels *c, const struct chan *ch, const struct vms_sample *sm,
               double tol)
{
	struct vms_netio_result hr;
	if (!host_result(c, ch, sm, &hr))
		return sm->op == VMS_OP_NET_UDP_RECV; /* gone since the sample came: not trusted */
	if (sm->op == VMS_OP_NET_UDP_RECV)
		return !vms_netio_udp_plausible(&hr, sm->ops, sm->bytes, sm->end_ns - sm->start_ns);
	if (hr.host_ns == 0 || hr.bytes == 0)
		return false;
	double host_secs = (double)hr.host_ns / 1e9 * (double)sm->bytes / (double)hr.bytes;
	double guest_secs = (double)(sm->end_ns - sm->start_ns) / 1e9;
	return guest_secs * 1.5 + tol / 1e9 < host_secs;
}

/* UDP loss: 1 - datagrams the guest received / datagrams the host says it sent. */
static bool
udp_loss(const struct vms_channels *c, const struct chan *ch, const struct vms_sample *sm,
         double *loss)
{
	struct vms_netio_result hr;
	if (!host_result(c, ch, sm, &hr) || hr.datagrams == 0 || sm->ops > hr.datagrams)
		return false;
	*loss = 1.0 - (double)sm->ops / (double)hr.datagrams;
	return true;
}

/*
 * The run is over: judge the guest's clock, then keep its samples or flag them. Seed 001's
 * benchmark timings shrank impossibly under contention because the guest clock lied; so a
 * run counts only if the guest's elapsed time agrees with ours, from the last cpu report
 * before the run to "done", within the tolerance, and the run does not claim to have taken
 * longer than the host waited for it.
 */
enum vms_proto_error
chan_accept_done(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                 const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_done dn;
	enum vms_proto_error err = vms_decode_done(rec, &dn);
	if (err)
		return err;
	if ((err = chan_check_seq(ch, d, dn.seq, now_ns)))
		return err;
	if (!ch->run.active || dn.id != ch->run.id || dn.family != ch->run.family)
		return VMS_PROTO_E_SEQUENCE;
	chan_advance_seq(ch, d, dn.seq, now_ns);
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
		if (!sm->err && f == VMS_FAM_NETWORK && host_disagrees(c, ch, sm, tol))
			flagged = true;
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
			*v = (struct vms_probe_value){
			    .have = true, .value = sample_value(sm), .at_ns = now_ns};
		double loss;
		/* v is udp[block][0]; the loss goes beside it, in udp[block][1]. */
		if (v && sm->op == VMS_OP_NET_UDP_RECV && udp_loss(c, ch, sm, &loss))
			v[1] =
			    (struct vms_probe_value){.have = true, .value = loss, .at_ns = now_ns};
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
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
	return VMS_PROTO_OK;
}

/* The active families the host will run for a probe with these caps. */
unsigned
chan_runnable(const struct vms_channels *c, unsigned caps)
{
	unsigned mask = 0;
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
		if ((caps & (1u << f)) && c->plan.runs.interval_ms[f] > 0 &&
		    (f != VMS_FAM_NETWORK || c->plan.netio))
			mask |= 1u << f;
	return mask;
}

void
chan_send_schedule(struct vms_channels *c, struct chan *ch)
{
	char out[VMS_PROTO_MAX_RECORD + 1];
	if (ch->fd >= 0 &&
	    chan_send(ch, out, vms_encode_schedule(out, sizeof(out), &c->plan.schedule)) < 0)
		vms_log(LOG_DEBUG, ch->name, "probe channel %s did not take the schedule",
		        chan_where(ch));
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
	case VMS_FAM_NETWORK: /* TCP both ways and UDP, each within its bounds */
		return 3ull * s->net_nblocks * (s->net_ms + 3000) + slack;
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
		                    (c->plan.netio_udp_rate ? 3 : 2) * c->plan.schedule.net_nblocks,
		                    deadline) < 0) {
			vms_complain(&ch->run_complaint, LOG_WARNING, ch->name,
			             "cannot grant a network run: %s", strerror(errno));
			vms_psched_finish(c->psched, ch->uuid, now_ns);
			return;
		}
		snprintf(r.addr, sizeof(r.addr), "%s", c->plan.netio_addr);
		r.port = c->plan.netio_port;
		r.udp_port = c->plan.netio_udp_rate ? c->plan.netio_port : 0;
		r.udp_rate = c->plan.netio_udp_rate;
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
			vms_store_part_changed(c->store, VMS_STORE_PROBES);
		}
		chan_run_abandon(ch);
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
		vms_psched_add(c->psched, ch->uuid, chan_runnable(c, d->probe.caps), now);
		chan_send_schedule(c, ch);
	}
}

uint64_t
vms_channels_runs_delayed(const struct vms_channels *c)
{
	return vms_psched_delayed_total(c->psched);
}

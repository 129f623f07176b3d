/* The records a probe sends on its channel: hello, cpu, disk, cost; sample and done go to
 * channel_runs.c (see channel.h and probes/PROTOCOL.md). */
#include "collectors/guest/channel_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/util/log.h"
#include "collectors/guest/probesched.h"

void
chan_count_reject(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                  enum vms_proto_error err)
{
	if (d) {
		d->probe.rejected[err]++;
		vms_store_part_changed(c->store, VMS_STORE_PROBES);
	}
	if (err != VMS_PROTO_E_IMPLAUSIBLE) /* channel_plaus.c said why */
		vms_complain(&ch->reject_complaint, LOG_WARNING, ch->name,
		             "rejected a record from the probe: %s", vms_proto_error_name(err));
}

/* Every record after hello carries seq from one counter: it must grow; gaps are losses, as
 * many as the probe could have sent meanwhile. */
enum vms_proto_error
chan_check_seq(struct chan *ch, const struct vms_domain *d, uint64_t seq, uint64_t now_ns)
{
	if (!d->probe.hello)
		return VMS_PROTO_E_SEQUENCE;
	if (ch->seq_valid && seq <= ch->last_seq)
		return VMS_PROTO_E_SEQUENCE;
	return chan_plaus_seq(ch, seq, now_ns);
}

void
chan_advance_seq(struct chan *ch, struct vms_domain *d, uint64_t seq, uint64_t now_ns)
{
	if (ch->seq_valid)
		d->probe.reports_lost_total += seq - ch->last_seq - 1;
	ch->seq_valid = true;
	ch->last_seq = seq;
	ch->last_seq_ns = now_ns;
}

static enum vms_proto_error
accept_cpu(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
           const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_cpu_report r;
	enum vms_proto_error err = vms_decode_cpu(rec, &r);
	if (err)
		return err;
	if ((err = chan_check_seq(ch, d, r.seq, now_ns)))
		return err;
	if (d->probe.have_cpu && !d->probe.cpu_rebase) {
		/* Counters are cumulative since guest boot; until a hello resets the baselines
		 * they never fall. */
		for (unsigned m = 0; m < r.nmodes && m < d->probe.cpu.nmodes; m++)
			if (r.ticks[m] < d->probe.cpu.ticks[m])
				return VMS_PROTO_E_SEQUENCE;
		/* A monotonic clock that went backwards makes every guest timing meaningless. */
		if (r.mono_ns < d->probe.cpu.mono_ns)
			return VMS_PROTO_E_SEQUENCE;
	}
	if ((err = chan_plaus_cpu(ch, d, &r, now_ns)))
		return err;
	if (ch->cpu_seen && d->probe.have_cpu) {
		/* Compare the guest's clock with ours over the same span (receive jitter included).
		 */
		d->probe.clock_skew_s = ((double)(r.mono_ns - d->probe.cpu.mono_ns) -
		                         (double)(now_ns - d->probe.last_report_ns)) /
		                        1e9;
	} else {
		d->probe.clock_skew_s = NAN;
	}
	chan_advance_seq(ch, d, r.seq, now_ns);
	ch->cpu_seen = true;
	d->probe.cpu = r;
	d->probe.have_cpu = true;
	d->probe.cpu_rebase = false;
	d->probe.last_report_ns = now_ns;
	d->probe.reports_total++;
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
	return VMS_PROTO_OK;
}

static enum vms_proto_error
accept_disk(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
            const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_disk_report r;
	enum vms_proto_error err = vms_decode_disk(rec, &r);
	if (err)
		return err;
	if ((err = chan_check_seq(ch, d, r.seq, now_ns)))
		return err;
	chan_advance_seq(ch, d, r.seq, now_ns);
	struct vms_probe_state *p = &d->probe;
	unsigned i = 0;
	while (i < p->ndisks && strcmp(p->disks[i].dev, r.dev) != 0)
		i++;
	if (i < p->ndisks) {
		/* Cumulative since guest boot: until a hello resets the baselines a falling
		 * counter is a lie. */
		for (unsigned f = 0; f < r.nfields && f < p->disks[i].nfields; f++)
			if (f != VMS_DISK_IN_FLIGHT && r.v[f] < p->disks[i].v[f])
				return VMS_PROTO_E_SEQUENCE;
	}
	if ((err = chan_plaus_disk(ch, p, i < p->ndisks ? (int)i : -1, &r, now_ns)))
		return err;
	if (i == p->ndisks) {
		if (p->ndisks == VMS_PROBE_MAX_DISKS) {
			p->disks_dropped_total++;
			return VMS_PROTO_OK;
		}
		p->ndisks++;
	}
	p->disks[i] = r;
	p->disks_at_ns[i] = now_ns;
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
	return VMS_PROTO_OK;
}

static enum vms_proto_error
accept_cost(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
            const struct vms_record *rec, uint64_t now_ns)
{
	struct vms_cost_report r;
	enum vms_proto_error err = vms_decode_cost(rec, &r);
	if (err)
		return err;
	if ((err = chan_check_seq(ch, d, r.seq, now_ns)))
		return err;
	chan_advance_seq(ch, d, r.seq, now_ns);
	/* Cumulative per probe process: what it adds, a restart's whole value believed once per
	 * hello (channel_plaus.c). The exported counter only grows. */
	uint64_t delta[VMS_FAM_COUNT + 1];
	bool restart;
	if ((err = chan_plaus_cost(ch, d, &r, now_ns, delta, &restart)))
		return err;
	struct vms_probe_state *p = &d->probe;
	for (unsigned f = 0; f <= VMS_FAM_COUNT; f++)
		p->cost_seconds[f] += (double)delta[f] / 1e9;
	if (restart)
		p->cost_rebase = false;
	p->last_cost = r;
	p->last_cost_at_ns = now_ns;
	p->have_cost = true;
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
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
	chan_plaus_hello(c, ch, d, now_ns); /* the counters' baselines, rate-limited */
	ch->seq_valid = false;
	ch->cpu_seen = false;
	/* A hello mid-run means the probe restarted: that run will never finish. */
	chan_run_abandon(ch);
	vms_psched_add(c->psched, ch->uuid, chan_runnable(c, d->probe.caps), now_ns);
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
	if (first)
		chan_log_conn(ch, "probe %s connected (protocol %u, caps %s)", h.probe_version,
		              h.proto, h.caps);
	chan_send_schedule(c, ch);
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
	static struct vms_record rec;          /* 2 KiB: keep it off the stack; one thread only */
	chan_plaus_reset_if_due(c, d, now_ns); /* one a hello asked for, deferred */
	enum vms_proto_error err = vms_record_parse(&rec, line, len);
	if (err == VMS_PROTO_OK) {
		if (strcmp(rec.type, "hello") == 0)
			err = accept_hello(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "cpu") == 0)
			err = accept_cpu(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "disk") == 0)
			err = accept_disk(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "cost") == 0)
			err = accept_cost(c, ch, d, &rec, now_ns);
		else if ((strcmp(rec.type, "sample") == 0 || strcmp(rec.type, "done") == 0) &&
		         chan_run_abandoned(ch, &rec))
			return VMS_PROTO_OK;
		else if (strcmp(rec.type, "sample") == 0)
			err = chan_accept_sample(c, ch, d, &rec, now_ns);
		else if (strcmp(rec.type, "done") == 0)
			err = chan_accept_done(c, ch, d, &rec, now_ns);
		else
			err = VMS_PROTO_E_UNKNOWN;
	}
	if (err != VMS_PROTO_OK)
		chan_count_reject(c, ch, d, err);
	return err;
}

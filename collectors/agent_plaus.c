/* Plausibility of the QEMU guest agent's figures (agent_plaus.h). */
#include "collectors/agent_plaus.h"

#include <string.h>

/* A fall is a believed restart when the last one is old enough. */
static bool
reset_believed(const struct vms_agent_state *s, uint64_t now_ns, uint64_t interval_ns)
{
	return !s->reset_ns || now_ns - s->reset_ns >= VMS_AGENT_RESET_INTERVALS * interval_ns;
}

const char *
vms_agent_judge_cpu(const struct vms_agent_state *s, const struct vms_domain *d,
                    const struct vms_cpu_report *c, uint64_t now_ns, uint64_t interval_ns,
                    bool *reset)
{
	*reset = false;
	if (d->stats.nvcpu && c->ncpu > d->stats.nvcpu)
		return "more CPUs than libvirt gives the domain";
	if (!s->have_cpu)
		return NULL;            /* the first figures: nothing to hold them against */
	uint64_t before = 0, after = 0; /* each below 2^53 (agent_parse.c): no overflow */
	bool fell = false;
	for (unsigned m = 0; m < VMS_CPU_MODE_COUNT; m++) {
		fell |= c->ticks[m] < s->cpu.ticks[m];
		before += s->cpu.ticks[m];
		after += c->ticks[m];
	}
	if (fell) {
		if (!reset_believed(s, now_ns, interval_ns))
			return "CPU counters went back again soon after a restart";
		*reset = true;
		return NULL;
	}
	/* Ticks are milliseconds (hz 1000): what ncpu CPUs can run in the time, and a second. */
	double ms = now_ns > s->cpu.mono_ns ? (double)(now_ns - s->cpu.mono_ns) / 1e6 : 0;
	if ((double)(after - before) > (ms + 1000.0) * c->ncpu * VMS_AGENT_GROWTH_SLACK)
		return "CPU time grew faster than the guest's CPUs run";
	return NULL;
}

static const struct vms_disk_report *
find_disk(const struct vms_disk_report *v, unsigned n, const char *dev)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(v[i].dev, dev) == 0)
			return &v[i];
	return NULL;
}

static bool
disk_fell(const struct vms_disk_report *old, const struct vms_disk_report *now)
{
	unsigned n = old->nfields < now->nfields ? old->nfields : now->nfields;
	for (unsigned f = 0; f < n; f++)
		if (f != 8 && now->v[f] < old->v[f]) /* field 8, I/Os in flight, is a gauge */
			return true;
	return false;
}

const char *
vms_agent_judge_disks(const struct vms_agent_state *s, const struct vms_disk_report *in,
                      unsigned nin, uint64_t now_ns, uint64_t interval_ns,
                      struct vms_disk_report *out, unsigned *nout, unsigned *dropped, bool *reset)
{
	*reset = false;
	*dropped = 0;
	bool fell = false;
	for (unsigned i = 0; i < s->ndisks; i++) {
		const struct vms_disk_report *now = find_disk(in, nin, s->disks[i].dev);
		fell |= now && disk_fell(&s->disks[i], now);
	}
	if (fell && !reset_believed(s, now_ns, interval_ns))
		return "disk counters went back again soon after a restart";
	if (!s->ndisks || fell) { /* the first set, or a believed restart: the read's set */
		*reset = fell;
		memcpy(out, in, nin * sizeof(*in));
		*nout = nin;
		return NULL;
	}
	/* The known set, each updated when the read has it; newcomers dropped. */
	memcpy(out, s->disks, s->ndisks * sizeof(*out));
	*nout = s->ndisks;
	for (unsigned i = 0; i < s->ndisks; i++) {
		const struct vms_disk_report *now = find_disk(in, nin, s->disks[i].dev);
		if (now)
			out[i] = *now;
	}
	for (unsigned j = 0; j < nin; j++)
		*dropped += !find_disk(s->disks, s->ndisks, in[j].dev);
	return NULL;
}

/*
 * Plausibility of what a probe reports: bounds from physics and the guest's size, so that a
 * lying guest cannot push absurd values into its series and from there into the host-wide
 * analysis (capacity, interference). A record beyond them is rejected whole as "implausible"
 * and logged rate-limited; the baseline it would have replaced stays, so an honest record
 * after it is judged against the last good one. Also the rate limit on the counter resets
 * that a hello asks for. The bounds are documented in docs/probe.md ("Plausibility").
 */
#include "collectors/guest/channel_internal.h"

#include <stdarg.h>
#include <stdio.h>

#include "vmscale/clock.h"

/* Receive times jitter (our event loop, the guest's scheduler, a full socket): a counter's
 * growth is compared with the host time between two reports stretched by a quarter, plus 5 s.
 * A report rejected for a stall is not lost for good: the next one is compared with the
 * same, older baseline, over a longer span. */
#define GROWTH_SLACK 1.25
#define GROWTH_JITTER_S 5.0
/* A counter since the guest booted, against its uptime (CLOCK_MONOTONIC, which the guest
 * reports): twice, plus a minute, since guest clocks lie under contention (seed 001) and
 * only the absurd is to go. */
#define UPTIME_SLACK 2.0
#define UPTIME_JITTER_S 60.0

/* cpu_work: a unit is 8 Newton steps and a 15-term sine series, ~23 dependent divisions: over
 * 20 ns on any core we know. 1 unit per ns per vCPU leaves 20 times that. */
#define CPU_WORK_UNITS_PER_NS 1.0
/* One core streams tens of GB/s from DDR5; a whole socket with HBM a few TB/s. */
#define MEMORY_BYTES_PER_S_PER_VCPU 1e12
/* A guest's disk: PCIe 5.0 x16 carries 64 GB/s. Its NIC: 800 Gbit/s is 1e11 B/s. */
#define DISK_BYTES_PER_S 1e11
#define NET_BYTES_PER_S 1e11
/* No operation of the micro family (fork, context switch, a memory load) is under 1 ns. */
#define LATENCY_FLOOR_NS 1.0
/* Records the probe numbered but we never got (seq gaps): an honest probe sends a few a
 * second, our read budget lets in at most ~1e6. */
#define RECORDS_PER_S 1e6

/* /proc/diskstats ceilings per second of elapsed time, by column. */
#define IOPS 1e8   /* requests: 50 times the fastest NVMe arrays */
#define MERGES 1e9 /* merges are at most one per sector */
#define SECTORS (DISK_BYTES_PER_S / 512)
#define DISCARD_SECTORS (1e15 / 512)  /* a discard of a whole thin disk is one request */
#define QUEUE_DEPTH 1e5               /* requests in flight: blk-mq tags, generously */
#define QUEUE_MS (1000 * QUEUE_DEPTH) /* ms summed over the requests in flight */
/* In column order: reads read_merges read_sectors read_ms, writes write_merges write_sectors
 * write_ms, in_flight (a gauge: a bound of its own) io_ms (wall time busy) weighted_io_ms,
 * discards discard_merges discard_sectors discard_ms, flushes flush_ms. */
static const double disk_per_s[VMS_DISK_FIELD_COUNT] = {
    IOPS,    MERGES,          SECTORS,     QUEUE_MS, IOPS,     MERGES,
    SECTORS, QUEUE_MS,        QUEUE_DEPTH, 1000,     QUEUE_MS, IOPS,
    MERGES,  DISCARD_SECTORS, QUEUE_MS,    IOPS,     QUEUE_MS,
};

static enum vms_proto_error __attribute__((format(printf, 2, 3)))
implausible(struct chan *ch, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vms_complain(&ch->plaus_complaint, LOG_WARNING, ch->name,
	             "rejected an implausible record from the probe: %s", why);
	return VMS_PROTO_E_IMPLAUSIBLE;
}

/* Seconds a counter may have grown over since from_ns (host time), with the slack. */
static double
growth_s(uint64_t from_ns, uint64_t now_ns)
{
	double s = now_ns > from_ns ? (double)(now_ns - from_ns) / 1e9 : 0;
	return s * GROWTH_SLACK + GROWTH_JITTER_S;
}

/* Seconds a counter since guest boot may cover, the guest's monotonic clock at mono_ns. */
static double
uptime_s(uint64_t mono_ns)
{
	return (double)mono_ns / 1e9 * UPTIME_SLACK + UPTIME_JITTER_S;
}

/* The guest's size: its vCPUs as libvirt counts them, else as the guest said, else the most
 * we keep. */
static double
guest_cpus(const struct vms_domain *d, uint32_t claimed)
{
	if (d->stats.have_cpu && d->stats.nvcpu > 0)
		return d->stats.nvcpu;
	if (claimed)
		return claimed;
	if (d->probe.have_cpu)
		return d->probe.cpu.ncpu;
	return VMS_MAX_VCPUS;
}

enum vms_proto_error
chan_plaus_seq(struct chan *ch, uint64_t seq, uint64_t now_ns)
{
	if (!ch->seq_valid || seq <= ch->last_seq)
		return VMS_PROTO_OK;
	double gap = (double)(seq - ch->last_seq - 1);
	double max = growth_s(ch->last_seq_ns, now_ns) * RECORDS_PER_S;
	if (gap > max)
		return implausible(ch, "seq jumped by %.0f records (at most %.0f)", gap, max);
	return VMS_PROTO_OK;
}

/* Ticks a cpu report may hold per mode since boot, and grow by since the last one: all vCPUs
 * together count hz ticks a second, whatever mode they spend them in. Called after the
 * monotonic checks: within one baseline no tick count fell. */
enum vms_proto_error
chan_plaus_cpu(struct chan *ch, const struct vms_domain *d, const struct vms_cpu_report *r,
               uint64_t now_ns)
{
	const struct vms_probe_state *p = &d->probe;
	double cpus = guest_cpus(d, r->ncpu);
	/* Unplugged vCPUs keep their ticks: since boot, the larger of both counts. */
	double boot_cpus = cpus > r->ncpu ? cpus : r->ncpu;
	double since_boot = uptime_s(r->mono_ns) * boot_cpus * r->hz;
	for (unsigned m = 0; m < r->nmodes; m++)
		if ((double)r->ticks[m] > since_boot)
			return implausible(ch, "cpu %s=%llu ticks after %.0f s of guest uptime",
			                   vms_cpu_mode_name((enum vms_cpu_mode)m),
			                   (unsigned long long)r->ticks[m],
			                   (double)r->mono_ns / 1e9);
	if (!p->have_cpu || p->cpu_rebase)
		return VMS_PROTO_OK;
	if (r->hz != p->cpu.hz)
		return implausible(ch, "cpu hz changed from %u to %u", p->cpu.hz, r->hz);
	/* One tick per vCPU more: the counters are sampled, not exact. */
	double max = growth_s(p->last_report_ns, now_ns) * cpus * r->hz + cpus;
	double sum = 0;
	for (unsigned m = 0; m < r->nmodes && m < p->cpu.nmodes; m++) {
		double grew = (double)(r->ticks[m] - p->cpu.ticks[m]);
		/* guest and guest_nice are inside user and nice already: bounded alone. */
		if (m >= VMS_CPU_GUEST && grew > max)
			return implausible(ch, "cpu %s grew by %.0f ticks, at most %.0f",
			                   vms_cpu_mode_name((enum vms_cpu_mode)m), grew, max);
		if (m < VMS_CPU_GUEST)
			sum += grew;
	}
	if (sum > max)
		return implausible(ch, "cpu ticks grew by %.0f, at most %.0f on %.0f vCPUs", sum,
		                   max, cpus);
	return VMS_PROTO_OK;
}

/* A disk report against the guest's uptime, and against the device's last report (i, or -1
 * for a new device). Called after the monotonic check. */
enum vms_proto_error
chan_plaus_disk(struct chan *ch, const struct vms_probe_state *p, int i,
                const struct vms_disk_report *r, uint64_t now_ns)
{
	double up = uptime_s(r->mono_ns);
	double grow = i >= 0 ? growth_s(p->disks_at_ns[i], now_ns) : 0;
	static const char *const what[] = {"since boot", "since the last report"};
	for (unsigned f = 0; f < r->nfields; f++) {
		double v = (double)r->v[f],
		       max = f == VMS_DISK_IN_FLIGHT ? QUEUE_DEPTH : up * disk_per_s[f];
		int since = 0;
		if (v <= max && i >= 0 && f != VMS_DISK_IN_FLIGHT && f < p->disks[i].nfields) {
			v = (double)(r->v[f] - p->disks[i].v[f]);
			max = grow * disk_per_s[f];
			since = 1;
		}
		if (v > max)
			return implausible(ch, "disk %s: column %u grew by %.0f %s (at most %.0f)",
			                   r->dev, f + 1, v, what[since], max);
	}
	return VMS_PROTO_OK;
}

static uint64_t
cost_field(const struct vms_cost_report *r, unsigned f)
{
	return f < VMS_FAM_COUNT ? r->ns[f] : r->other_ns;
}

/*
 * The CPU time a cost report adds, per family (+ other), into delta. The probe's CPU time
 * cannot exceed wall time on all vCPUs. Cumulative per probe process: a smaller value means
 * the probe restarted, which is believed once per counter reset (a hello), its whole value
 * then new, spent since that hello; any other fall is a lie, so that alternating values
 * cannot inflate vmscale_probe_cost_seconds_total. *restart says whether it was one.
 */
enum vms_proto_error
chan_plaus_cost(struct chan *ch, const struct vms_domain *d, const struct vms_cost_report *r,
                uint64_t now_ns, uint64_t delta[VMS_FAM_COUNT + 1], bool *restart)
{
	const struct vms_probe_state *p = &d->probe;
	double cpus = guest_cpus(d, 0), total = 0, grew = 0;
	bool fell = false;
	for (unsigned f = 0; f <= VMS_FAM_COUNT; f++) {
		uint64_t cur = cost_field(r, f),
		         prev = p->have_cost ? cost_field(&p->last_cost, f) : 0;
		fell = fell || cur < prev;
		total += (double)cur;
		delta[f] = cur >= prev ? cur - prev : 0;
		grew += (double)delta[f];
	}
	double max = uptime_s(r->mono_ns) * cpus * 1e9;
	if (total > max)
		return implausible(ch, "cost of %.0f s of CPU after %.0f s of guest uptime",
		                   total / 1e9, (double)r->mono_ns / 1e9);
	*restart = fell;
	if (!fell) {
		max = growth_s(p->last_cost_at_ns, now_ns) * cpus * 1e9;
		if (p->have_cost && grew > max)
			return implausible(ch, "cost grew by %.3f s of CPU, at most %.3f",
			                   grew / 1e9, max / 1e9);
		return VMS_PROTO_OK;
	}
	if (!p->cost_rebase)
		return implausible(ch, "cost fell without a probe restart (hello)");
	max = growth_s(p->hello_at_ns, now_ns) * cpus * 1e9;
	if (total > max)
		return implausible(ch, "restarted probe's cost of %.3f s of CPU, at most %.3f",
		                   total / 1e9, max / 1e9);
	for (unsigned f = 0; f <= VMS_FAM_COUNT; f++)
		delta[f] = cost_field(r, f);
	return VMS_PROTO_OK;
}

/* One sample of an active run: a rate or a throughput below a physical ceiling, a latency
 * between the floor and the time the host has waited for the run. */
enum vms_proto_error
chan_plaus_sample(const struct vms_channels *c, struct chan *ch, const struct vms_domain *d,
                  const struct vms_sample *sm, uint64_t now_ns)
{
	if (sm->err)
		return VMS_PROTO_OK;
	double ns = (double)(sm->end_ns - sm->start_ns), cpus = guest_cpus(d, 0), max;
	const char *op = vms_op_name(sm->op);
	switch (vms_op_kind(sm->op)) {
	case VMS_KIND_RATE:
		max = CPU_WORK_UNITS_PER_NS * cpus;
		if ((double)sm->ops / ns > max)
			return implausible(ch, "%s: %llu units in %.0f ns (at most %.0f per ns)",
			                   op, (unsigned long long)sm->ops, ns, max);
		break;
	case VMS_KIND_THROUGHPUT:
		switch (vms_op_family(sm->op)) {
		case VMS_FAM_MEMORY:
			max = MEMORY_BYTES_PER_S_PER_VCPU * cpus;
			break;
		case VMS_FAM_NETWORK:
			max = NET_BYTES_PER_S;
			break;
		default:
			max = DISK_BYTES_PER_S;
			break;
		}
		if ((double)sm->bytes / ns * 1e9 > max)
			return implausible(ch, "%s: %llu bytes in %.0f ns (at most %.3g bytes/s)",
			                   op, (unsigned long long)sm->bytes, ns, max);
		break;
	case VMS_KIND_LATENCY:
		max = (double)(now_ns - ch->run.sent_ns) + (double)c->plan.skew_tolerance_ms * 1e6;
		if (ns / (double)sm->ops < LATENCY_FLOOR_NS || ns / (double)sm->ops > max)
			return implausible(ch, "%s: %.3g ns per op (from %.0f ns to %.0f ns)", op,
			                   ns / (double)sm->ops, LATENCY_FLOOR_NS, max);
		break;
	}
	return VMS_PROTO_OK;
}

static bool
reset_due(const struct vms_channels *c, const struct vms_probe_state *p, uint64_t now_ns)
{
	uint64_t window =
	    (uint64_t)VMS_PROBE_RESET_INTERVALS * c->store->probe_interval_ms * 1000000u;
	return p->reset_pending &&
	       (!p->have_reset || (now_ns >= p->reset_at_ns && now_ns - p->reset_at_ns >= window));
}

void
chan_plaus_reset_if_due(struct vms_channels *c, struct vms_domain *d, uint64_t now_ns)
{
	struct vms_probe_state *p = &d->probe;
	if (!reset_due(c, p, now_ns))
		return;
	p->reset_pending = false;
	p->have_reset = true;
	p->reset_at_ns = now_ns;
	p->ndisks = 0; /* devices may have changed with the probe */
	p->cpu_rebase = true;
	p->cost_rebase = true;
	vms_store_part_changed(c->store, VMS_STORE_PROBES);
}

void
chan_plaus_hello(struct vms_channels *c, struct chan *ch, struct vms_domain *d, uint64_t now_ns)
{
	struct vms_probe_state *p = &d->probe;
	p->reset_pending = true;
	bool due = reset_due(c, p, now_ns);
	p->hellos_total[due ? VMS_HELLO_RESET : VMS_HELLO_DEFERRED]++;
	if (!due)
		vms_complain(&ch->hello_complaint, LOG_WARNING, ch->name,
		             "hello within %u probe intervals of the last one: the counters keep "
		             "their baselines until then",
		             VMS_PROBE_RESET_INTERVALS);
	chan_plaus_reset_if_due(c, d, now_ns);
}

/* Host-side use of each domain for the interference search: CPU, block and network rates,
 * its wait for a host CPU (vcpu.N.delay), whether it is busy and since when, and its CPI. */
#include <math.h>
#include <stdlib.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"
#include "vmscale/clock.h"

/* Smoothing of the delay share: about the last five statistics. */
#define AN_DELAY_ALPHA 0.3
/* A busy domain is idle again below this share of busy-threshold: no flapping at the edge. */
#define AN_BUSY_HYSTERESIS 0.5

struct counters {
	uint64_t vcpu, delay, block, net, cycles, instructions;
	bool have_delay, have_cpi;
};

static struct counters
read_counters(const struct vms_domstats *ds)
{
	struct counters c = {0};
	c.have_delay = ds->nvcpu > 0;
	for (unsigned i = 0; i < ds->nvcpu; i++) {
		c.vcpu += ds->vcpu[i].time_ns;
		c.delay += ds->vcpu[i].delay_ns;
		c.have_delay &= ds->vcpu[i].has_delay;
	}
	for (unsigned i = 0; i < ds->nblock; i++)
		c.block += ds->block[i].rd_bytes + ds->block[i].wr_bytes;
	for (unsigned i = 0; i < ds->nnet; i++)
		c.net += ds->net[i].rx_bytes + ds->net[i].tx_bytes;
	uint32_t cpi_bits = (1u << VMS_PERF_CPU_CYCLES) | (1u << VMS_PERF_INSTRUCTIONS);
	c.have_cpi = (ds->perf_have & cpi_bits) == cpi_bits;
	if (c.have_cpi) {
		c.cycles = ds->perf[VMS_PERF_CPU_CYCLES];
		c.instructions = ds->perf[VMS_PERF_INSTRUCTIONS];
	}
	return c;
}

/* The smoothed delay share and the CPI of the interval just ended. */
static void
track_waits(struct an_host_use *u, const struct counters *c, double dt, unsigned nvcpu,
            uint64_t now_ns)
{
	if (c->have_delay && nvcpu && c->delay >= u->prev_delay_ns) {
		double share = (double)(c->delay - u->prev_delay_ns) / NS_PER_S / dt / nvcpu;
		u->delay_ratio = u->have_delay
		                     ? u->delay_ratio + AN_DELAY_ALPHA * (share - u->delay_ratio)
		                     : share;
		u->have_delay = true;
	} else {
		u->have_delay = false;
	}
	if (c->have_cpi && c->cycles > u->prev_cycles && c->instructions > u->prev_instructions &&
	    u->prev_instructions) {
		if (!u->cpi)
			u->cpi = vms_xcalloc(1, sizeof(*u->cpi));
		vms_window_add(u->cpi, now_ns,
		               (double)(c->cycles - u->prev_cycles) /
		                   (double)(c->instructions - u->prev_instructions));
	}
}

static void
track_busy(struct an_host_use *u, const struct vms_domain *d, uint64_t now_ns, double threshold)
{
	double util = d->vcpu_utilization;
	if (isnan(util))
		return;
	if (!u->busy && util > threshold) {
		u->busy = true;
		u->busy_since_ns = now_ns;
	} else if (u->busy && util < threshold * AN_BUSY_HYSTERESIS) {
		u->busy = false;
		u->busy_since_ns = 0;
	}
}

void
an_track_resources(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
                   uint64_t now_ns)
{
	struct an_host_use *u = &ad->use;
	if (!d->stats.have_cpu)
		return;
	track_busy(u, d, now_ns, a->busy_threshold);
	struct counters c = read_counters(&d->stats);
	if (u->have_prev && c.vcpu == u->prev_vcpu_ns && c.block == u->prev_block_bytes &&
	    c.net == u->prev_net_bytes)
		return; /* no new statistics since the last look */
	if (u->have_prev && now_ns > u->prev_at_ns && c.vcpu >= u->prev_vcpu_ns &&
	    c.block >= u->prev_block_bytes && c.net >= u->prev_net_bytes) {
		double dt = (double)(now_ns - u->prev_at_ns) / NS_PER_S;
		vms_window_add(&u->res[AN_RES_CPU], now_ns,
		               (double)(c.vcpu - u->prev_vcpu_ns) / NS_PER_S / dt);
		vms_window_add(&u->res[AN_RES_BLOCK], now_ns,
		               (double)(c.block - u->prev_block_bytes) / dt);
		vms_window_add(&u->res[AN_RES_NETWORK], now_ns,
		               (double)(c.net - u->prev_net_bytes) / dt);
		track_waits(u, &c, dt, d->stats.nvcpu, now_ns);
		a->vcpu_acc_ns += c.vcpu - u->prev_vcpu_ns;
	} else if (u->have_prev) {
		a->vcpu_acc_valid = false; /* counters reset: the domain restarted */
	}
	u->have_prev = true;
	u->prev_vcpu_ns = c.vcpu;
	u->prev_block_bytes = c.block;
	u->prev_net_bytes = c.net;
	u->prev_delay_ns = c.delay;
	u->prev_cycles = c.have_cpi ? c.cycles : 0;
	u->prev_instructions = c.have_cpi ? c.instructions : 0;
	u->prev_at_ns = now_ns;
}

void
an_forget_resources(struct an_domain *ad)
{
	ad->use.have_prev = false;
	ad->use.have_delay = false;
	ad->use.busy = false;
	ad->use.busy_since_ns = 0;
}

void
an_free_resources(struct an_domain *ad)
{
	free(ad->use.cpi);
	ad->use.cpi = NULL;
}

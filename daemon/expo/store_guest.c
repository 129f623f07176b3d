/* What the guests' probes report (CPU split, disks, active measurements) as metric families. */
#include "daemon/expo/store_families.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "daemon/expo/sample.h"

void
vms_expo_guest_cpu(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(
	    b, "vmscale_guest_cpu_seconds_total", "counter",
	    "Guest CPU time by mode, summed over the guest's CPUs, from /proc/stat inside the "
	    "guest (mpstat's split; guest and guest_nice are in "
	    "vmscale_guest_cpu_guest_seconds_total).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!vms_probe_own_counters(d))
			continue;
		unsigned last =
		    d->probe.cpu.nmodes < VMS_CPU_GUEST ? d->probe.cpu.nmodes : VMS_CPU_GUEST;
		for (unsigned m = 0; m < last; m++) {
			vms_sample_domain(b, "vmscale_guest_cpu_seconds_total", d);
			vms_buf_printf(b, ",mode=\"%s\"}", vms_cpu_mode_name((enum vms_cpu_mode)m));
			vms_buf_ticks_sample_value(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	vms_buf_family(b, "vmscale_guest_cpu_guest_seconds_total", "counter",
	               "Time the guest's own CPUs ran nested guests, by mode (already included in "
	               "user and nice).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!vms_probe_own_counters(d))
			continue;
		static const char *const nested[] = {"user", "nice"};
		for (unsigned m = VMS_CPU_GUEST; m < d->probe.cpu.nmodes; m++) {
			vms_sample_domain(b, "vmscale_guest_cpu_guest_seconds_total", d);
			vms_buf_printf(b, ",mode=\"%s\"}", nested[m - VMS_CPU_GUEST]);
			vms_buf_ticks_sample_value(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	vms_buf_family(b, "vmscale_guest_cpus", "gauge", "Number of CPUs the guest kernel sees.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!vms_probe_own_counters(d))
			continue;
		vms_sample_domain_u64(b, "vmscale_guest_cpus", d, d->probe.cpu.ncpu);
	}
}

/* Guest /proc/diskstats columns as Prometheus families: sectors are 512 bytes whatever the
 * device, times are milliseconds. Columns a kernel lacks (discard: < 4.18, flush: < 5.5)
 * are absent, not zero. */
static const struct {
	const char *name, *type, *help;
	unsigned col;
	double scale;
} guest_disk_families[] = {
    {"vmscale_probe_disk_reads_completed_total", "counter",
     "Reads completed (guest /proc/diskstats).", 0, 1},
    {"vmscale_probe_disk_reads_merged_total", "counter", "Adjacent reads merged by the guest.", 1,
     1},
    {"vmscale_probe_disk_read_bytes_total", "counter",
     "Bytes read (sectors x 512; seed 000's sectors read).", 2, 512},
    {"vmscale_probe_disk_read_time_seconds_total", "counter", "Time spent on reads.", 3, 0.001},
    {"vmscale_probe_disk_writes_completed_total", "counter", "Writes completed.", 4, 1},
    {"vmscale_probe_disk_writes_merged_total", "counter", "Adjacent writes merged by the guest.", 5,
     1},
    {"vmscale_probe_disk_written_bytes_total", "counter",
     "Bytes written (sectors x 512; seed 000's sectors written).", 6, 512},
    {"vmscale_probe_disk_write_time_seconds_total", "counter", "Time spent on writes.", 7, 0.001},
    {"vmscale_probe_disk_io_now", "gauge", "I/Os in flight when the probe read the counters.", 8,
     1},
    {"vmscale_probe_disk_io_time_seconds_total", "counter", "Time the device had I/O in flight.", 9,
     0.001},
    {"vmscale_probe_disk_io_time_weighted_seconds_total", "counter",
     "I/O time weighted by the number in flight.", 10, 0.001},
    {"vmscale_probe_disk_discards_completed_total", "counter", "Discards completed (kernel 4.18+).",
     11, 1},
    {"vmscale_probe_disk_discards_merged_total", "counter",
     "Adjacent discards merged (kernel 4.18+).", 12, 1},
    {"vmscale_probe_disk_discarded_bytes_total", "counter", "Bytes discarded (kernel 4.18+).", 13,
     512},
    {"vmscale_probe_disk_discard_time_seconds_total", "counter",
     "Time spent on discards (kernel 4.18+).", 14, 0.001},
    {"vmscale_probe_disk_flush_requests_total", "counter",
     "Flush requests completed (kernel 5.5+).", 15, 1},
    {"vmscale_probe_disk_flush_time_seconds_total", "counter",
     "Time spent on flushes (kernel 5.5+).", 16, 0.001},
};

static void
render_guest_disks(struct vms_buf *b, const struct vms_store *st)
{
	for (size_t k = 0; k < sizeof(guest_disk_families) / sizeof(guest_disk_families[0]); k++) {
		unsigned col = guest_disk_families[k].col;
		double scale = guest_disk_families[k].scale;
		vms_buf_family(b, guest_disk_families[k].name, guest_disk_families[k].type,
		               guest_disk_families[k].help);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			for (unsigned j = 0; !d->probe.info.view_host && j < d->probe.ndisks; j++) {
				const struct vms_disk_report *r = &d->probe.disks[j];
				if (col >= r->nfields)
					continue;
				vms_sample_domain(b, guest_disk_families[k].name, d);
				vms_buf_append(b, ",device=\"", 9);
				vms_buf_label_value(b, r->dev);
				vms_buf_append(b, "\"} ", 3);
				if (scale == 1)
					vms_buf_u64(b, r->v[col]);
				else if (scale == 512)
					vms_buf_u64(
					    b,
					    r->v[col] << 9); /* sectors: < 2^55 in any real life */
				else
					vms_buf_measured(b, (double)r->v[col] * scale, 3);
				vms_buf_append(b, "\n", 1);
			}
		}
	}
}

/* One value family of the active probes: the ops of `fam`, labelled op="..." unless the
 * family has a single op. */
static void
render_probe_values(struct vms_buf *b, const struct vms_store *st, const char *name,
                    const char *help, enum vms_family fam, bool op_label)
{
	vms_buf_family(b, name, "gauge", help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned op = 0; op < VMS_OP_COUNT; op++) {
			const struct vms_probe_value *v = &d->probe.ops[op];
			if (vms_op_family((enum vms_op)op) != fam || !v->have)
				continue;
			vms_sample_domain(b, name, d);
			if (op_label)
				vms_sample_label(b, "op", vms_op_name((enum vms_op)op));
			vms_buf_append(b, "} ", 2);
			/* Rates and throughputs to the unit, latencies to the nanosecond. */
			vms_buf_measured(b, v->value, fam == VMS_FAM_MICRO ? 9 : 0);
			vms_buf_append(b, "\n", 1);
		}
	}
}

/* A counter per domain and active family (the passive ones too when all is set). */
static void
render_per_family(struct vms_buf *b, const struct vms_store *st, const char *name, const char *type,
                  const char *help, size_t offset, bool all)
{
	vms_buf_family(b, name, type, help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.hello && !all)
			continue;
		const uint64_t *counts = (const uint64_t *)((const char *)&d->probe + offset);
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			if (!(d->probe.caps & (1u << f)) && !counts[f])
				continue;
			vms_sample_domain(b, name, d);
			vms_sample_label(b, "probe", vms_family_name((enum vms_family)f));
			vms_buf_append(b, "} ", 2);
			vms_buf_u64(b, counts[f]);
			vms_buf_append(b, "\n", 1);
		}
	}
}

/* TCP throughput by direction and block size. */
static void
render_network(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(
	    b, "vmscale_probe_network_throughput_bytes_per_second", "gauge",
	    "TCP throughput between the guest and vmscaled's responder by direction (send: "
	    "guest to host) and block size (seeds 000/004's NetIO).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned k = 0; k < d->probe.net_nblocks; k++)
			for (unsigned dir = 0; dir < 2; dir++) {
				const struct vms_probe_value *v = &d->probe.net[k][dir];
				if (!v->have)
					continue;
				vms_sample_domain(
				    b, "vmscale_probe_network_throughput_bytes_per_second", d);
				vms_sample_label(b, "direction", dir ? "receive" : "send");
				vms_buf_append(b, ",block_bytes=\"", 14);
				vms_buf_u64(b, d->probe.net_blocks[k]);
				vms_buf_append(b, "\"} ", 3);
				vms_buf_measured(b, v->value, 0);
				vms_buf_append(b, "\n", 1);
			}
	}
}

/* Active runs: results, whether the latest was flagged, and its window. */
static void
render_runs(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_probe_runs_total", "counter",
	               "Active runs by result: ok (done received) or timeout (given up).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
			for (unsigned r = 0; r < VMS_RUN_RESULT_COUNT; r++) {
				uint64_t n = d->probe.runs_total[f][r];
				if (!n && !(d->probe.caps & (1u << f)))
					continue;
				vms_sample_domain(b, "vmscale_probe_runs_total", d);
				vms_sample_label(b, "probe", vms_family_name((enum vms_family)f));
				vms_sample_label(b, "result", r == VMS_RUN_OK ? "ok" : "timeout");
				vms_buf_append(b, "} ", 2);
				vms_buf_u64(b, n);
				vms_buf_append(b, "\n", 1);
			}
	}
	vms_buf_family(b, "vmscale_probe_run_flagged", "gauge",
	               "1 if the latest run of the family was flagged (its samples are not used).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			if (!d->probe.have_run_window[f])
				continue;
			vms_sample_domain(b, "vmscale_probe_run_flagged", d);
			vms_sample_label(b, "probe", vms_family_name((enum vms_family)f));
			vms_buf_append(b, d->probe.run_flagged[f] ? "} 1\n" : "} 0\n", 4);
		}
	}
	static const char *const window[2][2] = {
	    {"vmscale_probe_run_start_timestamp_seconds",
	     "When the latest run of the family started (Unix time; guest times mapped to the "
	     "host's clock)."},
	    {"vmscale_probe_run_end_timestamp_seconds", "When the latest run of the family ended."},
	};
	for (unsigned w = 0; w < 2; w++) {
		vms_buf_family(b, window[w][0], "gauge", window[w][1]);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
				if (!d->probe.have_run_window[f])
					continue;
				vms_sample_domain(b, window[w][0], d);
				vms_sample_label(b, "probe", vms_family_name((enum vms_family)f));
				vms_buf_append(b, "} ", 2);
				vms_buf_measured(
				    b, w ? d->probe.run_end_unix[f] : d->probe.run_start_unix[f],
				    3);
				vms_buf_append(b, "\n", 1);
			}
		}
	}
}

/* What the probe costs the guest: CPU by family, memory, dropped disk reports. */
static void
render_cost(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_probe_cost_seconds_total", "counter",
	               "CPU time the probe spent in the guest, by family (other: its own loop).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cost)
			continue;
		for (unsigned f = 0; f <= VMS_FAM_COUNT; f++) {
			vms_sample_domain(b, "vmscale_probe_cost_seconds_total", d);
			vms_sample_label(b, "probe",
			                 f < VMS_FAM_COUNT ? vms_family_name((enum vms_family)f)
			                                   : "other");
			vms_buf_append(b, "} ", 2);
			vms_buf_measured(b, d->probe.cost_seconds[f], 9);
			vms_buf_append(b, "\n", 1);
		}
	}
	static const char *const mem[2][2] = {
	    {"vmscale_probe_resident_memory_bytes",
	     "The probe's resident memory in the guest (VmRSS)."},
	    {"vmscale_probe_resident_memory_max_bytes",
	     "The probe's peak resident memory since it started (VmHWM), transient buffers "
	     "included."},
	};
	for (unsigned m = 0; m < 2; m++) {
		vms_buf_family(b, mem[m][0], "gauge", mem[m][1]);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			uint64_t v =
			    m ? d->probe.last_cost.peak_rss_bytes : d->probe.last_cost.rss_bytes;
			if (d->probe.have_cost && v)
				vms_sample_domain_u64(b, mem[m][0], d, v);
		}
	}
	vms_buf_family(
	    b, "vmscale_probe_disks_dropped_total", "counter",
	    "Guest disk reports dropped because the domain already has 16 devices (present "
	    "once non-zero).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (d->probe.disks_dropped_total)
			vms_sample_domain_u64(b, "vmscale_probe_disks_dropped_total", d,
			                      d->probe.disks_dropped_total);
	}
}

void
vms_expo_probe_measurements(struct vms_buf *b, const struct vms_store *st)
{
	render_guest_disks(b, st);
	render_probe_values(
	    b, st, "vmscale_probe_cpu_work_units_per_second",
	    "Fixed-work CPU probe: arithmetic units per second (seeds 000/001's sqrt "
	    "and sin loops; a unit is the same work everywhere).",
	    VMS_FAM_CPU_WORK, false);
	render_probe_values(
	    b, st, "vmscale_probe_memory_bandwidth_bytes_per_second",
	    "Memory bandwidth over a buffer of at least 8 MiB, by op: copy (memcpy), "
	    "read, write (seed 004's mbw and lmbench bw_mem).",
	    VMS_FAM_MEMORY, true);
	render_probe_values(
	    b, st, "vmscale_probe_disk_read_bytes_per_second",
	    "O_DIRECT read throughput of the guest's disk at a rotating offset (seed "
	    "000's dd).",
	    VMS_FAM_DISK_READ, false);
	render_network(b, st);
	render_probe_values(
	    b, st, "vmscale_probe_latency_seconds",
	    "lmbench-style latency by op: fork_exit, fork_exec, ctxsw (pipe round "
	    "trip), file_create_0k/10k (create+delete), mem_read (one dependent load "
	    "over >= 8 MiB) (seed 004).",
	    VMS_FAM_MICRO, true);
	render_per_family(b, st, "vmscale_probe_samples_total", "counter",
	                  "Measurements received from active runs (trusted or flagged).",
	                  offsetof(struct vms_probe_state, samples_total), false);
	render_per_family(b, st, "vmscale_probe_samples_flagged_total", "counter",
	                  "Measurements not used because the guest clock disagreed with the host's "
	                  "during their run (seed 001).",
	                  offsetof(struct vms_probe_state, samples_flagged_total), false);
	render_per_family(b, st, "vmscale_probe_sample_errors_total", "counter",
	                  "Measurements the probe could not take (it logs why in the guest).",
	                  offsetof(struct vms_probe_state, sample_errors_total), false);
	render_runs(b, st);
	render_cost(b, st);
}

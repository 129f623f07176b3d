/* The store, analysis and exposition that the golden files pin down (see expo_fixture.h). */
#include "expo_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "daemon/control.h"
#include "daemon/expo/expo.h"

void
fixture_fill_store(struct vms_store *st)
{
	vms_store_init(st, 5000);
	struct vms_conn *conn = vms_store_add_conn(st, "qemu:///system");
	vms_store_set_conn_up(st, conn, true);

	struct vms_domain *d =
	    vms_store_upsert_in(st, conn, "11111111-2222-3333-4444-555555555555", "web-1", 3);
	vms_store_set_channel(d, "/run/libvirt/qemu/channel/3-web-1/org.vmscale.probe.0");
	d->probe.connected = d->probe.hello = d->probe.have_cpu = true;
	d->probe.info.proto = 1;
	snprintf(d->probe.info.probe_version, sizeof(d->probe.info.probe_version), "0.1.0");
	d->probe.cpu = (struct vms_cpu_report){.seq = 12,
	                                       .hz = 100,
	                                       .ncpu = 2,
	                                       .nmodes = VMS_CPU_MODE_COUNT,
	                                       .ticks = {1234, 5, 678, 90000, 12, 0, 34, 7, 3, 1}};
	d->probe.last_report_ns = NOW_NS - 2000000000ull;
	d->probe.reports_total = 13;
	d->probe.reports_lost_total = 1;
	d->probe.clock_skew_s = -0.003;
	/* The probe families: a disk, every active value, counters, cost. */
	d->probe.caps = 0x7f;
	d->probe.ndisks = 1;
	d->probe.disks[0] = (struct vms_disk_report){
	    .dev = "vda",
	    .nfields = 15,
	    .v = {100, 2, 8000, 30, 50, 1, 4000, 20, 1, 45, 60, 3, 0, 24, 1}};
	d->probe.ops[VMS_OP_CPU_WORK] = (struct vms_probe_value){.have = true, .value = 17200000};
	d->probe.ops[VMS_OP_MEM_COPY] = (struct vms_probe_value){.have = true, .value = 1.25e10};
	d->probe.ops[VMS_OP_MEM_READ] = (struct vms_probe_value){.have = true, .value = 2.5e10};
	d->probe.ops[VMS_OP_MEM_WRITE] = (struct vms_probe_value){.have = true, .value = 3e10};
	d->probe.ops[VMS_OP_DISK_READ] = (struct vms_probe_value){.have = true, .value = 9e8};
	d->probe.ops[VMS_OP_FORK_EXIT] = (struct vms_probe_value){.have = true, .value = 0.00012};
	d->probe.ops[VMS_OP_MEM_LATENCY] = (struct vms_probe_value){.have = true, .value = 1.5e-7};
	d->probe.net_nblocks = 2;
	d->probe.net_blocks[0] = 1024;
	d->probe.net_blocks[1] = 32768;
	d->probe.net[0][0] = (struct vms_probe_value){.have = true, .value = 5e8};
	d->probe.net[1][1] = (struct vms_probe_value){.have = true, .value = 2.5e9};
	d->probe.udp[0][0] = (struct vms_probe_value){.have = true, .value = 7.5e6};
	d->probe.udp[0][1] = (struct vms_probe_value){.have = true, .value = 0.0125};
	d->probe.samples_total[VMS_FAM_MEMORY] = 9;
	d->probe.samples_flagged_total[VMS_FAM_MEMORY] = 3;
	d->probe.sample_errors_total[VMS_FAM_DISK_READ] = 1;
	d->probe.runs_total[VMS_FAM_MEMORY][VMS_RUN_OK] = 4;
	d->probe.runs_total[VMS_FAM_NETWORK][VMS_RUN_TIMEOUT] = 1;
	d->probe.have_run_window[VMS_FAM_MEMORY] = true;
	d->probe.run_flagged[VMS_FAM_MEMORY] = true;
	d->probe.run_start_unix[VMS_FAM_MEMORY] = 1700000000.5;
	d->probe.run_end_unix[VMS_FAM_MEMORY] = 1700000000.625;
	d->probe.have_cost = true;
	d->probe.cost_seconds[VMS_FAM_CPU] = 0.25;
	d->probe.cost_seconds[VMS_FAM_COUNT] = 0.5;
	d->probe.last_cost.rss_bytes = 450560;
	d->probe.last_cost.peak_rss_bytes = 35000000;
	/* Host-side statistics, as libvirt's bulk stats would fill them. */
	struct vms_domstats *ds = &d->stats;
	ds->have_cpu = true;
	ds->cpu_time_ns = 6544078000ull;
	ds->cpu_user_ns = 5906851000ull;
	ds->cpu_system_ns = 637226000ull;
	ds->nvcpu = ds->vcpu_cap = 2;
	ds->vcpu = calloc(2, sizeof(*ds->vcpu));
	ds->vcpu[0] = (struct vms_vcpu_stats){.time_ns = 6070000000ull,
	                                      .wait_ns = 0,
	                                      .delay_ns = 64871075,
	                                      .has_wait = true,
	                                      .has_delay = true};
	ds->vcpu[1] = (struct vms_vcpu_stats){.time_ns = 10};
	ds->have_balloon_current = ds->have_balloon_rss = true;
	ds->balloon_current_kib = 131072;
	ds->balloon_rss_kib = 220836;
	ds->nblock = ds->block_cap = 1;
	ds->block = calloc(1, sizeof(*ds->block));
	ds->block[0] = (struct vms_block_stats){.name = "vda",
	                                        .rd_bytes = 12800,
	                                        .rd_reqs = 4,
	                                        .rd_times_ns = 2299825,
	                                        .wr_bytes = 512,
	                                        .wr_reqs = 1,
	                                        .wr_times_ns = 7};
	ds->nnet = ds->net_cap = 1;
	ds->net = calloc(1, sizeof(*ds->net));
	ds->net[0] = (struct vms_net_stats){
	    .name = "vnet\"0", .rx_bytes = 1000, .tx_bytes = 2000, .rx_drop = 3};
	/* Perf events: the hardware ones need a host PMU (recorded, not seen on our lab hosts). */
	const struct {
		enum vms_perf_event e;
		uint64_t v;
	} perf[] = {
	    {VMS_PERF_CPU_CYCLES, 9876543210ull},   {VMS_PERF_INSTRUCTIONS, 7654321098ull},
	    {VMS_PERF_CPU_CLOCK, 6543210987ull},    {VMS_PERF_TASK_CLOCK, 6543000000ull},
	    {VMS_PERF_CONTEXT_SWITCHES, 123456ull}, {VMS_PERF_CPU_MIGRATIONS, 789ull},
	    {VMS_PERF_PAGE_FAULTS, 45678ull},
	};
	for (size_t i = 0; i < sizeof(perf) / sizeof(perf[0]); i++) {
		ds->perf[perf[i].e] = perf[i].v;
		ds->perf_have |= UINT32_C(1) << perf[i].e;
	}
	st->stats_incomplete_total = 2;
	/* 2.5 s of vCPU time over 5 s on 2 vCPUs: 25 %, above the 20 % busy threshold. */
	d->util_prev_vcpu_ns = 6070000010ull - 2500000000ull;
	d->util_prev_at_ns = NOW_NS - 5000000000ull;
	vms_domain_update_utilization(d, NOW_NS);

	/* A hostile name: quote, backslash, newline, HTML and non-ASCII. */
	d = vms_store_upsert_in(st, conn, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	                        "we\"ird\\name\n<b>&\xc3\xa9", 4);
	vms_store_set_channel(d, "/run/x");
	d->probe.connected = d->probe.hello = d->probe.have_cpu = true;
	d->probe.info.proto = 1;
	snprintf(d->probe.info.probe_version, sizeof(d->probe.info.probe_version), "0.0.9\"x");
	d->probe.cpu = (struct vms_cpu_report){
	    .seq = 1, .hz = 250, .ncpu = 1, .nmodes = 4, .ticks = {1, 2, 3, 1000}};
	/* Stale: the last report is older than three intervals. */
	d->probe.last_report_ns = NOW_NS - 16000000000ull;
	d->probe.rejected[VMS_PROTO_E_SYNTAX] = 3;
	d->probe.rejected[VMS_PROTO_E_OVERSIZED] = 1;
	d->probe.rejected[VMS_PROTO_E_IMPLAUSIBLE] = 2;
	d->probe.hellos_total[VMS_HELLO_RESET] = 1;
	d->probe.hellos_total[VMS_HELLO_DEFERRED] = 4;
	/* Matched by qemu-agent-domains too: its probe's figures are shown, the agent's are not. */
	d->agent.have_cpu = true;
	d->agent.cpu =
	    (struct vms_cpu_report){.hz = 1000, .ncpu = 2, .nmodes = 4, .ticks = {999999}};
	d->agent.reads_total[VMS_AGENT_CPUSTATS][VMS_AGENT_OK] = 1;

	/* An agentless guest: its CPU split and disk through the QEMU guest agent. */
	d = vms_store_upsert_in(st, conn, "99999999-0000-0000-0000-000000000000", "nochannel", 5);
	d->agent.have_cpu = true;
	d->agent.cpu = (struct vms_cpu_report){.hz = 1000,
	                                       .ncpu = 1,
	                                       .nmodes = VMS_CPU_GUEST + 1,
	                                       .ticks = {12340, 0, 5670, 800000, 120, 0, 30, 5, 0}};
	d->agent.ndisks = 1;
	d->agent.disks[0] = (struct vms_disk_report){
	    .dev = "vda", .nfields = 11, .v = {10, 0, 800, 3, 5, 0, 400, 2, 0, 4, 6}};
	d->agent.reads_total[VMS_AGENT_CPUSTATS][VMS_AGENT_OK] = 7;
	d->agent.reads_total[VMS_AGENT_DISKSTATS][VMS_AGENT_OK] = 6;
	d->agent.reads_total[VMS_AGENT_DISKSTATS][VMS_AGENT_REJECTED] = 1;

	st->host = (struct vms_host_stats){
	    .valid = true,
	    .cpu_ticks_user = 1001,
	    .cpu_ticks_nice = 2,
	    .cpu_ticks_system = 303,
	    .cpu_ticks_idle = 40000,
	    .cpu_ticks_iowait = 55,
	    .ticks_per_second = 100,
	    .mem_total = 25276502016ull,
	    .mem_free = 24000000000ull,
	    .mem_used = 900000000ull,
	    .mem_cache = 376502016ull,
	    .load1 = 0.5,
	    .load5 = 0.25,
	    .load15 = 0.125,
	    .have_shared = true,
	    .mem_buffers = 9994240,
	    .mem_shared = 9084928,
	    .have_swap = true,
	    .swap_total = 1073741824,
	    .swap_used = 4096,
	    .swap_free = 1073737728,
	    .have_disks = true,
	    .ndisks = 2,
	    .disks_dropped = 3,
	    .disks = {{"vda", 3140748288ull, 1979064320ull}, {"nvme0n1", 0, 512}},
	    .have_ifaces = true,
	    .nifaces = 2,
	    .ifaces = {{"eth0", 120432200, 101533, 2482, 1337, 1, 2, 3},
	               /* Linux allows quotes and backslashes in interface names. */
	               {"br\"0\\x", 10, 20, 1, 2, 0, 0, 0}},
	    .have_procs = true,
	    .procs_running = 2,
	    .procs_sleeping = 35,
	    .procs_stopped = 1,
	    .procs_zombie = 0,
	    .procs_other = 37,
	    .have_virt_mem = true,
	    .virt_mem = 270000000,
	    .virt_mem_clamped_total = 1};
}

struct vms_analysis *
fixture_analysis(struct vms_store *st)
{
	/* The analysis, from a state as a file would hold it, then one update over the store:
	 * web-1 runs 1.6 times slower than its baseline (a warning: alert-for is 0 here). */
	struct vms_analysis_config ac;
	vms_analysis_config_defaults(&ac);
	ac.host_cpus = 2;
	ac.alert_for_ns = 0;
	struct vms_analysis *an = vms_analysis_new(&ac);
	static const char state[] =
	    "domain 11111111-2222-3333-4444-555555555555 1699999000 0 0 - web-1\n"
	    "baseline cpu_work 0 27520000 1\n"
	    "bucket cpu_work 1 6 27500000 10000 3 27520000 27400000 27600000\n"
	    "bucket cpu_work 2 5 26000000 20000 2 26000000 26000000\n"
	    "bucket cpu_work 3 5 18000000 40000 2 18000000 18000000\n"
	    "baseline fork_exit 1 0.0001 1\n"
	    "bucket fork_exit 1 5 0.0001 0 1 0.0001\n"
	    "bucket fork_exit 3 5 0.00015 0 1 0.00015\n"
	    "baseline memory_copy 0 2000000000 1\n"
	    "bucket memory_copy 1 5 2000000000 0 1 2000000000\n"
	    "bucket memory_copy 3 5 1500000000 0 1 1500000000\n"
	    "overhead cpu_work busy 4 0.45 0.01\n"
	    "startup 3.25\n"
	    "domain aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee 1699999000 0 0 - "
	    "we\"ird\\name%0A<b>&%C3%A9\n"
	    "baseline cpu_work 0 20000000 1\n"
	    "bucket cpu_work 1 5 20000000 0 1 20000000\n"
	    "host hypervisor_overhead 1 10 0.05 0.0001\n"
	    "host hypervisor_overhead 2 10 0.07 0.0001\n"
	    "host hypervisor_overhead 3 4 0.1 0.0004\n"
	    "host virtualization_memory 1 10 400000000 0\n"
	    "host virtualization_memory 3 10 420000000 0\n"
	    "host startup 3 1 3.25 0\n"
	    "end 2\n";
	char err[256];
	CHECK_INT(vms_analysis_deserialize(an, state, sizeof(state) - 1, err, sizeof(err)), 0);
	/* Two values 1.6 times slower: one alone would not alert (CPI²'s rule). */
	st->domains[0]->probe.ops[VMS_OP_CPU_WORK].at_ns = NOW_NS - 2000000000ull;
	vms_analysis_update(an, st, NOW_NS - 1000000000ull, 1699999999);
	st->domains[0]->probe.ops[VMS_OP_CPU_WORK].at_ns = NOW_NS - 1000000000ull;
	st->domains[0]->probe.ops[VMS_OP_FORK_EXIT].at_ns = NOW_NS - 1000000000ull;
	vms_analysis_update(an, st, NOW_NS, 1700000000);
	return an;
}

void
fixture_control_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_control_render_stats(ctx, b);
}

/* Stand-in statistics never change: one render. */
static uint64_t
constant_generation(const void *ctx, uint64_t now_ns)
{
	(void)ctx;
	(void)now_ns;
	return 1;
}

struct vms_metrics_source
fixture_stand_in(struct vms_metrics_source real, const void *stats,
                 void (*render)(const void *stats, struct vms_buf *b, uint64_t now_ns))
{
	real.ctx = stats;
	real.render = render;
	real.generation = constant_generation;
	return real;
}

/*
 * The exposition as the daemon assembles it: the sources in the order daemon/main.c
 * (register_sources) adds them; control and analysis only when given, as there.
 */
void
fixture_render_exposition(struct vms_buf *b, const struct vms_self_info *self, struct vms_store *st,
                          const struct vms_control_stats *control, const struct vms_analysis *an)
{
	struct vms_channels *chans = vms_channels_new(st);
	struct vms_listeners *lis = vms_listeners_new(st, chans);
	struct vms_analysis_source as = {.analysis = an, .store = st};
	struct vms_registry *r = vms_registry_new();
	vms_registry_add(r, vms_expo_self_source(self));
	vms_expo_add_store_sources(r, st);
	vms_registry_add(r, vms_channels_metrics_source(chans));
	vms_registry_add(r, vms_listeners_metrics_source(lis));
	vms_registry_add(r, vms_expo_host_source(st));
	if (control) /* its counters without a socket: the golden file pins them */
		vms_registry_add(r, fixture_stand_in(vms_control_metrics_source(NULL), control,
		                                     fixture_control_render));
	if (an)
		vms_registry_add(r, vms_analysis_metrics_source(&as));
	CHECK(vms_registry_refresh(r, NOW_NS));
	vms_registry_text(r, b);
	vms_registry_free(r);
	vms_listeners_free(lis);
	vms_channels_free(chans);
}

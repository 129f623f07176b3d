/*
 * --stdout: with --once, every probe run once and printed for a person; without, the passive
 * wire records streamed to standard output, for piping and debugging.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "probes/probe_internal.h"
#include "probes/procview.h"

static void
print_human_cpu(const struct vms_cpu_report *r)
{
	uint64_t total = 0;
	for (unsigned m = 0; m < r->nmodes; m++)
		if (m != VMS_CPU_GUEST && m != VMS_CPU_GUEST_NICE) /* already in user and nice */
			total += r->ticks[m];
	printf("vmscale-probe %s, protocol %d\n", VMSCALE_VERSION, VMS_PROTO_VERSION);
	printf("cpu: %u CPUs, USER_HZ %u, monotonic %.3f s, realtime %.3f s\n", r->ncpu, r->hz,
	       (double)r->mono_ns / 1e9, (double)r->real_ns / 1e9);
	printf("  %-10s %14s %9s %7s\n", "mode", "ticks", "seconds", "share");
	for (unsigned m = 0; m < r->nmodes; m++)
		printf("  %-10s %14llu %9.2f %6.2f%%\n", vms_cpu_mode_name((enum vms_cpu_mode)m),
		       (unsigned long long)r->ticks[m], (double)r->ticks[m] / r->hz,
		       total ? 100.0 * (double)r->ticks[m] / (double)total : 0.0);
	printf("  (shares since boot; guest and guest_nice are included in user and nice)\n");
}

static void
print_human_disks(const struct probe_opts *o)
{
	struct vmsp_disk disks[PROBE_MAX_DISKS];
	unsigned skipped = 0;
	int n = probe_read_disks(o, disks, &skipped);
	if (n < 0) {
		printf("disk: cannot read %s: %s\n", o->diskstats, strerror(errno));
		return;
	}
	printf("disk: %d device%s (%s)\n", n, n == 1 ? "" : "s", o->diskstats);
	for (int i = 0; i < n; i++)
		printf("  %-10s reads %llu (%llu sectors, %llu ms)  writes %llu (%llu sectors, "
		       "%llu ms)  io %llu ms  [%u fields]\n",
		       disks[i].name, (unsigned long long)disks[i].v[VMSP_DISK_READS],
		       (unsigned long long)disks[i].v[VMSP_DISK_READ_SECTORS],
		       (unsigned long long)disks[i].v[VMSP_DISK_READ_MS],
		       (unsigned long long)disks[i].v[VMSP_DISK_WRITES],
		       (unsigned long long)disks[i].v[VMSP_DISK_WRITE_SECTORS],
		       (unsigned long long)disks[i].v[VMSP_DISK_WRITE_MS],
		       (unsigned long long)disks[i].v[VMSP_DISK_IO_MS], disks[i].nfields);
	if (skipped)
		printf("  (%u malformed lines skipped)\n", skipped);
}

static void
sink_human(struct probe_state *s, const struct vms_sample *sm)
{
	(void)s;
	char what[48];
	if (sm->block)
		snprintf(what, sizeof(what), "%s %s %u B", vms_family_name(vms_op_family(sm->op)),
		         vms_op_name(sm->op), (unsigned)sm->block);
	else
		snprintf(what, sizeof(what), "%s %s", vms_family_name(vms_op_family(sm->op)),
		         vms_op_name(sm->op));
	if (sm->err) {
		printf("  %-26s not measured: %s\n", what, strerror((int)sm->err));
		return;
	}
	double secs = (double)(sm->end_ns - sm->start_ns) / 1e9;
	switch (vms_op_kind(sm->op)) {
	case VMS_KIND_RATE:
		printf("  %-26s %14.0f units/s   (%llu units in %.2f ms)\n", what,
		       (double)sm->ops / secs, (unsigned long long)sm->ops, secs * 1e3);
		break;
	case VMS_KIND_THROUGHPUT:
		printf("  %-26s %14.1f MB/s      (%llu bytes in %.2f ms)\n", what,
		       (double)sm->bytes / secs / 1e6, (unsigned long long)sm->bytes, secs * 1e3);
		break;
	case VMS_KIND_LATENCY:
		printf("  %-26s %14.3f us        (%llu ops in %.2f ms)\n", what,
		       secs / (double)sm->ops * 1e6, (unsigned long long)sm->ops, secs * 1e3);
		break;
	}
}

int
probe_run_once_stdout(const struct probe_opts *o)
{
	static struct probe_state s = {.fd = -1};
	vms_schedule_defaults(&s.sched);
	probe_build_caps(o, &s);
	struct vms_cpu_report r;
	if (probe_take_cpu_report(o, &s, &r) < 0) {
		fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat,
		        strerror(errno));
		return 1;
	}
	print_human_cpu(&r);
	print_human_disks(o);
	/* A container without lxcfs reads the host's counters: said, never passed off. */
	char why[256];
	const struct vmsp_procview_paths paths = {o->mountinfo, o->pid1_environ, o->procstat};
	if (vmsp_procview_is_host(&paths, false, why, sizeof(why)))
		printf("/proc view: host (%s): the CPU split and disks above are the host's, not "
		       "this container's\n",
		       why);
	printf("active probes (default sizes; disk read on %s):\n",
	       s.disk_dev[0] ? s.disk_dev : "no disk");
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
		struct vms_run run = {.family = (enum vms_family)f};
		if (f == VMS_FAM_NETWORK) {
			if (!o->net_addr || !o->net_token) {
				printf("  %-26s not measured: needs --net-addr and --net-token "
				       "(vmscaled grants a token per run over the channel)\n",
				       "network");
				continue;
			}
			snprintf(run.addr, sizeof(run.addr), "%s", o->net_addr);
			snprintf(run.token, sizeof(run.token), "%s", o->net_token);
			run.port = o->net_port;
		}
		probe_run_family(o, &s, &run, sink_human);
	}
	printf("probe cost: %.1f ms of CPU for this report\n", (double)probe_cpu_used_ns() / 1e6);
	return 0;
}

/* --stdout without --once: the passive wire records on stdout, for piping and debugging. */
int
probe_run_stdout_stream(const struct probe_opts *o)
{
	static struct probe_state s = {.fd = -1};
	vms_schedule_defaults(&s.sched);
	s.sched.cpu_ms = s.sched.disk_ms = o->interval_ms;
	probe_build_caps(o, &s);
	char why[256];
	const struct vmsp_procview_paths paths = {o->mountinfo, o->pid1_environ, o->procstat};
	s.view_host = vmsp_procview_is_host(&paths, false, why, sizeof(why));
	probe_queue_hello(&s);
	while (!probe_stop_requested) {
		if (probe_queue_cpu(o, &s) < 0) {
			fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat,
			        strerror(errno));
			return 1;
		}
		(void)probe_queue_disks(o, &s);
		fwrite(s.out, 1, s.outlen, stdout);
		s.outlen = 0;
		fflush(stdout);
		poll(NULL, 0, (int)o->interval_ms);
	}
	return 0;
}

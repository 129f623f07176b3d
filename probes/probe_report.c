/*
 * The records the probe sends: hello, the passive reports (CPU split, diskstats) with the
 * probe's own cost, and the samples and "done" of an active run, queued in s->out. Each
 * family's CPU time is charged to it, for the cost record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "probes/bench.h"
#include "probes/netclient.h"
#include "probes/procstat.h"
#include "probes/probe_internal.h"
#include "vmscale/clock.h"
#include "vmscale/netudp.h"

/* CPU time of this process and of its reaped children (the fork latencies' children). */
uint64_t
probe_cpu_used_ns(void)
{
	struct rusage ru;
	uint64_t ns = vms_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		ns += ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NS_PER_S +
		      ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
	return ns;
}

static void
charge(struct probe_state *s, enum vms_family f, uint64_t since_ns)
{
	uint64_t now = probe_cpu_used_ns();
	if (now > since_ns)
		s->cost_ns[f] += now - since_ns;
}

void
probe_build_caps(const struct probe_opts *o, struct probe_state *s)
{
	s->disk_dev[0] = '\0';
	bool disk = vmsp_disk_pick(o->sysfs_block, s->disk_dev, sizeof(s->disk_dev));
	/* No disk, no disk_read: the host then never asks for it. */
	snprintf(s->caps, sizeof(s->caps), "cpu,disk,cpu_work,memory,%snetwork,micro",
	         disk ? "disk_read," : "");
}

int
probe_take_cpu_report(const struct probe_opts *o, struct probe_state *s, struct vms_cpu_report *r)
{
	memset(r, 0, sizeof(*r));
	if (vmsp_procstat_read(o->procstat, r) < 0)
		return -1;
	r->hz = (uint32_t)sysconf(_SC_CLK_TCK);
	r->seq = s->seq++;
	r->mono_ns = vms_clock_ns(CLOCK_MONOTONIC);
	r->real_ns = vms_clock_ns(CLOCK_REALTIME);
	return 0;
}

/* Queues a record; a record that does not fit is dropped whole, never split. */
static void
queue_record(struct probe_state *s, const char *rec, size_t len)
{
	if (len == 0)
		return;
	if (s->outlen + len > sizeof(s->out)) {
		s->dropped++;
		return;
	}
	memcpy(s->out + s->outlen, rec, len);
	s->outlen += len;
}

void
probe_queue_hello(struct probe_state *s)
{
	struct vms_hello h = {.proto = VMS_PROTO_VERSION};
	snprintf(h.probe_version, sizeof(h.probe_version), "%s", VMSCALE_VERSION);
	snprintf(h.caps, sizeof(h.caps), "%s", s->caps);
	h.view_host = s->view_host;
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_hello(rec, sizeof(rec), &h));
}

/* VmRSS and VmHWM of this process, in bytes (0 where /proc does not say). */
static void
read_rss(uint64_t *rss, uint64_t *peak)
{
	*rss = *peak = 0;
	char buf[2048];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	const char *p;
	if ((p = strstr(buf, "VmRSS:")))
		*rss = strtoull(p + 6, NULL, 10) * 1024;
	if ((p = strstr(buf, "VmHWM:")))
		*peak = strtoull(p + 6, NULL, 10) * 1024;
}

static void
queue_cost(struct probe_state *s)
{
	struct vms_cost_report c = {.seq = s->seq++, .mono_ns = vms_clock_ns(CLOCK_MONOTONIC)};
	uint64_t total = probe_cpu_used_ns(), families = 0;
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++) {
		c.ns[f] = s->cost_ns[f];
		families += s->cost_ns[f];
	}
	c.other_ns = total > families ? total - families : 0;
	read_rss(&c.rss_bytes, &c.peak_rss_bytes);
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_cost(rec, sizeof(rec), &c));
}

int
probe_queue_cpu(const struct probe_opts *o, struct probe_state *s)
{
	uint64_t t0 = probe_cpu_used_ns();
	struct vms_cpu_report r;
	char rec[VMS_PROTO_MAX_RECORD + 1];
	int rc = probe_take_cpu_report(o, s, &r);
	if (rc == 0)
		queue_record(s, rec, vms_encode_cpu(rec, sizeof(rec), &r));
	charge(s, VMS_FAM_CPU, t0);
	queue_cost(s);
	return rc;
}

int
probe_read_disks(const struct probe_opts *o, struct vmsp_disk *disks, unsigned *skipped)
{
	return vmsp_diskstats_read(o->diskstats, &o->disk_filter, disks, PROBE_MAX_DISKS, skipped);
}

int
probe_queue_disks(const struct probe_opts *o, struct probe_state *s)
{
	uint64_t t0 = probe_cpu_used_ns();
	struct vmsp_disk disks[PROBE_MAX_DISKS];
	unsigned skipped = 0;
	int n = probe_read_disks(o, disks, &skipped);
	uint64_t mono = vms_clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++) {
		struct vms_disk_report r = {
		    .seq = s->seq++, .mono_ns = mono, .nfields = disks[i].nfields};
		_Static_assert(sizeof(r.dev) == sizeof(disks[i].name), "same name bound");
		memcpy(r.dev, disks[i].name, sizeof(r.dev));
		r.dev[sizeof(r.dev) - 1] = '\0';
		memcpy(r.v, disks[i].v, sizeof(r.v));
		char rec[VMS_PROTO_MAX_RECORD + 1];
		queue_record(s, rec, vms_encode_disk(rec, sizeof(rec), &r));
	}
	charge(s, VMS_FAM_DISK, t0);
	return n < 0 ? -1 : 0;
}

/* One measurement of a run as a record (probe_human.c has the human line of --once --stdout). */
static void
sink_wire(struct probe_state *s, const struct vms_sample *sm)
{
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_sample(rec, sizeof(rec), sm));
}

static void
emit(struct probe_state *s, probe_sample_sink sink, uint64_t id, enum vms_op op, uint32_t block,
     const struct vmsp_result *r)
{
	static uint64_t last_complaint;
	struct vms_sample sm = {.seq = s->seq++, .id = id, .op = op};
	if (r->err == 0 && r->ops > 0 && r->end_ns > r->start_ns &&
	    (vms_op_kind(op) != VMS_KIND_THROUGHPUT || r->bytes > 0)) {
		sm.start_ns = r->start_ns;
		sm.end_ns = r->end_ns;
		sm.ops = r->ops;
		sm.bytes = r->bytes;
		sm.block = block;
	} else {
		sm.err = r->err > 0 && r->err < 4096 ? (uint32_t)r->err : EIO;
		probe_complain(&last_complaint, "%s %s: %s", vms_family_name(vms_op_family(op)),
		               vms_op_name(op), r->why ? r->why : strerror((int)sm.err));
	}
	sink(s, &sm);
}

static const enum vms_op micro_ops[VMSP_MICRO_COUNT] = {
    [VMSP_MICRO_FORK_EXIT] = VMS_OP_FORK_EXIT, [VMSP_MICRO_FORK_EXEC] = VMS_OP_FORK_EXEC,
    [VMSP_MICRO_CTXSW] = VMS_OP_CTXSW,         [VMSP_MICRO_FILE_0K] = VMS_OP_FILE_0K,
    [VMSP_MICRO_FILE_10K] = VMS_OP_FILE_10K,   [VMSP_MICRO_MEM_READ] = VMS_OP_MEM_LATENCY,
};

/* UDP receive, when the host asked for it, for every block size a datagram can carry and a
 * burst at the host's pace within net_ms holds twice: the host refuses more bytes than its
 * pace sends in the time asked, and two datagrams at least make a rate. */
static void
run_udp(struct probe_state *s, probe_sample_sink sink, const struct vms_run *run)
{
	const struct vms_schedule *sc = &s->sched;
	struct vmsp_result r;
	uint32_t count;
	uint64_t bytes = run->udp_rate * sc->net_ms / 1000;
	if (bytes > sc->net_bytes)
		bytes = sc->net_bytes;
	for (unsigned i = 0; run->udp_port && i < sc->net_nblocks; i++) {
		if (sc->net_blocks[i] < VMS_UDP_MIN_BLOCK ||
		    sc->net_blocks[i] > VMS_UDP_MAX_BLOCK || bytes / sc->net_blocks[i] < 2)
			continue;
		/* The id tells this burst's datagrams from a late one of the run before, and grows
		 * within a run as the host wants (it never starts two bursts for one id). */
		vmsp_udp_measure(run->addr, run->udp_port, run->token, run->id << 8 | i,
		                 sc->net_blocks[i], bytes, sc->net_ms, &r, &count);
		emit(s, sink, run->id, VMS_OP_NET_UDP_RECV, sc->net_blocks[i], &r);
	}
}

/* Runs one active family; its samples go to sink. Returns the run's guest start time. */
uint64_t
probe_run_family(const struct probe_opts *o, struct probe_state *s, const struct vms_run *run,
                 probe_sample_sink sink)
{
	const struct vms_schedule *sc = &s->sched;
	struct vmsp_result r;
	uint64_t start = vms_clock_ns(CLOCK_MONOTONIC), t0 = probe_cpu_used_ns();
	switch (run->family) {
	case VMS_FAM_CPU_WORK:
		vmsp_cpu_work(sc->cpu_work_units, &r);
		emit(s, sink, run->id, VMS_OP_CPU_WORK, 0, &r);
		break;
	case VMS_FAM_MEMORY: {
		struct vmsp_result mem[3];
		vmsp_mem_run((size_t)sc->mem_bytes, sc->mem_ms, mem);
		emit(s, sink, run->id, VMS_OP_MEM_COPY, 0, &mem[VMSP_MEM_COPY]);
		emit(s, sink, run->id, VMS_OP_MEM_READ, 0, &mem[VMSP_MEM_READ]);
		emit(s, sink, run->id, VMS_OP_MEM_WRITE, 0, &mem[VMSP_MEM_WRITE]);
		break;
	}
	case VMS_FAM_DISK_READ:
		if (s->disk_dev[0]) {
			vmsp_disk_read(s->disk_dev, sc->disk_read_bytes, &s->disk_offset,
			               sc->disk_read_ms, &r);
		} else {
			r = (struct vmsp_result){.err = ENODEV, .why = "the guest has no disk"};
		}
		emit(s, sink, run->id, VMS_OP_DISK_READ, 0, &r);
		break;
	case VMS_FAM_NETWORK:
		for (unsigned i = 0; i < sc->net_nblocks; i++) {
			vmsp_net_measure(run->addr, run->port, run->token, true, sc->net_blocks[i],
			                 sc->net_bytes, sc->net_ms, &r);
			emit(s, sink, run->id, VMS_OP_NET_SEND, sc->net_blocks[i], &r);
			vmsp_net_measure(run->addr, run->port, run->token, false, sc->net_blocks[i],
			                 sc->net_bytes, sc->net_ms, &r);
			emit(s, sink, run->id, VMS_OP_NET_RECV, sc->net_blocks[i], &r);
		}
		run_udp(s, sink, run);
		break;
	case VMS_FAM_MICRO: {
		struct vmsp_micro_opts mo = {
		    .max_ms = sc->micro_ms,
		    .max_ops = 0,
		    .dir = o->scratch_dir,
		    .exec_path = o->self_path,
		    .chase_bytes = (size_t)VMS_MIN_MEM_BYTES,
		};
		for (unsigned m = 0; m < VMSP_MICRO_COUNT; m++) {
			vmsp_micro((enum vmsp_micro)m, &mo, &r);
			emit(s, sink, run->id, micro_ops[m], 0, &r);
		}
		break;
	}
	default:
		break;
	}
	charge(s, run->family, t0);
	return start;
}

void
probe_run_and_report(const struct probe_opts *o, struct probe_state *s, const struct vms_run *run)
{
	uint64_t start = probe_run_family(o, s, run, sink_wire);
	uint64_t end = vms_clock_ns(CLOCK_MONOTONIC);
	struct vms_done d = {.seq = s->seq++,
	                     .id = run->id,
	                     .family = run->family,
	                     .start_ns = start,
	                     .end_ns = end,
	                     .mono_ns = vms_clock_ns(CLOCK_MONOTONIC)};
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_done(rec, sizeof(rec), &d));
}

/*
 * vmscale-probe: the guest agent. Finds its virtio-serial port, says hello, then reports the
 * passive families (CPU split, diskstats) on its own timer and runs an active family
 * (CPU work, memory, disk read, network, micro latencies) whenever the host says "run".
 * The host owns the schedule and the staggering; the probe obeys within the protocol's
 * bounds and accounts the CPU time it spends per family. Static, libc only; the only
 * allocations are the transient buffers of active runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>

#include "probes/bench.h"
#include "probes/diskstats.h"
#include "probes/netclient.h"
#include "probes/procstat.h"
#include "vmscale/protocol.h"
#include "vmscale/clock.h"

#define MAX_DISKS 16 /* devices reported per interval; a guest with more reports the first */
#define PORT_SYSFS_DIR "/sys/class/virtio-ports"
#define PORT_UDEV_LINK "/dev/virtio-ports/" VMS_PROTO_CHANNEL_NAME
#define OUTBUF_SIZE (24 * VMS_PROTO_MAX_RECORD) /* a full diskstats round plus a run */
#define RETRY_MS 1000
#define COMPLAIN_INTERVAL_S 60

struct probe_opts {
	const char *port;  /* explicit device path, or NULL to discover */
	const char *procstat;
	const char *diskstats;
	const char *sysfs_block;
	const char *scratch_dir;  /* a real filesystem for the file-create latencies */
	const char *self_path;    /* this program, exec'd by the fork_exec latency */
	struct vmsp_disk_filter disk_filter;
	unsigned interval_ms;
	bool once;
	bool to_stdout;
	const char *net_addr;     /* --once only: a responder and its token */
	unsigned net_port;
	const char *net_token;
	unsigned vsock_port;      /* tried when there is no virtio-serial port; 0 = never */
	const char *tcp;          /* HOST:PORT of vmscaled's tcp-listen, with token */
	char token[VMS_TOKEN_LEN + 1];
};

struct probe_state {
	int fd;
	bool host_connected;
	bool need_hello;
	uint64_t seq;             /* one counter over every record but hello */
	uint64_t next_cpu_ns, next_disk_ns;
	struct vms_schedule sched;
	char out[OUTBUF_SIZE];
	size_t outlen;
	struct vms_linebuf in;
	uint64_t dropped;
	bool run_pending;
	struct vms_run run;
	char disk_dev[64];        /* the disk the active read samples, "" if none */
	uint64_t disk_offset;
	uint64_t cost_ns[VMS_FAM_COUNT];
	char caps[VMS_PROTO_MAX_VALUE + 1];
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Rate-limited complaint: the same message at most once a minute, so a lost port cannot fill
 * the guest's console. */
static void __attribute__((format(printf, 2, 3)))
complain(uint64_t *last_ns, const char *fmt, ...)
{
	uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
	if (*last_ns && now - *last_ns < (uint64_t)COMPLAIN_INTERVAL_S * 1000000000u)
		return;
	*last_ns = now;
	va_list ap;
	va_start(ap, fmt);
	fputs("vmscale-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Finds /dev/vportNpM whose sysfs name is our channel's. */
static int
find_port(char *path, size_t pathsz)
{
	if (access(PORT_UDEV_LINK, F_OK) == 0) {
		snprintf(path, pathsz, "%s", PORT_UDEV_LINK);
		return 0;
	}
	DIR *dir = opendir(PORT_SYSFS_DIR);
	if (!dir)
		return -1;
	struct dirent *de;
	int found = -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char namefile[sizeof(PORT_SYSFS_DIR) + sizeof(de->d_name) + 8], name[128];
		snprintf(namefile, sizeof(namefile), PORT_SYSFS_DIR "/%s/name", de->d_name);
		int fd = open(namefile, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, VMS_PROTO_CHANNEL_NAME) == 0) {
			snprintf(path, pathsz, "/dev/%s", de->d_name);
			found = 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

/* CPU time of this process and of its reaped children (the fork latencies' children). */
static uint64_t
cpu_used_ns(void)
{
	struct rusage ru;
	uint64_t ns = vms_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		ns += ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
		      ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
	return ns;
}

static void
charge(struct probe_state *s, enum vms_family f, uint64_t since_ns)
{
	uint64_t now = cpu_used_ns();
	if (now > since_ns)
		s->cost_ns[f] += now - since_ns;
}

static void
build_caps(const struct probe_opts *o, struct probe_state *s)
{
	s->disk_dev[0] = '\0';
	bool disk = vmsp_disk_pick(o->sysfs_block, s->disk_dev, sizeof(s->disk_dev));
	/* No disk, no disk_read: the host then never asks for it. */
	snprintf(s->caps, sizeof(s->caps), "cpu,disk,cpu_work,memory,%snetwork,micro",
		 disk ? "disk_read," : "");
}

static int
take_cpu_report(const struct probe_opts *o, struct probe_state *s, struct vms_cpu_report *r)
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

static void
queue_hello(struct probe_state *s)
{
	struct vms_hello h = {.proto = VMS_PROTO_VERSION};
	snprintf(h.probe_version, sizeof(h.probe_version), "%s", VMSCALE_VERSION);
	snprintf(h.caps, sizeof(h.caps), "%s", s->caps);
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
	uint64_t total = cpu_used_ns(), families = 0;
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++) {
		c.ns[f] = s->cost_ns[f];
		families += s->cost_ns[f];
	}
	c.other_ns = total > families ? total - families : 0;
	read_rss(&c.rss_bytes, &c.peak_rss_bytes);
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_cost(rec, sizeof(rec), &c));
}

static int
queue_cpu(const struct probe_opts *o, struct probe_state *s)
{
	uint64_t t0 = cpu_used_ns();
	struct vms_cpu_report r;
	char rec[VMS_PROTO_MAX_RECORD + 1];
	int rc = take_cpu_report(o, s, &r);
	if (rc == 0)
		queue_record(s, rec, vms_encode_cpu(rec, sizeof(rec), &r));
	charge(s, VMS_FAM_CPU, t0);
	queue_cost(s);
	return rc;
}

static int
read_disks(const struct probe_opts *o, struct vmsp_disk *disks, unsigned *skipped)
{
	return vmsp_diskstats_read(o->diskstats, &o->disk_filter, disks, MAX_DISKS, skipped);
}

static int
queue_disks(const struct probe_opts *o, struct probe_state *s)
{
	uint64_t t0 = cpu_used_ns();
	struct vmsp_disk disks[MAX_DISKS];
	unsigned skipped = 0;
	int n = read_disks(o, disks, &skipped);
	uint64_t mono = vms_clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < n; i++) {
		struct vms_disk_report r = {.seq = s->seq++, .mono_ns = mono,
					    .nfields = disks[i].nfields};
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

/* One measurement of a run, as a record (or a human line with --once --stdout). */
typedef void (*sample_sink)(struct probe_state *s, const struct vms_sample *sm);

static void
sink_wire(struct probe_state *s, const struct vms_sample *sm)
{
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_sample(rec, sizeof(rec), sm));
}

static void
emit(struct probe_state *s, sample_sink sink, uint64_t id, enum vms_op op, uint32_t block,
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
		complain(&last_complaint, "%s %s: %s", vms_family_name(vms_op_family(op)),
			 vms_op_name(op), r->why ? r->why : strerror((int)sm.err));
	}
	sink(s, &sm);
}

static const enum vms_op micro_ops[VMSP_MICRO_COUNT] = {
	[VMSP_MICRO_FORK_EXIT] = VMS_OP_FORK_EXIT, [VMSP_MICRO_FORK_EXEC] = VMS_OP_FORK_EXEC,
	[VMSP_MICRO_CTXSW] = VMS_OP_CTXSW,         [VMSP_MICRO_FILE_0K] = VMS_OP_FILE_0K,
	[VMSP_MICRO_FILE_10K] = VMS_OP_FILE_10K,   [VMSP_MICRO_MEM_READ] = VMS_OP_MEM_LATENCY,
};

/* Runs one active family; its samples go to sink. Returns the run's guest start time. */
static uint64_t
run_family(const struct probe_opts *o, struct probe_state *s, const struct vms_run *run,
	   sample_sink sink)
{
	const struct vms_schedule *sc = &s->sched;
	struct vmsp_result r;
	uint64_t start = vms_clock_ns(CLOCK_MONOTONIC), t0 = cpu_used_ns();
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

static void
run_and_report(const struct probe_opts *o, struct probe_state *s, const struct vms_run *run)
{
	uint64_t start = run_family(o, s, run, sink_wire);
	uint64_t end = vms_clock_ns(CLOCK_MONOTONIC);
	struct vms_done d = {.seq = s->seq++, .id = run->id, .family = run->family,
			     .start_ns = start, .end_ns = end, .mono_ns = vms_clock_ns(CLOCK_MONOTONIC)};
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_done(rec, sizeof(rec), &d));
}

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
	struct vmsp_disk disks[MAX_DISKS];
	unsigned skipped = 0;
	int n = read_disks(o, disks, &skipped);
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

static void
handle_host_line(void *ctx, const char *line, size_t len)
{
	struct probe_state *s = ctx;
	static uint64_t last_complaint;
	struct vms_record rec;
	enum vms_proto_error err = vms_record_parse(&rec, line, len);
	if (err == VMS_PROTO_OK && strcmp(rec.type, "host") == 0) {
		s->need_hello = true;
		return;
	}
	if (err == VMS_PROTO_OK && strcmp(rec.type, "schedule") == 0) {
		struct vms_schedule sched;
		err = vms_decode_schedule(&rec, &sched);
		if (err == VMS_PROTO_OK) {
			uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
			if (sched.cpu_ms != s->sched.cpu_ms)
				s->next_cpu_ns = now;
			if (sched.disk_ms != s->sched.disk_ms)
				s->next_disk_ns = now;
			s->sched = sched;
			return;
		}
	} else if (err == VMS_PROTO_OK && strcmp(rec.type, "run") == 0) {
		struct vms_run run;
		err = vms_decode_run(&rec, &run);
		if (err == VMS_PROTO_OK) {
			/* One run at a time: the host waits for "done" before the next. */
			s->run = run;
			s->run_pending = true;
			return;
		}
	} else if (err == VMS_PROTO_OK) {
		err = VMS_PROTO_E_UNKNOWN;
	}
	complain(&last_complaint, "ignored a record from the host (%s)", vms_proto_error_name(err));
}

static void
handle_host_error(void *ctx, enum vms_proto_error err)
{
	(void)ctx;
	static uint64_t last_complaint;
	complain(&last_complaint, "ignored a record from the host (%s)", vms_proto_error_name(err));
}

static int
flush_out(struct probe_state *s)
{
	while (s->outlen > 0) {
		ssize_t w = write(s->fd, s->out, s->outlen);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		memmove(s->out, s->out + w, s->outlen - (size_t)w);
		s->outlen -= (size_t)w;
	}
	return 0;
}

/* next += interval keeps the cadence; if we fell behind, restart from now. */
static void
advance(uint64_t *next, uint32_t interval_ms, uint64_t now)
{
	*next += (uint64_t)interval_ms * 1000000u;
	if (*next <= now)
		*next = now + (uint64_t)interval_ms * 1000000u;
}

/* Serves one open port until it fails or a stop is requested; returns -1 to reopen. */
/*
 * Serves an open connection to vmscaled until it is lost: the virtio-serial port (path, with
 * fd < 0: opened here) or a socket (fd >= 0, already connected and authenticated), on which
 * a hangup or EOF ends the connection instead of meaning "the host is not listening yet".
 */
static int
serve_port(const struct probe_opts *o, struct probe_state *s, const char *path, int fd)
{
	static uint64_t last_complaint, last_read_complaint;
	bool stream = fd >= 0;
	s->fd = stream ? fd : open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0) {
		complain(&last_complaint, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "vmscale-probe: reporting on %s every %u ms\n", path,
		(unsigned)s->sched.cpu_ms);
	s->host_connected = false;
	s->outlen = 0;
	s->run_pending = false;
	vms_linebuf_reset(&s->in);
	s->next_cpu_ns = s->next_disk_ns = vms_clock_ns(CLOCK_MONOTONIC);

	while (!stop_requested) {
		uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
		uint64_t next = s->next_cpu_ns < s->next_disk_ns ? s->next_cpu_ns : s->next_disk_ns;
		int timeout = 0;
		if (next > now && !s->run_pending)
			timeout = (int)((next - now + 999999) / 1000000);
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (s->outlen > 0)
			pfd.events |= POLLOUT;
		int pr = poll(&pfd, 1, timeout);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents & (POLLERR | POLLNVAL))
			break;
		if ((pfd.revents & POLLHUP) && stream) {
			errno = ECONNRESET;
			break;
		}
		if (pfd.revents & POLLHUP) {
			/* The host is not listening: what we queued is for nobody. virtio-serial
			 * keeps reporting POLLHUP until it comes, so wait instead of spinning. */
			s->host_connected = false;
			s->outlen = 0;
			s->run_pending = false;
			vms_linebuf_reset(&s->in);
			poll(NULL, 0, RETRY_MS);
			continue;
		}
		if (!s->host_connected) {
			s->host_connected = true;
			s->need_hello = true;
		}
		if (pfd.revents & POLLIN) {
			char buf[512];
			ssize_t r = read(s->fd, buf, sizeof(buf));
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (r == 0 && stream) {
				errno = ECONNRESET;
				break;
			}
			if (r > 0)
				vms_linebuf_feed(&s->in, buf, (size_t)r, handle_host_line,
						 handle_host_error, s);
		}
		if (s->need_hello) {
			s->need_hello = false;
			queue_hello(s);
		}
		now = vms_clock_ns(CLOCK_MONOTONIC);
		if (now >= s->next_cpu_ns) {
			if (queue_cpu(o, s) < 0)
				complain(&last_read_complaint, "cannot read %s: %s", o->procstat,
					 strerror(errno));
			advance(&s->next_cpu_ns, s->sched.cpu_ms, now);
		}
		if (now >= s->next_disk_ns) {
			if (queue_disks(o, s) < 0)
				complain(&last_read_complaint, "cannot read %s: %s", o->diskstats,
					 strerror(errno));
			advance(&s->next_disk_ns, s->sched.disk_ms, now);
		}
		/* Flush the passive reports first: a run may take a second. */
		if (flush_out(s) < 0)
			break;
		if (s->run_pending) {
			s->run_pending = false;
			run_and_report(o, s, &s->run);
			if (flush_out(s) < 0)
				break;
		}
	}
	if (!stop_requested)
		complain(&last_complaint, "lost %s: %s; reopening", path, strerror(errno));
	close(s->fd);
	s->fd = -1;
	return stop_requested ? 0 : -1;
}

static int
run_once_stdout(const struct probe_opts *o)
{
	static struct probe_state s = {.fd = -1};
	vms_schedule_defaults(&s.sched);
	build_caps(o, &s);
	struct vms_cpu_report r;
	if (take_cpu_report(o, &s, &r) < 0) {
		fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat, strerror(errno));
		return 1;
	}
	print_human_cpu(&r);
	print_human_disks(o);
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
		run_family(o, &s, &run, sink_human);
	}
	printf("probe cost: %.1f ms of CPU for this report\n", (double)cpu_used_ns() / 1e6);
	return 0;
}

/* --stdout without --once: the passive wire records on stdout, for piping and debugging. */
static int
run_stdout_stream(const struct probe_opts *o)
{
	static struct probe_state s = {.fd = -1};
	vms_schedule_defaults(&s.sched);
	s.sched.cpu_ms = s.sched.disk_ms = o->interval_ms;
	build_caps(o, &s);
	queue_hello(&s);
	while (!stop_requested) {
		if (queue_cpu(o, &s) < 0) {
			fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat,
				strerror(errno));
			return 1;
		}
		(void)queue_disks(o, &s);
		fwrite(s.out, 1, s.outlen, stdout);
		s.outlen = 0;
		fflush(stdout);
		poll(NULL, 0, (int)o->interval_ms);
	}
	return 0;
}

/* Connects to vmscaled over AF_VSOCK (the host's CID) on port; -1 with errno on failure. */
static int
connect_vsock(unsigned port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				 .svm_port = port};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Parses "ADDR:PORT" or "[V6ADDR]:PORT" (numeric addresses: the probe has no resolver). */
static int
parse_hostport(const char *spec, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	size_t hl = (size_t)(colon - spec);
	const char *h = spec;
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
	} else {
		return -1;
	}
	return 0;
}

/* Connects to vmscaled's tcp-listen and sends the auth record; -1 with errno on failure. */
static int
connect_tcp(const struct probe_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_hostport(o->tcp, &ss, &sl) < 0) {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	static struct vms_writer w;
	vms_writer_begin(&w, "auth");
	vms_writer_add_u64(&w, "proto", VMS_PROTO_VERSION);
	vms_writer_add_str(&w, "token", o->token);
	size_t len = vms_writer_finish(&w);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || len == 0 ||
	    write(fd, w.buf, len) != (ssize_t)len || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Reads the token file: 32 lowercase hex digits and an optional LF, nothing else. */
static int
read_token_file(const char *path, char *token)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	char buf[VMS_TOKEN_LEN + 3];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == VMS_TOKEN_LEN + 1 && buf[VMS_TOKEN_LEN] == '\n')
		n--;
	if (n != VMS_TOKEN_LEN) {
		errno = EINVAL;
		return -1;
	}
	buf[n] = '\0';
	if (!vms_token_valid(buf)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(token, buf, VMS_TOKEN_LEN);
	token[VMS_TOKEN_LEN] = '\0';
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: vmscale-probe [OPTIONS]\n"
		"Guest agent of vmscale: reports CPU and disk counters and runs the active probes\n"
		"vmscaled asks for, over the virtio-serial port named " VMS_PROTO_CHANNEL_NAME ".\n\n"
		"  -p, --port PATH         use this character device instead of discovering the port\n"
		"  -i, --interval SEC      report interval until the host sends a schedule (default %u)\n"
		"      --once              one report, then exit\n"
		"      --stdout            write to standard output instead of the port\n"
		"                          (--once --stdout runs every probe and prints a report)\n"
		"      --proc-stat PATH    read CPU counters from PATH (default /proc/stat)\n"
		"      --diskstats PATH    read disk counters from PATH (default /proc/diskstats)\n"
		"      --disks-include L   keep devices with these comma-separated name prefixes\n"
		"                          even if skipped by default (loop, ram, zram, dm-, ...)\n"
		"      --disks-exclude L   also skip devices with these name prefixes\n"
		"      --scratch-dir DIR   where the file-create latency works (default /var/tmp)\n"
		"      --net-addr ADDR     with --once: vmscaled's network responder\n"
		"      --net-port PORT     its port (default 18767)\n"
		"      --net-token HEX     a token vmscaled granted for it\n"
		"      --vsock-port PORT   without a virtio-serial port, try AF_VSOCK to the host\n"
		"                          on this port, 0 for never (default %u)\n"
		"      --tcp HOST:PORT     reach vmscaled's tcp-listen instead (numeric address;\n"
		"                          needs --token-file)\n"
		"      --token-file FILE   this domain's token, from the host's\n"
		"                          STATE-DIR/tokens/UUID\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version and exit\n",
		VMS_SCHEDULE_DEFAULT_CPU_MS / 1000, VMS_PROTO_VSOCK_PORT);
}

int
main(int argc, char **argv)
{
	/* The fork_exec latency execs this program with --noop: exit before anything else. */
	if (argc == 2 && strcmp(argv[1], "--noop") == 0)
		_exit(0);
	struct probe_opts o = {
		.procstat = "/proc/stat",
		.diskstats = "/proc/diskstats",
		.sysfs_block = "/sys/block",
		.scratch_dir = "/var/tmp",
		.self_path = "/proc/self/exe",
		.interval_ms = VMS_SCHEDULE_DEFAULT_CPU_MS,
		.net_port = 18767,
		.vsock_port = VMS_PROTO_VSOCK_PORT,
	};
	const char *token_file = NULL;
	o.disk_filter.sysfs_block = o.sysfs_block;
	enum {
		OPT_ONCE = 256,
		OPT_STDOUT,
		OPT_PROCSTAT,
		OPT_DISKSTATS,
		OPT_DISKS_INCLUDE,
		OPT_DISKS_EXCLUDE,
		OPT_SCRATCH,
		OPT_NET_ADDR,
		OPT_NET_PORT,
		OPT_NET_TOKEN,
		OPT_VSOCK_PORT,
		OPT_TCP,
		OPT_TOKEN_FILE,
	};
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, OPT_ONCE},
		{"stdout", no_argument, NULL, OPT_STDOUT},
		{"proc-stat", required_argument, NULL, OPT_PROCSTAT},
		{"diskstats", required_argument, NULL, OPT_DISKSTATS},
		{"disks-include", required_argument, NULL, OPT_DISKS_INCLUDE},
		{"disks-exclude", required_argument, NULL, OPT_DISKS_EXCLUDE},
		{"scratch-dir", required_argument, NULL, OPT_SCRATCH},
		{"net-addr", required_argument, NULL, OPT_NET_ADDR},
		{"net-port", required_argument, NULL, OPT_NET_PORT},
		{"net-token", required_argument, NULL, OPT_NET_TOKEN},
		{"vsock-port", required_argument, NULL, OPT_VSOCK_PORT},
		{"tcp", required_argument, NULL, OPT_TCP},
		{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "p:i:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.port = optarg;
			break;
		case 'i': {
			char *end;
			errno = 0;
			unsigned long sec = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || sec * 1000 < VMS_SCHEDULE_MIN_MS ||
			    sec * 1000 > VMS_SCHEDULE_MAX_MS) {
				fprintf(stderr, "vmscale-probe: --interval must be %u..%u seconds\n",
					VMS_SCHEDULE_MIN_MS / 1000, VMS_SCHEDULE_MAX_MS / 1000);
				return 2;
			}
			o.interval_ms = (unsigned)sec * 1000;
			break;
		}
		case OPT_ONCE:
			o.once = true;
			break;
		case OPT_STDOUT:
			o.to_stdout = true;
			break;
		case OPT_PROCSTAT:
			o.procstat = optarg;
			break;
		case OPT_DISKSTATS:
			o.diskstats = optarg;
			break;
		case OPT_DISKS_INCLUDE:
			o.disk_filter.include_prefixes = optarg;
			break;
		case OPT_DISKS_EXCLUDE:
			o.disk_filter.exclude_prefixes = optarg;
			break;
		case OPT_SCRATCH:
			o.scratch_dir = optarg;
			break;
		case OPT_NET_ADDR:
			o.net_addr = optarg;
			break;
		case OPT_NET_PORT: {
			char *end;
			errno = 0;
			unsigned long port = strtoul(optarg, &end, 10);
			if (errno || *end || port == 0 || port > 65535) {
				fprintf(stderr, "vmscale-probe: --net-port must be 1..65535\n");
				return 2;
			}
			o.net_port = (unsigned)port;
			break;
		}
		case OPT_NET_TOKEN:
			o.net_token = optarg;
			break;
		case OPT_VSOCK_PORT: {
			char *end;
			errno = 0;
			unsigned long port = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' ||
			    port > 4294967294ul) {
				fprintf(stderr, "vmscale-probe: --vsock-port must be 0..4294967294\n");
				return 2;
			}
			o.vsock_port = (unsigned)port;
			break;
		}
		case OPT_TCP:
			o.tcp = optarg;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmscale-probe %s (protocol %d)\n", VMSCALE_VERSION, VMS_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmscale-probe: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.tcp) {
		struct sockaddr_storage ss;
		socklen_t sl;
		if (parse_hostport(o.tcp, &ss, &sl) < 0) {
			fprintf(stderr, "vmscale-probe: --tcp must be ADDR:PORT or [ADDR]:PORT with a "
				"numeric address\n");
			return 2;
		}
		if (!token_file) {
			fprintf(stderr, "vmscale-probe: --tcp needs --token-file\n");
			return 2;
		}
		if (read_token_file(token_file, o.token) < 0) {
			fprintf(stderr, "vmscale-probe: %s: %s\n", token_file,
				errno == EINVAL ? "not a token (32 lowercase hex digits)"
						: strerror(errno));
			return 2;
		}
	} else if (token_file) {
		fprintf(stderr, "vmscale-probe: --token-file goes with --tcp\n");
		return 2;
	}
	if (o.net_token && strlen(o.net_token) != VMS_TOKEN_LEN) {
		fprintf(stderr, "vmscale-probe: --net-token must be %d hex digits\n", VMS_TOKEN_LEN);
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.to_stdout)
		return o.once ? run_once_stdout(&o) : run_stdout_stream(&o);

	static struct probe_state s;
	s.fd = -1;
	vms_schedule_defaults(&s.sched);
	s.sched.cpu_ms = s.sched.disk_ms = o.interval_ms;
	build_caps(&o, &s);
	uint64_t last_complaint = 0;
	while (!stop_requested) {
		char path[300];
		int sfd = -1;
		if (o.tcp && !o.once) {
			/* Explicitly asked for: the token is the only identity, no port is tried. */
			if ((sfd = connect_tcp(&o)) < 0) {
				complain(&last_complaint, "cannot reach vmscaled at %s: %s; retrying",
					 o.tcp, strerror(errno));
				poll(NULL, 0, 5 * RETRY_MS);
				continue;
			}
			snprintf(path, sizeof(path), "tcp %s", o.tcp);
		} else if (o.port)
			snprintf(path, sizeof(path), "%s", o.port);
		else if (find_port(path, sizeof(path)) < 0) {
			if (!o.once && o.vsock_port && (sfd = connect_vsock(o.vsock_port)) >= 0) {
				snprintf(path, sizeof(path), "vsock port %u", o.vsock_port);
			} else {
				complain(&last_complaint,
					 "no virtio-serial port named " VMS_PROTO_CHANNEL_NAME
					 " (is the channel in the domain XML?)%s; retrying",
					 o.vsock_port ? " and no vsock listener on the host" : "");
				poll(NULL, 0, 5 * RETRY_MS);
				continue;
			}
		}
		if (sfd >= 0) {
			if (serve_port(&o, &s, path, sfd) < 0)
				poll(NULL, 0, RETRY_MS);
			continue;
		}
		if (o.once) {
			/* One hello and one round of passive reports, written blocking. */
			s.fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			if (s.fd < 0) {
				fprintf(stderr, "vmscale-probe: cannot open %s: %s\n", path,
					strerror(errno));
				return 1;
			}
			queue_hello(&s);
			(void)queue_cpu(&o, &s);
			(void)queue_disks(&o, &s);
			int rc = flush_out(&s);
			close(s.fd);
			return rc < 0 ? 1 : 0;
		}
		if (serve_port(&o, &s, path, -1) < 0)
			poll(NULL, 0, RETRY_MS);
	}
	return 0;
}

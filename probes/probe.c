/*
 * vmscale-probe: the guest agent. Finds its virtio-serial port, says hello, then reports
 * cumulative CPU counters every interval. The host owns the schedule; the probe obeys it
 * within the protocol's bounds. Static, libc only, no allocation after start.
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
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "vmscale/protocol.h"

#define PROBE_CAPS "cpu"
#define PORT_SYSFS_DIR "/sys/class/virtio-ports"
#define PORT_UDEV_LINK "/dev/virtio-ports/" VMS_PROTO_CHANNEL_NAME
#define OUTBUF_SIZE (4 * VMS_PROTO_MAX_RECORD)
#define RETRY_MS 1000
#define COMPLAIN_INTERVAL_S 60

struct probe_opts {
	const char *port;  /* explicit device path, or NULL to discover */
	const char *procstat;
	unsigned interval_ms;
	bool once;
	bool to_stdout;
};

struct probe_state {
	int fd;
	bool host_connected;
	bool need_hello;
	uint64_t seq;
	uint64_t next_report_ns;
	unsigned interval_ms;
	char out[OUTBUF_SIZE];
	size_t outlen;
	struct vms_linebuf in;
	uint64_t dropped;
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Rate-limited complaint: the same message at most once a minute, so a lost port cannot fill
 * the guest's console. */
static void __attribute__((format(printf, 2, 3)))
complain(uint64_t *last_ns, const char *fmt, ...)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
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

static int
take_cpu_report(const struct probe_opts *o, struct probe_state *s, struct vms_cpu_report *r)
{
	memset(r, 0, sizeof(*r));
	if (vmsp_procstat_read(o->procstat, r) < 0)
		return -1;
	r->hz = (uint32_t)sysconf(_SC_CLK_TCK);
	r->seq = s->seq++;
	r->mono_ns = clock_ns(CLOCK_MONOTONIC);
	r->real_ns = clock_ns(CLOCK_REALTIME);
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
	snprintf(h.caps, sizeof(h.caps), "%s", PROBE_CAPS);
	char rec[VMS_PROTO_MAX_RECORD + 1];
	queue_record(s, rec, vms_encode_hello(rec, sizeof(rec), &h));
}

static void
print_human(const struct vms_cpu_report *r)
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
			if (sched.cpu_ms != s->interval_ms) {
				s->interval_ms = sched.cpu_ms;
				s->next_report_ns = clock_ns(CLOCK_MONOTONIC);
			}
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

/* Serves one open port until it fails or a stop is requested; returns -1 to reopen. */
static int
serve_port(const struct probe_opts *o, struct probe_state *s, const char *path)
{
	static uint64_t last_complaint;
	s->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0) {
		complain(&last_complaint, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "vmscale-probe: reporting on %s every %u ms\n", path, s->interval_ms);
	s->host_connected = false;
	s->outlen = 0;
	vms_linebuf_reset(&s->in);
	s->next_report_ns = clock_ns(CLOCK_MONOTONIC);

	while (!stop_requested) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		int timeout = 0;
		if (s->next_report_ns > now)
			timeout = (int)((s->next_report_ns - now + 999999) / 1000000);
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
		if (pfd.revents & POLLHUP) {
			/* The host is not listening: what we queued is for nobody. virtio-serial
			 * keeps reporting POLLHUP until it comes, so wait instead of spinning. */
			s->host_connected = false;
			s->outlen = 0;
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
			if (r > 0)
				vms_linebuf_feed(&s->in, buf, (size_t)r, handle_host_line,
						 handle_host_error, s);
		}
		if (s->need_hello) {
			s->need_hello = false;
			queue_hello(s);
		}
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= s->next_report_ns) {
			struct vms_cpu_report r;
			char rec[VMS_PROTO_MAX_RECORD + 1];
			if (take_cpu_report(o, s, &r) == 0)
				queue_record(s, rec, vms_encode_cpu(rec, sizeof(rec), &r));
			else
				complain(&last_complaint, "cannot read %s: %s", o->procstat,
					 strerror(errno));
			/* next += interval keeps the cadence; if we fell behind, restart from now. */
			s->next_report_ns += (uint64_t)s->interval_ms * 1000000u;
			if (s->next_report_ns <= now)
				s->next_report_ns = now + (uint64_t)s->interval_ms * 1000000u;
		}
		if (flush_out(s) < 0)
			break;
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
	struct probe_state s = {.fd = -1};
	struct vms_cpu_report r;
	if (take_cpu_report(o, &s, &r) < 0) {
		fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat, strerror(errno));
		return 1;
	}
	print_human(&r);
	return 0;
}

/* --stdout without --once: the wire records on stdout, for piping and debugging. */
static int
run_stdout_stream(const struct probe_opts *o)
{
	struct probe_state s = {.fd = -1};
	char rec[VMS_PROTO_MAX_RECORD + 1];
	struct vms_hello h = {.proto = VMS_PROTO_VERSION};
	snprintf(h.probe_version, sizeof(h.probe_version), "%s", VMSCALE_VERSION);
	snprintf(h.caps, sizeof(h.caps), "%s", PROBE_CAPS);
	if (vms_encode_hello(rec, sizeof(rec), &h))
		fputs(rec, stdout);
	while (!stop_requested) {
		struct vms_cpu_report r;
		if (take_cpu_report(o, &s, &r) < 0) {
			fprintf(stderr, "vmscale-probe: cannot read %s: %s\n", o->procstat,
				strerror(errno));
			return 1;
		}
		if (vms_encode_cpu(rec, sizeof(rec), &r))
			fputs(rec, stdout);
		fflush(stdout);
		poll(NULL, 0, (int)o->interval_ms);
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: vmscale-probe [OPTIONS]\n"
		"Guest agent of vmscale: reports CPU counters to vmscaled over the virtio-serial\n"
		"port named " VMS_PROTO_CHANNEL_NAME ".\n\n"
		"  -p, --port PATH       use this character device instead of discovering the port\n"
		"  -i, --interval SEC    report interval until the host sends a schedule (default %u)\n"
		"      --once            one report, then exit\n"
		"      --stdout          write to standard output instead of the port\n"
		"                        (--once --stdout prints a human-readable report)\n"
		"      --proc-stat PATH  read CPU counters from PATH (default /proc/stat)\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version and exit\n",
		VMS_SCHEDULE_DEFAULT_CPU_MS / 1000);
}

int
main(int argc, char **argv)
{
	struct probe_opts o = {.procstat = "/proc/stat", .interval_ms = VMS_SCHEDULE_DEFAULT_CPU_MS};
	enum { OPT_ONCE = 256, OPT_STDOUT, OPT_PROCSTAT };
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"once", no_argument, NULL, OPT_ONCE},
		{"stdout", no_argument, NULL, OPT_STDOUT},
		{"proc-stat", required_argument, NULL, OPT_PROCSTAT},
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

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.to_stdout)
		return o.once ? run_once_stdout(&o) : run_stdout_stream(&o);

	static struct probe_state s;
	s.fd = -1;
	s.interval_ms = o.interval_ms;
	uint64_t last_complaint = 0;
	while (!stop_requested) {
		char path[300];
		if (o.port)
			snprintf(path, sizeof(path), "%s", o.port);
		else if (find_port(path, sizeof(path)) < 0) {
			complain(&last_complaint,
				 "no virtio-serial port named " VMS_PROTO_CHANNEL_NAME
				 " (is the channel in the domain XML?); retrying");
			poll(NULL, 0, 5 * RETRY_MS);
			continue;
		}
		if (o.once) {
			/* One hello and one report, written blocking so they arrive. */
			s.fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			if (s.fd < 0) {
				fprintf(stderr, "vmscale-probe: cannot open %s: %s\n", path,
					strerror(errno));
				return 1;
			}
			struct vms_cpu_report r;
			char rec[VMS_PROTO_MAX_RECORD + 1];
			queue_hello(&s);
			if (take_cpu_report(&o, &s, &r) == 0)
				queue_record(&s, rec, vms_encode_cpu(rec, sizeof(rec), &r));
			int rc = flush_out(&s);
			close(s.fd);
			return rc < 0 ? 1 : 0;
		}
		if (serve_port(&o, &s, path) < 0)
			poll(NULL, 0, RETRY_MS);
	}
	return 0;
}

/*
 * vmscale-probe: the guest agent. Finds its virtio-serial port, says hello, then reports the
 * passive families (CPU split, diskstats) on its own timer and runs an active family
 * (CPU work, memory, disk read, network, micro latencies) whenever the host says "run".
 * The host owns the schedule and the staggering; the probe obeys within the protocol's
 * bounds and accounts the CPU time it spends per family. Static, libc only; the only
 * allocations are the transient buffers of active runs.
 *
 * This file wires the parts of probe_internal.h: options, signals, and the loop that
 * reaches vmscaled and serves each connection until a stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probes/probe_internal.h"
#include "probes/procview.h"
#include "vmscale/clock.h"

#define COMPLAIN_INTERVAL_S 60

volatile sig_atomic_t probe_stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	probe_stop_requested = 1;
}

void
probe_complain(uint64_t *last_ns, const char *fmt, ...)
{
	uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
	if (*last_ns && now - *last_ns < (uint64_t)COMPLAIN_INTERVAL_S * NS_PER_S)
		return;
	*last_ns = now;
	va_list ap;
	va_start(ap, fmt);
	fputs("vmscale-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * Finds the way to vmscaled: with --tcp, a connected socket (in *sfd); else the port's path,
 * or without one a vsock socket (in *sfd). 0, or -1 after a complaint: wait and try again.
 */
static int
reach_host(const struct probe_opts *o, char *path, size_t pathsz, int *sfd,
           uint64_t *last_complaint)
{
	*sfd = -1;
	if (o->tcp && !o->once) {
		/* Explicitly asked for: the token is the only identity, no port is tried. */
		if ((*sfd = probe_connect_tcp(o)) < 0) {
			probe_complain(last_complaint, "cannot reach vmscaled at %s: %s; retrying",
			               o->tcp, strerror(errno));
			return -1;
		}
		snprintf(path, pathsz, "tcp %s", o->tcp);
	} else if (o->port) {
		snprintf(path, pathsz, "%s", o->port);
	} else if (probe_find_port(path, pathsz) < 0) {
		if (!o->once && o->unix_path && (*sfd = probe_connect_unix(o->unix_path)) >= 0) {
			snprintf(path, pathsz, "unix %s", o->unix_path);
		} else if (!o->once && o->vsock_port &&
		           (*sfd = probe_connect_vsock(o->vsock_port)) >= 0) {
			snprintf(path, pathsz, "vsock port %u", o->vsock_port);
		} else {
			probe_complain(last_complaint,
			               "no virtio-serial port named " VMS_PROTO_CHANNEL_NAME
			               " (is the channel in the domain XML?)%s%s%s; retrying",
			               o->unix_path ? ", no container socket " : "",
			               o->unix_path ? o->unix_path : "",
			               o->vsock_port ? " and no vsock listener on the host" : "");
			return -1;
		}
	}
	return 0;
}

/* --once on the port: one hello and one round of passive reports, written blocking. */
static int
report_once(const struct probe_opts *o, struct probe_state *s, const char *path)
{
	s->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0) {
		fprintf(stderr, "vmscale-probe: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	probe_queue_hello(s);
	(void)probe_queue_cpu(o, s);
	(void)probe_queue_disks(o, s);
	int rc = probe_flush_out(s);
	close(s->fd);
	return rc < 0 ? 1 : 0;
}

/* Whose counters /proc shows (procview.h), said when it changes; in_container: reached
 * vmscaled through a container's socket. */
static void
set_view(const struct probe_opts *o, struct probe_state *s, bool in_container)
{
	static int said = -1;
	char why[256];
	const struct vmsp_procview_paths paths = {o->mountinfo, o->pid1_environ, o->procstat};
	s->view_host = vmsp_procview_is_host(&paths, in_container, why, sizeof(why));
	if (said != (int)s->view_host)
		fprintf(stderr, "vmscale-probe: /proc view: %s (%s)\n",
		        s->view_host ? "host" : "guest", why);
	said = (int)s->view_host;
}

/* Reaches vmscaled and serves it, again after every loss, until a stop; the exit status. */
static int
serve_until_stopped(const struct probe_opts *o)
{
	static struct probe_state s;
	s.fd = -1;
	vms_schedule_defaults(&s.sched);
	s.sched.cpu_ms = s.sched.disk_ms = o->interval_ms;
	probe_build_caps(o, &s);
	uint64_t last_complaint = 0;
	while (!probe_stop_requested) {
		char path[300];
		int sfd;
		if (reach_host(o, path, sizeof(path), &sfd, &last_complaint) < 0) {
			poll(NULL, 0, 5 * PROBE_RETRY_MS);
			continue;
		}
		set_view(o, &s, strncmp(path, "unix ", 5) == 0);
		if (sfd >= 0) {
			if (probe_serve_port(o, &s, path, sfd) < 0)
				poll(NULL, 0, PROBE_RETRY_MS);
			continue;
		}
		if (o->once)
			return report_once(o, &s, path);
		if (probe_serve_port(o, &s, path, -1) < 0)
			poll(NULL, 0, PROBE_RETRY_MS);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	/* The fork_exec latency execs this program with --noop: exit before anything else. */
	if (argc == 2 && strcmp(argv[1], "--noop") == 0)
		_exit(0);
	struct probe_opts o;
	int rc = probe_opts_parse(&o, argc, argv);
	if (rc >= 0)
		return rc;

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.to_stdout)
		return o.once ? probe_run_once_stdout(&o) : probe_run_stdout_stream(&o);
	return serve_until_stopped(&o);
}

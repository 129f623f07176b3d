/*
 * One connection to vmscaled, served until it is lost: the host's records in (hello again,
 * a schedule, a run), the passive reports out on their timers, then the run the host asked
 * for. Non-blocking; a full port keeps the records queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probes/probe_internal.h"
#include "vmscale/clock.h"

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
	probe_complain(&last_complaint, "ignored a record from the host (%s)",
	               vms_proto_error_name(err));
}

static void
handle_host_error(void *ctx, enum vms_proto_error err)
{
	(void)ctx;
	static uint64_t last_complaint;
	probe_complain(&last_complaint, "ignored a record from the host (%s)",
	               vms_proto_error_name(err));
}

int
probe_flush_out(struct probe_state *s)
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

/* Forgets what belonged to the last host: the queued records, a pending run, a partial line. */
static void
reset_link(struct probe_state *s)
{
	s->host_connected = false;
	s->outlen = 0;
	s->run_pending = false;
	vms_linebuf_reset(&s->in);
}

/* Until the next passive report is due; 0 if one is, or if a run waits. */
static int
poll_timeout(const struct probe_state *s)
{
	uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
	uint64_t next = s->next_cpu_ns < s->next_disk_ns ? s->next_cpu_ns : s->next_disk_ns;
	int timeout = 0;
	if (next > now && !s->run_pending)
		timeout = (int)((next - now + 999999) / 1000000);
	return timeout;
}

/* Takes what the host sent; -1 with errno when the connection is lost. */
static int
read_host(struct probe_state *s, bool stream)
{
	char buf[512];
	ssize_t r = read(s->fd, buf, sizeof(buf));
	if (r < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (r == 0 && stream) {
		errno = ECONNRESET;
		return -1;
	}
	if (r > 0)
		vms_linebuf_feed(&s->in, buf, (size_t)r, handle_host_line, handle_host_error, s);
	return 0;
}

/* Queues the passive reports whose time has come. */
static void
queue_due_reports(const struct probe_opts *o, struct probe_state *s)
{
	static uint64_t last_read_complaint;
	uint64_t now = vms_clock_ns(CLOCK_MONOTONIC);
	if (now >= s->next_cpu_ns) {
		if (probe_queue_cpu(o, s) < 0)
			probe_complain(&last_read_complaint, "cannot read %s: %s", o->procstat,
			               strerror(errno));
		advance(&s->next_cpu_ns, s->sched.cpu_ms, now);
	}
	if (now >= s->next_disk_ns) {
		if (probe_queue_disks(o, s) < 0)
			probe_complain(&last_read_complaint, "cannot read %s: %s", o->diskstats,
			               strerror(errno));
		advance(&s->next_disk_ns, s->sched.disk_ms, now);
	}
}

/*
 * Serves an open connection to vmscaled until it is lost or a stop is requested: the
 * virtio-serial port (path, with fd < 0: opened here) or a socket (fd >= 0, already connected
 * and authenticated), on which a hangup or EOF ends the connection instead of meaning "the
 * host is not listening yet". Returns -1 to reopen, 0 on a stop.
 */
int
probe_serve_port(const struct probe_opts *o, struct probe_state *s, const char *path, int fd)
{
	static uint64_t last_complaint;
	bool stream = fd >= 0;
	s->fd = stream ? fd : open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->fd < 0) {
		probe_complain(&last_complaint, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "vmscale-probe: reporting on %s every %u ms\n", path,
	        (unsigned)s->sched.cpu_ms);
	reset_link(s);
	s->next_cpu_ns = s->next_disk_ns = vms_clock_ns(CLOCK_MONOTONIC);

	while (!probe_stop_requested) {
		int timeout = poll_timeout(s);
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
			reset_link(s);
			poll(NULL, 0, PROBE_RETRY_MS);
			continue;
		}
		if (!s->host_connected) {
			s->host_connected = true;
			s->need_hello = true;
		}
		if ((pfd.revents & POLLIN) && read_host(s, stream) < 0)
			break;
		if (s->need_hello) {
			s->need_hello = false;
			probe_queue_hello(s);
		}
		queue_due_reports(o, s);
		/* Flush the passive reports first: a run may take a second. */
		if (probe_flush_out(s) < 0)
			break;
		if (s->run_pending) {
			s->run_pending = false;
			probe_run_and_report(o, s, &s->run);
			if (probe_flush_out(s) < 0)
				break;
		}
	}
	if (!probe_stop_requested)
		probe_complain(&last_complaint, "lost %s: %s; reopening", path, strerror(errno));
	close(s->fd);
	s->fd = -1;
	return probe_stop_requested ? 0 : -1;
}

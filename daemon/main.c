/*
 * vmscaled: the host daemon. One event loop (libvirt's, on the monotonic clock) drives the
 * collectors; the HTTP thread only serves the snapshots this loop publishes.
 */
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <systemd/sd-daemon.h>

#include "../collectors/channel.h"
#include "../collectors/host.h"
#include "../collectors/libvirt.h"
#include "http.h"
#include "log.h"
#include "render.h"
#include "store.h"

#define DEFAULT_URI "qemu:///system"
#define DEFAULT_LISTEN "127.0.0.1:9477"
#define DEFAULT_INTERVAL_S 5
#define TICK_NS (1000000000ull) /* channel retries, probe staleness, publishing */
#define NS_PER_MS 1000000ull

struct options {
	const char *uri;
	const char *listen;
	unsigned interval_s;
	double busy_threshold;
	const char *probe_domains;
	bool verbose;
};

/* A periodic job: next += interval keeps the cadence; if we fell behind, restart from now. */
struct job {
	uint64_t next_ns;
	uint64_t interval_ns;
};

struct vmscaled {
	struct options opt;
	struct vms_store store;
	struct vms_libvirt *libvirt;
	struct vms_channels *channels;
	struct vms_http *http;
	int timer;
	int sigfd;
	int sigwatch;
	volatile bool quit;
	bool ready;
	bool refresh_requested;
	struct job refresh, host, tick, watchdog;
	uint64_t published_generation;
	uint64_t published_at_ns;
	char status[160];
};

static bool
job_due(struct job *j, uint64_t now)
{
	if (now < j->next_ns)
		return false;
	j->next_ns += j->interval_ns;
	if (j->next_ns <= now)
		j->next_ns = now + j->interval_ns;
	return true;
}

static void
publish(struct vmscaled *v, uint64_t now)
{
	struct vms_render_info info = {
		.version = VMSCALE_VERSION, .uri = v->opt.uri};
	struct vms_buf metrics, landing;
	vms_buf_init(&metrics);
	vms_buf_init(&landing);
	vms_render_metrics(&metrics, &v->store, &info, now);
	vms_render_landing(&landing, &v->store, &info, now);
	vms_http_publish(v->http, metrics.data, metrics.len, landing.data, landing.len);
	v->published_generation = v->store.generation;
	v->published_at_ns = now;
}

static void
update_status(struct vmscaled *v, uint64_t now)
{
	char status[sizeof(v->status)];
	snprintf(status, sizeof(status), "N_up=%zu, probes %zu/%zu up, libvirt %s",
		 v->store.ndomains, vms_store_probes_up(&v->store, now), v->store.ndomains,
		 v->store.libvirt_up ? "ok" : "down");
	if (strcmp(status, v->status) != 0) {
		snprintf(v->status, sizeof(v->status), "%s", status);
		sd_notifyf(0, "STATUS=%s", status);
	}
}

static void
schedule_next(struct vmscaled *v, uint64_t now)
{
	uint64_t next = v->tick.next_ns;
	const struct job *jobs[] = {&v->refresh, &v->host, &v->watchdog};
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		if (jobs[i]->interval_ns && jobs[i]->next_ns < next)
			next = jobs[i]->next_ns;
	int ms = next > now ? (int)((next - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
	if (v->refresh_requested)
		ms = 0;
	virEventUpdateTimeout(v->timer, ms);
}

static void
run_jobs(struct vmscaled *v)
{
	uint64_t now = vms_monotonic_ns();
	bool refreshed = false;
	if (job_due(&v->refresh, now) || v->refresh_requested) {
		v->refresh_requested = false;
		vms_libvirt_refresh(v->libvirt);
		vms_channels_sync(v->channels);
		refreshed = true;
	}
	if (job_due(&v->host, now))
		vms_host_read(&v->store);
	if (job_due(&v->tick, now) && !refreshed)
		vms_channels_sync(v->channels); /* reconnects whose backoff expired */
	if (v->watchdog.interval_ns && job_due(&v->watchdog, now))
		sd_notify(0, "WATCHDOG=1");

	/* Probe liveness depends on time, so republish at least once per tick. */
	if (v->store.generation != v->published_generation || now - v->published_at_ns >= TICK_NS)
		publish(v, now);
	update_status(v, now);
	if (!v->ready) {
		v->ready = true;
		sd_notify(0, "READY=1");
		vms_info("ready: serving http://%s/metrics (N_up=%zu, libvirt %s)", v->opt.listen,
			 v->store.ndomains, v->store.libvirt_up ? "up" : "down");
	}
	schedule_next(v, now);
}

static void
on_timer(int timer, void *opaque)
{
	(void)timer;
	run_jobs(opaque);
}

static void
on_domains_changed(void *opaque)
{
	struct vmscaled *v = opaque;
	v->refresh_requested = true;
	virEventUpdateTimeout(v->timer, 0);
}

static void
on_signal(int watch, int fd, int events, void *opaque)
{
	struct vmscaled *v = opaque;
	(void)watch;
	(void)events;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			vms_info("SIGHUP: refreshing domains now (configuration reload comes with "
				 "the config file)");
			on_domains_changed(v);
			continue;
		}
		vms_info("%s: shutting down", strsignal((int)si.ssi_signo));
		v->quit = true;
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: vmscaled [OPTIONS]\n"
		"Measures what each running VM costs the others: discovers libvirt domains,\n"
		"collects the in-guest probes' reports and exports them for Prometheus.\n\n"
		"  -c, --connect URI     libvirt connection URI (default " DEFAULT_URI ")\n"
		"  -l, --listen ADDR:PORT  HTTP endpoint for /metrics and / (default " DEFAULT_LISTEN ";\n"
		"                        IPv6 as [ADDR]:PORT)\n"
		"  -i, --interval SEC    collection and probe report interval, 1..3600 (default %d)\n"
		"  -b, --busy-threshold RATIO  vCPU utilization (0..1) above which a domain counts\n"
		"                        as busy in vmscale_domains_busy (default %.1f)\n"
		"  -p, --probe-domains REGEX  connect only to the probe channels of domains whose\n"
		"                        name matches this extended regex (default: all); the\n"
		"                        others still count in N_up\n"
		"  -v, --verbose         log debug messages too\n"
		"  -h, --help            this text\n"
		"  -V, --version         print the version and exit\n",
		DEFAULT_INTERVAL_S, VMS_BUSY_THRESHOLD_DEFAULT);
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"connect", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"interval", required_argument, NULL, 'i'},
		{"busy-threshold", required_argument, NULL, 'b'},
		{"probe-domains", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:l:i:b:p:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->uri = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'i': {
			char *end;
			errno = 0;
			unsigned long s = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || s < VMS_SCHEDULE_MIN_MS / 1000 ||
			    s > VMS_SCHEDULE_MAX_MS / 1000) {
				fprintf(stderr, "vmscaled: --interval must be %u..%u seconds, not '%s'\n",
					VMS_SCHEDULE_MIN_MS / 1000, VMS_SCHEDULE_MAX_MS / 1000, optarg);
				return 2;
			}
			o->interval_s = (unsigned)s;
			break;
		}
		case 'b': {
			char *end;
			errno = 0;
			double t = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(t >= 0.0 && t <= 1.0)) {
				fprintf(stderr, "vmscaled: --busy-threshold must be a ratio 0..1, not '%s'\n",
					optarg);
				return 2;
			}
			o->busy_threshold = t;
			break;
		}
		case 'p': {
			regex_t re;
			int rc = regcomp(&re, optarg, REG_EXTENDED | REG_NOSUB);
			if (rc != 0) {
				char why[128];
				regerror(rc, &re, why, sizeof(why));
				fprintf(stderr, "vmscaled: --probe-domains: '%s' is not an extended regular "
					"expression: %s\n", optarg, why);
				return 2;
			}
			regfree(&re);
			o->probe_domains = optarg;
			break;
		}
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmscaled %s (protocol %d)\n", VMSCALE_VERSION, VMS_PROTO_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmscaled: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1; /* go on */
}

static int
setup_signals(struct vmscaled *v)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	v->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return v->sigfd < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static struct vmscaled v = {
		.opt = {.uri = DEFAULT_URI, .listen = DEFAULT_LISTEN, .interval_s = DEFAULT_INTERVAL_S,
			.busy_threshold = VMS_BUSY_THRESHOLD_DEFAULT},
		.timer = -1,
		.sigfd = -1,
		.sigwatch = -1,
	};
	int rc = parse_args(argc, argv, &v.opt);
	if (rc >= 0)
		return rc;
	vms_log_init("vmscaled", v.opt.verbose);
	if (setup_signals(&v) < 0) {
		vms_err("cannot set up signal handling: %s", strerror(errno));
		return 1;
	}

	rc = 1;
	uint64_t interval_ns = (uint64_t)v.opt.interval_s * 1000000000ull;
	vms_store_init(&v.store, v.opt.interval_s * 1000u);
	v.store.busy_threshold = v.opt.busy_threshold;
	if (vms_libvirt_event_init() < 0 || vms_host_init() < 0)
		goto cleanup;
	v.http = vms_http_start(v.opt.listen);
	if (!v.http)
		goto cleanup;
	v.libvirt = vms_libvirt_new(v.opt.uri, &v.store, on_domains_changed, &v);
	v.channels = vms_channels_new(&v.store);
	char err[256];
	if (vms_channels_set_filter(v.channels, v.opt.probe_domains, err, sizeof(err)) < 0) {
		vms_err("--probe-domains: %s", err);
		goto cleanup;
	}

	uint64_t now = vms_monotonic_ns();
	v.refresh = (struct job){.next_ns = now, .interval_ns = interval_ns};
	v.host = (struct job){.next_ns = now, .interval_ns = interval_ns};
	v.tick = (struct job){.next_ns = now + TICK_NS, .interval_ns = TICK_NS};
	uint64_t watchdog_us = 0;
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0)
		v.watchdog = (struct job){.next_ns = now, .interval_ns = watchdog_us * 1000 / 2};

	v.sigwatch = virEventAddHandle(v.sigfd, VIR_EVENT_HANDLE_READABLE, on_signal, &v, NULL);
	v.timer = virEventAddTimeout(0, on_timer, &v, NULL);
	if (v.sigwatch < 0 || v.timer < 0) {
		vms_err("cannot register with the event loop");
		goto cleanup;
	}
	vms_info("vmscaled %s starting: libvirt %s, listening on %s, interval %u s", VMSCALE_VERSION,
		 v.opt.uri, v.opt.listen, v.opt.interval_s);

	while (!v.quit) {
		if (virEventRunDefaultImpl() < 0) {
			vms_err("event loop failed: %s", virGetLastErrorMessage());
			goto cleanup;
		}
	}
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
	rc = 0;

cleanup:
	/* Reverse order of start. */
	if (v.timer >= 0)
		virEventRemoveTimeout(v.timer);
	if (v.sigwatch >= 0)
		virEventRemoveHandle(v.sigwatch);
	vms_channels_free(v.channels);
	vms_libvirt_free(v.libvirt);
	vms_http_stop(v.http);
	vms_host_fini();
	vms_store_fini(&v.store);
	if (v.sigfd >= 0)
		close(v.sigfd);
	if (rc == 0)
		vms_info("stopped");
	return rc;
}

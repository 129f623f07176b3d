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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <systemd/sd-daemon.h>

#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "collectors/host.h"
#include "collectors/agent.h"
#include "collectors/libvirt.h"
#include "daemon/analysis/analysis.h"
#include "daemon/config/config.h"
#include "daemon/control.h"
#include "daemon/http.h"
#include "daemon/publisher.h"
#include "collectors/guest/netio.h"
#include "daemon/util/log.h"
#include "daemon/expo/expo.h"
#include "daemon/store/store.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define TICK_NS NS_PER_S /* channel retries, probe staleness, publishing */

/* A periodic job: next += interval keeps the cadence; if we fell behind, restart from now. */
struct job {
	uint64_t next_ns;
	uint64_t interval_ns;
};

struct vmscaled {
	struct vms_config cfg;
	/* The command line, applied again over the file at every reload: flags win. */
	const char *config_path;
	bool config_explicit; /* --config: the file must exist */
	struct vms_config_arg *args;
	size_t nargs;
	struct vms_self_info self; /* version, reloads: the daemon's own families */
	struct vms_store store;
	struct vms_libvirt *libvirt[VMS_CONFIG_MAX_URIS]; /* one per URI, as configured */
	unsigned nlibvirt;
	struct vms_agent
	    *agent; /* guest agent reads of qemu-agent-domains; NULL when not configured */
	struct vms_channels *channels;
	struct vms_netio *netio; /* the network probe's responder; NULL when not configured */
	struct vms_listeners *listeners; /* vsock and tcp probe transports */
	struct vms_http *http;
	struct vms_analysis *analysis;
	struct vms_control *control; /* NULL when the socket could not be made */
	char *state_path;            /* STATE-DIR/analysis.state */
	int timer;
	int sigfd;
	int sigwatch;
	volatile bool quit;
	bool ready;
	bool refresh_requested;
	struct job refresh, host, tick, watchdog, save;
	struct vms_registry *registry; /* every producer's metric families, in exposition order */
	struct vms_analysis_source analysis_source;
	uint64_t analysed_generation;    /* the store's generation the analysis last saw */
	struct vms_publisher *publisher; /* /metrics and / drawn when asked for */
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

/* Every producer registers its families; the exposition lists them in this order. */
static void
register_sources(struct vmscaled *v)
{
	struct vms_registry *r = v->registry = vms_registry_new();
	v->analysis_source =
	    (struct vms_analysis_source){.analysis = v->analysis, .store = &v->store};
	vms_registry_add(r, vms_expo_self_source(&v->self));
	vms_expo_add_store_sources(r, &v->store);
	vms_registry_add(r, vms_channels_metrics_source(v->channels));
	vms_registry_add(r, vms_listeners_metrics_source(v->listeners));
	if (v->netio)
		vms_registry_add(r, vms_netio_metrics_source(v->netio));
	vms_registry_add(r, vms_expo_host_source(&v->store));
	vms_registry_add(r, vms_http_metrics_source(v->http));
	if (v->control)
		vms_registry_add(r, vms_control_metrics_source(v->control));
	vms_registry_add(r, vms_analysis_metrics_source(&v->analysis_source));
}

/* "ok" (every connection up), "down" (none), else "1/2 up". */
static const char *
libvirt_state(const struct vms_store *st, char *buf, size_t bufsz)
{
	size_t up = 0;
	for (size_t i = 0; i < st->nconns; i++)
		up += st->conns[i]->up;
	if (up == st->nconns)
		return "ok";
	if (up == 0)
		return "down";
	snprintf(buf, bufsz, "%zu/%zu up", up, st->nconns);
	return buf;
}

static void
update_status(struct vmscaled *v, uint64_t now)
{
	char status[sizeof(v->status)], lv[48];
	snprintf(status, sizeof(status), "N_up=%zu, probes %zu/%zu up, libvirt %s",
	         v->store.ndomains, vms_store_probes_up(&v->store, now), v->store.ndomains,
	         libvirt_state(&v->store, lv, sizeof(lv)));
	if (strcmp(status, v->status) != 0) {
		snprintf(v->status, sizeof(v->status), "%s", status);
		sd_notifyf(0, "STATUS=%s", status);
	}
}

static void
schedule_next(struct vmscaled *v, uint64_t now)
{
	uint64_t next = v->tick.next_ns;
	const struct job *jobs[] = {&v->refresh, &v->host, &v->watchdog, &v->save};
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		if (jobs[i]->interval_ns && jobs[i]->next_ns < next)
			next = jobs[i]->next_ns;
	int ms = next > now ? (int)((next - now + NS_PER_MS - 1) / NS_PER_MS) : 0;
	if (v->refresh_requested)
		ms = 0;
	virEventUpdateTimeout(v->timer, ms);
}

static double
realtime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Baselines and N_up statistics to STATE-DIR; a failure is logged (rate-limited) and counted. */
static void
save_state(struct vmscaled *v)
{
	char err[512];
	vms_analysis_save(v->analysis, v->state_path, realtime_s(), err, sizeof(err));
}

/* The analysis, when the store changed or something in it falls due with time alone: an
 * update that finds nothing new is skipped. */
static void
analyse(struct vmscaled *v, uint64_t now)
{
	if (v->store.generation == v->analysed_generation &&
	    now < vms_analysis_next_due_ns(v->analysis))
		return;
	v->analysed_generation = v->store.generation;
	vms_analysis_update(v->analysis, &v->store, now, realtime_s());
}

static void
run_jobs(struct vmscaled *v)
{
	uint64_t now = vms_monotonic_ns();
	bool refreshed = false;
	if (job_due(&v->refresh, now) || v->refresh_requested) {
		v->refresh_requested = false;
		for (unsigned i = 0; i < v->nlibvirt; i++)
			vms_libvirt_refresh(v->libvirt[i]);
		vms_channels_sync(v->channels);
		if (v->listeners)
			vms_listeners_sync(v->listeners); /* tokens of new domains */
		refreshed = true;
	}
	if (job_due(&v->host, now))
		vms_host_read(&v->store);
	/* Reconnects whose backoff expired: the known channels only, not a sync over every
	 * domain each second (a fifth of the idle CPU at 1 000 domains, in cache misses). */
	if (job_due(&v->tick, now) && !refreshed)
		vms_channels_retry(v->channels);
	vms_channels_tick(v->channels, now); /* active probe runs: start the due, end the stuck */
	if (v->agent)
		vms_agent_collect(v->agent, &v->store, now); /* a mailbox: never waits on a guest */
	analyse(v, now);
	if (job_due(&v->save, now))
		save_state(v);
	if (v->watchdog.interval_ns && job_due(&v->watchdog, now))
		sd_notify(0, "WATCHDOG=1");

	vms_publisher_offer(v->publisher, now);
	update_status(v, now);
	if (!v->ready) {
		v->ready = true;
		sd_notify(0, "READY=1");
		char lv[48];
		vms_info("ready: serving http%s://%s/metrics (N_up=%zu, libvirt %s)",
		         vms_http_tls(v->http) ? "s" : "", v->cfg.listen, v->store.ndomains,
		         libvirt_state(&v->store, lv, sizeof(lv)));
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

/* STATE-DIR holds the analysis state and the tcp tokens: made (0700) if missing. */
static int
ensure_state_dir(const char *dir)
{
	struct stat sb;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		vms_err("cannot create state-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		vms_err("state-dir %s is not a folder", dir);
		return -1;
	}
	return 0;
}

/* Defaults, then the file, then the command line, then the checks across keys. Returns 0, 1
 * when the file does not exist (and was not asked for), -1 with err filled. */
static int
load_config(const struct vmscaled *v, struct vms_config *c, char *err, size_t errsz)
{
	vms_config_defaults(c);
	int rc = vms_config_load(c, v->config_path, v->config_explicit, err, errsz);
	if (rc < 0 || vms_config_apply_args(c, v->args, v->nargs, err, errsz) < 0 ||
	    vms_config_validate(c, err, errsz) < 0)
		return -1;
	return rc;
}

static double
unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Quiet time between two active runs host-wide, so that their windows never touch. */
#define PROBE_RUN_GAP_MS 500

/*
 * Pushes cfg.probe (schedule, sizes, active intervals, concurrency, skew tolerance, where
 * guests reach the responder) to the probes: called once the channels exist, and after
 * every successful reload, with v->cfg already the new configuration.
 */
static void
apply_probe_config(struct vmscaled *v)
{
	const struct vms_probe_config *p = &v->cfg.probe;
	struct vms_probe_plan plan = {
	    .schedule =
	        {
	            .cpu_ms = p->cpu_interval_ms,
	            .disk_ms = p->disk_interval_ms,
	            .cpu_work_units = p->cpu_work_units,
	            .mem_bytes = p->memory_buffer_bytes,
	            .mem_ms = p->memory_max_ms,
	            .disk_read_bytes = p->disk_read_bytes,
	            .disk_read_ms = p->disk_read_max_ms,
	            .net_bytes = p->network_bytes,
	            .net_ms = p->network_max_ms,
	            .net_nblocks = p->network_nblocks,
	            .micro_ms = p->micro_max_ms,
	        },
	    .runs = {.concurrency = p->active_concurrency, .gap_ms = PROBE_RUN_GAP_MS},
	    .skew_tolerance_ms = p->skew_tolerance_ms,
	    .netio = v->netio,
	};
	for (unsigned i = 0; i < p->network_nblocks && i < VMS_MAX_NET_BLOCKS; i++)
		plan.schedule.net_blocks[i] = p->network_blocks[i];
	plan.runs.interval_ms[VMS_FAM_CPU_WORK] = p->cpu_work_interval_ms;
	plan.runs.interval_ms[VMS_FAM_MEMORY] = p->memory_interval_ms;
	plan.runs.interval_ms[VMS_FAM_DISK_READ] = p->disk_read_interval_ms;
	plan.runs.interval_ms[VMS_FAM_NETWORK] = p->network_interval_ms;
	plan.runs.interval_ms[VMS_FAM_MICRO] = p->micro_interval_ms;
	if (v->netio) {
		snprintf(plan.netio_addr, sizeof(plan.netio_addr), "%s",
		         v->cfg.netio_guest_address ? v->cfg.netio_guest_address : "");
		plan.netio_port = vms_netio_port(v->netio);
		plan.netio_udp_rate = v->cfg.netio_udp_rate;
	}
	v->store.probe_interval_ms = p->cpu_interval_ms;
	vms_channels_set_plan(v->channels, &plan);
}

/* A shorter interval pulls the next run in; a longer one applies from the next run on. */
static void
job_set_interval(struct job *j, uint64_t interval_ns, uint64_t now)
{
	j->interval_ns = interval_ns;
	if (j->next_ns > now + interval_ns)
		j->next_ns = now + interval_ns;
}

/* Applies what may change live (see vms_config_restart_needed for what may not). */
static void
apply_live(struct vmscaled *v, const struct vms_config *old, const struct vms_config *c)
{
	vms_log_init("vmscaled", c->verbose);
	v->store.busy_threshold = c->busy_threshold;
	v->store.probe_interval_ms = c->probe.cpu_interval_ms;
	uint64_t now = vms_monotonic_ns(), interval_ns = (uint64_t)c->interval_s * NS_PER_S;
	job_set_interval(&v->refresh, interval_ns, now);
	job_set_interval(&v->host, interval_ns, now);
	job_set_interval(&v->save, (uint64_t)c->analysis.save_interval_s * NS_PER_S, now);
	struct vms_analysis_config ac;
	vms_config_analysis(c, &ac);
	vms_analysis_set_config(v->analysis, &ac);
	bool same_filter = (!old->probe_domains && !c->probe_domains) ||
	                   (old->probe_domains && c->probe_domains &&
	                    strcmp(old->probe_domains, c->probe_domains) == 0);
	char err[256];
	/* It compiled when the configuration was validated; it compiles again. */
	if (!same_filter &&
	    vms_channels_set_filter(v->channels, c->probe_domains, err, sizeof(err)) < 0)
		vms_err("probe-domains: %s", err);
	vms_http_set_web(v->http, c->web); /* the users and hashes, reread from the file */
	vms_store_changed(&v->store);
}

/*
 * SIGHUP: the file again, with the command line over it. An invalid file, or a change that
 * cannot apply live, leaves everything as it was.
 */
static void
reload(struct vmscaled *v)
{
	struct vms_config c;
	char err[1024];
	enum vms_reload_result result = VMS_RELOAD_OK;
	const char *key = NULL;
	if (load_config(v, &c, err, sizeof(err)) < 0) {
		vms_err("reload failed: %s; keeping the running configuration", err);
		result = VMS_RELOAD_ERROR;
	} else if ((key = vms_config_restart_needed(&v->cfg, &c))) {
		vms_err("reload refused: changing '%s' needs a restart; keeping the running "
		        "configuration",
		        key);
		result = VMS_RELOAD_REFUSED;
	}
	v->self.config_reloads[result]++;
	v->self.generation++;
	if (result != VMS_RELOAD_OK) {
		vms_config_fini(&c);
		return;
	}
	apply_live(v, &v->cfg, &c);
	vms_config_fini(&v->cfg);
	v->cfg = c;
	v->self.config_loaded_unix = unix_now();
	apply_probe_config(v);
	vms_info("configuration reloaded from %s: interval %u s, busy-threshold %g, probe-domains "
	         "%s",
	         v->config_path, v->cfg.interval_s, v->cfg.busy_threshold,
	         v->cfg.probe_domains ? v->cfg.probe_domains : "(all)");
	on_domains_changed(v); /* list and sync channels now, with the new filter */
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
			vms_info("SIGHUP: reloading %s", v->config_path);
			reload(v);
			continue;
		}
		vms_info("%s: shutting down", strsignal((int)si.ssi_signo));
		v->quit = true;
	}
}

/* Options that are not configuration keys. */
enum { OPT_CONFIG = 0x100, OPT_CHECK_CONFIG, OPT_KEY_BASE = 0x200 };

/* Prints text from column `col`, wrapped at word boundaries before column 80. */
static void
print_wrapped(FILE *f, const char *text, int col)
{
	int at = col;
	for (const char *p = text; *p;) {
		const char *sp = strchr(p, ' ');
		int len = sp ? (int)(sp - p) : (int)strlen(p);
		if (at > col && at + 1 + len > 79) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		}
		if (at > col) {
			fputc(' ', f);
			at++;
		}
		fprintf(f, "%.*s", len, p);
		at += len;
		p += len;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: vmscaled [OPTIONS]\n"
	           "Measures what each running VM costs the others: discovers libvirt domains,\n"
	           "collects the in-guest probes' reports and exports them for Prometheus.\n"
	           "Each option before --config is also a key of the configuration file\n"
	           "(vmscaled(8), CONFIGURATION); an option wins over the file.\n"
	           "DURATION: 30ms, 5s, 1m, 1h (a bare number is seconds); SIZE: 4K, 8M, 1G.\n\n");
	for (size_t i = 0; i < vms_config_nkeys(); i++) {
		const struct vms_config_key *k = vms_config_key_at(i);
		char flag[64];
		snprintf(flag, sizeof(flag), "%c%c%c --%s%s%s", k->short_opt ? '-' : ' ',
		         k->short_opt ? k->short_opt : ' ', k->short_opt ? ',' : ' ', k->name,
		         k->metavar ? " " : "", k->metavar ? k->metavar : "");
		if (strlen(flag) <= 24)
			fprintf(f, "  %-24s ", flag);
		else
			fprintf(f, "  %s\n%27s", flag, "");
		print_wrapped(f, k->help, 27);
	}
	static const char *const more[][2] = {
	    {"    --config FILE", "configuration file (default " VMS_CONFIG_DEFAULT_PATH
	                          "; a missing default file is fine)"},
	    {"    --check-config", "check the configuration file and options, say \"FILE: OK\" "
	                           "or what is wrong, and exit 0 or 1 (a bad option: 2)"},
	    {"-h, --help", "this text"},
	    {"-V, --version", "print the version and exit"},
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		fprintf(f, "  %-24s ", more[i][0]);
		print_wrapped(f, more[i][1], 27);
	}
}

/* Returns -1 to go on, else the exit code. The key options are kept in v->args, in order. */
static int
parse_args(int argc, char **argv, struct vmscaled *v, bool *check)
{
	static struct option longopts[VMS_CONFIG_MAX_KEYS + 5];
	char shortopts[2 * VMS_CONFIG_MAX_KEYS + 4] = "hV";
	size_t n = 0, s = 2;
	for (size_t i = 0; i < vms_config_nkeys(); i++) {
		const struct vms_config_key *k = vms_config_key_at(i);
		int has_arg = k->metavar ? required_argument : no_argument;
		longopts[n++] = (struct option){k->name, has_arg, NULL, OPT_KEY_BASE + (int)i};
		if (k->short_opt) {
			shortopts[s++] = k->short_opt;
			if (k->metavar)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	longopts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	longopts[n++] = (struct option){"check-config", no_argument, NULL, OPT_CHECK_CONFIG};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[n] = (struct option){NULL, 0, NULL, 0};

	v->config_path = VMS_CONFIG_DEFAULT_PATH;
	v->args = vms_xcalloc((size_t)argc + 1, sizeof(*v->args));
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int key = -1;
		for (size_t i = 0; i < vms_config_nkeys(); i++)
			if (c == OPT_KEY_BASE + (int)i ||
			    (c < 0x100 && c == vms_config_key_at(i)->short_opt))
				key = (int)i;
		if (key >= 0) {
			const struct vms_config_key *k = vms_config_key_at((size_t)key);
			v->args[v->nargs++] =
			    (struct vms_config_arg){k->name, k->metavar ? optarg : "yes"};
			continue;
		}
		switch (c) {
		case OPT_CONFIG:
			v->config_path = optarg;
			v->config_explicit = true;
			break;
		case OPT_CHECK_CONFIG:
			*check = true;
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
	/* A bad flag is a usage error, told before the file is read. */
	struct vms_config scratch;
	char err[512];
	vms_config_defaults(&scratch);
	int rc = vms_config_apply_args(&scratch, v->args, v->nargs, err, sizeof(err));
	vms_config_fini(&scratch);
	if (rc < 0) {
		fprintf(stderr, "vmscaled: %s\n", err);
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

/* The store, libvirt, the HTTP endpoint and the guest-facing collectors. */
static int
start_collection(struct vmscaled *v)
{
	char err[1024];
	vms_store_init(&v->store, v->cfg.probe.cpu_interval_ms);
	v->store.busy_threshold = v->cfg.busy_threshold;
	if (vms_libvirt_event_init() < 0 || vms_host_init() < 0)
		return -1;
	v->http = vms_http_start(&(struct vms_http_options){
	    .listen = v->cfg.listen,
	    .max_connections = v->cfg.http_max_connections,
	    .timeout_s = v->cfg.http_timeout_s,
	    .per_address = v->cfg.http_per_address,
	    .header_timeout_s = v->cfg.http_header_timeout_s,
	    .tls_cert = v->cfg.tls_cert,
	    .tls_key = v->cfg.tls_key,
	    .web = v->cfg.web,
	    .interval_s = v->cfg.interval_s,
	});
	if (!v->http)
		return -1;
	/* One persistent connection per URI, each with its own backoff and events. */
	for (unsigned i = 0; i < v->cfg.nuris; i++)
		v->libvirt[v->nlibvirt++] =
		    vms_libvirt_new(v->cfg.uris[i], &v->store, on_domains_changed, v);
	if (v->cfg.agent_domains) {
		v->agent =
		    vms_agent_new(v->cfg.agent_uri, v->cfg.agent_domains, v->cfg.agent_interval_s,
		                  v->cfg.agent_timeout_s, err, sizeof(err));
		if (!v->agent) {
			vms_err("qemu-agent-domains: %s", err);
			return -1;
		}
	}
	v->channels = vms_channels_new(&v->store);
	if (vms_channels_set_filter(v->channels, v->cfg.probe_domains, err, sizeof(err)) < 0) {
		vms_err("probe-domains: %s", err);
		return -1;
	}
	if (v->cfg.netio_listen) {
		v->netio = vms_netio_open(v->cfg.netio_listen, err, sizeof(err));
		if (!v->netio ||
		    (v->cfg.netio_udp_rate &&
		     vms_netio_udp_open(v->netio, v->cfg.netio_udp_rate, err, sizeof(err)) < 0)) {
			vms_err("%s", err);
			return -1;
		}
	}
	/* Transports for guests without the channel: both off unless configured, and then a
	 * listener that cannot start (no AF_VSOCK in this kernel, port taken) stops the start. */
	v->listeners = vms_listeners_new(&v->store, v->channels);
	if (v->cfg.vsock_port &&
	    vms_listeners_open_vsock(v->listeners, v->cfg.vsock_port, err, sizeof(err)) < 0) {
		vms_err("%s", err);
		return -1;
	}
	if (v->cfg.tcp_listen && vms_listeners_open_tcp(v->listeners, v->cfg.tcp_listen,
	                                                v->cfg.state_dir, err, sizeof(err)) < 0) {
		vms_err("%s", err);
		return -1;
	}
	return 0;
}

/* The analysis with its saved state, and the control socket that steers it. */
static int
start_analysis(struct vmscaled *v)
{
	char err[1024];
	apply_probe_config(v);
	struct vms_analysis_config ac;
	vms_config_analysis(&v->cfg, &ac);
	v->analysis = vms_analysis_new(&ac);
	if (ensure_state_dir(v->cfg.state_dir) < 0)
		return -1;
	size_t plen = strlen(v->cfg.state_dir) + sizeof("/analysis.state");
	v->state_path = vms_xcalloc(plen, 1);
	snprintf(v->state_path, plen, "%s/analysis.state", v->cfg.state_dir);
	vms_analysis_load(v->analysis, v->state_path);
	/* Without the control socket baselines cannot be pinned, but everything else works. */
	v->control = vms_control_open(v->cfg.control_socket, vms_analysis_control, v->analysis, err,
	                              sizeof(err));
	if (!v->control)
		vms_err("control socket: %s; vmscalectl will not reach this vmscaled", err);
	return 0;
}

/* The metrics registry, the periodic jobs and the event-loop registrations. */
static int
start_loop(struct vmscaled *v, int loaded)
{
	register_sources(v);
	uint64_t now = vms_monotonic_ns(), interval_ns = (uint64_t)v->cfg.interval_s * NS_PER_S;
	v->refresh = (struct job){.next_ns = now, .interval_ns = interval_ns};
	v->host = (struct job){.next_ns = now, .interval_ns = interval_ns};
	v->tick = (struct job){.next_ns = now + TICK_NS, .interval_ns = TICK_NS};
	uint64_t save_ns = (uint64_t)v->cfg.analysis.save_interval_s * NS_PER_S;
	v->save = (struct job){.next_ns = now + save_ns, .interval_ns = save_ns};
	uint64_t watchdog_us = 0;
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0)
		v->watchdog = (struct job){.next_ns = now, .interval_ns = watchdog_us * 1000 / 2};

	v->sigwatch = virEventAddHandle(v->sigfd, VIR_EVENT_HANDLE_READABLE, on_signal, v, NULL);
	v->timer = virEventAddTimeout(0, on_timer, v, NULL);
	v->publisher =
	    vms_publisher_new(v->http, v->registry, &v->store, v->analysis, v->self.version);
	if (v->sigwatch < 0 || v->timer < 0 || vms_publisher_watch(v->publisher) < 0) {
		vms_err("cannot register with the event loop");
		return -1;
	}
	char uris[VMS_CONFIG_MAX_URIS * 64] = "";
	for (unsigned i = 0; i < v->cfg.nuris; i++)
		snprintf(uris + strlen(uris), sizeof(uris) - strlen(uris), "%s%s", i ? ", " : "",
		         v->cfg.uris[i]);
	/* An operator's file in another folder (a /usr/local build reads /usr/local/etc) must not
	 * go unnoticed: say which file was not there. */
	if (loaded == 1)
		vms_warn("no configuration file %s: running on the defaults and the command line "
		         "(--config FILE names another)",
		         v->config_path);
	vms_info("vmscaled %s starting: configuration %s%s, libvirt %s, listening on %s, interval "
	         "%u s",
	         VMSCALE_VERSION, v->config_path, loaded == 1 ? " (not found)" : " (read)", uris,
	         v->cfg.listen, v->cfg.interval_s);
	return 0;
}

/* Tears down in reverse order of start; safe on a partial start. */
static void
stop(struct vmscaled *v)
{
	if (v->timer >= 0)
		virEventRemoveTimeout(v->timer);
	if (v->sigwatch >= 0)
		virEventRemoveHandle(v->sigwatch);
	vms_control_close(v->control);
	vms_listeners_free(v->listeners); /* before the channels they hand connections to */
	vms_channels_free(v->channels);
	vms_netio_close(v->netio); /* after the channels: they revoke their grants */
	vms_agent_free(v->agent);  /* joins its thread: at most qemu-agent-timeout + 12 s */
	for (unsigned i = v->nlibvirt; i-- > 0;)
		vms_libvirt_free(v->libvirt[i]);
	vms_publisher_free(v->publisher); /* its watch on the endpoint's demand fd first */
	vms_http_stop(v->http);
	vms_host_fini();
	vms_registry_free(v->registry);
	vms_analysis_free(v->analysis);
	free(v->state_path);
	vms_store_fini(&v->store);
}

int
main(int argc, char **argv)
{
	static struct vmscaled v = {
	    .timer = -1,
	    .sigfd = -1,
	    .sigwatch = -1,
	};
	bool check = false;
	int rc = parse_args(argc, argv, &v, &check);
	if (rc >= 0) {
		free(v.args);
		return rc;
	}
	char err[1024];
	int loaded = load_config(&v, &v.cfg, err, sizeof(err));
	if (check) {
		/* Nothing else: no libvirt, no port, no log setup. */
		if (loaded < 0)
			fprintf(stderr, "%s\n", err);
		else
			printf("%s: OK%s\n", v.config_path,
			       loaded == 1 ? " (no such file: defaults and options)" : "");
		vms_config_fini(&v.cfg);
		free(v.args);
		return loaded < 0 ? 1 : 0;
	}
	vms_log_init("vmscaled", loaded < 0 ? false : v.cfg.verbose);
	if (loaded < 0) {
		vms_err("%s", err);
		vms_config_fini(&v.cfg);
		free(v.args);
		return 1;
	}
	v.self =
	    (struct vms_self_info){.version = VMSCALE_VERSION, .config_loaded_unix = unix_now()};
	if (setup_signals(&v) < 0) {
		vms_err("cannot set up signal handling: %s", strerror(errno));
		vms_config_fini(&v.cfg);
		free(v.args);
		return 1;
	}

	rc = 1;
	if (start_collection(&v) < 0 || start_analysis(&v) < 0 || start_loop(&v, loaded) < 0)
		goto cleanup;
	while (!v.quit) {
		if (virEventRunDefaultImpl() < 0) {
			vms_err("event loop failed: %s", virGetLastErrorMessage());
			goto cleanup;
		}
	}
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
	save_state(&v); /* a clean stop loses nothing */
	rc = 0;

cleanup:
	stop(&v);
	if (v.sigfd >= 0)
		close(v.sigfd);
	vms_config_fini(&v.cfg);
	free(v.args);
	if (rc == 0)
		vms_info("stopped");
	return rc;
}

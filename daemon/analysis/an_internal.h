/*
 * The analysis' insides, shared by its files and by nothing else (analysis.h is the public
 * face). Everything here runs in the event loop's thread.
 *
 * Bounds: one entry per domain seen (running, or stopped less than retention ago, at most
 * AN_MAX_DOMAINS); per domain and probe at most max_buckets N_up buckets of fixed size, one
 * window of VMS_WINDOW_CAP recent values; per domain three windows of resource use. Host-wide
 * series keep at most VMS_AN_MAX_BUCKETS buckets each. Nothing grows with time.
 *
 * The files by concern: analysis.c (probes, domains and their update from the store,
 * configuration, views), an_baseline.c (N_up buckets, baselines, linearity), an_slowdown.c
 * (slowdown, alert hysteresis), an_host.c (host series, capacity), an_interference.c
 * (suspects), an_render.c (the metric families), an_persist.c (the state file), an_control.c
 * (the control socket).
 */
#ifndef VMSCALE_ANALYSIS_AN_INTERNAL_H
#define VMSCALE_ANALYSIS_AN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/analysis/analysis.h"
#include "daemon/store/store.h"
#include "daemon/util/buf.h"
#include "daemon/util/keyindex.h"
#include "daemon/util/log.h"
#include "daemon/util/stats.h"

#define buf_lit(b, s) vms_buf_append((b), (s), sizeof(s) - 1) /* a literal, its length counted */
#define AN_MAX_DOMAINS 65536u /* entries kept, running or not; more are not tracked */
#define AN_SUSPECTS 3

/* ---------------------------------------------------------------- state */

struct an_bucket {
	uint32_t n_up;
	uint64_t last_use; /* the analysis' feed counter when last fed: eviction order */
	struct vms_welford w;
	double recent[VMS_AN_BUCKET_WINDOW]; /* behind the robust central value */
	unsigned head, nrecent;
	int outlier_run; /* consecutive outliers, > 0 above the median, < 0 below (not saved) */
};

struct an_probe {
	struct an_bucket *buckets; /* max_buckets of them, allocated at the first sample */
	unsigned nbuckets;
	uint64_t fed_at_ns;       /* the store's at_ns of the last value fed */
	struct vms_window recent; /* host time and value: the slowdown window */
	bool have_baseline, pinned;
	double baseline;
	uint32_t baseline_n_up;
	double slowdown;                /* over the window; NaN when unknown */
	struct vms_welford overhead[2]; /* slowdown - 1 with the neighbours idle [0] or busy [1] */
	enum vms_an_severity severity;
	uint64_t warn_since_ns, crit_since_ns; /* when the condition began; 0 = not met */
	uint64_t outliers; /* samples an_feed kept out (a counter: survives resets, not saved) */
	/* The baseline's spread (an_baseline_spread), recomputed after a feed or a change of
	 * baseline: its bucket's samples and robust coefficient of variation (NaN: too few). */
	bool spread_valid, have_spread;
	uint64_t baseline_samples;
	double baseline_cv;
	bool too_noisy;            /* 1 + 2 CV reaches the warning threshold: not judged */
	unsigned outside;          /* values of the slowdown window outside the normal range */
	uint64_t outside_since_ns; /* when the oldest of them was taken */
};

enum an_resource { AN_RES_CPU, AN_RES_BLOCK, AN_RES_NETWORK, AN_RES_COUNT };

/* What named a suspect (an_interference.c): it started or turned busy when the victim's
 * slowdown began; it holds a share of the resource the victim lacks; its use goes with the
 * victim's slowdown; or with the victim's CPI (host perf events), CPI²'s own signal. */
enum an_evidence { AN_EV_ONSET, AN_EV_SHARE, AN_EV_CORRELATION, AN_EV_CPI, AN_EV_COUNT };
extern const char *const an_evidence_names[AN_EV_COUNT];

/* A neighbour suspected over one resource: the score each evidence gives it (0: none), and
 * the best of them, which ranks it. */
struct an_suspect {
	char *name;
	enum an_resource resource;
	double score[AN_EV_COUNT];
	double top;
};

/* Host-side figures of one domain for the interference search, between consecutive
 * statistics of libvirt. */
struct an_host_use {
	bool have_prev;
	uint64_t prev_vcpu_ns, prev_block_bytes, prev_net_bytes, prev_at_ns;
	uint64_t prev_delay_ns, prev_cycles, prev_instructions;
	struct vms_window res[AN_RES_COUNT]; /* CPU in cores, block and network in bytes/s */
	bool have_delay;                     /* the host reports vcpu.N.delay */
	double delay_ratio; /* share of vCPU time spent runnable, not running (smoothed) */
	bool busy;          /* vCPU utilization over busy-threshold (with hysteresis) */
	uint64_t busy_since_ns;
	struct vms_window *cpi;       /* cycles per instruction, once the host reports both */
	double use_now[AN_RES_COUNT]; /* at the current search pass: median over the window */
};

struct an_domain {
	char key[VMS_DOMAIN_KEY_LEN + 1];
	char *name;
	/* What the baseline was measured with: a change resets it. 0/"" = not known yet. */
	unsigned sig_vcpus;
	uint64_t sig_mem_kib;
	char sig_probe[64];
	double last_seen_unix;
	bool present;     /* running at the last update */
	bool was_present; /* running at the update before: a change shows in the exposition */
	bool id_known;
	int seen_id;
	/* Startup: from the moment we see the domain start to its probe's first hello. */
	bool awaiting_report;
	uint64_t start_ns;
	uint32_t start_n_up;
	bool have_startup;
	double startup_s;
	struct an_host_use use; /* for interference */
	struct an_suspect suspects[AN_SUSPECTS];
	unsigned nsuspects;
	/* VMS_AN_PROBE_COUNT of them, read through probes: the shared read-only an_blank_probes
	 * until the domain's first probe value, restored baseline or operator command, then
	 * own_probes (8 KiB a domain that a domain without a probe agent never needs). Write
	 * only through an_probes_mut(). */
	const struct an_probe *probes;
	struct an_probe *own_probes;
};

enum an_host_metric { AN_HOST_OVERHEAD, AN_HOST_MTOOL, AN_HOST_STARTUP, AN_HOST_COUNT };
/* The `metric` label of the host series, also their name in the state file. */
extern const char *const an_host_metric_names[AN_HOST_COUNT];
/* Their unit, the suffix of their family names: "cpu_seconds_per_second", "bytes", "seconds". */
extern const char *const an_host_metric_units[AN_HOST_COUNT];
/* AN_HOST_COUNT if unknown; reads the names of state files written before 1.0 too. */
enum an_host_metric an_host_metric_from_name(const char *name);

struct an_host_bucket {
	uint32_t n_up;
	struct vms_welford w;
};

struct an_host_series {
	struct an_host_bucket b[VMS_AN_MAX_BUCKETS];
	unsigned n;
};

struct vms_analysis {
	struct vms_analysis_config cfg;
	struct an_domain **domains; /* in arrival order */
	size_t ndomains, cap;
	struct vms_keyindex index; /* the domains by key */
	uint64_t feed_seq;
	bool updated_once;
	/* Host CPU not attributable to vCPUs (seed 001's hypervisor overhead). */
	bool have_host_prev;
	uint64_t host_prev_busy, host_prev_total;
	uint64_t vcpu_acc_ns; /* vCPU time of the domains since the last host sample */
	bool vcpu_acc_valid;  /* no domain came or went meanwhile */
	size_t host_prev_n_up;
	double overhead_cores; /* NaN until two host samples */
	struct an_host_series host[AN_HOST_COUNT];
	uint64_t interference_at_ns;
	double busy_threshold; /* the store's, at the last update: who counts as busy */
	size_t suspect_cursor; /* where the next search's round of victims begins */
	/* Persistence, for the metrics. */
	uint64_t saves_ok, saves_failed;
	double last_save_unix;
	int load_result;     /* -2 not tried, -1 unusable, 0 loaded, 1 none */
	uint64_t generation; /* moves when what vms_analysis_render writes may have changed */
	/* The store's domain count at the last update: the capacity headroom counts from it. */
	size_t rendered_n_up;
	/* When an update changes something through time alone (window, alert-for, retention,
	 * suspects, startup give-up): vms_analysis_next_due_ns. */
	uint64_t next_due_ns;
	bool update_pending; /* a change the next update must see (control, configuration, load) */
	struct vms_complaint save_complaint;
};

/* What vms_analysis_render writes changed. */
static inline void
an_changed(struct vms_analysis *a)
{
	a->generation++;
}

/* A change an update must follow up on (slowdowns against a new baseline, new thresholds):
 * rendered now, and the next update is due at once. */
static inline void
an_changed_pending(struct vms_analysis *a)
{
	a->generation++;
	a->update_pending = true;
}

/* Something the update does through time alone happens at at_ns. */
static inline void
an_due_at(struct vms_analysis *a, uint64_t at_ns)
{
	if (at_ns < a->next_due_ns)
		a->next_due_ns = at_ns;
}

/* ---------------------------------------------------------------- probes and domains */

/* Slowdown of a value against its baseline, oriented so that > 1 is always worse. */
double an_oriented(unsigned p, double baseline, double value);
/* The latest trusted value of probe p in the store; the network at its largest block. */
const struct vms_probe_value *an_probe_value(const struct vms_probe_state *ps, unsigned p);

struct an_domain *an_find_domain(const struct vms_analysis *a, const char *key);
/* NULL when AN_MAX_DOMAINS are tracked already. */
struct an_domain *an_add_domain(struct vms_analysis *a, const char *key, const char *name);
void an_free_domain(struct an_domain *d);
void an_remove_domain_at(struct vms_analysis *a, size_t i);

/* ---------------------------------------------------------------- buckets and baselines */

void an_probe_init(struct an_probe *p);
extern const struct an_probe an_blank_probes[VMS_AN_PROBE_COUNT];
/* The domain's own probe state, made from the blank one at the first call. */
struct an_probe *an_probes_mut(struct an_domain *d);
/* Frees the buckets and forgets the baseline. */
void an_reset_probe(struct an_probe *p);
/* Drops the least recently fed buckets beyond cap, never the baseline's own. */
void an_trim_buckets(struct an_probe *p, unsigned cap);
/* The median of a bucket's recent values. */
double an_bucket_central(const struct an_bucket *b);
/* The bucket of n_up, made (evicting the least recent when full) if there is none. */
struct an_bucket *an_get_bucket(struct vms_analysis *a, struct an_probe *p, uint32_t n_up);
/* The baseline: the central value of the lowest N_up with enough samples (unless pinned). */
void an_choose_baseline(const struct vms_analysis *a, struct an_probe *p);
/* One probe value into its N_up bucket, the slowdown window and the overhead, unless it is an
 * outlier against its bucket (counted in p->outliers). */
void an_feed(struct vms_analysis *a, struct an_probe *p, unsigned probe, double v, uint64_t at_ns,
             uint32_t n_up, bool neighbours_busy);
/* Resets the baselines when the domain now runs with other vCPUs, memory or probe: true then. */
bool an_check_signature(struct an_domain *ad, const struct vms_domain *d);
/* The bucket means against N_up, over buckets with enough samples: vms_fit_linear's result. */
int an_probe_linearity(const struct vms_analysis *a, const struct an_probe *p, struct vms_fit *f);
/* The RMS relative error of the CPU-work slowdown against seed 001's model. */
bool an_cpu_model_error(const struct vms_analysis *a, const struct an_domain *d, double *rms);

/* ---------------------------------------------------------------- slowdown and alerts */

const char *an_severity_name(enum vms_an_severity s);
/* Logs an alert's change; n_up 0 when not known to the caller, why NULL when it needs none. */
void an_log_transition(const struct an_domain *d, unsigned probe, enum vms_an_severity from,
                       enum vms_an_severity to, double slowdown, size_t n_up, const char *why);
/* The hysteresis of one probe's alert against its current slowdown; notes when alert-for
 * would make it fire and marks a change of severity. */
void an_evaluate_alert(struct vms_analysis *a, struct an_domain *d, unsigned probe, uint64_t now_ns,
                       size_t n_up);
/* Each probe of a running domain: its new value fed in, its slowdown, its alert; marks what
 * changed and notes when the window next loses a value. */
void an_update_probes(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
                      uint64_t now_ns, size_t n_up, bool neighbours_busy);
/* A domain stopped: its alerts end, its slowdown window empties. */
void an_end_alerts(struct an_domain *ad, size_t n_up);

/* ---------------------------------------------------------------- host series and capacity */

void an_host_feed(struct an_host_series *s, uint32_t n_up, double v);
/* Seed 001: host CPU time not spent in guests' vCPUs, per host sample, by N_up; and M_tool. */
void an_track_hypervisor(struct vms_analysis *a, const struct vms_store *st, size_t n_up);

enum an_capacity_reason {
	AN_CAP_OK,
	AN_CAP_NO_BASELINE,
	AN_CAP_TOO_FEW_LEVELS,
	AN_CAP_POOR_FIT,
	AN_CAP_NO_TREND,
	AN_CAP_REASON_COUNT
};

struct an_capacity {
	enum an_capacity_reason reason;
	struct vms_fit fit;
	unsigned levels;
	double predicted_max;
};

/* The baseline bucket's sample count and robust coefficient of variation into p (have_spread
 * false when the bucket is gone: a pinned baseline whose N_up was evicted since). */
void an_baseline_spread(struct an_probe *p);

/* The capacity prediction of one probe across the domains. */
struct an_capacity an_capacity_of(const struct vms_analysis *a, unsigned probe);

/* ---------------------------------------------------------------- interference */

void an_clear_suspects(struct an_domain *d);
/* Host-side resource use of a running domain between its consecutive statistics; busy is
 * its vCPU utilization against a->busy_threshold. */
void an_track_resources(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
                        uint64_t now_ns);
/* Forget the previous statistics (the domain stopped): the next ones start afresh. */
void an_forget_resources(struct an_domain *ad);
void an_free_resources(struct an_domain *ad);
/* The suspects of every running domain, at most once per collection interval (noted as due);
 * marks a change when they differ. */
void an_update_suspects(struct vms_analysis *a, uint64_t now_ns);

#endif

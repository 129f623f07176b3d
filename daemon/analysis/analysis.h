/*
 * The degradation analysis: the seeds' lab quantities made continuous. For every domain and
 * probe metric it keeps statistics bucketed by N_up, a baseline (the lowest N_up with enough
 * samples), the current slowdown against it, the overhead with idle and with busy neighbours,
 * the linearity of the mean against N_up, and alert state with hysteresis. Host-wide it fits
 * the hypervisor's own CPU, the virtualization memory (M_tool) and the startup time against
 * N_up, predicts the capacity headroom per probe, and names interference suspects.
 *
 * It reads the store (never writes it) from the event loop, after the collectors ran, and
 * renders its own metric families. Its state survives restarts through a state file
 * (daemon/statefile.h). Operators pin or reset baselines through the control socket.
 */
#ifndef VMSCALE_ANALYSIS_H
#define VMSCALE_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/util/buf.h"
#include "daemon/util/metrics_source.h"
#include "daemon/store/store.h"

/* The probe metrics analysed: one per active measurement (the network at its largest block). */
enum vms_an_probe {
	VMS_AN_CPU_WORK,
	VMS_AN_MEMORY_COPY,
	VMS_AN_MEMORY_READ,
	VMS_AN_MEMORY_WRITE,
	VMS_AN_DISK_READ,
	VMS_AN_NETWORK_TRANSMIT,
	VMS_AN_NETWORK_RECEIVE,
	VMS_AN_FORK_EXIT,
	VMS_AN_FORK_EXEC,
	VMS_AN_CTXSW,
	VMS_AN_FILE_CREATE_0K,
	VMS_AN_FILE_CREATE_10K,
	VMS_AN_MEMORY_READ_LATENCY,
	VMS_AN_PROBE_COUNT
};
/* The `probe` label: "cpu_work", "memory_copy", ..., "memory_read_latency" (one vocabulary
 * across the analysis families; the probe schedule's families say `family`). */
const char *vms_an_probe_name(enum vms_an_probe p);
int vms_an_probe_from_name(const char *name); /* -1 if unknown; reads pre-1.0 names too */

/* Units of the probes' values; a metric family holds one (its name ends in the unit). */
enum vms_an_unit { VMS_AN_UNIT_WORK_RATE, VMS_AN_UNIT_THROUGHPUT, VMS_AN_UNIT_LATENCY };
#define VMS_AN_UNIT_COUNT 3
enum vms_an_unit vms_an_probe_unit(enum vms_an_probe p);
/* "work_units_per_second", "bytes_per_second" or "seconds". */
const char *vms_an_unit_suffix(enum vms_an_unit u);

#define VMS_AN_MAX_BUCKETS 32   /* upper bound of analysis-buckets */
#define VMS_AN_BUCKET_WINDOW 16 /* recent values per bucket behind its robust central value */

enum vms_an_severity { VMS_AN_OK, VMS_AN_WARNING, VMS_AN_CRITICAL };

struct vms_analysis_config {
	uint64_t window_ns;   /* slowdown-window: the current value is the median over it */
	unsigned window_min;  /* slowdown-min-samples: ...and over at least this many values */
	unsigned min_samples; /* baseline-min-samples: a bucket counts with this many */
	unsigned max_buckets; /* analysis-buckets: N_up buckets per domain and probe */
	double warning[VMS_AN_PROBE_COUNT];  /* slowdown-warning, per probe */
	double critical[VMS_AN_PROBE_COUNT]; /* slowdown-critical */
	double clear[VMS_AN_PROBE_COUNT];    /* slowdown-clear: a warning ends only below it */
	uint64_t alert_for_ns;        /* alert-for: the condition must hold this long to fire */
	double capacity_min_r2;       /* capacity-min-r-squared */
	unsigned capacity_min_levels; /* N_up levels needed for a capacity prediction */
	unsigned host_cpus;           /* P in seed 001's ET(i) = ET_P * max(1, i/P) */
	uint64_t retention_s;         /* state of domains not seen this long is forgotten */
	uint64_t interval_ns;         /* interval: the collectors' cadence, which suspects follow */
};

/* Defaults: window 300 s, 5 samples, 8 buckets, warning 1.5, critical 2, clear 1.2, 60 s,
 * R^2 0.8, 3 levels, host_cpus from sysconf, retention 30 days, interval 5 s. */
void vms_analysis_config_defaults(struct vms_analysis_config *c);

struct vms_analysis;

struct vms_analysis *vms_analysis_new(const struct vms_analysis_config *cfg);
void vms_analysis_free(struct vms_analysis *a);
/* Applies a reloaded configuration; statistics are kept, buckets beyond a lower cap dropped. */
void vms_analysis_set_config(struct vms_analysis *a, const struct vms_analysis_config *cfg);

/*
 * After the collectors ran: feeds every probe value accepted since the last call into its
 * N_up bucket and the slowdown window, notes domain starts and first reports (startup
 * time), host CPU not attributable to vCPUs, M_tool, and evaluates the alerts (logging each
 * transition). now_unix stamps what is persisted.
 */
void vms_analysis_update(struct vms_analysis *a, const struct vms_store *st, uint64_t now_ns,
                         double now_unix);

/* Appends the analysis families to a /metrics exposition. */
void vms_analysis_render(const struct vms_analysis *a, const struct vms_store *st,
                         struct vms_buf *b, uint64_t now_ns);

/* What the landing page shows per domain. */
struct vms_an_domain_view {
	double worst_slowdown; /* NaN when no probe has one */
	enum vms_an_probe worst_probe;
	enum vms_an_severity severity; /* the highest active alert */
	unsigned alerts;               /* active alerts */
	unsigned baselines;            /* probes with a baseline */
	bool probe_state; /* state of its own: since a probe value, a restored or saved baseline */
};
bool vms_analysis_domain_view(const struct vms_analysis *a, const char *key,
                              struct vms_an_domain_view *v);

/* One point of a domain's slowdown curve: a bucket's central value against the baseline. */
struct vms_an_point {
	uint32_t n_up;
	double slowdown;
	uint64_t count;
};
/* The curve of probe p for the domain with this store key, sorted by N_up; returns the number
 * of points written (0 without a baseline). */
unsigned vms_analysis_domain_curve(const struct vms_analysis *a, const char *key,
                                   enum vms_an_probe p, struct vms_an_point *pts, unsigned max);
/* The configured threshold of a probe: VMS_AN_WARNING or VMS_AN_CRITICAL. */
double vms_analysis_threshold(const struct vms_analysis *a, enum vms_an_probe p,
                              enum vms_an_severity s);

/*
 * Persistence. The payload is text (one record per line, documented in an_persist.c) inside a
 * versioned, checksummed container written atomically (statefile.h). Loading an unusable
 * file moves it aside, logs why and starts fresh; it never fails the daemon.
 */
int vms_analysis_save(struct vms_analysis *a, const char *path, double now_unix, char *err,
                      size_t errsz);
/* 0 loaded, 1 no file, -1 unusable (moved aside, logged). */
int vms_analysis_load(struct vms_analysis *a, const char *path);
/* The payload alone, for tests. */
void vms_analysis_serialize(const struct vms_analysis *a, struct vms_buf *out);
int vms_analysis_deserialize(struct vms_analysis *a, const char *payload, size_t len, char *err,
                             size_t errsz);

/* The control socket's handler (control.h: vms_control_fn); opaque is the analysis. */
int vms_analysis_control(void *opaque, int argc, char **argv, struct vms_buf *out, char *err,
                         size_t errsz);

/* Moves whenever a call may have changed what vms_analysis_render writes, and only then: an
 * update that finds nothing new leaves it where it was. */
uint64_t vms_analysis_generation(const struct vms_analysis *a);

/* The earliest monotonic time at which an update would change something through time alone
 * (a value leaving the slowdown window, alert-for elapsing, the suspects' interval, retention);
 * 0 when a change (control, configuration, load) awaits an update. Until then, an update with
 * a store that has not changed finds nothing new and can be skipped. */
uint64_t vms_analysis_next_due_ns(const struct vms_analysis *a);

/* The analysis families as a metrics source: the analysis and the store it judges. */
struct vms_analysis_source {
	const struct vms_analysis *analysis;
	const struct vms_store *store;
};
struct vms_metrics_source vms_analysis_metrics_source(const struct vms_analysis_source *s);

#endif

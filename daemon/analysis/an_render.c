/* The analysis' metric families, appended to a /metrics exposition. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"

static const char *const capacity_reasons[AN_CAP_REASON_COUNT] = {
    "ok", "no_baseline", "too_few_levels", "poor_fit", "no_degradation_trend"};
static const char *const resource_names[AN_RES_COUNT] = {"cpu", "block", "network"};

/* name{domain="... — the caller goes on. */
static void
open_domain(struct vms_buf *b, const char *name, const struct an_domain *d)
{
	vms_buf_append(b, name, strlen(name));
	buf_lit(b, "{domain=\"");
	vms_buf_label_value(b, d->name);
}

/* name{domain="...",probe="..." — the caller closes it. */
static void
sample_dp(struct vms_buf *b, const char *name, const struct an_domain *d, unsigned p)
{
	open_domain(b, name, d);
	buf_lit(b, "\",probe=\"");
	vms_buf_append(b, vms_an_probe_name(p), strlen(vms_an_probe_name(p)));
	buf_lit(b, "\"");
}

/* Measured values and fits to 9 significant digits: what the state file keeps, and more than
 * any probe resolves; printf-free, which matters at hundreds of thousands of series. */
static void
value_line(struct vms_buf *b, double v)
{
	buf_lit(b, " ");
	vms_buf_sig(b, v, 9);
	buf_lit(b, "\n");
}

/* name{domain="..."} v: the one series of a domain. */
static void
domain_line(struct vms_buf *b, const char *name, const struct an_domain *d, double v)
{
	open_domain(b, name, d);
	buf_lit(b, "\"}");
	value_line(b, v);
}

static const char *const host_metric_help[AN_HOST_COUNT] = {
    "hypervisor CPU not spent in vCPUs (seed 001), in CPU seconds per second",
    "virtualization memory M_tool (seed 000), in bytes", "domain startup time, in seconds"};

/* name{metric="..."} — the caller goes on. */
static void
open_host(struct vms_buf *b, const char *name, unsigned m)
{
	vms_buf_printf(b, "%s{metric=\"%s\"", name, an_host_metric_names[m]);
}

/* Host-wide series by N_up (seeds 000, 001): the mean of each in its own family, the counts. */
static void
render_host_buckets(const struct vms_analysis *a, struct vms_buf *b)
{
	char name[96], help[256];
	for (unsigned m = 0; m < AN_HOST_COUNT; m++) {
		snprintf(name, sizeof(name), "vmscale_nup_host_mean_%s", an_host_metric_units[m]);
		snprintf(help, sizeof(help), "Mean by N_up of the host's %s.", host_metric_help[m]);
		vms_buf_family(b, name, "gauge", help);
		for (unsigned i = 0; i < a->host[m].n; i++) {
			open_host(b, name, m);
			vms_buf_printf(b, ",n_up=\"%u\"}", a->host[m].b[i].n_up);
			value_line(b, a->host[m].b[i].w.mean);
		}
	}
	vms_buf_family(b, "vmscale_nup_host_samples", "gauge",
	               "Samples behind vmscale_nup_host_mean_*.");
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		for (unsigned i = 0; i < a->host[m].n; i++) {
			open_host(b, "vmscale_nup_host_samples", m);
			vms_buf_printf(b, ",n_up=\"%u\"} %llu\n", a->host[m].b[i].n_up,
			               (unsigned long long)a->host[m].b[i].w.n);
		}
}

/* Fit a + b*N_up of each host series: a and b in the series' unit, then R^2. */
static void
render_host_series(const struct vms_analysis *a, struct vms_buf *b)
{
	render_host_buckets(a, b);
	struct vms_fit fits[AN_HOST_COUNT];
	bool have[AN_HOST_COUNT];
	for (unsigned m = 0; m < AN_HOST_COUNT; m++) {
		double x[VMS_AN_MAX_BUCKETS], y[VMS_AN_MAX_BUCKETS];
		for (unsigned i = 0; i < a->host[m].n; i++) {
			x[i] = a->host[m].b[i].n_up;
			y[i] = a->host[m].b[i].w.mean;
		}
		have[m] = vms_fit_linear(x, y, a->host[m].n, &fits[m]) == 0;
	}
	static const char *const parts[2][2] = {{"vmscale_host_linearity_intercept", "a"},
	                                        {"vmscale_host_linearity_slope", "b, per domain"}};
	char name[96], help[256];
	for (unsigned k = 0; k < 2; k++)
		for (unsigned m = 0; m < AN_HOST_COUNT; m++) {
			snprintf(name, sizeof(name), "%s_%s", parts[k][0], an_host_metric_units[m]);
			snprintf(help, sizeof(help), "Fit a + b*N_up of the host's %s: %s.",
			         host_metric_help[m], parts[k][1]);
			vms_buf_family(b, name, "gauge", help);
			if (!have[m])
				continue;
			open_host(b, name, m);
			buf_lit(b, "}");
			value_line(b, k == 0 ? fits[m].intercept : fits[m].slope);
		}
	vms_buf_family(b, "vmscale_host_linearity_r_squared", "gauge",
	               "Fit a + b*N_up of each host series: R^2.");
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		if (have[m]) {
			open_host(b, "vmscale_host_linearity_r_squared", m);
			buf_lit(b, "}");
			value_line(b, fits[m].r_squared);
		}
}

static void
render_capacity(const struct vms_analysis *a, const struct vms_store *st, struct vms_buf *b)
{
	struct an_capacity caps[VMS_AN_PROBE_COUNT];
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		caps[p] = an_capacity_of(a, p);
	vms_buf_family(
	    b, "vmscale_capacity_headroom_domains", "gauge",
	    "More domains this host can run before the median domain's slowdown on the probe "
	    "crosses its warning threshold (predicted N_up maximum minus N_up); absent when "
	    "the fit cannot be trusted (see vmscale_capacity_headroom_unavailable).");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == AN_CAP_OK) {
			vms_buf_printf(b, "vmscale_capacity_headroom_domains{probe=\"%s\"}",
			               vms_an_probe_name(p));
			value_line(b, floor(caps[p].predicted_max) - (double)st->ndomains);
		}
	vms_buf_family(b, "vmscale_capacity_predicted_max_domains", "gauge",
	               "N_up at which the fitted median slowdown reaches the warning threshold.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == AN_CAP_OK) {
			vms_buf_printf(b, "vmscale_capacity_predicted_max_domains{probe=\"%s\"}",
			               vms_an_probe_name(p));
			value_line(b, caps[p].predicted_max);
		}
	vms_buf_family(b, "vmscale_capacity_fit_r_squared", "gauge",
	               "R^2 of the median slowdown against N_up behind the capacity prediction.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == AN_CAP_OK || caps[p].reason == AN_CAP_POOR_FIT ||
		    caps[p].reason == AN_CAP_NO_TREND) {
			vms_buf_printf(b, "vmscale_capacity_fit_r_squared{probe=\"%s\"}",
			               vms_an_probe_name(p));
			value_line(b, caps[p].fit.r_squared);
		}
	vms_buf_family(b, "vmscale_capacity_fit_levels", "gauge",
	               "N_up levels with enough samples behind the capacity fit.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		vms_buf_printf(b, "vmscale_capacity_fit_levels{probe=\"%s\"} %u\n",
		               vms_an_probe_name(p), caps[p].levels);
	vms_buf_family(
	    b, "vmscale_capacity_headroom_unavailable", "gauge",
	    "1 when no headroom is predicted for the probe, with the reason: no_baseline, "
	    "too_few_levels, poor_fit or no_degradation_trend.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason != AN_CAP_OK)
			vms_buf_printf(
			    b,
			    "vmscale_capacity_headroom_unavailable{probe=\"%s\",reason=\"%s\"} 1\n",
			    vms_an_probe_name(p), capacity_reasons[caps[p].reason]);
}

/* A family name: the quantity, then the unit of the probes it holds (NEWS.md: one unit per
 * name, so that a query over a name never adds bytes/s to seconds). */
static const char *
unit_name(char *out, size_t size, const char *base, int unit)
{
	if (unit < 0)
		snprintf(out, size, "%s", base);
	else
		snprintf(out, size, "%s_%s", base, vms_an_unit_suffix((enum vms_an_unit)unit));
	return out;
}

static const char *const unit_words[VMS_AN_UNIT_COUNT] = {
    "CPU-work probe, in work units per second", "throughput probes, in bytes per second",
    "latency probes, in seconds"};

/* The help of a per-unit family: its text, then which probes it holds (nothing for all). */
static void
family_with_unit(struct vms_buf *b, const char *name, const char *help, int unit)
{
	char text[512];
	snprintf(text, sizeof(text), "%s%s%s.", help, unit < 0 ? "" : ", of the ",
	         unit < 0 ? "" : unit_words[unit]);
	vms_buf_family(b, name, "gauge", text);
}

static bool
probe_in_unit(unsigned p, int unit)
{
	return unit < 0 || (int)vms_an_probe_unit((enum vms_an_probe)p) == unit;
}

/* Per domain, probe and N_up bucket: the mean (one family per unit), or the count (unit -1). */
static void
render_buckets(const struct vms_analysis *a, struct vms_buf *b, int unit)
{
	char name[96];
	unit_name(name, sizeof(name), unit < 0 ? "vmscale_nup_samples" : "vmscale_nup_mean", unit);
	family_with_unit(b, name,
	                 unit < 0
	                     ? "Trusted samples behind vmscale_nup_mean_*"
	                     : "Mean of a probe's trusted samples taken while N_up domains "
	                       "ran; at most analysis-buckets N_up levels per domain and probe",
	                 unit);
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; a->domains[i]->present && p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_probe *pr = &a->domains[i]->probes[p];
			for (unsigned j = 0; probe_in_unit(p, unit) && j < pr->nbuckets; j++) {
				sample_dp(b, name, a->domains[i], p);
				buf_lit(b, ",n_up=\"");
				vms_buf_u64(b, pr->buckets[j].n_up);
				buf_lit(b, "\"}");
				value_line(b, unit >= 0 ? pr->buckets[j].w.mean
				                        : (double)pr->buckets[j].w.n);
			}
		}
}

enum probe_field {
	PF_BASELINE_N_UP,
	PF_BASELINE_VALUE,
	PF_BASELINE_PINNED,
	PF_BASELINE_SAMPLES,
	PF_BASELINE_CV,
	PF_BASELINE_NOISY,
	PF_SLOWDOWN
};

/* Families with one series per domain and probe; `per_unit` ones come once per unit. */
static const struct {
	const char *name, *help;
	enum probe_field field;
	bool per_unit;
} probe_families[] = {
    {"vmscale_baseline_n_up",
     "N_up of the baseline: the lowest N_up with baseline-min-samples "
     "samples, or where an operator pinned it",
     PF_BASELINE_N_UP, false},
    {"vmscale_baseline", "The baseline: the median of the baseline bucket's recent samples",
     PF_BASELINE_VALUE, true},
    {"vmscale_baseline_pinned", "1 when an operator pinned the baseline (vmscalectl baseline pin)",
     PF_BASELINE_PINNED, false},
    {"vmscale_baseline_samples",
     "Samples the baseline's N_up bucket took in (absent when a pinned baseline's bucket "
     "was evicted)",
     PF_BASELINE_SAMPLES, false},
    {"vmscale_baseline_cv_ratio",
     "Robust coefficient of variation of the baseline bucket's recent samples (1.4826 MAD / "
     "median): the probe's noise; a sample counts as outside the normal range beyond 1 + 2 "
     "CV of slowdown",
     PF_BASELINE_CV, false},
    {"vmscale_baseline_too_noisy",
     "1 when the baseline is too noisy to judge (1 + 2 CV reaches the warning threshold): "
     "the probe raises no alert until it settles",
     PF_BASELINE_NOISY, false},
    {"vmscale_slowdown_ratio",
     "Baseline performance over current performance (median over "
     "slowdown-window): 1 = as at the baseline, 2 = twice as slow; "
     "throughputs inverted, latencies direct",
     PF_SLOWDOWN, false},
};

/* A probe's value for one of probe_families; false when its series is absent. */
static bool
probe_family_value(const struct an_probe *pr, enum probe_field f, double *v)
{
	if (f == PF_SLOWDOWN) {
		*v = pr->slowdown;
		return !isnan(pr->slowdown);
	}
	if (f == PF_BASELINE_SAMPLES || f == PF_BASELINE_CV) {
		*v = f == PF_BASELINE_SAMPLES ? (double)pr->baseline_samples : pr->baseline_cv;
		return pr->have_baseline && pr->have_spread && !isnan(*v);
	}
	if (f == PF_BASELINE_NOISY) {
		*v = pr->too_noisy;
		return pr->have_baseline;
	}
	*v = f == PF_BASELINE_N_UP    ? pr->baseline_n_up
	     : f == PF_BASELINE_VALUE ? pr->baseline
	                              : pr->pinned;
	return pr->have_baseline;
}

static void
render_probe_family(const struct vms_analysis *a, struct vms_buf *b, unsigned k, int unit)
{
	char name[96];
	unit_name(name, sizeof(name), probe_families[k].name, unit);
	family_with_unit(b, name, probe_families[k].help, unit);
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; a->domains[i]->present && p < VMS_AN_PROBE_COUNT; p++) {
			double v;
			if (!probe_in_unit(p, unit) ||
			    !probe_family_value(&a->domains[i]->probes[p], probe_families[k].field,
			                        &v))
				continue;
			sample_dp(b, name, a->domains[i], p);
			buf_lit(b, "}");
			value_line(b, v);
		}
}

/* Per domain, probe and N_up bucket: the means, then the counts; per domain and probe: the
 * baseline and the slowdown. */
static void
render_domain_probes(const struct vms_analysis *a, struct vms_buf *b)
{
	for (int u = 0; u < VMS_AN_UNIT_COUNT; u++)
		render_buckets(a, b, u);
	render_buckets(a, b, -1);
	for (unsigned k = 0; k < sizeof(probe_families) / sizeof(probe_families[0]); k++) {
		if (!probe_families[k].per_unit)
			render_probe_family(a, b, k, -1);
		for (int u = 0; probe_families[k].per_unit && u < VMS_AN_UNIT_COUNT; u++)
			render_probe_family(a, b, k, u);
	}
}

static void
render_overhead(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_overhead_ratio", "gauge",
	    "Seed 000's overhead O_vn as a share of the baseline: mean slowdown - 1 of samples "
	    "taken with other domains up, all idle or some busy (vmscale_domains_busy).");
	static const char *const states[2] = {"idle", "busy"};
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
			for (unsigned s = 0; s < 2; s++) {
				const struct an_domain *d = a->domains[i];
				if (!d->present || !d->probes[p].overhead[s].n)
					continue;
				sample_dp(b, "vmscale_overhead_ratio", d, p);
				vms_buf_printf(b, ",neighbours=\"%s\"}", states[s]);
				value_line(b, d->probes[p].overhead[s].mean);
			}
}

/* Samples the outlier gate kept out (an_baseline.c), per running domain and probe that was
 * fed: from 0, so that the first outlier shows as an increase. */
static void
render_outliers(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_analysis_outliers_total", "counter",
	               "Probe samples kept out of the analysis as outliers: over 10 times (and 5 "
	               "robust standard deviations) off the median of their N_up bucket, and not "
	               "the third such in a row.");
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; a->domains[i]->present && p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_probe *pr = &a->domains[i]->probes[p];
			if (!pr->nbuckets && !pr->outliers)
				continue;
			sample_dp(b, "vmscale_analysis_outliers_total", a->domains[i], p);
			buf_lit(b, "} ");
			vms_buf_u64(b, pr->outliers);
			buf_lit(b, "\n");
		}
}

/* Seed 000's linearity per domain and probe: part k (intercept, slope, R^2) of the probes in
 * `unit` (-1: all). */
static void
render_linearity_part(const struct vms_analysis *a, struct vms_buf *b, unsigned k, int unit)
{
	static const char *const lin[3][2] = {
	    {"vmscale_linearity_intercept",
	     "Seed 000's linearity: fit a + b*N_up of the N_up means: a"},
	    {"vmscale_linearity_slope",
	     "Seed 000's linearity: fit a + b*N_up of the N_up means: b, per domain"},
	    {"vmscale_linearity_r_squared",
	     "Seed 000's linearity: R^2 of the fit (2 levels fit exactly)"}};
	char name[96];
	unit_name(name, sizeof(name), lin[k][0], unit);
	family_with_unit(b, name, lin[k][1], unit);
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_domain *d = a->domains[i];
			struct vms_fit f;
			if (!d->present || !probe_in_unit(p, unit) ||
			    an_probe_linearity(a, &d->probes[p], &f) < 0)
				continue;
			sample_dp(b, name, d, p);
			buf_lit(b, "}");
			value_line(b, k == 0 ? f.intercept : k == 1 ? f.slope : f.r_squared);
		}
}

/* Seed 000's linearity per domain and probe, then seed 001's CPU model error per domain. */
static void
render_linearity(const struct vms_analysis *a, struct vms_buf *b)
{
	for (unsigned k = 0; k < 2; k++)
		for (int u = 0; u < VMS_AN_UNIT_COUNT; u++)
			render_linearity_part(a, b, k, u);
	render_linearity_part(a, b, 2, -1);
	vms_buf_family(b, "vmscale_cpu_model_error_ratio", "gauge",
	               "RMS relative error of the CPU-work slowdown by N_up against seed 001's "
	               "ET(i) = ET_P * max(1, i/P), P = vmscale_host_cpus.");
	for (size_t i = 0; i < a->ndomains; i++) {
		double rms;
		if (!a->domains[i]->present || !an_cpu_model_error(a, a->domains[i], &rms))
			continue;
		domain_line(b, "vmscale_cpu_model_error_ratio", a->domains[i], rms);
	}
}

static void
render_hypervisor(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_host_cpus", "gauge", "Host CPUs: P in seed 001's CPU model.");
	vms_buf_printf(b, "vmscale_host_cpus %u\n", a->cfg.host_cpus);
	vms_buf_family(
	    b, "vmscale_hypervisor_overhead_cpu_seconds_per_second", "gauge",
	    "Host CPU time not spent in guests' vCPUs over the last host interval, in CPU seconds "
	    "per second (QEMU's own threads, the kernel, libvirtd, vmscaled...).");
	if (!isnan(a->overhead_cores)) {
		buf_lit(b, "vmscale_hypervisor_overhead_cpu_seconds_per_second");
		value_line(b, a->overhead_cores);
	}
}

static void
render_startup(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_domain_startup_seconds", "gauge",
	    "From seeing the domain start to its probe's first hello, at its latest start.");
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		if (!d->present || !d->have_startup)
			continue;
		domain_line(b, "vmscale_domain_startup_seconds", d, d->startup_s);
	}
}

static void
render_interference(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_interference_score", "gauge",
	    "For a domain over its warning threshold, its top 3 suspects (neighbour and resource: "
	    "cpu, block, network), one series per evidence that names one: onset (started or "
	    "turned busy when the slowdown began), share (of busy neighbours' use), correlation "
	    "(with the slowdown) or cpi (with the victim's cycles per instruction); 0..1.");
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		for (unsigned k = 0; d->present && k < d->nsuspects; k++)
			for (unsigned e = 0; e < AN_EV_COUNT; e++) {
				const struct an_suspect *sp = &d->suspects[k];
				if (!(sp->score[e] > 0))
					continue;
				buf_lit(b, "vmscale_interference_score{victim=\"");
				vms_buf_label_value(b, d->name);
				buf_lit(b, "\",suspect=\"");
				vms_buf_label_value(b, sp->name);
				vms_buf_printf(b, "\",resource=\"%s\",evidence=\"%s\"}",
				               resource_names[sp->resource], an_evidence_names[e]);
				value_line(b, sp->score[e]);
			}
	}
}

/* The active alerts, then the thresholds they fire at. */
static void
render_alerts(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_alert", "gauge",
	    "1 for each active degradation alert (slowdown over its threshold for alert-for).");
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_domain *d = a->domains[i];
			if (!d->present || d->probes[p].severity == VMS_AN_OK)
				continue;
			sample_dp(b, "vmscale_alert", d, p);
			vms_buf_printf(b, ",severity=\"%s\"} 1\n",
			               an_severity_name(d->probes[p].severity));
		}
	vms_buf_family(
	    b, "vmscale_slowdown_threshold_ratio", "gauge",
	    "Alert thresholds per probe: warning, critical and clear (a warning ends below it).");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const double *t[3] = {a->cfg.warning, a->cfg.critical, a->cfg.clear};
		static const char *const names[3] = {"warning", "critical", "clear"};
		for (unsigned k = 0; k < 3; k++) {
			vms_buf_printf(
			    b, "vmscale_slowdown_threshold_ratio{probe=\"%s\",severity=\"%s\"}",
			    vms_an_probe_name(p), names[k]);
			value_line(b, t[k][p]);
		}
	}
}

/* The analysis' own state: domains tracked, state file saves and load. */
static void
render_state(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_analysis_domains_tracked", "gauge",
	    "Domains with analysis state: running, or stopped within the retention time.");
	vms_buf_printf(b, "vmscale_analysis_domains_tracked %zu\n", a->ndomains);
	vms_buf_family(b, "vmscale_analysis_state_saves_total", "counter",
	               "Writes of the analysis state file by result.");
	vms_buf_printf(b, "vmscale_analysis_state_saves_total{result=\"ok\"} %llu\n",
	               (unsigned long long)a->saves_ok);
	vms_buf_printf(b, "vmscale_analysis_state_saves_total{result=\"error\"} %llu\n",
	               (unsigned long long)a->saves_failed);
	vms_buf_family(
	    b, "vmscale_analysis_state_last_save_timestamp_seconds", "gauge",
	    "When the analysis state was last written (Unix time); 0 before the first write.");
	buf_lit(b, "vmscale_analysis_state_last_save_timestamp_seconds");
	buf_lit(b, " "); /* a timestamp: every digit counts */
	vms_buf_double(b, a->last_save_unix);
	buf_lit(b, "\n");
	vms_buf_family(
	    b, "vmscale_analysis_state_loaded", "gauge",
	    "How the analysis state was found at start: loaded, absent or unusable (moved aside).");
	if (a->load_result != -2)
		vms_buf_printf(b, "vmscale_analysis_state_loaded{result=\"%s\"} 1\n",
		               a->load_result == 0   ? "loaded"
		               : a->load_result == 1 ? "absent"
		                                     : "unusable");
}

void
vms_analysis_render(const struct vms_analysis *a, const struct vms_store *st, struct vms_buf *b,
                    uint64_t now_ns)
{
	(void)now_ns;
	render_domain_probes(a, b);
	render_overhead(a, b);
	render_outliers(a, b);
	render_linearity(a, b);
	render_hypervisor(a, b);
	render_host_series(a, b);
	render_startup(a, b);
	render_capacity(a, st, b);
	render_interference(a, b);
	render_alerts(a, b);
	render_state(a, b);
}

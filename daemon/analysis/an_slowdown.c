/* The slowdown of every probe against its baseline, and the alerts on it: hysteresis, the log
 * of every transition. */
#include <math.h>
#include <stdio.h>

#include "daemon/analysis/an_internal.h"

const char *
an_severity_name(enum vms_an_severity s)
{
	return s == VMS_AN_CRITICAL ? "critical" : s == VMS_AN_WARNING ? "warning" : "ok";
}

void
an_log_transition(const struct an_domain *d, unsigned probe, enum vms_an_severity from,
                  enum vms_an_severity to, double slowdown, size_t n_up, const char *why)
{
	char sd[32], nu[32];
	snprintf(sd, sizeof(sd), "%.3f", slowdown);
	if (n_up)
		snprintf(nu, sizeof(nu), "%zu", n_up);
	else
		snprintf(nu, sizeof(nu), "?"); /* not known to the caller */
	const char *fields[] = {"PROBE",    vms_an_probe_name(probe), "SLOWDOWN", sd, "N_UP", nu,
	                        "SEVERITY", an_severity_name(to),     NULL};
	if (to > from)
		vms_log_fields(to == VMS_AN_CRITICAL ? LOG_CRIT : LOG_WARNING, d->name, fields,
		               "alert %s firing: probe %s slowdown %s at N_up %s (was %s)",
		               an_severity_name(to), vms_an_probe_name(probe), sd, nu,
		               an_severity_name(from));
	else
		vms_log_fields(
		    LOG_NOTICE, d->name, fields, "alert %s %s: probe %s slowdown %s at N_up %s%s%s",
		    an_severity_name(from), to == VMS_AN_OK ? "resolved" : "eased to warning",
		    vms_an_probe_name(probe), sd, nu, why ? ": " : "", why ? why : "");
}

/*
 * Netdata's hysteresis: warning fires at slowdown >= warning held for alert-for and ends only
 * below clear; critical fires at >= critical held as long and eases to warning below the
 * warning threshold. No fresh value: the state holds. CPI²'s rule on top: the condition holds
 * only while at least AN_MIN_OUTSIDE values of the window left the normal range, never on one
 * value; and a probe whose baseline is too noisy to tell a threshold from its noise is not
 * judged at all (an alert it had resolves).
 */
#define AN_MIN_OUTSIDE 2
void
an_evaluate_alert(struct vms_analysis *a, struct an_domain *d, unsigned probe, uint64_t now_ns,
                  size_t n_up)
{
	if (isnan(d->probes[probe].slowdown))
		return; /* the blank state among others: nothing to judge, nothing written */
	struct an_probe *p = &an_probes_mut(d)[probe];
	double s = p->slowdown;
	double warn = a->cfg.warning[probe], crit = a->cfg.critical[probe],
	       clear = a->cfg.clear[probe];
	bool judged = !p->too_noisy && p->outside >= AN_MIN_OUTSIDE;
	/* The condition began with the oldest of the values outside, not with the second. */
	uint64_t began =
	    p->outside_since_ns && p->outside_since_ns <= now_ns ? p->outside_since_ns : now_ns;
	p->warn_since_ns = judged && s >= warn ? (p->warn_since_ns ? p->warn_since_ns : began) : 0;
	p->crit_since_ns = judged && s >= crit ? (p->crit_since_ns ? p->crit_since_ns : began) : 0;
	enum vms_an_severity to = p->severity;
	if (p->crit_since_ns && now_ns - p->crit_since_ns >= a->cfg.alert_for_ns)
		to = VMS_AN_CRITICAL;
	else if (p->warn_since_ns && now_ns - p->warn_since_ns >= a->cfg.alert_for_ns &&
	         to < VMS_AN_WARNING)
		to = VMS_AN_WARNING;
	if (to == VMS_AN_CRITICAL && s < warn)
		to = VMS_AN_WARNING;
	if (to >= VMS_AN_WARNING && (s < clear || p->too_noisy))
		to = VMS_AN_OK;
	if (to != p->severity) {
		an_log_transition(d, probe, p->severity, to, s, n_up,
		                  p->too_noisy ? "the baseline is too noisy to judge" : NULL);
		p->severity = to;
		an_changed(a);
	}
	/* A condition held long enough fires with no new value: time alone. */
	if (p->crit_since_ns && p->severity < VMS_AN_CRITICAL)
		an_due_at(a, p->crit_since_ns + a->cfg.alert_for_ns);
	if (p->warn_since_ns && p->severity < VMS_AN_WARNING)
		an_due_at(a, p->warn_since_ns + a->cfg.alert_for_ns);
}

/* The moment the oldest value in the window (at or after since_ns) leaves it, which may move
 * the median; UINT64_MAX when the window holds none. */
static uint64_t
window_turns_at(const struct vms_window *w, uint64_t since_ns, uint64_t window_ns)
{
	uint64_t oldest = UINT64_MAX;
	for (unsigned i = 0; i < w->n; i++) {
		uint64_t at;
		vms_window_get(w, i, &at, NULL);
		if (at >= since_ns && at < oldest)
			oldest = at;
	}
	/* vms_window_median keeps a value while at >= now - window. */
	return oldest == UINT64_MAX ? oldest : oldest + window_ns + 1;
}

static bool
same_value(double x, double y)
{
	return x == y || (isnan(x) && isnan(y));
}

static bool
any_probe_value(const struct vms_domain *d)
{
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const struct vms_probe_value *pv = an_probe_value(&d->probe, p);
		if (pv && pv->have)
			return true;
	}
	return false;
}

/* Values of the window (at or after since_ns, widened to the newest min_count) outside the
 * normal range: oriented slowdown at or above upper. */
static void
count_outside(struct an_probe *pr, unsigned p, uint64_t since_ns, unsigned min_count, double upper)
{
	pr->outside = 0;
	for (unsigned i = 0; i < pr->recent.n; i++) {
		uint64_t at;
		double v;
		vms_window_get(&pr->recent, i, &at, &v);
		if (at < since_ns && i >= min_count)
			break; /* newest first: the rest are older still */
		if (an_oriented(p, pr->baseline, v) >= upper) {
			pr->outside++;
			pr->outside_since_ns = at; /* the oldest so far */
		}
	}
}

/* The baseline's spread, whether it is too noisy to judge (logged when that changes), and
 * the values of the window outside the normal range: beyond 2 robust standard deviations of
 * the baseline, and never within the clear threshold. */
static void
judge_spread(struct vms_analysis *a, const struct an_domain *ad, struct an_probe *pr, unsigned p,
             uint64_t since_ns)
{
	if (!pr->spread_valid) {
		bool was = pr->too_noisy;
		an_baseline_spread(pr);
		pr->too_noisy =
		    isfinite(pr->baseline_cv) && 1 + 2 * pr->baseline_cv >= a->cfg.warning[p];
		if (pr->too_noisy != was) {
			vms_log(pr->too_noisy ? LOG_WARNING : LOG_NOTICE, ad->name,
			        "probe %s: baseline %s (coefficient of variation %.3f; the warning "
			        "threshold %.3g needs under %.3f)",
			        vms_an_probe_name(p),
			        pr->too_noisy ? "too noisy to judge, no alerts until it settles"
			                      : "steady enough to judge again",
			        pr->baseline_cv, a->cfg.warning[p], (a->cfg.warning[p] - 1) / 2);
			an_changed(a);
		}
	}
	double upper =
	    fmax(a->cfg.clear[p], 1 + 2 * (isfinite(pr->baseline_cv) ? pr->baseline_cv : 0));
	/* At least the newest AN_MIN_OUTSIDE values, whatever the window holds. */
	unsigned newest = a->cfg.window_min > AN_MIN_OUTSIDE ? a->cfg.window_min : AN_MIN_OUTSIDE;
	count_outside(pr, p, since_ns, newest, upper);
}

/* Each probe's new value fed in (if any), its slowdown over the window, its alert. */
void
an_update_probes(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
                 uint64_t now_ns, size_t n_up, bool neighbours_busy)
{
	/* No value ever: the shared blank state stays, there is nothing to judge (every domain
	 * without a probe agent, every interval). */
	if (!ad->own_probes && !any_probe_value(d))
		return;
	struct an_probe *probes = an_probes_mut(ad);
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		struct an_probe *pr = &probes[p];
		const struct vms_probe_value *pv = an_probe_value(&d->probe, p);
		if (pv && pv->have && pv->at_ns > pr->fed_at_ns) {
			pr->fed_at_ns = pv->at_ns;
			an_feed(a, pr, p, pv->value, pv->at_ns, (uint32_t)n_up, neighbours_busy);
			an_changed(a); /* fed or not (a value an_feed refuses): when in doubt */
		}
		/* No baseline, no slowdown: the window's median is not needed (most probes of a
		 * domain without a probe agent, every interval). */
		uint64_t since = now_ns > a->cfg.window_ns ? now_ns - a->cfg.window_ns : 0;
		double slowdown = NAN;
		if (pr->have_baseline) {
			/* At least window_min values: probes run every 5 minutes leave one or two
			 * in the window, and one odd value must not decide a slowdown alone. */
			double cur =
			    vms_window_median_min(&pr->recent, since, a->cfg.window_min, NULL);
			slowdown = an_oriented(p, pr->baseline, cur);
			an_due_at(a, window_turns_at(&pr->recent, since, a->cfg.window_ns));
			judge_spread(a, ad, pr, p, since);
		}
		if (!same_value(slowdown, pr->slowdown))
			an_changed(a);
		pr->slowdown = slowdown;
		an_evaluate_alert(a, ad, p, now_ns, n_up);
	}
}

/* A domain stopped: its alerts end (logged) and its slowdown window empties. */
void
an_end_alerts(struct an_domain *ad, size_t n_up)
{
	for (unsigned p = 0; ad->own_probes && p < VMS_AN_PROBE_COUNT; p++) {
		struct an_probe *pr = &ad->own_probes[p];
		if (pr->severity != VMS_AN_OK)
			an_log_transition(ad, p, pr->severity, VMS_AN_OK, pr->slowdown, n_up,
			                  "the domain stopped");
		pr->severity = VMS_AN_OK;
		pr->warn_since_ns = pr->crit_since_ns = 0;
		pr->slowdown = NAN;
		pr->recent.n = pr->recent.head = 0;
	}
}

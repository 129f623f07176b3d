/* The control socket's analysis commands: status and baseline list, pin, unpin, reset. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"

static bool
domain_matches(const struct an_domain *d, const char *who)
{
	size_t n = strlen(who);
	return strcmp(d->name, who) == 0 || strcmp(d->key, who) == 0 ||
	       (n == VMS_UUID_LEN && strncmp(d->key, who, n) == 0 &&
	        (d->key[n] == '\0' || d->key[n] == '@'));
}

static void
list_probe(struct vms_buf *out, const struct an_domain *d, unsigned p)
{
	const struct an_probe *pr = &d->probes[p];
	uint64_t samples = 0;
	for (unsigned k = 0; k < pr->nbuckets; k++)
		samples += pr->buckets[k].w.n;
	vms_buf_printf(out, "%s %s ", d->name, vms_an_probe_name(p));
	if (pr->have_baseline)
		vms_buf_printf(out, "baseline=%.9g n_up=%u pinned=%s", pr->baseline,
		               pr->baseline_n_up, pr->pinned ? "yes" : "no");
	else
		vms_buf_printf(out, "baseline=none");
	if (isfinite(pr->slowdown))
		vms_buf_printf(out, " slowdown=%.3f", pr->slowdown);
	vms_buf_printf(out, " samples=%llu alert=%s%s\n", (unsigned long long)samples,
	               an_severity_name(pr->severity), d->present ? "" : " (not running)");
}

static void
control_status(const struct vms_analysis *a, struct vms_buf *out)
{
	size_t present = 0, baselines = 0, alerts = 0, pinned = 0;
	for (size_t i = 0; i < a->ndomains; i++) {
		present += a->domains[i]->present;
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			baselines += a->domains[i]->probes[p].have_baseline;
			pinned += a->domains[i]->probes[p].pinned;
			alerts += a->domains[i]->probes[p].severity != VMS_AN_OK;
		}
	}
	vms_buf_printf(out,
	               "domains tracked %zu (running %zu)\nbaselines %zu (pinned %zu)\n"
	               "alerts active %zu\nstate saves ok %llu, failed %llu\n",
	               a->ndomains, present, baselines, pinned, alerts,
	               (unsigned long long)a->saves_ok, (unsigned long long)a->saves_failed);
}

/* One baseline verb on one probe of a domain: 1 when it changed it, 0 when there was nothing
 * to do (or to change: list), -1 with err set. one_probe: the operator named the probe. */
static int
baseline_verb(struct vms_analysis *a, struct an_domain *d, unsigned p, const char *verb,
              bool one_probe, struct vms_buf *out, char *err, size_t errsz)
{
	/* Read through probes; written only where a baseline, a pin or buckets exist, which the
	 * shared blank state never has. */
	const struct an_probe *seen = &d->probes[p];
	if (strcmp(verb, "list") == 0) {
		if (seen->have_baseline || seen->nbuckets)
			list_probe(out, d, p);
		return 0;
	}
	if (strcmp(verb, "pin") == 0) {
		if (!seen->have_baseline) {
			if (one_probe) {
				snprintf(err, errsz, "%s has no %s baseline yet", d->name,
				         vms_an_probe_name(p));
				return -1;
			}
			return 0;
		}
		struct an_probe *pr = &an_probes_mut(d)[p];
		pr->pinned = true;
		pr->spread_valid = false;
		an_changed_pending(a);
		vms_buf_printf(out, "pinned %s %s at %.9g (N_up %u)\n", d->name,
		               vms_an_probe_name(p), pr->baseline, pr->baseline_n_up);
		return 1;
	}
	if (strcmp(verb, "unpin") == 0) {
		if (!seen->pinned)
			return 0;
		struct an_probe *pr = &an_probes_mut(d)[p];
		pr->pinned = false;
		pr->spread_valid = false;
		an_choose_baseline(a, pr);
		an_changed_pending(a); /* the slowdown against the baseline chosen again */
		vms_buf_printf(out, "unpinned %s %s\n", d->name, vms_an_probe_name(p));
		return 1;
	}
	if (!seen->have_baseline && !seen->nbuckets)
		return 0;
	struct an_probe *pr = &an_probes_mut(d)[p];
	if (pr->severity != VMS_AN_OK)
		an_log_transition(d, p, pr->severity, VMS_AN_OK, pr->slowdown, 0,
		                  "baseline reset by an operator");
	an_reset_probe(pr);
	an_changed_pending(a);
	vms_buf_printf(out, "reset %s %s\n", d->name, vms_an_probe_name(p));
	return 1;
}

int
vms_analysis_control(void *opaque, int argc, char **argv, struct vms_buf *out, char *err,
                     size_t errsz)
{
	struct vms_analysis *a = opaque;
	if (argc >= 1 && strcmp(argv[0], "status") == 0 && argc == 1) {
		control_status(a, out);
		return 0;
	}
	if (argc < 2 || strcmp(argv[0], "baseline") != 0) {
		snprintf(err, errsz, "unknown command (status, baseline list|pin|unpin|reset)");
		return -1;
	}
	const char *verb = argv[1];
	bool list = strcmp(verb, "list") == 0;
	if (!list && strcmp(verb, "pin") && strcmp(verb, "unpin") && strcmp(verb, "reset")) {
		snprintf(err, errsz, "unknown baseline command '%.40s' (list, pin, unpin, reset)",
		         verb);
		return -1;
	}
	if ((list && argc > 3) || (!list && (argc < 3 || argc > 4))) {
		snprintf(err, errsz,
		         list ? "usage: baseline list [DOMAIN]"
		              : "usage: baseline %s DOMAIN [PROBE]",
		         verb);
		return -1;
	}
	const char *who = argc >= 3 ? argv[2] : NULL;
	int probe = -1;
	if (!list && argc == 4 && (probe = vms_an_probe_from_name(argv[3])) < 0) {
		snprintf(err, errsz, "unknown probe '%.40s'", argv[3]);
		return -1;
	}
	size_t matched = 0, changed = 0;
	for (size_t i = 0; i < a->ndomains; i++) {
		struct an_domain *d = a->domains[i];
		if (who && !domain_matches(d, who))
			continue;
		matched++;
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			if (probe >= 0 && (unsigned)probe != p)
				continue;
			int rc = baseline_verb(a, d, p, verb, probe >= 0, out, err, errsz);
			if (rc < 0)
				return -1;
			changed += (size_t)rc;
		}
	}
	if (who && !matched) {
		snprintf(err, errsz, "no domain '%.60s' (name or UUID)", who);
		return -1;
	}
	if (!list) {
		if (!changed) {
			snprintf(err, errsz, "nothing to %s", verb);
			return -1;
		}
		vms_log(LOG_NOTICE, who, "control: baseline %s%s%s: %zu probe(s)", verb,
		        probe >= 0 ? " " : "", probe >= 0 ? vms_an_probe_name(probe) : "", changed);
	}
	return 0;
}

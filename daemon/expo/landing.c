/* The landing page at / (see expo.h): a table of domains and the live slowdown plots. */
#include "daemon/expo/expo.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "daemon/analysis/analysis.h"
#include "daemon/util/buf.h"
#include "daemon/util/svgplot.h"

/* Since the guest booted, from the probe's split, else the guest agent's. */
static double
guest_busy_percent(const struct vms_cpu_report *c)
{
	uint64_t total = 0;
	for (unsigned m = 0; m < c->nmodes && m < VMS_CPU_GUEST; m++)
		total += c->ticks[m];
	uint64_t idle =
	    c->ticks[VMS_CPU_IDLE] + (c->nmodes > VMS_CPU_IOWAIT ? c->ticks[VMS_CPU_IOWAIT] : 0);
	return total ? 100.0 * (double)(total - idle) / (double)total : NAN;
}

/* "NAME: slowdown vs N_up"; a name too long for the title is cut between characters, never
 * inside one, and the cut marked with an ellipsis. */
static void
landing_plot_title(char *title, size_t size, const char *name)
{
	static const char what[] = ": slowdown vs N_up", ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
	size_t room = size - sizeof(what); /* sizeof counts the NUL */
	if (strlen(name) <= room) {
		snprintf(title, size, "%s%s", name, what);
		return;
	}
	size_t keep = vms_utf8_prefix_len(name, room - (sizeof(ellipsis) - 1));
	snprintf(title, size, "%.*s%s%s", (int)keep, name, ellipsis, what);
}

/* Each domain's slowdown against N_up, one line per probe with a baseline: the live seed plot. */
static void
landing_plot(struct vms_buf *b, const struct vms_analysis *a, const struct vms_domain *d)
{
	static struct vms_svg_plot plot; /* large; the event loop is the only caller */
	memset(&plot, 0, sizeof(plot));
	char title[160];
	landing_plot_title(title, sizeof(title), d->name);
	plot.title = title;
	plot.x_label = "N_up (running domains)";
	plot.y_label = "slowdown (1 = baseline)";
	plot.y_min = 1;
	plot.integer_x = true;
	plot.width = 420;
	plot.height = 220;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT && plot.nseries < VMS_SVG_MAX_SERIES; p++) {
		struct vms_an_point pts[VMS_SVG_MAX_POINTS];
		unsigned n = vms_analysis_domain_curve(a, d->key, p, pts, VMS_SVG_MAX_POINTS);
		if (!n)
			continue;
		struct vms_svg_series *se = &plot.series[plot.nseries++];
		se->name = vms_an_probe_name(p);
		se->n = n;
		for (unsigned i = 0; i < n; i++) {
			se->x[i] = pts[i].n_up;
			se->y[i] = pts[i].slowdown;
		}
	}
	plot.refs[plot.nrefs++] = (struct vms_svg_ref){
	    "warning", vms_analysis_threshold(a, VMS_AN_CPU_WORK, VMS_AN_WARNING)};
	vms_svg_line_plot(b, &plot);
}

void
vms_expo_landing(struct vms_buf *b, const struct vms_store *st, const char *version,
                 const struct vms_analysis *a, uint64_t now_ns)
{
	static const char head[] =
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>vmscaled</title><style>body{font-family:sans-serif;margin:2em}"
	    "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ccc;"
	    "text-align:left}.up{color:#070}.down{color:#b00}.warning{color:#b60}"
	    ".critical{color:#b00;font-weight:bold}.plots{display:flex;flex-wrap:wrap;gap:1em}"
	    "</style></head><body>\n";
	vms_buf_append(b, head, sizeof(head) - 1);
	vms_buf_printf(b, "<h1>vmscaled ");
	vms_buf_html(b, version);
	vms_buf_printf(b, "</h1>\n<p>libvirt");
	for (size_t i = 0; i < st->nconns; i++) {
		const struct vms_conn *c = st->conns[i];
		vms_buf_printf(b, "%s <b>", i ? "," : "");
		vms_buf_html(b, c->uri);
		vms_buf_printf(b, "</b>: <span class=\"%s\">%s</span>", c->up ? "up" : "down",
		               c->up ? "connected" : "not connected");
	}
	size_t alerts = 0;
	for (size_t i = 0; a && i < st->ndomains; i++) {
		struct vms_an_domain_view v;
		if (vms_analysis_domain_view(a, st->domains[i]->key, &v))
			alerts += v.alerts;
	}
	vms_buf_printf(b,
	               ". N_up = <b>%zu</b> running domains, %zu busy, "
	               "%zu probes up, %zu degradation alerts. Metrics: <a "
	               "href=\"/metrics\">/metrics</a>.</p>\n",
	               st->ndomains, vms_store_domains_busy(st), vms_store_probes_up(st, now_ns),
	               alerts);
	vms_buf_printf(b, "<table><tr><th>domain</th><th>uuid</th><th>probe</th><th>version</th>"
	                  "<th>guest CPUs</th><th>busy since boot</th><th>reports</th>"
	                  "<th>worst slowdown</th><th>alerts</th></tr>\n");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		bool up = vms_probe_is_up(st, d, now_ns);
		vms_buf_printf(b, "<tr><td>");
		vms_buf_html(b, d->name);
		vms_buf_printf(b, "</td><td>%s</td><td class=\"%s\">%s</td><td>", d->uuid,
		               up ? "up" : "down",
		               up                                   ? "up"
		               : !d->channel_path && !d->socket_dir ? "no channel"
		               : d->probe_excluded                  ? "excluded"
		                                                    : "down");
		if (d->probe.hello)
			vms_buf_html(b, d->probe.info.probe_version);
		struct vms_passive p = vms_domain_passive(d);
		if (p.source == VMS_SOURCE_AGENT)
			vms_buf_printf(b, "(guest agent)");
		if (p.have_cpu)
			vms_buf_printf(b, "</td><td>%u</td><td>%.1f %%</td>", p.cpu->ncpu,
			               guest_busy_percent(p.cpu));
		else
			vms_buf_printf(b, "</td><td></td><td></td>");
		vms_buf_printf(b, "<td>%llu</td>", (unsigned long long)d->probe.reports_total);
		struct vms_an_domain_view v;
		bool viewed = a && vms_analysis_domain_view(a, d->key, &v);
		if (viewed && isfinite(v.worst_slowdown))
			vms_buf_printf(b, "<td>%.2f (%s)</td>", v.worst_slowdown,
			               vms_an_probe_name(v.worst_probe));
		else if (viewed && v.baselines)
			vms_buf_printf(b, "<td>no recent sample</td>");
		else
			vms_buf_printf(b, "<td>no baseline yet</td>");
		if (viewed && v.alerts)
			vms_buf_printf(b, "<td class=\"%s\">%u %s</td></tr>\n",
			               v.severity == VMS_AN_CRITICAL ? "critical" : "warning",
			               v.alerts,
			               v.severity == VMS_AN_CRITICAL ? "critical" : "warning");
		else
			vms_buf_printf(b, "<td>none</td></tr>\n");
	}
	vms_buf_printf(b, "</table>\n");
	if (a && st->ndomains) {
		vms_buf_printf(
		    b,
		    "<h2>Slowdown vs N_up</h2>\n<p>Each probe's mean at every N_up "
		    "level against the domain's baseline (1 = as at the baseline; the "
		    "dashed line is the CPU-work warning threshold).</p>\n<div class=\"plots\">\n");
		for (size_t i = 0; i < st->ndomains; i++) {
			landing_plot(b, a, st->domains[i]);
			vms_buf_append(b, "\n", 1);
		}
		vms_buf_printf(b, "</div>\n");
	}
	vms_buf_printf(b, "</body></html>\n");
}

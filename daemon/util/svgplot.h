/*
 * A small inline SVG line plot for the landing page: a few named series of (x, y) points,
 * axes with ticks, a legend and optional horizontal reference lines (thresholds). No script,
 * no external resource; every name is escaped. Deterministic output, so tests can pin it.
 */
#ifndef VMSCALE_SVGPLOT_H
#define VMSCALE_SVGPLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/util/buf.h"

#define VMS_SVG_MAX_SERIES 16
#define VMS_SVG_MAX_POINTS 64
#define VMS_SVG_MAX_REFS 4

struct vms_svg_series {
	const char *name;
	unsigned n;
	double x[VMS_SVG_MAX_POINTS], y[VMS_SVG_MAX_POINTS];
};

struct vms_svg_ref {
	const char *name; /* drawn at the right end of the dashed line */
	double y;
};

struct vms_svg_plot {
	const char *title; /* also the accessible name (aria-label) */
	const char *x_label, *y_label;
	unsigned width, height; /* pixels; 0 = 360 x 200 */
	unsigned nseries, nrefs;
	struct vms_svg_series series[VMS_SVG_MAX_SERIES];
	struct vms_svg_ref refs[VMS_SVG_MAX_REFS];
	double y_min;   /* the y axis starts here unless a value is lower (e.g. 1 for ratios) */
	bool integer_x; /* x ticks at whole numbers only (N_up) */
};

/* Appends <svg>...</svg>. Non-finite points are skipped; with no point at all the plot says
 * "no data yet" instead of drawing axes over nothing. */
void vms_svg_line_plot(struct vms_buf *b, const struct vms_svg_plot *p);

#endif

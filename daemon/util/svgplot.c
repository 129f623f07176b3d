/* Inline SVG line plots for the landing page (see svgplot.h). */
#include "daemon/util/svgplot.h"

#include <math.h>
#include <stdio.h>

/* Colour-blind-safe palette (Okabe-Ito), then greys. */
static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
				      "#56b4e9", "#000000", "#f0e442", "#666666", "#999999"};

#define buf_lit(b, s) vms_buf_append((b), (s), sizeof(s) - 1) /* a literal, its length counted */
#define MARGIN_LEFT 52
#define MARGIN_TOP 26
#define MARGIN_BOTTOM 38
#define LEGEND_WIDTH 128

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals over span. */
static double
nice_step(double span, unsigned want)
{
	double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

static void
text(struct vms_buf *b, double x, double y, const char *anchor, const char *extra,
     const char *s)
{
	vms_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, extra);
	vms_buf_html(b, s);
	buf_lit(b, "</text>");
}

void
vms_svg_line_plot(struct vms_buf *b, const struct vms_svg_plot *p)
{
	unsigned w = p->width ? p->width : 360, h = p->height ? p->height : 200;
	double x0 = INFINITY, x1 = -INFINITY, y0 = p->y_min, y1 = -INFINITY;
	unsigned points = 0;
	for (unsigned s = 0; s < p->nseries && s < VMS_SVG_MAX_SERIES; s++)
		for (unsigned i = 0; i < p->series[s].n && i < VMS_SVG_MAX_POINTS; i++) {
			double x = p->series[s].x[i], y = p->series[s].y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			points++;
			x0 = fmin(x0, x);
			x1 = fmax(x1, x);
			y0 = fmin(y0, y);
			y1 = fmax(y1, y);
		}
	vms_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
			  "viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"", w, h, w, h);
	vms_buf_html(b, p->title);
	vms_buf_printf(b, "\" font-family=\"sans-serif\" font-size=\"11\">");
	text(b, (MARGIN_LEFT + (double)w - LEGEND_WIDTH) / 2, 15, /* over the plot area */
	     "middle", " font-weight=\"bold\"", p->title);
	if (!points) {
		text(b, w / 2.0, h / 2.0, "middle", " fill=\"#888\"", "no data yet");
		buf_lit(b, "</svg>");
		return;
	}
	for (unsigned r = 0; r < p->nrefs && r < VMS_SVG_MAX_REFS; r++)
		if (isfinite(p->refs[r].y)) {
			y0 = fmin(y0, p->refs[r].y);
			y1 = fmax(y1, p->refs[r].y);
		}
	if (x1 - x0 < 1e-12) {
		/* One level: N_up cannot go below it meaningfully (no "0 running domains"). */
		if (!p->integer_x)
			x0 -= 1;
		x1 += 1;
	}
	if (y1 - y0 < 1e-12)
		y1 = y0 + 1;
	double ystep = nice_step(y1 - y0, 4);
	y0 = floor(y0 / ystep) * ystep;
	y1 = ceil(y1 / ystep) * ystep;
	double xstep = nice_step(x1 - x0, 6);
	if (p->integer_x && xstep < 1)
		xstep = 1;
	double left = MARGIN_LEFT, right = w - LEGEND_WIDTH, top = MARGIN_TOP,
	       bottom = h - MARGIN_BOTTOM;
#define PX(x) (left + ((x) - x0) / (x1 - x0) * (right - left))
#define PY(y) (bottom - ((y) - y0) / (y1 - y0) * (bottom - top))
	/* Grid and ticks. */
	char label[32];
	for (double y = y0; y <= y1 + ystep / 2; y += ystep) {
		vms_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				  "stroke=\"#ddd\"/>", left, PY(y), right, PY(y));
		snprintf(label, sizeof(label), "%g", fabs(y) < ystep / 1e6 ? 0.0 : y);
		text(b, left - 4, PY(y) + 4, "end", "", label);
	}
	for (double x = ceil(x0 / xstep) * xstep; x <= x1 + xstep / 1e6; x += xstep) {
		vms_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				  "stroke=\"#888\"/>", PX(x), bottom, PX(x), bottom + 4);
		snprintf(label, sizeof(label), "%g", x);
		text(b, PX(x), bottom + 15, "middle", "", label);
	}
	vms_buf_printf(b, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#444\"/>", left,
		       top, bottom, right);
	if (p->x_label)
		text(b, (left + right) / 2, h - 6, "middle", "", p->x_label);
	if (p->y_label) {
		vms_buf_printf(b, "<g transform=\"translate(12 %.1f) rotate(-90)\">", (top + bottom) / 2);
		text(b, 0, 0, "middle", "", p->y_label);
		buf_lit(b, "</g>");
	}
	for (unsigned r = 0; r < p->nrefs && r < VMS_SVG_MAX_REFS; r++) {
		if (!isfinite(p->refs[r].y))
			continue;
		vms_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				  "stroke=\"#b00\" stroke-dasharray=\"4 3\"/>",
			       left, PY(p->refs[r].y), right, PY(p->refs[r].y));
		/* The label inside the plot, at the left (low N_up: usually below the lines there)
		 * above its line, or under it at the top: the legend column stays the legend's. */
		if (p->refs[r].name) {
			double ry = PY(p->refs[r].y);
			text(b, left + 4, ry - top >= 12 ? ry - 3 : ry + 11, "start", " fill=\"#b00\"",
			     p->refs[r].name);
		}
	}
	/* Series: a polyline through the finite points, a dot on each, a legend entry. */
	unsigned legend = 0;
	for (unsigned s = 0; s < p->nseries && s < VMS_SVG_MAX_SERIES; s++) {
		const struct vms_svg_series *se = &p->series[s];
		const char *colour = palette[s % (sizeof(palette) / sizeof(palette[0]))];
		unsigned drawn = 0;
		vms_buf_printf(b, "<g stroke=\"%s\" fill=\"%s\"><title>", colour, colour);
		vms_buf_html(b, se->name);
		buf_lit(b, "</title><polyline fill=\"none\" stroke-width=\"1.5\" points=\"");
		for (unsigned i = 0; i < se->n && i < VMS_SVG_MAX_POINTS; i++)
			if (isfinite(se->x[i]) && isfinite(se->y[i]))
				vms_buf_printf(b, "%s%.1f,%.1f", drawn++ ? " " : "", PX(se->x[i]),
					       PY(se->y[i]));
		buf_lit(b, "\"/>");
		for (unsigned i = 0; i < se->n && i < VMS_SVG_MAX_POINTS; i++)
			if (isfinite(se->x[i]) && isfinite(se->y[i]))
				vms_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
					       PX(se->x[i]), PY(se->y[i]));
		buf_lit(b, "</g>");
		if (!drawn)
			continue;
		double ly = top + 12 + 14.0 * legend++;
		vms_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"3\" fill=\"%s\"/>",
			       right + 8, ly - 4, colour);
		text(b, right + 22, ly, "start", "", se->name);
	}
#undef PX
#undef PY
	buf_lit(b, "</svg>");
}

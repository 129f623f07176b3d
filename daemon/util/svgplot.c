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
text(struct vms_buf *b, double x, double y, const char *anchor, const char *extra, const char *s)
{
	vms_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, extra);
	vms_buf_html(b, s);
	buf_lit(b, "</text>");
}

/* The plot area in pixels and the data range it shows. */
struct frame {
	unsigned w, h;
	double x0, x1, y0, y1;
	double left, right, top, bottom;
};

static double
px(const struct frame *f, double x)
{
	return f->left + (x - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double
py(const struct frame *f, double y)
{
	return f->bottom - (y - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top);
}

/* The range of the finite points into f; their count. */
static unsigned
data_range(const struct vms_svg_plot *p, struct frame *f)
{
	unsigned points = 0;
	f->x0 = INFINITY;
	f->x1 = -INFINITY;
	f->y0 = p->y_min;
	f->y1 = -INFINITY;
	for (unsigned s = 0; s < p->nseries && s < VMS_SVG_MAX_SERIES; s++)
		for (unsigned i = 0; i < p->series[s].n && i < VMS_SVG_MAX_POINTS; i++) {
			double x = p->series[s].x[i], y = p->series[s].y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			points++;
			f->x0 = fmin(f->x0, x);
			f->x1 = fmax(f->x1, x);
			f->y0 = fmin(f->y0, y);
			f->y1 = fmax(f->y1, y);
		}
	return points;
}

/* Widens the range to the reference lines and to whole steps; the steps into xstep, ystep. */
static void
fit_range(const struct vms_svg_plot *p, struct frame *f, double *xstep, double *ystep)
{
	for (unsigned r = 0; r < p->nrefs && r < VMS_SVG_MAX_REFS; r++)
		if (isfinite(p->refs[r].y)) {
			f->y0 = fmin(f->y0, p->refs[r].y);
			f->y1 = fmax(f->y1, p->refs[r].y);
		}
	if (f->x1 - f->x0 < 1e-12) {
		/* One level: N_up cannot go below it meaningfully (no "0 running domains"). */
		if (!p->integer_x)
			f->x0 -= 1;
		f->x1 += 1;
	}
	if (f->y1 - f->y0 < 1e-12)
		f->y1 = f->y0 + 1;
	*ystep = nice_step(f->y1 - f->y0, 4);
	f->y0 = floor(f->y0 / *ystep) * *ystep;
	f->y1 = ceil(f->y1 / *ystep) * *ystep;
	*xstep = nice_step(f->x1 - f->x0, 6);
	if (p->integer_x && *xstep < 1)
		*xstep = 1;
	f->left = MARGIN_LEFT;
	f->right = f->w - LEGEND_WIDTH;
	f->top = MARGIN_TOP;
	f->bottom = f->h - MARGIN_BOTTOM;
}

/* Grid, ticks, the axes and their labels. */
static void
draw_axes(struct vms_buf *b, const struct vms_svg_plot *p, const struct frame *f, double xstep,
          double ystep)
{
	char label[32];
	for (double y = f->y0; y <= f->y1 + ystep / 2; y += ystep) {
		vms_buf_printf(b,
		               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		               "stroke=\"#ddd\"/>",
		               f->left, py(f, y), f->right, py(f, y));
		snprintf(label, sizeof(label), "%g", fabs(y) < ystep / 1e6 ? 0.0 : y);
		text(b, f->left - 4, py(f, y) + 4, "end", "", label);
	}
	for (double x = ceil(f->x0 / xstep) * xstep; x <= f->x1 + xstep / 1e6; x += xstep) {
		vms_buf_printf(b,
		               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		               "stroke=\"#888\"/>",
		               px(f, x), f->bottom, px(f, x), f->bottom + 4);
		snprintf(label, sizeof(label), "%g", x);
		text(b, px(f, x), f->bottom + 15, "middle", "", label);
	}
	vms_buf_printf(b, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#444\"/>",
	               f->left, f->top, f->bottom, f->right);
	if (p->x_label)
		text(b, (f->left + f->right) / 2, f->h - 6, "middle", "", p->x_label);
	if (p->y_label) {
		vms_buf_printf(b, "<g transform=\"translate(12 %.1f) rotate(-90)\">",
		               (f->top + f->bottom) / 2);
		text(b, 0, 0, "middle", "", p->y_label);
		buf_lit(b, "</g>");
	}
}

/* Dashed reference lines (thresholds), each labelled inside the plot. */
static void
draw_refs(struct vms_buf *b, const struct vms_svg_plot *p, const struct frame *f)
{
	for (unsigned r = 0; r < p->nrefs && r < VMS_SVG_MAX_REFS; r++) {
		if (!isfinite(p->refs[r].y))
			continue;
		double ry = py(f, p->refs[r].y);
		vms_buf_printf(b,
		               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		               "stroke=\"#b00\" stroke-dasharray=\"4 3\"/>",
		               f->left, ry, f->right, ry);
		/* The label inside the plot, at the left (low N_up: usually below the lines there)
		 * above its line, or under it at the top: the legend column stays the legend's. */
		if (p->refs[r].name)
			text(b, f->left + 4, ry - f->top >= 12 ? ry - 3 : ry + 11, "start",
			     " fill=\"#b00\"", p->refs[r].name);
	}
}

/* One series: a polyline through the finite points and a dot on each; their count. */
static unsigned
draw_series(struct vms_buf *b, const struct vms_svg_series *se, const struct frame *f,
            const char *colour)
{
	unsigned drawn = 0;
	vms_buf_printf(b, "<g stroke=\"%s\" fill=\"%s\"><title>", colour, colour);
	vms_buf_html(b, se->name);
	buf_lit(b, "</title><polyline fill=\"none\" stroke-width=\"1.5\" points=\"");
	for (unsigned i = 0; i < se->n && i < VMS_SVG_MAX_POINTS; i++)
		if (isfinite(se->x[i]) && isfinite(se->y[i]))
			vms_buf_printf(b, "%s%.1f,%.1f", drawn++ ? " " : "", px(f, se->x[i]),
			               py(f, se->y[i]));
	buf_lit(b, "\"/>");
	for (unsigned i = 0; i < se->n && i < VMS_SVG_MAX_POINTS; i++)
		if (isfinite(se->x[i]) && isfinite(se->y[i]))
			vms_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
			               px(f, se->x[i]), py(f, se->y[i]));
	buf_lit(b, "</g>");
	return drawn;
}

void
vms_svg_line_plot(struct vms_buf *b, const struct vms_svg_plot *p)
{
	struct frame f = {.w = p->width ? p->width : 360, .h = p->height ? p->height : 200};
	unsigned points = data_range(p, &f);
	vms_buf_printf(b,
	               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
	               "viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"",
	               f.w, f.h, f.w, f.h);
	vms_buf_html(b, p->title);
	vms_buf_printf(b, "\" font-family=\"sans-serif\" font-size=\"11\">");
	text(b, (MARGIN_LEFT + (double)f.w - LEGEND_WIDTH) / 2, 15, /* over the plot area */
	     "middle", " font-weight=\"bold\"", p->title);
	if (!points) {
		text(b, f.w / 2.0, f.h / 2.0, "middle", " fill=\"#888\"", "no data yet");
		buf_lit(b, "</svg>");
		return;
	}
	double xstep, ystep;
	fit_range(p, &f, &xstep, &ystep);
	draw_axes(b, p, &f, xstep, ystep);
	draw_refs(b, p, &f);
	/* Series, and a legend entry for each that has a point. */
	unsigned legend = 0;
	for (unsigned s = 0; s < p->nseries && s < VMS_SVG_MAX_SERIES; s++) {
		const char *colour = palette[s % (sizeof(palette) / sizeof(palette[0]))];
		if (!draw_series(b, &p->series[s], &f, colour))
			continue;
		double ly = f.top + 12 + 14.0 * legend++;
		vms_buf_printf(
		    b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"3\" fill=\"%s\"/>",
		    f.right + 8, ly - 4, colour);
		text(b, f.right + 22, ly, "start", "", p->series[s].name);
	}
	buf_lit(b, "</svg>");
}

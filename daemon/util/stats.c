/* Small statistics for the degradation analysis (see stats.h). */
#include "daemon/util/stats.h"

#include <math.h>
#include <stdlib.h>

void
vms_welford_add(struct vms_welford *w, double x)
{
	/* One NaN or inf would poison the mean and variance for good: such a sample is dropped. */
	if (!isfinite(x))
		return;
	w->n++;
	double d = x - w->mean;
	w->mean += d / (double)w->n;
	w->m2 += d * (x - w->mean);
}

double
vms_welford_variance(const struct vms_welford *w)
{
	if (w->n < 2)
		return NAN;
	double v = w->m2 / (double)(w->n - 1);
	return v < 0 ? 0 : v; /* m2 cannot go negative in exact arithmetic */
}

bool
vms_welford_restore(struct vms_welford *w, uint64_t n, double mean, double variance)
{
	if (!isfinite(mean) || !isfinite(variance) || variance < 0)
		return false;
	/* With fewer than two values there is no spread: a nonzero one cannot have been saved. */
	if (n < 2 && variance != 0)
		return false;
	if (n == 0 && mean != 0)
		return false;
	double m2 = n < 2 ? 0 : variance * (double)(n - 1);
	if (!isfinite(m2))
		return false;
	w->n = n;
	w->mean = mean;
	w->m2 = m2;
	return true;
}

void
vms_window_add(struct vms_window *w, uint64_t at_ns, double v)
{
	w->at_ns[w->head] = at_ns;
	w->v[w->head] = v;
	w->head = (w->head + 1) % VMS_WINDOW_CAP;
	if (w->n < VMS_WINDOW_CAP)
		w->n++;
}

double
vms_window_median(const struct vms_window *w, uint64_t since_ns, unsigned *count)
{
	double tmp[VMS_WINDOW_CAP];
	unsigned k = 0;
	/* Times need not increase (a caller may backfill): every held value is looked at. */
	for (unsigned i = 0; i < w->n; i++) {
		uint64_t at;
		double v;
		vms_window_get(w, i, &at, &v);
		if (at >= since_ns)
			tmp[k++] = v;
	}
	if (count)
		*count = k;
	return vms_median(tmp, k);
}

double
vms_window_median_min(const struct vms_window *w, uint64_t since_ns, unsigned min_count,
                      unsigned *count)
{
	unsigned k;
	double m = vms_window_median(w, since_ns, &k);
	if (k > 0 && k < min_count && k < w->n) {
		double tmp[VMS_WINDOW_CAP];
		k = 0;
		while (k < min_count && vms_window_get(w, k, NULL, &tmp[k]))
			k++;
		m = vms_median(tmp, k);
	}
	if (count)
		*count = k;
	return m;
}

bool
vms_window_get(const struct vms_window *w, unsigned i, uint64_t *at_ns, double *v)
{
	if (i >= w->n)
		return false;
	unsigned slot = (w->head + VMS_WINDOW_CAP - 1 - i) % VMS_WINDOW_CAP;
	if (at_ns)
		*at_ns = w->at_ns[slot];
	if (v)
		*v = w->v[slot];
	return true;
}

double
vms_median(double *v, unsigned n)
{
	if (n == 0)
		return NAN;
	/* NaN has no place in an order (the sort would be undefined): the median is unknown. */
	for (unsigned i = 0; i < n; i++)
		if (isnan(v[i]))
			return NAN;
	/* Insertion sort: n is small (a window, a few hundred at most) and often nearly sorted. */
	for (unsigned i = 1; i < n; i++) {
		double x = v[i];
		unsigned j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	if (n % 2)
		return v[n / 2];
	/* Halves first: the plain sum of two large values could overflow. */
	return v[n / 2 - 1] / 2 + v[n / 2] / 2;
}

double
vms_mad(double *v, unsigned n, double m)
{
	for (unsigned i = 0; i < n; i++)
		v[i] = fabs(v[i] - m);
	return vms_median(v, n);
}

static bool
all_finite(const double *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* Exact equality on purpose: a mean of equal values may differ from them by an ulp, so a
 * centered sum would see a tiny, meaningless spread. */
static bool
all_equal(const double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		if (v[i] != v[0])
			return false;
	return true;
}

static double
mean_of(const double *v, unsigned n)
{
	double s = 0;
	for (unsigned i = 0; i < n; i++)
		s += v[i];
	double m = s / n;
	/* A second pass corrects the rounding of the first (the residuals should sum to zero). */
	double c = 0;
	for (unsigned i = 0; i < n; i++)
		c += v[i] - m;
	return m + c / n;
}

/* Centered sums of squares and products: no cancellation when values sit far from zero. */
static void
centered_sums(const double *x, const double *y, unsigned n, double mx, double my, double *sxx,
              double *syy, double *sxy)
{
	double a = 0, b = 0, c = 0;
	for (unsigned i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;
		a += dx * dx;
		b += dy * dy;
		c += dx * dy;
	}
	*sxx = a;
	*syy = b;
	*sxy = c;
}

int
vms_fit_linear(const double *x, const double *y, unsigned n, struct vms_fit *f)
{
	if (n < 2 || !all_finite(x, n) || !all_finite(y, n) || all_equal(x, n))
		return -1;
	double mx = mean_of(x, n), my = mean_of(y, n);
	double sxx, syy, sxy;
	centered_sums(x, y, n, mx, my, &sxx, &syy, &sxy);
	/* Finite inputs can still overflow the sums (1e200 squared); x so close together that
	 * their spread underflows gives no slope either. */
	if (!isfinite(sxx) || !isfinite(sxy) || sxx <= 0)
		return -1;
	double slope = sxy / sxx;
	double intercept = my - slope * mx;
	double r2;
	if (all_equal(y, n)) {
		slope = 0;
		intercept = y[0];
		r2 = 1;
	} else {
		/* Residuals summed directly rather than syy - sxy^2/sxx, which cancels on good
		 * fits. */
		double ssres = 0;
		for (unsigned i = 0; i < n; i++) {
			double r = (y[i] - my) - slope * (x[i] - mx);
			ssres += r * r;
		}
		if (!isfinite(syy) || !isfinite(ssres) || syy <= 0)
			return -1;
		r2 = 1 - ssres / syy;
		if (r2 < 0) /* only rounding can push it below zero */
			r2 = 0;
	}
	if (!isfinite(slope) || !isfinite(intercept))
		return -1;
	f->n = n;
	f->intercept = intercept;
	f->slope = slope;
	f->r_squared = r2;
	return 0;
}

double
vms_pearson(const double *x, const double *y, unsigned n)
{
	if (n < 3 || !all_finite(x, n) || !all_finite(y, n) || all_equal(x, n) || all_equal(y, n))
		return NAN;
	double mx = mean_of(x, n), my = mean_of(y, n);
	double sxx, syy, sxy;
	centered_sums(x, y, n, mx, my, &sxx, &syy, &sxy);
	if (!isfinite(sxx) || !isfinite(syy) || !isfinite(sxy) || sxx <= 0 || syy <= 0)
		return NAN;
	/* Square roots taken apart: sxx * syy alone could overflow or underflow. */
	double r = sxy / (sqrt(sxx) * sqrt(syy));
	if (r > 1)
		r = 1;
	else if (r < -1)
		r = -1;
	return r;
}

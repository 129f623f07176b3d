/*
 * Small statistics for the degradation analysis: running mean and variance (Welford), a ring
 * of recent values with a robust central value (median), least-squares line fits and Pearson
 * correlation. Pure functions on caller-owned structs: no allocation, no clocks, no globals,
 * so every result can be checked against a known answer.
 */
#ifndef VMSCALE_STATS_H
#define VMSCALE_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Running count, mean and variance (Welford, 1962): stable where sum-of-squares cancels. */
struct vms_welford {
	uint64_t n;
	double mean;
	double m2; /* sum of squared deviations from the running mean */
};

void vms_welford_add(struct vms_welford *w, double x);
/* Sample variance (n - 1 in the denominator); NaN when n < 2. */
double vms_welford_variance(const struct vms_welford *w);
/* The same state built from n, mean and variance, as a state file stores them; false (and w
 * untouched) when they are not a possible state: NaN/inf, negative variance, variance given
 * with n < 2. */
bool vms_welford_restore(struct vms_welford *w, uint64_t n, double mean, double variance);

/* The last VMS_WINDOW_CAP values with their host monotonic times; older ones drop out. */
#define VMS_WINDOW_CAP 32
struct vms_window {
	uint64_t at_ns[VMS_WINDOW_CAP];
	double v[VMS_WINDOW_CAP];
	unsigned head; /* where the next value goes */
	unsigned n;    /* values held, <= VMS_WINDOW_CAP */
};

void vms_window_add(struct vms_window *w, uint64_t at_ns, double v);
/* Median of the values taken at or after since_ns (0: all); NaN when there are none. count,
 * if not NULL, receives how many values it used. An even count averages the middle two. */
double vms_window_median(const struct vms_window *w, uint64_t since_ns, unsigned *count);
/* The same, widened to the newest min_count values when fewer than that were taken at or
 * after since_ns but at least one was: a window that holds one or two values of a probe run
 * every few minutes is not left to one odd value. NaN when none was taken since since_ns. */
double vms_window_median_min(const struct vms_window *w, uint64_t since_ns, unsigned min_count,
                             unsigned *count);
/* The i-th most recent value (0 = newest); false when i >= n. */
bool vms_window_get(const struct vms_window *w, unsigned i, uint64_t *at_ns, double *v);

/* Median of v[0..n-1], reordering v; NaN when n == 0. */
double vms_median(double *v, unsigned n);
/* Median absolute deviation of v[0..n-1] from its median m, overwriting v; NaN when n == 0.
 * Times 1.4826 it estimates a normal standard deviation, yet one wild value barely moves it. */
double vms_mad(double *v, unsigned n, double m);

/* Least squares y = intercept + slope * x. */
struct vms_fit {
	unsigned n;
	double intercept;
	double slope;
	double r_squared; /* 1 - SSres/SStot; 1 when every y is equal and fitted exactly */
};

/* Fits n points; -1 (f untouched) when n < 2, a value is not finite, or every x is equal. */
int vms_fit_linear(const double *x, const double *y, unsigned n, struct vms_fit *f);

/* Pearson's correlation of two paired series; NaN when n < 3, a value is not finite, or
 * either series is constant (correlation is undefined, not zero). */
double vms_pearson(const double *x, const double *y, unsigned n);

#endif

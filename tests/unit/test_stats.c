/* The statistics module against answers worked out by hand or by a plain two-pass reference. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/util/stats.h"
#include "check.h"

#define S 1000000000ull

static bool
near(double got, double want, double tol)
{
	if (fabs(got - want) <= tol)
		return true;
	fprintf(stderr, "  got %.17g, want %.17g (tolerance %g)\n", got, want, tol);
	return false;
}

/* The textbook two-pass sample variance, as the reference for Welford. */
static double
two_pass_variance(const double *v, unsigned n)
{
	double s = 0, ss = 0;
	for (unsigned i = 0; i < n; i++)
		s += v[i];
	double m = s / n;
	for (unsigned i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	return ss / (n - 1);
}

static void
test_welford(void)
{
	/* Far from zero, where sum-of-squares minus square-of-sum loses every digit. */
	const double v[] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
	struct vms_welford w = {0};
	CHECK(isnan(vms_welford_variance(&w)));
	vms_welford_add(&w, v[0]);
	CHECK(isnan(vms_welford_variance(&w))); /* n = 1: no spread yet */
	for (unsigned i = 1; i < 4; i++)
		vms_welford_add(&w, v[i]);
	CHECK_INT(w.n, 4);
	CHECK(near(w.mean, 1e9 + 10, 1e-6));
	CHECK(near(vms_welford_variance(&w), 30, 1e-9));
	CHECK(near(vms_welford_variance(&w), two_pass_variance(v, 4), 1e-9));

	/* A longer series, still against the reference. */
	double many[1000];
	struct vms_welford w2 = {0};
	for (unsigned i = 0; i < 1000; i++) {
		many[i] = 1e6 + (double)((i * 7919u) % 1000u) / 10.0;
		vms_welford_add(&w2, many[i]);
	}
	CHECK(near(vms_welford_variance(&w2), two_pass_variance(many, 1000), 1e-8));

	/* Non-finite samples are dropped rather than poisoning the state. */
	vms_welford_add(&w, NAN);
	vms_welford_add(&w, INFINITY);
	CHECK_INT(w.n, 4);
	CHECK(near(vms_welford_variance(&w), 30, 1e-9));

	/* Constant series: zero variance, not NaN. */
	struct vms_welford c = {0};
	for (int i = 0; i < 5; i++)
		vms_welford_add(&c, 0.1);
	CHECK(vms_welford_variance(&c) == 0 || near(vms_welford_variance(&c), 0, 1e-30));
}

static void
test_welford_restore(void)
{
	struct vms_welford w = {0}, cont = {0};
	const double v[] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
	for (unsigned i = 0; i < 4; i++)
		vms_welford_add(&cont, v[i]);

	/* A restored state goes on as if the values had been added. */
	CHECK(vms_welford_restore(&w, 4, 1e9 + 10, 30));
	CHECK_INT(w.n, 4);
	CHECK(near(vms_welford_variance(&w), 30, 1e-9));
	vms_welford_add(&w, 1e9 + 100);
	vms_welford_add(&cont, 1e9 + 100);
	CHECK(near(w.mean, cont.mean, 1e-6));
	CHECK(near(vms_welford_variance(&w), vms_welford_variance(&cont), 1e-6));

	/* Impossible states are refused and leave w as it was. */
	struct vms_welford before = w;
	CHECK(!vms_welford_restore(&w, 4, NAN, 30));
	CHECK(!vms_welford_restore(&w, 4, INFINITY, 30));
	CHECK(!vms_welford_restore(&w, 4, 10, NAN));
	CHECK(!vms_welford_restore(&w, 4, 10, INFINITY));
	CHECK(!vms_welford_restore(&w, 4, 10, -1));
	CHECK(!vms_welford_restore(&w, 1, 10, 3));
	CHECK(!vms_welford_restore(&w, 0, 0, 3));
	CHECK(!vms_welford_restore(&w, 0, 10, 0));              /* no values, yet a mean */
	CHECK(!vms_welford_restore(&w, UINT64_MAX, 10, 1e308)); /* m2 would overflow */
	CHECK(memcmp(&w, &before, sizeof w) == 0);

	/* Fewer than two values and no spread are possible states. */
	CHECK(vms_welford_restore(&w, 1, 10, 0));
	CHECK_INT(w.n, 1);
	CHECK(w.mean == 10);
	CHECK(isnan(vms_welford_variance(&w)));
	vms_welford_add(&w, 14);
	CHECK(near(vms_welford_variance(&w), 8, 1e-12));
	CHECK(vms_welford_restore(&w, 0, 0, 0));
	CHECK_INT(w.n, 0);
}

static void
test_median(void)
{
	double odd[] = {3, 1, 2};
	CHECK(vms_median(odd, 3) == 2);
	double even[] = {4, 1, 3, 2};
	CHECK(vms_median(even, 4) == 2.5);
	double one[] = {7};
	CHECK(vms_median(one, 1) == 7);
	CHECK(isnan(vms_median(one, 0)));
	double dup[] = {5, 1, 5, 5, 1};
	CHECK(vms_median(dup, 5) == 5);
	double desc[] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
	CHECK(vms_median(desc, 10) == 4.5);
	CHECK(desc[0] == 0 && desc[9] == 9); /* sorted in place */
	double big[] = {1.5e308, 1.7e308};   /* the middle two would overflow if summed first */
	CHECK(near(vms_median(big, 2), 1.6e308, 1e293));
	double withnan[] = {1, NAN, 3};
	CHECK(isnan(vms_median(withnan, 3)));
}

static void
test_mad(void)
{
	/* Deviations from 3: 2 1 0 1 97: their median is 1, the wild value does not count. */
	double v[] = {1, 2, 3, 4, 100};
	CHECK(vms_mad(v, 5, 3) == 1);
	double same[] = {4, 4, 4};
	CHECK(vms_mad(same, 3, 4) == 0);
	CHECK(isnan(vms_mad(same, 0, 4)));
}

/* A window holding fewer than min_count values widens to the newest min_count; an empty
 * window stays empty (a probe that stopped reporting has no slowdown). */
static void
test_window_median_min(void)
{
	struct vms_window w = {0};
	unsigned count = 99;
	CHECK(isnan(vms_window_median_min(&w, 0, 3, &count)));
	CHECK_INT(count, 0);
	vms_window_add(&w, 1 * S, 10);
	CHECK(vms_window_median_min(&w, 0, 3, &count) == 10); /* all it has */
	CHECK_INT(count, 1);
	vms_window_add(&w, 300 * S, 12);
	vms_window_add(&w, 600 * S, 50); /* one odd value */
	CHECK(vms_window_median(&w, 400 * S, &count) == 50);
	CHECK(vms_window_median_min(&w, 400 * S, 3, &count) == 12);
	CHECK_INT(count, 3);
	CHECK(vms_window_median_min(&w, 0, 2, &count) == 12); /* 3 in the window: not widened */
	CHECK_INT(count, 3);
	vms_window_add(&w, 900 * S, 11);
	CHECK(vms_window_median_min(&w, 500 * S, 3, &count) == 12); /* 12 50 11 */
	CHECK_INT(count, 3);
	CHECK(isnan(vms_window_median_min(&w, 1000 * S, 3, &count)));
	CHECK_INT(count, 0);
}

static void
test_window(void)
{
	struct vms_window w = {0};
	unsigned count = 99;
	uint64_t at;
	double v;
	CHECK(isnan(vms_window_median(&w, 0, &count)));
	CHECK_INT(count, 0);
	CHECK(!vms_window_get(&w, 0, &at, &v));

	vms_window_add(&w, 1 * S, 10);
	vms_window_add(&w, 2 * S, 30);
	vms_window_add(&w, 3 * S, 20);
	CHECK(vms_window_median(&w, 0, &count) == 20);
	CHECK_INT(count, 3);
	CHECK(vms_window_median(&w, 2 * S, &count) == 25); /* at or after: 30 and 20 */
	CHECK_INT(count, 2);
	CHECK(vms_window_get(&w, 0, &at, &v));
	CHECK(at == 3 * S && v == 20);
	CHECK(vms_window_get(&w, 2, &at, &v));
	CHECK(at == 1 * S && v == 10);
	CHECK(!vms_window_get(&w, 3, &at, &v));

	/* Past the capacity the oldest drop out: 40 values leave 8..39. */
	struct vms_window r = {0};
	for (unsigned i = 0; i < 40; i++)
		vms_window_add(&r, i * S, i);
	CHECK_INT(r.n, VMS_WINDOW_CAP);
	CHECK(vms_window_get(&r, 0, &at, &v));
	CHECK(at == 39 * S && v == 39);
	CHECK(vms_window_get(&r, 31, &at, &v));
	CHECK(at == 8 * S && v == 8);
	CHECK(!vms_window_get(&r, 32, &at, &v));
	bool in_order = true;
	for (unsigned i = 0; i < VMS_WINDOW_CAP; i++)
		in_order &= vms_window_get(&r, i, &at, &v) && v == 39 - i && at == (39 - i) * S;
	CHECK(in_order);
	CHECK(vms_window_median(&r, 0, &count) == 23.5); /* 8..39: even, middle two 23 and 24 */
	CHECK_INT(count, 32);
	CHECK(vms_window_median(&r, 30 * S, &count) == 34.5); /* 30..39 */
	CHECK_INT(count, 10);
	CHECK(vms_window_median(&r, 31 * S, &count) == 35); /* 31..39: odd */
	CHECK_INT(count, 9);
	CHECK(vms_window_median(&r, 39 * S, NULL) == 39);
	CHECK(isnan(vms_window_median(&r, 100 * S, &count)));
	CHECK_INT(count, 0);
	/* The median does not disturb the window. */
	CHECK(vms_window_get(&r, 0, &at, &v) && v == 39);
}

static void
test_fit(void)
{
	struct vms_fit f;
	double x[10], y[10];
	for (unsigned i = 0; i < 10; i++) {
		x[i] = i;
		y[i] = 2 + 3 * x[i];
	}
	CHECK_INT(vms_fit_linear(x, y, 10, &f), 0);
	CHECK_INT(f.n, 10);
	CHECK(near(f.slope, 3, 1e-12));
	CHECK(near(f.intercept, 2, 1e-12));
	CHECK(near(f.r_squared, 1, 1e-12));

	/* Worked by hand: mean x 3, mean y 4, Sxy 6, Sxx 10, Syy 6. */
	const double hx[] = {1, 2, 3, 4, 5}, hy[] = {2, 4, 5, 4, 5};
	CHECK_INT(vms_fit_linear(hx, hy, 5, &f), 0);
	CHECK(near(f.slope, 0.6, 1e-12));
	CHECK(near(f.intercept, 2.2, 1e-12));
	CHECK(near(f.r_squared, 0.6, 1e-12));

	/* The same data far from the origin (x as monotonic seconds): the slope must survive. */
	double ox[5], oy[5];
	for (unsigned i = 0; i < 5; i++) {
		ox[i] = 1e9 + hx[i];
		oy[i] = 1e6 + hy[i];
	}
	CHECK_INT(vms_fit_linear(ox, oy, 5, &f), 0);
	CHECK(near(f.slope, 0.6, 1e-6));
	CHECK(near(f.r_squared, 0.6, 1e-6));
	CHECK(near(f.intercept + f.slope * ox[0], 1e6 + 2.8, 1e-3));

	/* Two points: an exact line. */
	CHECK_INT(vms_fit_linear(hx, hy, 2, &f), 0);
	CHECK(near(f.slope, 2, 1e-12));
	CHECK(near(f.intercept, 0, 1e-12));
	CHECK(near(f.r_squared, 1, 1e-12));

	/* Every y equal: a flat line that fits exactly. */
	const double cy[] = {0.1, 0.1, 0.1, 0.1};
	CHECK_INT(vms_fit_linear(hx, cy, 4, &f), 0);
	CHECK(f.slope == 0);
	CHECK(f.intercept == 0.1);
	CHECK(f.r_squared == 1);

	/* Refusals leave f as it was. */
	struct vms_fit sentinel = {.n = 77, .intercept = -1, .slope = -2, .r_squared = -3};
	f = sentinel;
	const double ex[] = {2, 2, 2}, ey[] = {1, 2, 3};
	CHECK_INT(vms_fit_linear(hx, hy, 1, &f), -1);
	CHECK_INT(vms_fit_linear(hx, hy, 0, &f), -1);
	CHECK_INT(vms_fit_linear(ex, ey, 3, &f), -1);
	const double nx[] = {1, NAN, 3}, iy[] = {1, 2, INFINITY};
	CHECK_INT(vms_fit_linear(nx, ey, 3, &f), -1);
	CHECK_INT(vms_fit_linear(hx, iy, 3, &f), -1);
	const double hugex[] = {-1e300, 1e300}, hugey[] = {1, 2};
	CHECK_INT(vms_fit_linear(hugex, hugey, 2, &f), -1); /* the sums overflow */
	CHECK(memcmp(&f, &sentinel, sizeof f) == 0);
}

static void
test_pearson(void)
{
	const double x[] = {1, 2, 3, 4, 5};
	const double up[] = {3, 5, 7, 9, 11}, down[] = {10, 8, 6, 4, 2};
	CHECK(near(vms_pearson(x, up, 5), 1, 1e-12));
	CHECK(near(vms_pearson(x, down, 5), -1, 1e-12));
	CHECK(vms_pearson(x, up, 5) <= 1 && vms_pearson(x, down, 5) >= -1);

	const double hy[] = {2, 4, 5, 4, 5};
	CHECK(near(vms_pearson(x, hy, 5), sqrt(0.6), 1e-12));
	/* Symmetric, and blind to shifts far from the origin. */
	CHECK(near(vms_pearson(hy, x, 5), sqrt(0.6), 1e-12));
	double ox[5], oy[5];
	for (unsigned i = 0; i < 5; i++) {
		ox[i] = 1e9 + x[i];
		oy[i] = 1e9 + hy[i];
	}
	CHECK(near(vms_pearson(ox, oy, 5), sqrt(0.6), 1e-9));

	/* Undefined, not zero. */
	const double flat[] = {0.1, 0.1, 0.1, 0.1, 0.1};
	CHECK(isnan(vms_pearson(x, flat, 5)));
	CHECK(isnan(vms_pearson(flat, x, 5)));
	CHECK(isnan(vms_pearson(x, up, 2)));
	CHECK(isnan(vms_pearson(x, up, 0)));
	const double nanx[] = {1, 2, NAN, 4, 5}, infy[] = {1, 2, 3, 4, -INFINITY};
	CHECK(isnan(vms_pearson(nanx, up, 5)));
	CHECK(isnan(vms_pearson(x, infy, 5)));
	/* Three points are enough. */
	CHECK(near(vms_pearson(x, up, 3), 1, 1e-12));
}

int
main(void)
{
	test_welford();
	test_welford_restore();
	test_median();
	test_mad();
	test_window();
	test_window_median_min();
	test_fit();
	test_pearson();
	return check_done("test_stats");
}

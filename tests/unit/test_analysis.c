/*
 * The degradation analysis against known answers, on a fake monotonic clock: statistics by
 * N_up and the bucket cap, baseline selection and its resets (configuration change, control
 * handler), slowdown in both orientations, alert hysteresis, capacity headroom and its
 * reasons, interference suspects and how often they are recomputed, persistence (round trip,
 * unusable files moved aside, bad records), startup time and the hypervisor's own CPU.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/analysis/analysis.h"
#include "daemon/util/log.h"
#include "daemon/store/statefile.h"
#include "daemon/store/store.h"
#include "check.h"

#define S(x) ((uint64_t)(x)*1000000000ull)
#define HAS(t, l) check_result(has_line((t), (l)), "has: " l, __FILE__, __LINE__)
#define HASNT(t, l) check_result(!has_line((t), (l)), "has not: " l, __FILE__, __LINE__)

static uint64_t now = S(1000); /* the fake monotonic clock */

static double
unix_now(void)
{
	return 1700000000.0 + (double)(now / 1000000000ull);
}

static const char *
uuid_of(unsigned i)
{
	static char buf[8][VMS_UUID_LEN + 1];
	static unsigned next;
	char *u = buf[next++ % 8];
	snprintf(u, VMS_UUID_LEN + 1, "00000000-0000-4000-8000-%012u", i);
	return u;
}

static struct vms_domain *
add(struct vms_store *st, unsigned i, const char *name)
{
	return vms_store_upsert(st, uuid_of(i), name, (int)i);
}

static void
drop(struct vms_store *st, unsigned i)
{
	struct vms_domain *d = vms_store_find(st, uuid_of(i));
	if (d)
		vms_store_remove(st, d);
}

static void
put(struct vms_domain *d, enum vms_op op, double v)
{
	d->probe.ops[op] = (struct vms_probe_value){true, v, now};
}

static char *
render(const struct vms_analysis *a, const struct vms_store *st)
{
	struct vms_buf b;
	vms_buf_init(&b);
	vms_analysis_render(a, st, &b, now);
	char *s = calloc(1, b.len + 1);
	if (b.len)
		memcpy(s, b.data, b.len);
	vms_buf_free(&b);
	return s;
}

/* Every update of every test: one that leaves the generation alone changes nothing rendered. */
static void
update(struct vms_analysis *a, const struct vms_store *st)
{
	uint64_t g = vms_analysis_generation(a);
	char *before = render(a, st);
	vms_analysis_update(a, st, now, unix_now());
	if (vms_analysis_generation(a) == g) {
		char *after = render(a, st);
		CHECK_STR(after, before);
		free(after);
	}
	free(before);
}

/* One step of the clock, a fresh cpu_work value, one update. */
static void
sample(struct vms_analysis *a, struct vms_store *st, struct vms_domain *d, double v, uint64_t dt)
{
	now += dt;
	put(d, VMS_OP_CPU_WORK, v);
	update(a, st);
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && memcmp(p, line, n) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static unsigned
count_prefix(const char *text, const char *prefix)
{
	unsigned c = 0;
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p;) {
		c += strncmp(p, prefix, n) == 0;
		const char *e = strchr(p, '\n');
		p = e ? e + 1 : NULL;
	}
	return c;
}

/* The value of the first line starting with prefix; NaN if none. */
static double
value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, n) == 0) {
			const char *e = strchr(p, '\n');
			char tmp[512];
			size_t len = e ? (size_t)(e - p) : strlen(p);
			snprintf(tmp, sizeof(tmp), "%.*s", (int)len, p);
			char *v = strrchr(tmp, ' ');
			return v ? strtod(v + 1, NULL) : NAN;
		}
		const char *e = strchr(p, '\n');
		p = e ? e + 1 : NULL;
	}
	return NAN;
}

static void
config(struct vms_analysis_config *c)
{
	vms_analysis_config_defaults(c);
	c->host_cpus = 4;
}

static int
control(struct vms_analysis *a, struct vms_buf *out, char *err, size_t errsz, int argc, ...)
{
	char *argv[8];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	vms_buf_free(out);
	vms_buf_init(out);
	vms_buf_append(out, "", 0);
	err[0] = '\0';
	return vms_analysis_control(a, argc, argv, out, err, errsz);
}

static const char *
buf_str(struct vms_buf *b)
{
	vms_buf_append(b, "", 1); /* NUL-terminate */
	b->len--;
	return b->data;
}

/* ---------------------------------------------------------------- 1. buckets */

static void
test_buckets(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.max_buckets = 3;
	c.min_samples = 2;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	sample(a, &st, d, 10, S(1));
	sample(a, &st, d, 20, S(1));
	add(&st, 2, "b");
	sample(a, &st, d, 30, S(1));
	add(&st, 3, "c");
	sample(a, &st, d, 40, S(1));
	char *t = render(a, &st);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HAS(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} "
	       "15");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} 1");
	HAS(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} "
	       "30");
	HAS(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"3\"} "
	       "40");
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 15");
	/* Only fed probes and domains have buckets. */
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{"), 3);
	free(t);

	/* A fourth level: the least recently fed (N_up 2) goes, not the baseline's (N_up 1,
	 * fed longest ago). */
	add(&st, 4, "d");
	sample(a, &st, d, 50, S(1));
	t = render(a, &st);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HASNT(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} 1");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"3\"} 1");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"4\"} 1");
	free(t);

	/* Many more levels: the cardinality stays at the cap, the baseline bucket stays. */
	for (unsigned i = 5; i <= 20; i++) {
		add(&st, i, "filler");
		sample(a, &st, d, 10.0 * i, S(1));
	}
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{domain=\"a\""), 3);
	CHECK_INT(count_prefix(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\""), 3);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"19\"} 1");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"20\"} 1");
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 1");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);

	/* The smallest cap the configuration allows (2) keeps the baseline's bucket too. */
	config(&c);
	c.max_buckets = 2;
	c.min_samples = 2;
	a = vms_analysis_new(&c);
	vms_store_init(&st, 5000);
	d = add(&st, 1, "a");
	sample(a, &st, d, 10, S(1));
	sample(a, &st, d, 20, S(1));
	add(&st, 2, "b");
	sample(a, &st, d, 30, S(1));
	add(&st, 3, "c");
	sample(a, &st, d, 40, S(1));
	t = render(a, &st);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"3\"} 1");
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{domain=\"a\""), 2);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 15");
	free(t);

	/* A lower cap on reload drops the extra buckets, never the baseline's. */
	vms_analysis_free(a);
	vms_store_fini(&st);
	config(&c);
	c.max_buckets = 4;
	c.min_samples = 2;
	a = vms_analysis_new(&c);
	vms_store_init(&st, 5000);
	d = add(&st, 1, "a");
	sample(a, &st, d, 10, S(1));
	sample(a, &st, d, 20, S(1));
	for (unsigned i = 2; i <= 4; i++) {
		add(&st, i, "filler");
		sample(a, &st, d, 10.0 * i, S(1));
	}
	c.max_buckets = 2;
	vms_analysis_set_config(a, &c);
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{domain=\"a\""), 2);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"4\"} 1");
	free(t);
	add(&st, 5, "filler");
	sample(a, &st, d, 50, S(1));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{domain=\"a\""), 2);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"5\"} 1");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 2. baselines */

static void
test_baseline_selection(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	add(&st, 2, "b");
	/* N_up 2 first: the only level with enough samples is the baseline. */
	for (int i = 0; i < 5; i++) {
		put(d, VMS_OP_FORK_EXIT, 0.375);
		sample(a, &st, d, 100, S(1));
	}
	char *t = render(a, &st);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 2");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 100");
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"fork_exit\"} 2");
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_baseline_pinned{domain=\"a\",probe=\"cpu_work\"} 0");
	free(t);

	/* Then alone: faster, and only with min_samples samples does the baseline move. */
	drop(&st, 2);
	for (int i = 0; i < 2; i++) {
		put(d, VMS_OP_FORK_EXIT, 0.25);
		sample(a, &st, d, 150, S(1));
	}
	t = render(a, &st);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 2");
	free(t);
	put(d, VMS_OP_FORK_EXIT, 0.25);
	sample(a, &st, d, 150, S(1));
	t = render(a, &st);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 150");
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"fork_exit\"} 1");
	HAS(t, "vmscale_baseline_seconds{domain=\"a\",probe=\"fork_exit\"} 0.25");
	/* The window holds 5 x 100 and 3 x 150: median 100. A rate: 150 / 100. A latency:
	 * 0.375 / 0.25. Both mean 1.5 times slower. */
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1.5");
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"fork_exit\"} 1.5");
	HAS(t, "vmscale_nup_mean_seconds{domain=\"a\",probe=\"fork_exit\",n_up=\"2\"} 0.375");
	free(t);
	struct vms_an_domain_view v;
	CHECK(vms_analysis_domain_view(a, uuid_of(1), &v));
	CHECK(v.worst_slowdown == 1.5);
	CHECK(!vms_analysis_domain_view(a, "nonexistent", &v));
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 3. resets and control */

static void
test_reset_on_change(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	d->stats.have_cpu = true;
	d->stats.nvcpu = d->stats.vcpu_cap = 2;
	d->stats.vcpu = calloc(2, sizeof(*d->stats.vcpu));
	d->stats.have_balloon_current = true;
	d->stats.balloon_current_kib = 1048576;
	d->probe.hello = true;
	snprintf(d->probe.info.probe_version, sizeof(d->probe.info.probe_version), "1.0");
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(1));
	char *t = render(a, &st);
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 100");
	free(t);

	struct check_capture cap;
	/* One vCPU fewer: the baselines start over, the new sample is the first. */
	d->stats.nvcpu = 1;
	check_capture_stderr(&cap);
	sample(a, &st, d, 200, S(1));
	const char *log = check_capture_end(&cap);
	CHECK(strstr(log, "baselines reset: vCPUs 2 -> 1") != NULL);
	t = render(a, &st);
	HASNT(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 100");
	CHECK_INT(count_prefix(t, "vmscale_baseline_work_units_per_second{"), 0);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 1");
	HAS(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} "
	       "200");
	free(t);
	sample(a, &st, d, 200, S(1));
	sample(a, &st, d, 200, S(1));
	t = render(a, &st);
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 200");
	free(t);

	/* Another probe version. */
	snprintf(d->probe.info.probe_version, sizeof(d->probe.info.probe_version), "1.1");
	check_capture_stderr(&cap);
	sample(a, &st, d, 300, S(1));
	log = check_capture_end(&cap);
	CHECK(strstr(log, "baselines reset: probe version 1.0 -> 1.1") != NULL);
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_baseline_work_units_per_second{"), 0);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 1");
	free(t);

	/* Other memory. */
	sample(a, &st, d, 300, S(1));
	sample(a, &st, d, 300, S(1));
	d->stats.balloon_current_kib = 2097152;
	check_capture_stderr(&cap);
	sample(a, &st, d, 400, S(1));
	log = check_capture_end(&cap);
	CHECK(strstr(log, "baselines reset: memory 1048576 -> 2097152 KiB") != NULL);
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_baseline_work_units_per_second{"), 0);
	free(t);

	/* Nothing changed: nothing is reset. */
	check_capture_stderr(&cap);
	sample(a, &st, d, 400, S(1));
	log = check_capture_end(&cap);
	CHECK(strstr(log, "baselines reset") == NULL);
	t = render(a, &st);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 2");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

static void
test_control(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	add(&st, 2, "b");
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(1));

	struct vms_buf out;
	vms_buf_init(&out);
	char err[256];
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "list"), 0);
	CHECK_STR(buf_str(&out),
	          "a cpu_work baseline=100 n_up=2 pinned=no slowdown=1.000 samples=3 alert=ok\n");
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "list", "b"), 0);
	CHECK_STR(buf_str(&out), "");

	/* Pinned at N_up 2: samples alone (N_up 1) no longer move it. */
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "pin", "a", "cpu_work"), 0);
	CHECK_STR(buf_str(&out), "pinned a cpu_work at 100 (N_up 2)\n");
	drop(&st, 2);
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 150, S(1));
	char *t = render(a, &st);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 2");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 100");
	HAS(t, "vmscale_baseline_pinned{domain=\"a\",probe=\"cpu_work\"} 1");
	free(t);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "list", uuid_of(1)), 0);
	CHECK(strstr(buf_str(&out), "a cpu_work baseline=100 n_up=2 pinned=yes") == buf_str(&out));
	CHECK(strstr(buf_str(&out), "samples=6 alert=ok\n") != NULL);

	/* Unpinned (by UUID): the lowest level with enough samples again. */
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "unpin", uuid_of(1)), 0);
	CHECK_STR(buf_str(&out), "unpinned a cpu_work\n");
	t = render(a, &st);
	HAS(t, "vmscale_baseline_n_up{domain=\"a\",probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} 150");
	HAS(t, "vmscale_baseline_pinned{domain=\"a\",probe=\"cpu_work\"} 0");
	free(t);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "unpin", "a"), -1);
	CHECK_STR(err, "nothing to unpin");

	/* Pin without a probe pins every probe with a baseline. */
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "pin", "a"), 0);
	CHECK_STR(buf_str(&out), "pinned a cpu_work at 150 (N_up 1)\n");

	/* Errors. */
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "pin", "a", "fork_exit"), -1);
	CHECK_STR(err, "a has no fork_exit baseline yet");
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "reset", "zzz"), -1);
	CHECK_STR(err, "no domain 'zzz' (name or UUID)");
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "reset", "a", "bogus"), -1);
	CHECK_STR(err, "unknown probe 'bogus'");
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "frob"), -1);
	CHECK(strncmp(err, "unknown baseline command 'frob'", 31) == 0);
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "pin"), -1);
	CHECK_STR(err, "usage: baseline pin DOMAIN [PROBE]");
	CHECK_INT(control(a, &out, err, sizeof(err), 1, "frob"), -1);

	/* Reset by name: the probe's statistics are gone. */
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "reset", "a", "cpu_work"), 0);
	CHECK_STR(buf_str(&out), "reset a cpu_work\n");
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_baseline_work_units_per_second{"), 0);
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{"), 0);
	HASNT(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1");
	free(t);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "pin", "a"), -1);
	CHECK_STR(err, "nothing to pin");
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "reset", uuid_of(1)), -1);
	CHECK_STR(err, "nothing to reset");
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "list"), 0);
	CHECK_STR(buf_str(&out), "");
	CHECK_INT(control(a, &out, err, sizeof(err), 1, "status"), 0);
	CHECK(strstr(buf_str(&out), "domains tracked 2 (running 1)\nbaselines 0 (pinned 0)\n") ==
	      buf_str(&out));
	vms_buf_free(&out);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 4. alerts */

/* A domain without probe values shares the blank probe state (8 KiB a domain less): updates,
 * operator verbs and a state round trip leave it so; its first value gives it its own. */
static void
test_blank_probe_state(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	add(&st, 2, "b");
	struct vms_an_domain_view v;
	for (int i = 0; i < 3; i++) {
		now += S(5);
		update(a, &st);
	}
	struct vms_buf out;
	vms_buf_init(&out);
	char err[128];
	/* Nothing to pin, unpin or reset: refused, and nothing written. */
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "pin", "b"), -1);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "unpin", "b"), -1);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "reset", "b"), -1);
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "list"), 0);
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "pin", "b", "cpu_work"), -1);
	CHECK(vms_analysis_domain_view(a, uuid_of(2), &v) && !v.probe_state);
	CHECK(isnan(v.worst_slowdown) && v.baselines == 0 && v.alerts == 0);

	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(5));
	CHECK(vms_analysis_domain_view(a, uuid_of(1), &v) && v.probe_state);
	CHECK_INT(v.baselines, 1);
	CHECK(vms_analysis_domain_view(a, uuid_of(2), &v) && !v.probe_state);

	out.len = 0;
	vms_analysis_serialize(a, &out);
	struct vms_analysis *b = vms_analysis_new(&c);
	CHECK_INT(vms_analysis_deserialize(b, out.data, out.len, err, sizeof(err)), 0);
	CHECK(vms_analysis_domain_view(b, uuid_of(1), &v) && v.probe_state);
	CHECK_INT(v.baselines, 1);
	CHECK(vms_analysis_domain_view(b, uuid_of(2), &v) && !v.probe_state);
	vms_buf_free(&out);
	vms_analysis_free(b);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* A probe run less often than the window (memory every 5 min, window 300 s) leaves one value
 * in it: the current value is the median of the newest slowdown-min-samples (3), so one odd
 * value does not make a slowdown, two do. */
static void
test_current_min_samples(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	CHECK_INT(c.window_min, 3); /* the default */
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(301));
#define ONE "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1"
	char *t = render(a, &st);
	HAS(t, ONE);
	free(t);
	sample(a, &st, d, 50, S(301)); /* alone in the window: 100 100 50 */
	t = render(a, &st);
	HAS(t, ONE);
	free(t);
	sample(a, &st, d, 50, S(301)); /* 100 50 50 */
	t = render(a, &st);
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 2");
	free(t);
	now += S(301); /* none in the window: no slowdown, however many older ones */
	update(a, &st);
	t = render(a, &st);
	CHECK(strstr(t, "vmscale_slowdown_ratio{domain=\"a\"") == NULL);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

static void
test_hysteresis(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	c.window_ns = S(5); /* the current value is the latest sample */
	c.window_min = 1;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(1));
	add(&st, 2, "b"); /* degraded samples go to N_up 2: the baseline stays 100 */
	const char *warn = "vmscale_alert{domain=\"a\",probe=\"cpu_work\",severity=\"warning\"} 1";
	const char *crit = "vmscale_alert{domain=\"a\",probe=\"cpu_work\",severity=\"critical\"} 1";
	struct check_capture cap;
	struct vms_an_domain_view v;

	sample(a, &st, d, 62.5, S(10)); /* 1.6 from now on */
	char *t = render(a, &st);
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1.6");
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	sample(a, &st, d, 62.5, S(30));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	check_capture_stderr(&cap);
	sample(a, &st, d, 62.5, S(30)); /* held 60 s */
	const char *log = check_capture_end(&cap);
	CHECK(
	    strstr(log, "alert warning firing: probe cpu_work slowdown 1.600 at N_up 2 (was ok)"));
	t = render(a, &st);
	CHECK(check_result(has_line(t, warn), warn, __FILE__, __LINE__));
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 1);
	free(t);
	CHECK(vms_analysis_domain_view(a, uuid_of(1), &v));
	CHECK_INT(v.severity, VMS_AN_WARNING);
	CHECK_INT(v.alerts, 1);

	/* Between clear and warning: the warning holds. No fresh value: it holds too. */
	sample(a, &st, d, 100 / 1.3, S(10));
	t = render(a, &st);
	CHECK(has_line(t, warn));
	free(t);
	now += S(100);
	update(a, &st);
	t = render(a, &st);
	CHECK(has_line(t, warn));
	CHECK_INT(count_prefix(t, "vmscale_slowdown_ratio{domain=\"a\""), 0); /* window empty */
	free(t);
	/* Below clear: resolved. */
	check_capture_stderr(&cap);
	sample(a, &st, d, 100 / 1.1, S(10));
	log = check_capture_end(&cap);
	CHECK(strstr(log, "alert warning resolved: probe cpu_work slowdown 1.100") != NULL);
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);

	/* 2.0: critical once held for alert-for, straight from ok. */
	sample(a, &st, d, 50, S(10));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	sample(a, &st, d, 50, S(30));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	check_capture_stderr(&cap);
	sample(a, &st, d, 50, S(30));
	log = check_capture_end(&cap);
	CHECK(
	    strstr(log, "alert critical firing: probe cpu_work slowdown 2.000 at N_up 2 (was ok)"));
	t = render(a, &st);
	CHECK(check_result(has_line(t, crit), crit, __FILE__, __LINE__));
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 1);
	free(t);
	/* Under critical but over warning: critical holds. */
	sample(a, &st, d, 62.5, S(10));
	t = render(a, &st);
	CHECK(has_line(t, crit));
	free(t);
	/* Under warning (1.4): eases to warning. */
	check_capture_stderr(&cap);
	sample(a, &st, d, 100 / 1.4, S(10));
	log = check_capture_end(&cap);
	CHECK(strstr(log, "alert critical eased to warning: probe cpu_work slowdown 1.400") !=
	      NULL);
	t = render(a, &st);
	CHECK(has_line(t, warn));
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 1);
	free(t);
	/* A brief spike over critical does not fire critical. */
	sample(a, &st, d, 50, S(10));
	sample(a, &st, d, 100 / 1.4, S(10));
	t = render(a, &st);
	CHECK(has_line(t, warn));
	free(t);
	sample(a, &st, d, 100, S(10));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);

	/* An alert ends when its domain stops. */
	for (int i = 0; i < 7; i++)
		sample(a, &st, d, 62.5, S(10));
	t = render(a, &st);
	CHECK(has_line(t, warn));
	free(t);
	drop(&st, 1);
	check_capture_stderr(&cap);
	now += S(10);
	update(a, &st);
	log = check_capture_end(&cap);
	CHECK(strstr(log, "the domain stopped") != NULL);
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- overhead, linearity, model */

static void
test_overhead_and_model(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 2;
	c.host_cpus = 2;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	sample(a, &st, d, 120, S(1));
	sample(a, &st, d, 120, S(1));
	/* N_up 2 with a busy neighbour: 120 / 80 - 1; then an idle one: 120 / 96 - 1. */
	struct vms_domain *b = add(&st, 2, "b");
	b->vcpu_utilization = 0.5;
	sample(a, &st, d, 80, S(1));
	sample(a, &st, d, 80, S(1));
	b->vcpu_utilization = 0.1;
	sample(a, &st, d, 96, S(1));
	d->vcpu_utilization = 0.9; /* busy itself: its neighbours are still idle */
	sample(a, &st, d, 96, S(1));
	char *t = render(a, &st);
	HAS(t, "vmscale_overhead_ratio{domain=\"a\",probe=\"cpu_work\",neighbours=\"busy\"} 0.5");
	HAS(t, "vmscale_overhead_ratio{domain=\"a\",probe=\"cpu_work\",neighbours=\"idle\"} 0.25");
	/* Means 120 at 1 and 88 at 2: a line through both. */
	HAS(t, "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} "
	       "88");
	HAS(t, "vmscale_linearity_intercept_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} "
	       "152");
	HAS(t,
	    "vmscale_linearity_slope_work_units_per_second{domain=\"a\",probe=\"cpu_work\"} -32");
	HAS(t, "vmscale_linearity_r_squared{domain=\"a\",probe=\"cpu_work\"} 1");
	/* Seed 001 with P = 2: N_up 1 and 2 cost the same; measured 120 / 88. */
	double e = value_of(t, "vmscale_cpu_model_error_ratio{domain=\"a\"}");
	CHECK(fabs(e - sqrt((120.0 / 88 - 1) * (120.0 / 88 - 1) / 2)) < 1e-9); /* 9 digits */
	free(t);
	/* N_up 4 at half speed is what the model predicts (4 / 2): that level adds no error. */
	add(&st, 3, "c");
	add(&st, 4, "e");
	sample(a, &st, d, 60, S(1));
	sample(a, &st, d, 60, S(1));
	t = render(a, &st);
	e = value_of(t, "vmscale_cpu_model_error_ratio{domain=\"a\"}");
	CHECK(fabs(e - sqrt((120.0 / 88 - 1) * (120.0 / 88 - 1) / 3)) < 1e-9);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 5. capacity */

/* count samples of v from domain i while N_up = level (i plus level - 1 fillers). */
static void
feed_level(struct vms_analysis *a, struct vms_store *st, unsigned i, const char *name,
           unsigned level, double v, unsigned count)
{
	while (st->ndomains)
		vms_store_remove(st, st->domains[0]);
	struct vms_domain *d = add(st, i, name);
	for (unsigned k = 1; k < level; k++)
		add(st, 900 + k, "filler");
	for (unsigned k = 0; k < count; k++)
		sample(a, st, d, v, S(1));
}

static void
test_capacity(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	/* Slowdowns by level: x and y 1, 1.25, 1.5; z 1, 2, 1.5. Medians 1, 1.25, 1.5. */
	static const double vals[3][3] = {{120, 96, 80}, {120, 96, 80}, {120, 60, 80}};
	for (unsigned lvl = 1; lvl <= 3; lvl++)
		for (unsigned i = 0; i < 3; i++)
			feed_level(a, &st, i + 1,
			           i == 0   ? "x"
			           : i == 1 ? "y"
			                    : "z",
			           lvl, vals[i][lvl - 1], 3);
	drop(&st, 901);
	drop(&st, 902); /* N_up 1 now */
	char *t = render(a, &st);
	/* 0.75 + 0.25 N_up reaches 1.5 at 3: 3 - 1 more domains. */
	HAS(t, "vmscale_capacity_predicted_max_domains{probe=\"cpu_work\"} 3");
	HAS(t, "vmscale_capacity_headroom_domains{probe=\"cpu_work\"} 2");
	HAS(t, "vmscale_capacity_fit_r_squared{probe=\"cpu_work\"} 1");
	HAS(t, "vmscale_capacity_fit_levels{probe=\"cpu_work\"} 3");
	HASNT(t, "vmscale_capacity_headroom_unavailable{probe=\"cpu_work\",reason=\"poor_fit\"} 1");
	CHECK_INT(count_prefix(t, "vmscale_capacity_headroom_unavailable{probe=\"cpu_work\""), 0);
	HAS(t,
	    "vmscale_capacity_headroom_unavailable{probe=\"fork_exit\",reason=\"no_baseline\"} 1");
	HAS(t, "vmscale_capacity_fit_levels{probe=\"fork_exit\"} 0");
	CHECK_INT(count_prefix(t, "vmscale_capacity_headroom_domains{"), 1);
	free(t);
	vms_analysis_free(a);

	/* Two levels only. */
	a = vms_analysis_new(&c);
	feed_level(a, &st, 1, "x", 1, 120, 3);
	feed_level(a, &st, 1, "x", 2, 80, 3);
	t = render(a, &st);
	HAS(t, "vmscale_capacity_headroom_unavailable{probe=\"cpu_work\",reason=\"too_few_levels\"}"
	       " 1");
	HAS(t, "vmscale_capacity_fit_levels{probe=\"cpu_work\"} 2");
	CHECK_INT(count_prefix(t, "vmscale_capacity_headroom_domains{"), 0);
	CHECK_INT(count_prefix(t, "vmscale_capacity_predicted_max_domains{"), 0);
	free(t);
	vms_analysis_free(a);

	/* Noisy: 1, 1.5, 1, 1.5 → slope 0.1, R^2 0.2. */
	a = vms_analysis_new(&c);
	static const double noisy[4] = {120, 80, 120, 80};
	for (unsigned lvl = 1; lvl <= 4; lvl++)
		feed_level(a, &st, 1, "x", lvl, noisy[lvl - 1], 3);
	t = render(a, &st);
	HAS(t, "vmscale_capacity_headroom_unavailable{probe=\"cpu_work\",reason=\"poor_fit\"} 1");
	HAS(t, "vmscale_capacity_fit_levels{probe=\"cpu_work\"} 4");
	CHECK(fabs(value_of(t, "vmscale_capacity_fit_r_squared{probe=\"cpu_work\"}") - 0.2) < 1e-9);
	CHECK_INT(count_prefix(t, "vmscale_capacity_headroom_domains{"), 0);
	free(t);
	vms_analysis_free(a);

	/* Flat: no trend to extrapolate. */
	a = vms_analysis_new(&c);
	for (unsigned lvl = 1; lvl <= 3; lvl++)
		feed_level(a, &st, 1, "x", lvl, 120, 3);
	t = render(a, &st);
	HAS(t, "vmscale_capacity_headroom_unavailable{probe=\"cpu_work\",reason=\"no_degradation_"
	       "trend\"} 1");
	HAS(t, "vmscale_capacity_fit_levels{probe=\"cpu_work\"} 3");
	CHECK_INT(count_prefix(t, "vmscale_capacity_headroom_domains{"), 0);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/*
 * Statistical honesty (issue 15): each baseline says how many samples and how much noise are
 * behind it; one sample out of the normal range never alerts, however long it is the newest;
 * a baseline whose noise reaches the warning threshold is reported as too noisy instead of
 * alerting.
 */
static void
test_baseline_noise(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 5;
	c.window_ns = S(30); /* the newest value only: one odd one is the slowdown */
	c.window_min = 1;
	c.alert_for_ns = 0;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *steady = add(&st, 1, "steady"), *noisy = add(&st, 2, "noisy");
	static const double calm[8] = {100, 99, 101, 100, 98, 102, 100, 101};
	static const double wild[8] = {100, 60, 140, 70, 130, 100, 65, 135};
	struct check_capture cap;
	check_capture_stderr(&cap);
	for (unsigned i = 0; i < 8; i++) {
		now += S(60);
		put(noisy, VMS_OP_CPU_WORK, wild[i]);
		put(steady, VMS_OP_CPU_WORK, calm[i]);
		update(a, &st);
	}
	const char *log = check_capture_end(&cap);
	CHECK(strstr(log, "domain noisy: probe cpu_work: baseline too noisy to judge") != NULL);
	CHECK(strstr(log, "domain steady: probe cpu_work: baseline too noisy") == NULL);
	char *t = render(a, &st);
	HAS(t, "vmscale_baseline_samples{domain=\"steady\",probe=\"cpu_work\"} 8");
	HAS(t, "vmscale_baseline_samples{domain=\"noisy\",probe=\"cpu_work\"} 8");
	double cv_steady =
	    value_of(t, "vmscale_baseline_cv_ratio{domain=\"steady\",probe=\"cpu_work\"}");
	double cv_noisy =
	    value_of(t, "vmscale_baseline_cv_ratio{domain=\"noisy\",probe=\"cpu_work\"}");
	/* MAD 1 and 32.5 around a median of 100. */
	CHECK(fabs(cv_steady - 1.4826 * 1 / 100) < 1e-6);
	CHECK(fabs(cv_noisy - 1.4826 * 32.5 / 100) < 1e-6);
	HAS(t, "vmscale_baseline_too_noisy{domain=\"steady\",probe=\"cpu_work\"} 0");
	HAS(t, "vmscale_baseline_too_noisy{domain=\"noisy\",probe=\"cpu_work\"} 1");
	free(t);

	/* A neighbour joins (N_up 3): one odd sample of the steady one, then its usual values. */
	add(&st, 3, "third");
	now += S(60);
	put(noisy, VMS_OP_CPU_WORK, 40);
	put(steady, VMS_OP_CPU_WORK, 50);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_slowdown_ratio{domain=\"steady\",probe=\"cpu_work\"} 2");
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0); /* one value: not yet */
	free(t);
	sample(a, &st, steady, 100, S(60));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	/* Slow for good: the second value out of range fires; the noisy one, as slow, stays
	 * unjudged. */
	check_capture_stderr(&cap);
	for (int i = 0; i < 3; i++) {
		now += S(60);
		put(noisy, VMS_OP_CPU_WORK, 40);
		put(steady, VMS_OP_CPU_WORK, 50);
		update(a, &st);
	}
	check_capture_end(&cap);
	t = render(a, &st);
	HAS(t, "vmscale_alert{domain=\"steady\",probe=\"cpu_work\",severity=\"critical\"} 1");
	CHECK(strstr(t, "vmscale_alert{domain=\"noisy\"") == NULL);
	HAS(t, "vmscale_slowdown_ratio{domain=\"noisy\",probe=\"cpu_work\"} 2.5");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 6. interference */

static void
give_vcpus(struct vms_domain *d, unsigned n)
{
	d->stats.have_cpu = true;
	d->stats.nvcpu = d->stats.vcpu_cap = n;
	d->stats.vcpu = calloc(n, sizeof(*d->stats.vcpu));
}

/* A victim whose cpu_work slows with the CPU use of a noisy neighbour, a quiet one beside:
 * 2 minutes of samples every 10 s. Returns the victim. */
static struct vms_domain *
noisy_neighbour(struct vms_analysis *a, struct vms_store *st)
{
	struct vms_domain *v = add(st, 1, "victim");
	for (int i = 0; i < 5; i++)
		sample(a, st, v, 100, S(1));
	now += S(100);
	struct vms_domain *noisy = add(st, 2, "noisy"), *quiet = add(st, 3, "quiet");
	give_vcpus(noisy, 2);
	give_vcpus(quiet, 1);
	update(a, st); /* the neighbours' first statistics */
	/* CPU cores the noisy one uses per interval; the victim is 1 + that times slower. */
	static const double use[12] = {0.6, 1.0, 0.8,  1.4, 0.7,  1.2,
	                               0.9, 1.6, 0.65, 1.1, 0.75, 1.3};
	static const double calm[12] = {0.3, 0.1, 0.3, 0.1, 0.3, 0.1, 0.1, 0.3, 0.1, 0.3, 0.1, 0.3};
	for (unsigned i = 0; i < 12; i++) {
		noisy->stats.vcpu[0].time_ns += (uint64_t)(use[i] * 0.5 * 10e9);
		noisy->stats.vcpu[1].time_ns += (uint64_t)(use[i] * 0.5 * 10e9);
		quiet->stats.vcpu[0].time_ns += (uint64_t)(calm[i] * 10e9);
		sample(a, st, v, 100 / (1 + use[i]), S(10));
	}
	return v;
}

static void
test_interference(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *v = noisy_neighbour(a, &st);
	char *t = render(a, &st);
	/* The noisy one: its use goes with the slowdown, and it started when the slowdown began
	 * (it joined after the baseline); it ranks first. */
	const char *top = strstr(t, "\nvmscale_interference_score{");
	CHECK(top &&
	      strncmp(top + 1, "vmscale_interference_score{victim=\"victim\",suspect=\"noisy\",",
	              sizeof("vmscale_interference_score{victim=\"victim\",suspect=\"noisy\",") -
	                  1) == 0);
	double score = value_of(t, "vmscale_interference_score{victim=\"victim\",suspect=\"noisy\","
	                           "resource=\"cpu\",evidence=\"correlation\"}");
	CHECK(score > 0.999 && score <= 1.0 + 1e-12);
	/* The only busy neighbour: all of the busy use, (1 + 1) / 2. */
	CHECK(value_of(t, "vmscale_interference_score{victim=\"victim\",suspect=\"noisy\","
	                  "resource=\"cpu\",evidence=\"onset\"}") == 1.0);
	/* The quiet one: little use that goes with nothing: not a suspect. */
	CHECK_INT(count_prefix(t, "vmscale_interference_score{victim=\"victim\",suspect=\"quiet\""),
	          0);
	/* Constant block and network use (none) correlate with nothing. */
	CHECK_INT(count_prefix(t, "vmscale_interference_score{victim=\"victim\",suspect=\"noisy\","
	                          "resource=\"block\""),
	          0);
	/* Only a victim over its warning threshold has suspects. */
	CHECK_INT(count_prefix(t, "vmscale_interference_score{victim=\"noisy\""), 0);
	free(t);

	/* Back to normal: the suspects go. */
	for (unsigned i = 0; i < 32; i++)
		sample(a, &st, v, 100, S(10));
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_interference_score{"), 0);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/*
 * A whole host degraded at once: 160 victims slowed by one noisy neighbour. A pass searches
 * only as many victims as its budget of victim-neighbour pairs allows (about 100 here), in
 * turn; after a few passes every victim names the noisy one, and a victim left for the next
 * pass keeps the suspects it had.
 */
static void
test_interference_many_victims(void)
{
	enum { NV = 160 };
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *v[NV];
	char name[32];
	for (unsigned k = 0; k < NV; k++) {
		snprintf(name, sizeof(name), "victim%u", k);
		v[k] = add(&st, 10 + k, name);
	}
	for (int i = 0; i < 5; i++) {
		now += S(1);
		for (unsigned k = 0; k < NV; k++)
			put(v[k], VMS_OP_CPU_WORK, 100);
		update(a, &st);
	}
	now += S(100);
	struct vms_domain *noisy = add(&st, 2, "noisy");
	give_vcpus(noisy, 1);
	update(a, &st);
	static const double use[16] = {0.6,  1.0, 0.8,  1.4, 0.7, 1.2, 0.9, 1.6,
	                               0.65, 1.1, 0.75, 1.3, 0.7, 1.5, 0.8, 1.2};
	for (unsigned i = 0; i < 16; i++) {
		noisy->stats.vcpu[0].time_ns += (uint64_t)(use[i] * 10e9);
		now += S(10);
		for (unsigned k = 0; k < NV; k++)
			put(v[k], VMS_OP_CPU_WORK, 100 / (1 + use[i]));
		update(a, &st);
	}
	char *t = render(a, &st);
	unsigned named = 0;
	for (unsigned k = 0; k < NV; k++) {
		char want[128];
		snprintf(want, sizeof(want),
		         "vmscale_interference_score{victim=\"victim%u\",suspect=\"noisy\","
		         "resource=\"cpu\",evidence=\"correlation\"}",
		         k);
		named += strstr(t, want) != NULL;
	}
	free(t);
	CHECK_INT(named, NV);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* One collection interval of 10 s: each domain's vCPU uses `cores` (its utilization set as
 * the store would), the victim waits `delay` of its vCPU time, and reports cpu_work v. */
static void
interval_of(struct vms_analysis *a, struct vms_store *st, struct vms_domain *victim, double v,
            struct vms_domain **n, const double *cores, unsigned nn, double delay)
{
	for (unsigned k = 0; k < nn; k++) {
		n[k]->stats.vcpu[0].time_ns += (uint64_t)(cores[k] * 10e9);
		n[k]->vcpu_utilization = cores[k];
	}
	victim->stats.vcpu[0].time_ns += (uint64_t)(0.5 * 10e9);
	victim->stats.vcpu[0].delay_ns += (uint64_t)(delay * 10e9);
	victim->stats.vcpu[0].has_delay = true;
	victim->vcpu_utilization = 0.5;
	sample(a, st, victim, v, S(10));
}

/* Three neighbours join a victim that ran alone: two busy, steadily (nothing to correlate),
 * one idle, and the victim halves: the two are named by onset, the idle one is not. An hour
 * on, a second victim slows when an idle domain joins, while the two are still busy: named by
 * their share, as long as that victim waits for a CPU (vcpu.N.delay). */
static void
test_interference_steady(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *v = add(&st, 1, "victim"), *n[3];
	give_vcpus(v, 1);
	for (int i = 0; i < 8; i++)
		interval_of(a, &st, v, 100, n, NULL, 0, 0);
	static const char *const names[3] = {"busy1", "busy2", "idle"};
	for (unsigned k = 0; k < 3; k++) {
		n[k] = add(&st, 2 + k, names[k]);
		give_vcpus(n[k], 1);
	}
	const double busy[3] = {0.9, 0.9, 0.01};
	for (int i = 0; i < 12; i++)
		interval_of(a, &st, v, 50, n, busy, 3, 0.3);
	char *t = render(a, &st);
	static const char busy1[] =
	    "vmscale_interference_score{victim=\"victim\",suspect=\"busy1\","
	    "resource=\"cpu\",evidence=\"onset\"}";
	static const char busy2[] =
	    "vmscale_interference_score{victim=\"victim\",suspect=\"busy2\","
	    "resource=\"cpu\",evidence=\"onset\"}";
	CHECK(value_of(t, busy1) == 0.75); /* (1 + half of the busy use) / 2 */
	CHECK(value_of(t, busy2) == 0.75);
	CHECK(strstr(t, "suspect=\"idle\"") == NULL);
	CHECK(strstr(t, "evidence=\"correlation\"") == NULL); /* steady: nothing to correlate */
	free(t);

	/* An hour on, "late" joins and forms its baseline; then an idle domain joins and late
	 * slows: its slowdown began long after busy1 and busy2 turned busy. */
	for (int i = 0; i < 360; i++)
		interval_of(a, &st, v, 50, n, busy, 3, 0.3);
	struct vms_domain *late = add(&st, 9, "late");
	give_vcpus(late, 1);
	for (int i = 0; i < 8; i++) {
		put(late, VMS_OP_CPU_WORK, 100);
		interval_of(a, &st, v, 50, n, busy, 3, 0.3);
	}
	give_vcpus(add(&st, 10, "extra"), 1);
	static const double delays[2] = {0.25, 0.0};
	for (unsigned dk = 0; dk < 2; dk++) {
		double delay = delays[dk];
		for (int i = 0; i < 40; i++) {
			late->stats.vcpu[0].time_ns += (uint64_t)(0.5 * 10e9);
			late->stats.vcpu[0].delay_ns += (uint64_t)(delay * 10e9);
			late->stats.vcpu[0].has_delay = true;
			put(late, VMS_OP_CPU_WORK, 40);
			interval_of(a, &st, v, 50, n, busy, 3, 0.3);
		}
		t = render(a, &st);
		/* Each holds 0.9 of the 2.3 cores the busy neighbours use (the first victim 0.5).
		 */
		unsigned shares =
		    count_prefix(t, "vmscale_interference_score{victim=\"late\",suspect=\"busy1\","
		                    "resource=\"cpu\",evidence=\"share\"} 0.391304348") +
		    count_prefix(t, "vmscale_interference_score{victim=\"late\",suspect=\"busy2\","
		                    "resource=\"cpu\",evidence=\"share\"} 0.391304348");
		/* Waiting for a CPU: the busy ones hold the CPUs; not waiting: they are not why. */
		if (!CHECK_INT(shares, delay > 0 ? 2 : 0))
			fprintf(stderr, "  delay %.2f:\n%s", delay,
			        strstr(t, "# TYPE vmscale_interference_score"));
		CHECK(strstr(t, "victim=\"late\",suspect=\"idle\"") == NULL);
		CHECK(strstr(t, "victim=\"late\",suspect=\"extra\"") == NULL);
		CHECK(
		    strstr(
		        t,
		        "victim=\"late\",suspect=\"busy1\",resource=\"cpu\",evidence=\"onset\"") ==
		    NULL);
		free(t);
	}
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* Host perf events count cycles and instructions: the victim's CPI goes with the use of a
 * neighbour that turns noisy, and replaces the slowdown as the signal (CPI²). */
static void
test_interference_cpi(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *v = add(&st, 1, "victim"), *noisy = NULL;
	give_vcpus(v, 1);
	const uint32_t bits = (1u << VMS_PERF_CPU_CYCLES) | (1u << VMS_PERF_INSTRUCTIONS);
	static const double use[16] = {0.6,  1.0, 0.8,  1.4, 0.7, 1.2, 0.9, 1.6,
	                               0.65, 1.1, 0.75, 1.3, 0.7, 1.5, 0.8, 1.2};
	for (unsigned i = 0; i < 24; i++) {
		bool loaded = i >= 8;
		if (i == 8) { /* the noisy one joins */
			noisy = add(&st, 2, "noisy");
			give_vcpus(noisy, 1);
		}
		double u = loaded ? use[i - 8] : 0.01;
		v->stats.perf_have = bits;
		v->stats.perf[VMS_PERF_INSTRUCTIONS] += 1000000000;
		/* CPI 1 alone, 1 + use beside the noisy one; cpu_work constant while loaded: the
		 * slowdown has no variance, only the CPI does. */
		v->stats.perf[VMS_PERF_CPU_CYCLES] += (uint64_t)(1e9 * (1 + u));
		const double cores[1] = {u};
		interval_of(a, &st, v, loaded ? 40 : 100, &noisy, cores, loaded, 0.2);
	}
	char *t = render(a, &st);
	double r = value_of(t, "vmscale_interference_score{victim=\"victim\",suspect=\"noisy\","
	                       "resource=\"cpu\",evidence=\"cpi\"}");
	if (!CHECK(r > 0.99))
		fprintf(stderr, "%s", strstr(t, "# TYPE vmscale_interference_score"));
	CHECK(strstr(t, "evidence=\"correlation\"") == NULL);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* The number of interference series now. */
static unsigned
suspects_now(const struct vms_analysis *a, const struct vms_store *st)
{
	char *t = render(a, st);
	unsigned n = count_prefix(t, "vmscale_interference_score{");
	free(t);
	return n;
}

/*
 * Suspects are recomputed once per collection interval, whatever it is: with a 60 s interval
 * a change seen 5 s (and 59 s) after a recomputation is not acted on yet, 60 s after it is;
 * with 5 s, 5 s after. The change: the victim's warning threshold raised out of reach, so
 * that a recomputation finds no victim.
 */
static void
check_interference_interval(unsigned interval_s)
{
	struct vms_analysis_config c;
	config(&c);
	c.interval_ns = S(interval_s);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	noisy_neighbour(a, &st);
	now += S(interval_s); /* a whole interval since any recomputation: this update is one */
	update(a, &st);
	CHECK(suspects_now(a, &st) > 0);
	c.warning[VMS_AN_CPU_WORK] = c.critical[VMS_AN_CPU_WORK] = 100;
	vms_analysis_set_config(a, &c);
	now += S(5);
	update(a, &st);
	if (interval_s > 5) {
		CHECK(suspects_now(a, &st) > 0);
		now += S(interval_s - 6);
		update(a, &st);
		CHECK(suspects_now(a, &st) > 0);
		now += S(1);
		update(a, &st);
	}
	CHECK_INT(suspects_now(a, &st), 0);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

static void
test_interference_interval(void)
{
	struct vms_analysis_config c;
	vms_analysis_config_defaults(&c);
	CHECK_INT(c.interval_ns, S(5)); /* the daemon's default interval */
	check_interference_interval(60);
	check_interference_interval(5);
}

/* Five correlated neighbours, more or less noisy: the three best, best first. */
static void
test_top_suspects(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *v = add(&st, 1, "victim");
	for (int i = 0; i < 5; i++)
		sample(a, &st, v, 100, S(1));
	now += S(100);
	struct vms_domain *n[5];
	static const char *const names[5] = {"n4", "n1", "n3", "n0", "n2"}; /* n0 cleanest */
	static const double noise[5] = {0.4, 0.1, 0.3, 0.0, 0.2};
	for (unsigned k = 0; k < 5; k++) {
		n[k] = add(&st, 10 + k, names[k]);
		give_vcpus(n[k], 1);
	}
	update(a, &st);
	static const double use[12] = {0.6, 1.0, 0.8,  1.4, 0.7,  1.2,
	                               0.9, 1.6, 0.65, 1.1, 0.75, 1.3};
	for (unsigned i = 0; i < 12; i++) {
		for (unsigned k = 0; k < 5; k++)
			n[k]->stats.vcpu[0].time_ns +=
			    (uint64_t)((use[i] + noise[k] * (i % 2 ? 1 : -1)) * 10e9);
		sample(a, &st, v, 100 / (1 + use[i]), S(10));
	}
	char *t = render(a, &st);
	/* Three suspects, each named by its correlation (and by its start: all joined at once,
	 * so each holds a fifth of the busy use: an onset score of 0.6, below their r). */
	CHECK_INT(count_prefix(t, "vmscale_interference_score{"), 6);
	CHECK(strstr(t, "resource=\"cpu\",evidence=\"share\"") == NULL);
	const char *l = strstr(t, "\nvmscale_interference_score{");
	CHECK(l && strstr(l, "suspect=\"n0\"") &&
	      strstr(l, "suspect=\"n0\"") < strstr(l, "suspect=\"n1\"") &&
	      strstr(l, "suspect=\"n1\"") < strstr(l, "suspect=\"n2\""));
	CHECK(strstr(t, "suspect=\"n3\"") == NULL && strstr(t, "suspect=\"n4\"") == NULL);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* State of a domain gone longer than the retention time is forgotten. */
static void
test_retention(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.retention_s = 100;
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	add(&st, 2, "b");
	sample(a, &st, d, 100, S(1));
	drop(&st, 1);
	now += S(50);
	update(a, &st);
	char *t = render(a, &st);
	HAS(t, "vmscale_analysis_domains_tracked 2");
	CHECK_INT(count_prefix(t, "vmscale_nup_samples{"), 0); /* not running: not exported */
	free(t);
	now += S(60);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_analysis_domains_tracked 1");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 7. persistence */

static const char *const persisted[] = {
    "vmscale_nup_mean_",
    "vmscale_nup_samples{",
    "vmscale_baseline_",
    "vmscale_overhead_ratio{",
    "vmscale_linearity_",
    "vmscale_cpu_model_error_ratio{",
    "vmscale_nup_host_",
    "vmscale_host_linearity_",
    "vmscale_domain_startup_seconds{",
    "vmscale_capacity_",
    "vmscale_analysis_domains_tracked ",
};

/* The sample lines of the persisted families, in order. */
static char *
persisted_lines(const char *text)
{
	struct vms_buf b;
	vms_buf_init(&b);
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
		for (size_t k = 0; k < sizeof(persisted) / sizeof(persisted[0]); k++)
			if (strncmp(p, persisted[k], strlen(persisted[k])) == 0) {
				vms_buf_append(&b, p, len);
				break;
			}
		p = e ? e + 1 : NULL;
	}
	char *s = calloc(1, b.len + 1);
	if (b.len)
		memcpy(s, b.data, b.len);
	vms_buf_free(&b);
	return s;
}

/* A state with every record kind: baselines (one pinned), buckets, overhead, startup, host. */
static struct vms_analysis *
rich_state(struct vms_store *st, const struct vms_analysis_config *c)
{
	struct vms_analysis *a = vms_analysis_new(c);
	struct vms_domain *d = add(st, 1, "a b\"%-");
	st->host.valid = true;
	st->host.ticks_per_second = 100;
	st->host.cpu_ticks_idle = 1000;
	for (int i = 0; i < 3; i++) {
		put(d, VMS_OP_FORK_EXIT, 0.25);
		sample(a, st, d, 100 + i, S(1));
	}
	struct vms_domain *b = add(st, 2, "b");
	now += S(1);
	update(a, st); /* b starts */
	b->probe.hello = true;
	b->probe.hello_at_ns = now + S(2);
	for (int i = 0; i < 4; i++) {
		put(d, VMS_OP_FORK_EXIT, 0.3 + i * 0.01);
		st->host.cpu_ticks_user += 50;
		st->host.cpu_ticks_idle += 350;
		sample(a, st, d, 80 + i, S(5));
	}
	put(b, VMS_OP_CTXSW, 1234.5);
	for (int i = 0; i < 3; i++)
		sample(a, st, d, 90, S(1));
	struct vms_buf out;
	vms_buf_init(&out);
	char err[128];
	CHECK_INT(control(a, &out, err, sizeof(err), 4, "baseline", "pin", "a b\"%-", "fork_exit"),
	          0);
	vms_buf_free(&out);
	/* No fresh values from here on: updates only refresh presence. */
	for (unsigned i = 0; i < VMS_OP_COUNT; i++)
		d->probe.ops[i].have = b->probe.ops[i].have = false;
	now += S(1);
	update(a, st);
	return a;
}

static char *
render_after_update(struct vms_analysis *a, struct vms_store *st)
{
	update(a, st);
	char *t = render(a, st);
	char *p = persisted_lines(t);
	free(t);
	return p;
}

static int
count_bad(const char *dir)
{
	DIR *dd = opendir(dir);
	int n = 0;
	struct dirent *e;
	if (!dd)
		return -1;
	while ((e = readdir(dd)) != NULL)
		n += strncmp(e->d_name, "analysis.state.bad-", 19) == 0;
	closedir(dd);
	return n;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!CHECK(f != NULL))
		return;
	CHECK(fwrite(data, 1, len, f) == len);
	fclose(f);
}

static void
expect_unusable(const struct vms_analysis_config *c, struct vms_store *st, const char *dir,
                const char *path, int bad_before)
{
	struct vms_analysis *a = vms_analysis_new(c);
	struct check_capture cap;
	check_capture_stderr(&cap);
	CHECK_INT(vms_analysis_load(a, path), -1);
	const char *log = check_capture_end(&cap);
	CHECK(strstr(log, "is unusable") != NULL && strstr(log, "starting fresh") != NULL);
	CHECK_INT(count_bad(dir), bad_before + 1);
	CHECK(access(path, F_OK) != 0);
	char *t = render(a, st);
	HAS(t, "vmscale_analysis_domains_tracked 0");
	HAS(t, "vmscale_analysis_state_loaded{result=\"unusable\"} 1");
	free(t);
	vms_analysis_free(a);
}

static void
test_persistence(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_analysis *a = rich_state(&st, &c);
	char *before = render_after_update(a, &st);
	/* Every record kind made it into the state. */
	CHECK(strstr(before, "vmscale_overhead_ratio{domain=\"a "
	                     "b\\\"%-\",probe=\"cpu_work\",neighbours=\"idle\"}") != NULL);
	CHECK(strstr(before, "vmscale_domain_startup_seconds{domain=\"b\"} 2\n") != NULL);
	CHECK(strstr(before, "vmscale_nup_host_mean_cpu_seconds_per_second{metric=\"hypervisor_"
	                     "overhead\",n_up=\"2\"}") != NULL);
	CHECK(strstr(before,
	             "vmscale_baseline_pinned{domain=\"a b\\\"%-\",probe=\"fork_exit\"} 1\n") !=
	      NULL);
	CHECK(strstr(before, "vmscale_nup_samples{domain=\"b\",probe=\"ctxsw\",n_up=\"2\"} 1\n") !=
	      NULL);

	struct vms_buf payload;
	vms_buf_init(&payload);
	vms_analysis_serialize(a, &payload);
	struct vms_analysis *b = vms_analysis_new(&c);
	char err[256] = "";
	CHECK_INT(vms_analysis_deserialize(b, payload.data, payload.len, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	char *after = render_after_update(b, &st);
	CHECK_STR(after, before);
	free(after);
	/* And what it saves again is what it loaded. */
	struct vms_buf again;
	vms_buf_init(&again);
	vms_analysis_serialize(b, &again);
	CHECK_STR(buf_str(&again), buf_str(&payload));
	vms_buf_free(&again);
	vms_analysis_free(b);

	/* Through the state file. */
	char dir[] = "/tmp/test_analysis.XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	char path[256];
	snprintf(path, sizeof(path), "%s/analysis.state", dir);
	b = vms_analysis_new(&c);
	CHECK_INT(vms_analysis_load(b, path), 1);
	char *t = render(b, &st);
	HAS(t, "vmscale_analysis_state_loaded{result=\"absent\"} 1");
	free(t);
	vms_analysis_free(b);
	CHECK_INT(vms_analysis_save(a, path, 1700000123.0, err, sizeof(err)), 0);
	t = render(a, &st);
	HAS(t, "vmscale_analysis_state_saves_total{result=\"ok\"} 1");
	HAS(t, "vmscale_analysis_state_last_save_timestamp_seconds 1700000123");
	free(t);
	b = vms_analysis_new(&c);
	CHECK_INT(vms_analysis_load(b, path), 0);
	after = render_after_update(b, &st);
	CHECK_STR(after, before);
	free(after);
	t = render(b, &st);
	HAS(t, "vmscale_analysis_state_loaded{result=\"loaded\"} 1");
	free(t);
	vms_analysis_free(b);

	/* A flipped byte. */
	size_t len;
	char *file = check_read_file(path, &len);
	file[len - 4] ^= 0x01;
	write_file(path, file, len);
	free(file);
	expect_unusable(&c, &st, dir, path, 0);
	/* Cut short. */
	CHECK_INT(vms_analysis_save(a, path, 1700000124.0, err, sizeof(err)), 0);
	file = check_read_file(path, &len);
	write_file(path, file, len / 2);
	free(file);
	expect_unusable(&c, &st, dir, path, 1);
	/* Not ours. */
	write_file(path, "[Unit]\nDescription=something else\n", 34);
	expect_unusable(&c, &st, dir, path, 2);
	/* A container that is fine around a payload that is not. */
	const char *junk = "domain x 1 0 0 - x\nbucket cpu_work 0 1 5 0 1 5\nend 1\n";
	CHECK_INT(vms_statefile_write(path, "analysis", 1, junk, strlen(junk), err, sizeof(err)),
	          0);
	expect_unusable(&c, &st, dir, path, 3);
	check_remove_tree(dir);

	/* Bad records, each named by its line; the analysis keeps what it had. */
	static const struct {
		const char *payload, *error;
	} bad[] = {
	    {"domain k 1 0 0 - a\nbucket cpu_work 0 1 5 0 1 5\nend 1\n",
	     "line 2: malformed 'bucket' record"},
	    {"domain k 1 0 0 - a\nbucket cpu_work 1 1 nan 0 1 5\nend 1\n",
	     "line 2: malformed 'bucket' record"},
	    {"domain k 1 0 0 - a\nbucket cpu_work 1 2 5 0 2 5 inf\nend 1\n",
	     "line 2: malformed 'bucket' record"},
	    {"domain k 1 0 0 - a\nbucket cpu_work 1 2 5 0 3 5 5\nend 1\n",
	     "line 2: malformed 'bucket' record"},
	    {"domain k 1 0 0 - a\nbucket cpu_work 1 30 5 0 20 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 5 "
	     "5 5\nend 1\n",
	     "line 2: too many fields"},
	    {"domain k 1 0 0 - a\nbaseline cpu_work 2 5 1\nend 1\n",
	     "line 2: malformed 'baseline' record"},
	    {"domain k 1 0 0 - a\nbaseline nosuch 0 5 1\nend 1\n",
	     "line 2: malformed 'baseline' record"},
	    {"bucket cpu_work 1 1 5 0 1 5\nend 0\n", "line 1: malformed 'bucket' record"},
	    {"domain k 1 0 0 - a\nfrob 1\nend 1\n", "line 2: malformed 'frob' record"},
	    {"domain k 1 0 0 - a\nhost startup_seconds 1 -1 2 0\nend 1\n",
	     "line 2: malformed 'host' record"},
	    {"domain k 1 0 0 - a\nstartup 3\n", "no end record: the state is incomplete"},
	    {"domain k 1 0 0 - a\nend 2\n",
	     "line 2: the end record counts 2 domains, the file has 1"},
	    {"domain k 1 0 0 - a\nend 1\ndomain j 1 0 0 - b\n",
	     "line 3: data after the end record"},
	    {"domain k 1 0 0 - a\ndomain k 1 0 0 - b\nend 2\n",
	     "line 2: malformed 'domain' record"},
	};
	char *kept = render_after_update(a, &st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(vms_analysis_deserialize(a, bad[i].payload, strlen(bad[i].payload), err,
		                                   sizeof(err)),
		          -1);
		CHECK_STR(err, bad[i].error);
	}
	after = render_after_update(a, &st);
	CHECK_STR(after, kept);
	free(after);
	free(kept);

	/* A good hand-written payload: the baseline is chosen from the restored bucket. */
	const char *good = "domain 00000000-0000-4000-8000-000000000001 1700000000 0 0 - a\n"
	                   "bucket cpu_work 1 3 100 0 3 100 100 100\nend 1\n";
	CHECK_INT(vms_analysis_deserialize(a, good, strlen(good), err, sizeof(err)), 0);
	t = render(a, &st);
	HAS(t, "vmscale_analysis_domains_tracked 1");
	free(t);
	update(a, &st);
	t = render(a, &st);
	HAS(t,
	    "vmscale_baseline_work_units_per_second{domain=\"a b\\\"%-\",probe=\"cpu_work\"} 100");
	HAS(t, "vmscale_nup_samples{domain=\"a b\\\"%-\",probe=\"cpu_work\",n_up=\"1\"} 3");
	free(t);

	free(before);
	vms_buf_free(&payload);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 8. startup */

static void
test_startup(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *early = add(&st, 1, "early");
	early->probe.hello = true;
	early->probe.hello_at_ns = now;
	now += S(1);
	update(a, &st); /* it already ran when we started: no startup time */
	now += S(10);
	struct vms_domain *s = add(&st, 2, "s");
	uint64_t start = now;
	update(a, &st);
	now += S(2);
	update(a, &st);
	char *t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_domain_startup_seconds{"), 0);
	free(t);
	s->probe.hello = true;
	s->probe.hello_at_ns = start + S(3);
	now += S(2);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_domain_startup_seconds{domain=\"s\"} 3");
	CHECK_INT(count_prefix(t, "vmscale_domain_startup_seconds{"), 1);
	HAS(t, "vmscale_nup_host_mean_seconds{metric=\"startup\",n_up=\"2\"} 3");
	HAS(t, "vmscale_nup_host_samples{metric=\"startup\",n_up=\"2\"} 1");
	free(t);

	/* A restart (new libvirt id) is another start. */
	s = vms_store_upsert(&st, uuid_of(2), "s", 77);
	s->probe.hello = false;
	now += S(10);
	start = now;
	update(a, &st);
	s->probe.hello = true;
	s->probe.hello_at_ns = start + S(5);
	now += S(6);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_domain_startup_seconds{domain=\"s\"} 5");
	HAS(t, "vmscale_nup_host_mean_seconds{metric=\"startup\",n_up=\"2\"} 4");
	HAS(t, "vmscale_nup_host_samples{metric=\"startup\",n_up=\"2\"} 2");
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- 9. hypervisor overhead */

static void
test_hypervisor(void)
{
	struct vms_analysis_config c;
	config(&c); /* 4 host CPUs */
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	give_vcpus(d, 2);
	st.host.valid = true;
	st.host.ticks_per_second = 100;
	st.host.cpu_ticks_user = 1000;
	st.host.cpu_ticks_idle = 3000;
	now += S(10);
	update(a, &st);
	char *t = render(a, &st);
	HASNT(t, "vmscale_hypervisor_overhead_cpu_seconds_per_second 0");
	CHECK_INT(count_prefix(t, "vmscale_hypervisor_overhead_cpu_seconds_per_second "), 0);
	free(t);
	/* 10 s on 4 CPUs = 4000 ticks: 1500 busy (15 CPU-seconds), the vCPUs ran 12 s. */
	st.host.cpu_ticks_user += 1200;
	st.host.cpu_ticks_system += 300;
	st.host.cpu_ticks_idle += 2500;
	d->stats.vcpu[0].time_ns += S(7);
	d->stats.vcpu[1].time_ns += S(5);
	now += S(10);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_hypervisor_overhead_cpu_seconds_per_second 0.3");
	HAS(t, "vmscale_nup_host_mean_cpu_seconds_per_second{metric=\"hypervisor_overhead\",n_up="
	       "\"1\"} 0.3");
	HAS(t, "vmscale_host_cpus 4");
	free(t);
	/* Another interval: 2 cores busy, 1.5 in vCPUs. */
	st.host.cpu_ticks_user += 2000;
	st.host.cpu_ticks_idle += 2000;
	d->stats.vcpu[0].time_ns += S(15);
	now += S(10);
	update(a, &st);
	t = render(a, &st);
	HAS(t, "vmscale_hypervisor_overhead_cpu_seconds_per_second 0.5");
	HAS(t, "vmscale_nup_host_mean_cpu_seconds_per_second{metric=\"hypervisor_overhead\",n_up="
	       "\"1\"} 0.4");
	HAS(t, "vmscale_nup_host_samples{metric=\"hypervisor_overhead\",n_up=\"1\"} 2");
	free(t);
	/* A domain arriving mid-interval: that interval is not attributable. */
	struct vms_domain *e = add(&st, 2, "e");
	give_vcpus(e, 1);
	st.host.cpu_ticks_user += 2000;
	st.host.cpu_ticks_idle += 2000;
	now += S(10);
	update(a, &st);
	t = render(a, &st);
	CHECK_INT(
	    count_prefix(t, "vmscale_nup_host_samples{metric=\"hypervisor_overhead\",n_up=\"2\"}"),
	    0);
	free(t);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* An update that finds nothing new leaves the generation where it was (no re-render every
 * tick); a new sample moves it, and so does an alert that falls due through time alone. */
static void
test_generation_on_change(void)
{
	struct vms_analysis_config c;
	config(&c);
	c.min_samples = 3;
	c.window_ns = S(60);
	c.window_min = 1; /* the window alone */
	c.alert_for_ns = S(30);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	struct vms_analysis *a = vms_analysis_new(&c);
	CHECK(vms_analysis_next_due_ns(a) == 0); /* never updated: due at once */
	/* The baseline: 100 at N_up 1. */
	for (int i = 0; i < 3; i++)
		sample(a, &st, d, 100, S(1));
	now += S(1);
	update(a, &st);
	uint64_t g = vms_analysis_generation(a);
	char *before = render(a, &st);
	now += S(1);
	update(a, &st);
	now += S(1);
	update(a, &st);
	CHECK(vms_analysis_generation(a) == g);
	CHECK(vms_analysis_next_due_ns(a) > now);
	char *after = render(a, &st);
	CHECK_STR(after, before); /* what the generation vouches for */
	free(before);
	free(after);
	struct vms_buf out;
	char err[256];
	vms_buf_init(&out);
	CHECK_INT(control(a, &out, err, sizeof(err), 1, "status"), 0);
	CHECK_INT(control(a, &out, err, sizeof(err), 2, "baseline", "list"), 0);
	CHECK(vms_analysis_generation(a) == g);
	CHECK(vms_analysis_next_due_ns(a) > now);

	sample(a, &st, d, 100, S(1)); /* a new sample */
	CHECK(vms_analysis_generation(a) != g);

	add(&st, 2, "b");
	sample(a, &st, d, 62.5, S(61)); /* the window holds only it: slowdown 1.6 */
	uint64_t over_since = now;
	/* A second value out of the normal range: the condition holds, since the first. */
	sample(a, &st, d, 62.5, S(1));
	now += S(1);
	update(a, &st);
	g = vms_analysis_generation(a);
	now += S(1);
	update(a, &st);
	CHECK(vms_analysis_generation(a) == g);
	CHECK(vms_analysis_next_due_ns(a) <= over_since + S(30));
	now = over_since + S(30) - 1; /* alert-for not quite held */
	update(a, &st);
	CHECK(vms_analysis_generation(a) == g);
	char *t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	free(t);
	now = over_since + S(30); /* held: the alert fires with no new sample */
	update(a, &st);
	CHECK(vms_analysis_generation(a) != g);
	t = render(a, &st);
	HAS(t, "vmscale_alert{domain=\"a\",probe=\"cpu_work\",severity=\"warning\"} 1");
	free(t);

	g = vms_analysis_generation(a);
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "pin", "a"), 0);
	CHECK(vms_analysis_generation(a) != g);
	CHECK(vms_analysis_next_due_ns(a) == 0); /* the next update must see it */
	vms_buf_free(&out);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* ---------------------------------------------------------------- outliers */

static void
test_outliers(void)
{
	struct vms_analysis_config c;
	config(&c); /* 5 samples, a 120 s window, alert-for 60 s */
	struct vms_analysis *a = vms_analysis_new(&c);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = add(&st, 1, "a");
	for (int i = 0; i < 20; i++)
		sample(a, &st, d, 98 + i % 5, S(5)); /* 98 .. 102: median and mean 100 */
	const char *base =
	    "vmscale_baseline_work_units_per_second{domain=\"a\",probe=\"cpu_work\"}";
	const char *mean =
	    "vmscale_nup_mean_work_units_per_second{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"}";
	const char *outl = "vmscale_analysis_outliers_total{domain=\"a\",probe=\"cpu_work\"}";
	char *t = render(a, &st);
	CHECK(value_of(t, base) == 100);
	CHECK(value_of(t, mean) == 100);
	HAS(t, "# TYPE vmscale_analysis_outliers_total counter");
	CHECK(value_of(t, outl) == 0);
	CHECK_INT(count_prefix(t, "vmscale_analysis_outliers_total{"), 1); /* fed probes only */
	free(t);

	/* One sample 100 times faster: the bucket, the baseline and the slowdown stay. */
	sample(a, &st, d, 10000, S(5));
	t = render(a, &st);
	CHECK(fabs(value_of(t, base) - 100) < 1);
	CHECK(fabs(value_of(t, mean) - 100) < 1);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"1\"} 20");
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 1");
	CHECK(value_of(t, outl) == 1);
	free(t);

	/* One 100 times slower where the window cannot outvote it: the domain restarted (its
	 * window emptied) and its probe's next sample is more than alert-for away. Taken, it
	 * would be the slowdown (100) and fire critical after 60 s. */
	drop(&st, 1);
	now += S(5);
	update(a, &st);
	d = add(&st, 1, "a");
	sample(a, &st, d, 1, S(5));
	for (int i = 0; i < 24; i++) {
		now += S(5);
		update(a, &st);
	}
	t = render(a, &st);
	CHECK_INT(count_prefix(t, "vmscale_alert{"), 0);
	CHECK_INT(count_prefix(t, "vmscale_slowdown_ratio{"), 0);
	CHECK(fabs(value_of(t, base) - 100) < 1);
	CHECK(value_of(t, outl) == 2);
	free(t);

	/* A sustained shift (at N_up 2, so that the baseline stays) still moves the slowdown
	 * and fires: the first two far samples are held back, the third and later are taken. */
	add(&st, 2, "b");
	for (int i = 0; i < 10; i++)
		sample(a, &st, d, 100, S(5));
	struct check_capture cap;
	check_capture_stderr(&cap);
	for (int i = 0; i < 40; i++)
		sample(a, &st, d, 1, S(5));
	const char *log = check_capture_end(&cap);
	CHECK(strstr(log, "alert critical firing: probe cpu_work slowdown 100.000 at N_up 2") !=
	      NULL);
	t = render(a, &st);
	HAS(t, "vmscale_slowdown_ratio{domain=\"a\",probe=\"cpu_work\"} 100");
	HAS(t, "vmscale_alert{domain=\"a\",probe=\"cpu_work\",severity=\"critical\"} 1");
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} 48");
	CHECK(value_of(t, base) == 100);
	CHECK(value_of(t, outl) == 4);
	free(t);

	/* The counter survives a baseline reset; the state file is as before (not saved). */
	struct vms_buf out;
	vms_buf_init(&out);
	char err[256];
	CHECK_INT(control(a, &out, err, sizeof(err), 3, "baseline", "reset", "a"), 0);
	t = render(a, &st);
	CHECK(value_of(t, outl) == 4);
	free(t);

	/* Values beyond 1e-30 .. 1e30 are not taken: a variance of values near 1e308 overflows
	 * to inf, which the state file cannot hold, so the next start lost every domain's state
	 * (fuzz_analysis). */
	sample(a, &st, d, 1.8e28, S(5));
	sample(a, &st, d, 1.1875e308, S(5));
	sample(a, &st, d, 5e-324, S(5));
	sample(a, &st, d, 1e-31, S(5));
	t = render(a, &st);
	HAS(t, "vmscale_nup_samples{domain=\"a\",probe=\"cpu_work\",n_up=\"2\"} 1");
	free(t);
	vms_buf_free(&out);
	vms_buf_init(&out);
	vms_analysis_serialize(a, &out);
	struct vms_analysis *b = vms_analysis_new(&c);
	CHECK_INT(vms_analysis_deserialize(b, out.data, out.len, err, sizeof(err)), 0);
	vms_analysis_free(b);
	vms_buf_free(&out);
	vms_analysis_free(a);
	vms_store_fini(&st);
}

/* A subnormal value in a state file (an older daemon took them from guests) loads: strtod's
 * ERANGE on underflow made the whole file unusable (fuzz_analysis). An overflow is refused. */
static void
test_subnormal_persists(void)
{
	struct vms_analysis_config c;
	config(&c);
	struct vms_analysis *a = vms_analysis_new(&c);
	char err[256] = "";
	static const char tiny[] = "domain 00000000-0000-4000-8000-000000000001 1 0 0 - a\n"
	                           "bucket cpu_work 1 2 5e-324 0 2 4.94065646e-324 1e-310\n"
	                           "end 1\n";
	CHECK_INT(vms_analysis_deserialize(a, tiny, sizeof(tiny) - 1, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	/* A host sample taken with no domain up is written at N_up 0 and loads (fuzz_analysis). */
	static const char idle[] = "host hypervisor_overhead 0 1 0.25 0\nend 0\n";
	CHECK_INT(vms_analysis_deserialize(a, idle, sizeof(idle) - 1, err, sizeof(err)), 0);
	/* A state file written before 1.0 names probes and host series as they were then
	 * (NEWS.md); it loads under today's names. */
	static const char old[] = "domain 00000000-0000-4000-8000-000000000001 1 0 0 - a\n"
	                          "baseline network_send 0 1000000 1\n"
	                          "bucket network_send 1 5 1000000 0 1 1000000\n"
	                          "bucket mem_read_latency 1 5 0.0002 0 1 0.0002\n"
	                          "host hypervisor_overhead_cores 1 3 0.25 0\n"
	                          "host virtualization_memory_bytes 1 3 1000 0\n"
	                          "host startup_seconds 1 1 2.5 0\n"
	                          "end 1\n";
	CHECK_INT(vms_analysis_deserialize(a, old, sizeof(old) - 1, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	struct vms_store st;
	vms_store_init(&st, 5000);
	add(&st, 1, "a");
	update(a, &st);
	char *t = render(a, &st);
	HAS(t,
	    "vmscale_baseline_bytes_per_second{domain=\"a\",probe=\"network_transmit\"} 1000000");
	HAS(t, "vmscale_nup_mean_seconds{domain=\"a\",probe=\"memory_read_latency\",n_up=\"1\"} "
	       "0.0002");
	HAS(t, "vmscale_nup_host_mean_cpu_seconds_per_second{metric=\"hypervisor_overhead\",n_up="
	       "\"1\"} 0.25");
	HAS(t, "vmscale_nup_host_mean_bytes{metric=\"virtualization_memory\",n_up=\"1\"} 1000");
	HAS(t, "vmscale_nup_host_mean_seconds{metric=\"startup\",n_up=\"1\"} 2.5");
	free(t);
	vms_store_fini(&st);
	static const char huge[] = "domain 00000000-0000-4000-8000-000000000001 1e999 0 0 - a\n"
	                           "end 1\n";
	CHECK_INT(vms_analysis_deserialize(a, huge, sizeof(huge) - 1, err, sizeof(err)), -1);
	vms_analysis_free(a);
}

int
main(void)
{
	vms_log_init("test_analysis", false);
	test_buckets();
	test_baseline_selection();
	test_reset_on_change();
	test_control();
	test_blank_probe_state();
	test_current_min_samples();
	test_hysteresis();
	test_overhead_and_model();
	test_capacity();
	test_interference();
	test_interference_interval();
	test_interference_many_victims();
	test_interference_steady();
	test_baseline_noise();
	test_interference_cpi();
	test_top_suspects();
	test_retention();
	test_persistence();
	test_startup();
	test_hypervisor();
	test_generation_on_change();
	test_outliers();
	test_subnormal_persists();
	return check_done("test_analysis");
}

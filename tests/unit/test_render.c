/*
 * /metrics and / rendering against golden files, including a domain name with ", \ and a
 * newline. Set VMSCALE_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/analysis.h"
#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "daemon/control.h"
#include "daemon/expo/expo.h"
#include "daemon/expo/openmetrics.h"
#include "daemon/store/store.h"
#include "check.h"
#include "expo_fixture.h"

#define GOLDEN(name) VMSCALE_TEST_DATA "/golden/" name

static void
compare_golden(const char *path, const struct vms_buf *b)
{
	if (getenv("VMSCALE_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");
		CHECK(f != NULL);
		if (f) {
			fwrite(b->data, 1, b->len, f);
			fclose(f);
		}
		return;
	}
	size_t len;
	char *want = check_read_file(path, &len);
	if (!CHECK(len == b->len && memcmp(want, b->data, len) == 0)) {
		/* Show the first differing line to make the failure readable. */
		size_t i = 0, line = 1;
		while (i < len && i < b->len && want[i] == b->data[i])
			line += want[i++] == '\n';
		fprintf(stderr, "  %s differs at line %zu; rendered:\n%s\n", path, line, b->data);
	}
	free(want);
}

static void
test_metrics_golden(void)
{
	struct vms_store st;
	fixture_fill_store(&st);
	struct vms_self_info self = {
	    .version = "0.1.0", .config_reloads = {3, 1, 2}, .config_loaded_unix = 1700000000.25};
	struct vms_analysis *an = fixture_analysis(&st);
	struct vms_control_stats control = {
	    .requests_total = 7, .errors_total = 2, .rejected_total = 1};
	struct vms_buf b;
	vms_buf_init(&b);
	fixture_render_exposition(&b, &self, &st, &control, an);
	compare_golden(GOLDEN("metrics.prom"), &b);
	CHECK(strstr(b.data, "vmscale_slowdown_ratio{domain=\"web-1\",probe=\"cpu_work\"} 1.6\n") !=
	      NULL);
	CHECK(strstr(b.data, "vmscale_control_requests_total{result=\"ok\"} 5\n") != NULL);
	CHECK(
	    strstr(b.data,
	           "vmscale_alert{domain=\"web-1\",probe=\"cpu_work\",severity=\"warning\"} 1\n") !=
	    NULL);
	CHECK(strstr(b.data, "vmscale_baseline_n_up{domain=\"we\\\"ird\\\\name\\n<b>&\xc3\xa9\","
	                     "probe=\"cpu_work\"} 1\n") != NULL);
	CHECK(strstr(b.data, "domain=\"we\\\"ird\\\\name\\n<b>&\xc3\xa9\"") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_up{domain=\"web-1\"} 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_domains_running 3\n") != NULL);
	CHECK(strstr(b.data, "vmscale_libvirt_up{uri=\"qemu:///system\"} 1\n") != NULL);
	CHECK(strstr(b.data,
	             "vmscale_domain_info{domain=\"web-1\",uuid=\"11111111-2222-3333-4444-"
	             "555555555555\",uri=\"qemu:///system\",probe_channel=\"yes\"} 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_config_reloads_total{result=\"refused\"} 2\n") != NULL);
	CHECK(strstr(b.data,
	             "vmscale_config_last_reload_success_timestamp_seconds 1700000000.25\n") !=
	      NULL);
	CHECK(strstr(b.data, "vmscale_domains_busy 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_domain_vcpu_utilization_ratio{domain=\"web-1\"} 0.25\n") !=
	      NULL);
	CHECK(strstr(b.data,
	             "vmscale_host_network_receive_bytes_total{interface=\"br\\\"0\\\\x\"} 10\n") !=
	      NULL);
	CHECK(strstr(b.data, "vmscale_host_disk_read_bytes_total{device=\"vda\"} 3140748288\n") !=
	      NULL);
	CHECK(strstr(b.data, "vmscale_host_virtualization_memory_bytes 270000000\n") != NULL);
	CHECK(strstr(b.data, "vmscale_host_processes{state=\"other\"} 37\n") != NULL);
	CHECK(
	    strstr(
	        b.data,
	        "vmscale_probe_disk_read_bytes_total{domain=\"web-1\",device=\"vda\"} 4096000\n") !=
	    NULL);
	CHECK(strstr(b.data, "vmscale_probe_disk_read_time_seconds_total{domain=\"web-1\",device="
	                     "\"vda\"} 0.03\n") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_disk_discarded_bytes_total{domain=\"web-1\",device="
	                     "\"vda\"} 12288\n") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_disk_flush_requests_total{") == NULL); /* 15 columns */
	CHECK(strstr(b.data, "vmscale_probe_memory_bandwidth_bytes_per_second{domain=\"web-1\",op="
	                     "\"copy\"} 12500000000\n") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_network_throughput_bytes_per_second{domain=\"web-1\","
	                     "direction=\"receive\",block_bytes=\"32768\"} 2500000000\n") != NULL);
	CHECK(
	    strstr(b.data,
	           "vmscale_probe_latency_seconds{domain=\"web-1\",op=\"fork_exit\"} 0.00012\n") !=
	    NULL);
	CHECK(
	    strstr(b.data,
	           "vmscale_probe_samples_flagged_total{domain=\"web-1\",family=\"memory\"} 3\n") !=
	    NULL);
	CHECK(strstr(b.data, "vmscale_probe_runs_total{domain=\"web-1\",family=\"network\",result="
	                     "\"timeout\"} 1\n") != NULL);
	CHECK(strstr(b.data,
	             "vmscale_probe_cost_seconds_total{domain=\"web-1\",family=\"other\"} 0.5\n") !=
	      NULL);
	CHECK(strstr(b.data, "vmscale_probe_run_flagged{domain=\"web-1\",family=\"memory\"} 1\n") !=
	      NULL);

	/* The same exposition in OpenMetrics 1.0. */
	struct vms_buf om;
	vms_buf_init(&om);
	vms_openmetrics(&om, b.data, b.len);
	compare_golden(GOLDEN("metrics.om"), &om);
	CHECK(strstr(om.data, "# TYPE vmscale_probe_reports counter\n") != NULL);
	CHECK(strstr(om.data, "# HELP vmscale_probe_reports Reports") != NULL);
	CHECK(strstr(om.data, "\nvmscale_probe_reports_total{domain=\"web-1\"} 13\n") != NULL);
	CHECK(strstr(om.data, "# TYPE vmscale_build info\n") != NULL);
	CHECK(strstr(om.data, "# TYPE vmscale_libvirt_up gauge\n") != NULL);
	CHECK(om.len > 6 && strcmp(om.data + om.len - 6, "# EOF\n") == 0);
	vms_buf_free(&om);
	vms_buf_free(&b);

	vms_expo_landing(&b, &st, self.version, an, NOW_NS);
	compare_golden(GOLDEN("landing.html"), &b);
	CHECK(strstr(b.data, "<b>&") == NULL); /* the name's markup is escaped */
	CHECK(strstr(b.data, "&lt;b&gt;&amp;") != NULL);
	CHECK(strstr(b.data, "<svg") != NULL && strstr(b.data, "slowdown vs N_up") != NULL);
	CHECK(strstr(b.data, "<td>1.60 (cpu_work)</td>") != NULL);
	vms_buf_free(&b);
	vms_analysis_free(an);
	vms_store_fini(&st);
}

static void
test_no_host_no_domains(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_self_info self = {.version = "v"};
	struct vms_buf b;
	vms_buf_init(&b);
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	CHECK(strstr(b.data, "vmscale_libvirt_up{") == NULL); /* no connection, no sample */
	vms_buf_free(&b);
	/* Two connections, one up: one sample each. */
	vms_store_set_conn_up(&st, vms_store_add_conn(&st, "qemu:///system"), true);
	vms_store_add_conn(&st, "lxc:///\"x\"");
	CHECK(!st.libvirt_up);
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	CHECK(strstr(b.data, "vmscale_libvirt_up{uri=\"qemu:///system\"} 1\n"
	                     "vmscale_libvirt_up{uri=\"lxc:///\\\"x\\\"\"} 0\n") != NULL);
	CHECK(strstr(b.data, "vmscale_domains_running 0\n") != NULL);
	CHECK(strstr(b.data, "vmscale_host_") == NULL); /* absent, never invented */
	vms_buf_free(&b);
	/* CPU and memory known, the rest not: only what is known appears. */
	st.host = (struct vms_host_stats){.valid = true, .ticks_per_second = 100, .mem_total = 1};
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	CHECK(strstr(b.data, "vmscale_host_memory_total_bytes 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_host_virtualization_memory_bytes") == NULL);
	CHECK(strstr(b.data, "vmscale_host_swap") == NULL);
	CHECK(strstr(b.data, "vmscale_host_disk") == NULL);
	CHECK(strstr(b.data, "vmscale_host_devices_dropped") == NULL);
	vms_buf_free(&b);
	vms_store_fini(&st);
}

/* A container's probe whose /proc is the host's (view=host): its CPU split, CPU count and disk
 * counters are nowhere in the exposition, the rest of the probe is, and its view is said. */
static void
test_view_host(void)
{
	struct vms_store st;
	fixture_fill_store(&st); /* inits the store */
	struct vms_domain *d = vms_store_find(&st, "11111111-2222-3333-4444-555555555555");
	CHECK(d && d->probe.have_cpu && d->probe.ndisks > 0);
	if (!d) {
		vms_store_fini(&st);
		return;
	}
	struct vms_self_info self = {.version = "v"};
	struct vms_buf b;
	vms_buf_init(&b);
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	CHECK(strstr(b.data, "vmscale_guest_cpu_seconds_total{domain=\"web-1\"") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_disk_reads_completed_total{domain=\"web-1\"") != NULL);
	CHECK(strstr(b.data, "view=\"guest\"} 1\n") != NULL);
	vms_buf_free(&b);
	d->probe.info.view_host = true;
	vms_store_part_changed(&st, VMS_STORE_PROBES);
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	CHECK(strstr(b.data, "vmscale_probe_info{domain=\"web-1\",version=\"0.1.0\","
	                     "protocol=\"1\",view=\"host\"} 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_guest_cpu_seconds_total{domain=\"web-1\"") == NULL);
	CHECK(strstr(b.data, "vmscale_guest_cpu_guest_seconds_total{domain=\"web-1\"") == NULL);
	CHECK(strstr(b.data, "vmscale_guest_cpus{domain=\"web-1\"") == NULL);
	CHECK(strstr(b.data, "vmscale_probe_disk_reads_completed_total{domain=\"web-1\"") == NULL);
	CHECK(strstr(b.data, "vmscale_probe_up{domain=\"web-1\"} 1\n") != NULL);
	CHECK(strstr(b.data, "vmscale_probe_reports_total{domain=\"web-1\"}") != NULL);
	vms_buf_free(&b);
	vms_store_fini(&st);
}

/* Measured values to a number of significant digits, without printf in the common range. */
static void
test_significant(void)
{
	static const struct {
		double v;
		unsigned digits;
		const char *want;
	} cases[] = {
	    {17866666.666666668, 9, "17866666.7"},
	    {0.6000000000000001, 9, "0.6"},
	    {-4816666.666666666, 9, "-4816666.67"},
	    {1548960.4873103208, 9, "1548960.49"},
	    {2051871.045139084, 3, "2050000"},
	    {0.000123456789, 4, "0.0001235"},
	    {1, 9, "1"},
	    {1234567890123.0, 9, "1234567890000"},
	    {0, 9, "0"},
	    {0.00001, 9, "1e-05"},
	    {1e20, 9, "1e+20"},
	    {NAN, 9, "NaN"},
	    {-INFINITY, 9, "-Inf"},
	    {99999.99999, 6, "100000"},
	    {9.499691943127962e-05, 9, "9.49969194e-05"},
	    {3.368140106201172e-07, 4, "3.368e-07"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vms_buf b;
		vms_buf_init(&b);
		vms_buf_sig(&b, cases[i].v, cases[i].digits);
		vms_buf_append(&b, "", 1);
		CHECK_STR(b.data, cases[i].want);
		vms_buf_free(&b);
	}
}

static void
test_doubles(void)
{
	struct vms_buf b;
	vms_buf_init(&b);
	vms_buf_double(&b, 0.1);
	vms_buf_append(&b, " ", 1);
	vms_buf_double(&b, 49.17);
	vms_buf_append(&b, " ", 1);
	vms_buf_double(&b, 1.0 / 3.0);
	vms_buf_append(&b, " ", 1);
	vms_buf_double(&b, NAN);
	vms_buf_append(&b, " ", 1);
	vms_buf_double(&b, -INFINITY);
	CHECK_STR(b.data, "0.1 49.17 0.3333333333333333 NaN -Inf");
	vms_buf_free(&b);
}

static void
test_store(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	uint64_t g = st.generation;
	struct vms_domain *a = vms_store_upsert(&st, "u1", "a", 1);
	CHECK(st.generation != g);
	CHECK(vms_store_upsert(&st, "u1", "a-renamed", 2) == a);
	CHECK_STR(a->name, "a-renamed");
	CHECK_INT(a->id, 2);
	vms_store_upsert(&st, "u2", "b", 3);
	CHECK_INT(st.ndomains, 2);
	vms_store_remove(&st, a);
	CHECK_INT(st.ndomains, 1);
	CHECK(vms_store_find(&st, "u1") == NULL);
	CHECK(vms_store_find(&st, "u2") != NULL);
	for (int i = 0; i < 100; i++) {
		char uuid[16];
		snprintf(uuid, sizeof(uuid), "x%d", i);
		vms_store_upsert(&st, uuid, uuid, i);
	}
	CHECK_INT(st.ndomains, 101);

	/* Utilization: unknown until two samples, then the rate; a restart starts over. */
	struct vms_domain *u = vms_store_find(&st, "u2");
	u->stats.have_cpu = true;
	u->stats.nvcpu = u->stats.vcpu_cap = 1;
	u->stats.vcpu = calloc(1, sizeof(*u->stats.vcpu));
	u->stats.vcpu[0].time_ns = 1000000000ull;
	vms_domain_update_utilization(u, 10000000000ull);
	CHECK(isnan(u->vcpu_utilization));
	CHECK_INT(vms_store_domains_busy(&st), 0);
	u->stats.vcpu[0].time_ns = 1900000000ull;
	vms_domain_update_utilization(u, 11000000000ull);
	CHECK(fabs(u->vcpu_utilization - 0.9) < 1e-9);
	CHECK_INT(vms_store_domains_busy(&st), 1);
	st.busy_threshold = 0.95;
	CHECK_INT(vms_store_domains_busy(&st), 0);
	u->stats.vcpu[0].time_ns = 5;
	vms_domain_update_utilization(u, 12000000000ull);
	CHECK(isnan(u->vcpu_utilization));
	u->stats.have_cpu = false;
	vms_domain_update_utilization(u, 13000000000ull);
	CHECK(isnan(u->vcpu_utilization));
	vms_store_fini(&st);
}

/* The value after "} " on the line that starts with prefix; NULL if there is none. */
static const char *
value_of(const char *text, const char *prefix, char *out, size_t n)
{
	const char *p = strstr(text, prefix);
	if (!p)
		return NULL;
	p = strstr(p, "} ");
	if (!p)
		return NULL;
	p += 2;
	size_t l = strcspn(p, "\n");
	snprintf(out, n, "%.*s", (int)(l < n ? l : n - 1), p);
	return out;
}

/*
 * Seconds from nanoseconds and from ticks take a fast exact-decimal path: it must print what
 * vms_buf_double prints for the same double, at every magnitude.
 */
static void
test_fast_seconds(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, "u", "d", 1);
	struct vms_domstats *ds = &d->stats;
	ds->nvcpu = ds->vcpu_cap = 1000;
	ds->vcpu = calloc(ds->nvcpu, sizeof(*ds->vcpu));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned k = 0; k < ds->nvcpu; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Magnitudes from 0 to beyond 2^53 ns, with runs of trailing zeros. */
		unsigned shift = k % 64;
		uint64_t v = shift ? x >> shift : x;
		if (k % 5 == 0)
			v -= v % 1000000;
		ds->vcpu[k].time_ns = k < 10 ? (uint64_t[]){0,
		                                            1,
		                                            99999,
		                                            100000,
		                                            999999999999999ull,
		                                            1000000000000000ull,
		                                            5,
		                                            123456789,
		                                            1000000000,
		                                            UINT64_MAX}[k]
		                             : v;
	}
	/* Guest ticks at several USER_HZ values, 300 having no exact decimal. */
	static const uint32_t hzs[] = {100, 250, 1000, 300, 1, 1024};
	for (size_t i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++) {
		char uuid[8], name[8];
		snprintf(uuid, sizeof(uuid), "h%zu", i);
		snprintf(name, sizeof(name), "h%u", hzs[i]);
		struct vms_domain *g = vms_store_upsert(&st, uuid, name, 2);
		g->probe.have_cpu = true;
		g->probe.cpu =
		    (struct vms_cpu_report){.hz = hzs[i],
		                            .ncpu = 1,
		                            .nmodes = 4,
		                            .ticks = {0, 1, 123456789, 999999999999999ull}};
	}
	struct vms_self_info self = {.version = "v"};
	struct vms_buf b, want;
	vms_buf_init(&b);
	fixture_render_exposition(&b, &self, &st, NULL, NULL);
	int bad = 0;
	char got[64], prefix[96];
	for (unsigned k = 0; k < ds->nvcpu; k++) {
		vms_buf_init(&want);
		vms_buf_double(&want, (double)ds->vcpu[k].time_ns / 1e9);
		snprintf(prefix, sizeof(prefix),
		         "vmscale_domain_vcpu_seconds_total{domain=\"d\",vcpu=\"%u\"}", k);
		if (!value_of(b.data, prefix, got, sizeof(got)) || strcmp(got, want.data) != 0) {
			if (bad++ < 5)
				fprintf(stderr, "  %llu ns: got %s, want %s\n",
				        (unsigned long long)ds->vcpu[k].time_ns, got, want.data);
		}
		vms_buf_free(&want);
	}
	static const char *const modes[] = {"user", "nice", "system", "idle"};
	for (size_t i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++) {
		for (unsigned m = 0; m < 4; m++) {
			struct vms_domain *g =
			    vms_store_find(&st, (char[]){'h', (char)('0' + i), 0});
			vms_buf_init(&want);
			vms_buf_double(&want, (double)g->probe.cpu.ticks[m] / (double)hzs[i]);
			snprintf(prefix, sizeof(prefix),
			         "vmscale_guest_cpu_seconds_total{domain=\"h%u\",mode=\"%s\"}",
			         hzs[i], modes[m]);
			if (!value_of(b.data, prefix, got, sizeof(got)) ||
			    strcmp(got, want.data) != 0) {
				if (bad++ < 10)
					fprintf(stderr, "  %llu ticks at %u Hz: got %s, want %s\n",
					        (unsigned long long)g->probe.cpu.ticks[m], hzs[i],
					        got, want.data);
			}
			vms_buf_free(&want);
		}
	}
	CHECK_INT(bad, 0);
	vms_buf_free(&b);
	/* vms_buf_double's fast paths against the plain definition (shortest %.15g..%.17g that
	 * reads back), on whole numbers, short decimals and random bit patterns. */
	int diff = 0;
	for (int i = 0; i < 300000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		switch (i % 4) {
		case 0: /* a short decimal: k / 10^d */
			v = (double)(x % 100000000000ull) / pow(10, (double)(x >> 59));
			break;
		case 1: /* milliseconds as seconds, as the guest disk families compute them */
			v = (double)(x >> (x % 40)) * 0.001;
			break;
		case 2: /* any finite double */
			memcpy(&v, &x, sizeof(v));
			if (!isfinite(v))
				v = 1.5;
			break;
		default: /* rates and timestamps */
			v = (double)(x >> 20) / 1000003.0 * ((x & 1) ? -1 : 1);
		}
		char ref[40];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(ref, sizeof(ref), "%.*g", prec, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		vms_buf_init(&want);
		vms_buf_double(&want, v);
		if (strcmp(want.data, ref) != 0 && diff++ < 5)
			fprintf(stderr, "  %.17g: got %s, want %s\n", v, want.data, ref);
		vms_buf_free(&want);
	}
	CHECK_INT(diff, 0);
	/* Whole numbers through vms_buf_double itself. */
	static const double whole[] = {0,    -0.0,  1,    -1, 42, 1e14, 999999999999999,
	                               1e15, -1e15, 1e16, 0.5};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		char ref[40];
		snprintf(ref, sizeof(ref), "%.15g", whole[i]);
		vms_buf_init(&want);
		vms_buf_double(&want, whole[i]);
		if (!CHECK_STR(want.data, ref))
			fprintf(stderr, "  for %g\n", whole[i]);
		vms_buf_free(&want);
	}
	vms_store_fini(&st);
}

/* True if s[0..len) is well-formed UTF-8: no stray or missing continuation bytes, no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
static bool
valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n = c < 0x80                ? 0
		                       : c >= 0xc2 && c < 0xe0 ? 1
		                       : c >= 0xe0 && c < 0xf0 ? 2
		                       : c >= 0xf0 && c < 0xf5 ? 3
		                                               : 9;
		if (n == 9 || i + n >= len)
			return false;
		unsigned cp = n ? c & (0x3f >> n) : c;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* Cutting text to a byte budget between characters, never inside one. */
static void
test_utf8_prefix(void)
{
	CHECK_INT(vms_utf8_prefix_len("abc", 5), 3);
	CHECK_INT(vms_utf8_prefix_len("abc", 3), 3);
	CHECK_INT(vms_utf8_prefix_len("abc", 2), 2);
	CHECK_INT(vms_utf8_prefix_len("", 0), 0);
	CHECK_INT(vms_utf8_prefix_len("\xc3\xa9\xc3\xa9", 3), 2); /* é é */
	CHECK_INT(vms_utf8_prefix_len("\xc3\xa9\xc3\xa9", 2), 2);
	CHECK_INT(vms_utf8_prefix_len("a\xe2\x80\xa6z", 1), 1); /* a … z */
	CHECK_INT(vms_utf8_prefix_len("a\xe2\x80\xa6z", 2), 1);
	CHECK_INT(vms_utf8_prefix_len("a\xe2\x80\xa6z", 3), 1);
	CHECK_INT(vms_utf8_prefix_len("a\xe2\x80\xa6z", 4), 4);
	CHECK_INT(vms_utf8_prefix_len("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 7), 4); /* two emoji */
	CHECK_INT(vms_utf8_prefix_len("\xf0\x9f\x98\x80", 3), 0);
	/* Malformed input (a run of continuation bytes): cut where asked, nothing worse. */
	CHECK_INT(vms_utf8_prefix_len("\x80\x80\x80\x80\x80\x80", 5), 5);
	/* Every budget over a mixed string ends on a boundary. */
	const char *mixed = "x\xc3\xa9\xe2\x80\xa6\xf0\x9f\x98\x80y";
	for (size_t max = 0; max <= strlen(mixed); max++) {
		size_t n = vms_utf8_prefix_len(mixed, max);
		CHECK(n <= max && valid_utf8((const unsigned char *)mixed, n));
		CHECK(max - n < 4);
	}
}

/* A domain name of 150 two-byte characters (300 bytes) on the landing page: its plot title
 * is cut between characters and marked with an ellipsis; the page stays valid UTF-8. */
static void
test_long_utf8_name(void)
{
	char name[301];
	for (int i = 0; i < 150; i++)
		memcpy(name + 2 * i, "\xd0\xb6", 2); /* Cyrillic zhe: a 159-byte cut splits one */
	name[300] = '\0';
	struct vms_store st;
	vms_store_init(&st, 5000);
	vms_store_upsert(&st, "u-long", name, 1);
	struct vms_analysis_config ac;
	vms_analysis_config_defaults(&ac);
	struct vms_analysis *an = vms_analysis_new(&ac);
	struct vms_buf b;
	vms_buf_init(&b);
	vms_expo_landing(&b, &st, "v", an, 0);
	CHECK(valid_utf8((const unsigned char *)b.data, b.len));
	CHECK(strstr(b.data, name) != NULL); /* the table has it whole */
	/* The title (the plot's heading and accessible name): as many whole characters as fit,
	 * then the ellipsis. */
	char cut[200];
	size_t keep = 2 * ((160 - sizeof(": slowdown vs N_up") - 3) / 2);
	snprintf(cut, sizeof(cut), "aria-label=\"%.*s\xe2\x80\xa6: slowdown vs N_up\"", (int)keep,
	         name);
	CHECK(strstr(b.data, cut) != NULL);
	snprintf(cut, sizeof(cut), ">%.*s\xe2\x80\xa6: slowdown vs N_up</text>", (int)keep, name);
	CHECK(strstr(b.data, cut) != NULL);
	vms_buf_free(&b);
	vms_analysis_free(an);
	vms_store_fini(&st);
}

int
main(void)
{
	test_metrics_golden();
	test_no_host_no_domains();
	test_view_host();
	test_doubles();
	test_significant();
	test_fast_seconds();
	test_store();
	test_utf8_prefix();
	test_long_utf8_name();
	return check_done("test_render");
}

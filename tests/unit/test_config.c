/*
 * The configuration: every key parses, units and bounds, errors naming file and line,
 * duplicates, hostile files (NUL, control characters, bad UTF-8, overlong lines, a huge file,
 * not a regular file), a regex too costly to compile, command-line overrides, checks across
 * keys, and which changes need a restart; the analysis' thresholds and their conversion for the
 * analysis. The shipped example must load and name every key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmscale/protocol.h"

#include "daemon/config/config.h"
#include "daemon/config/config_internal.h"
#include "daemon/util/log.h"
#include "check.h"

static char dir[] = "/tmp/vmscale-test-config.XXXXXX";
static char path[256];

/* Writes len bytes to the test file (its path is in `path`). */
static void
write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fwrite(text, 1, len, f);
	fclose(f);
}

/* Loads text as a file and validates; returns the result, the error in err. */
static int
load_text(struct vms_config *c, const char *text, char *err, size_t errsz)
{
	write_file(text, strlen(text));
	vms_config_defaults(c);
	err[0] = '\0';
	int rc = vms_config_load(c, path, true, err, errsz);
	if (rc == 0)
		rc = vms_config_validate(c, err, errsz);
	return rc;
}

/* The error a one-file text gives, with "PATH:" replaced by "F:" for readable expectations. */
static const char *
error_of(const char *text)
{
	static char out[1024];
	char err[1024];
	struct vms_config c;
	int rc = load_text(&c, text, err, sizeof(err));
	vms_config_fini(&c);
	if (rc == 0)
		return "(accepted)";
	size_t pl = strlen(path);
	if (strncmp(err, path, pl) == 0)
		snprintf(out, sizeof(out), "F%s", err + pl);
	else
		snprintf(out, sizeof(out), "%s", err);
	return out;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_defaults(void)
{
	struct vms_config c;
	char err[512];
	vms_config_defaults(&c);
	CHECK_INT(vms_config_validate(&c, err, sizeof(err)), 0);
	CHECK_INT(c.nuris, 1);
	CHECK_STR(c.uris[0], "qemu:///system");
	CHECK_STR(c.listen, "127.0.0.1:9477");
	CHECK_INT(c.interval_s, 5);
	CHECK(c.busy_threshold == 0.2);
	CHECK(c.probe_domains == NULL);
	CHECK(!c.verbose);
	CHECK(c.tls_cert == NULL && c.tls_key == NULL && c.netio_listen == NULL);
	CHECK(c.netio_guest_address == NULL);
	CHECK_INT(c.http_max_connections, 16);
	CHECK_INT(c.http_timeout_s, 10);
	CHECK_INT(c.http_per_address, 4);
	CHECK_INT(c.http_header_timeout_s, 5);
	CHECK_STR(c.state_dir, "/var/lib/vmscale");
	const struct vms_probe_config *p = &c.probe;
	CHECK_INT(p->cpu_interval_ms, 5000); /* follows interval */
	CHECK_INT(p->disk_interval_ms, 5000);
	CHECK_INT(p->cpu_work_interval_ms, 60000);
	CHECK_INT(p->memory_interval_ms, 300000);
	CHECK_INT(p->disk_read_interval_ms, 60000);
	CHECK_INT(p->network_interval_ms, 300000);
	CHECK_INT(p->micro_interval_ms, 300000);
	CHECK_INT(p->cpu_work_units, VMS_DEFAULT_CPU_WORK_UNITS);
	CHECK_INT(p->memory_buffer_bytes, 32 << 20);
	CHECK_INT(p->memory_max_ms, 30);
	CHECK_INT(p->disk_read_bytes, 8 << 20);
	CHECK_INT(p->disk_read_max_ms, 1000);
	CHECK_INT(p->network_bytes, 2 << 20);
	CHECK_INT(p->network_max_ms, 1000);
	CHECK_INT(p->network_nblocks, 2);
	CHECK_INT(p->network_blocks[0], 1024);
	CHECK_INT(p->network_blocks[1], 32768);
	CHECK_INT(p->micro_max_ms, 20);
	CHECK_INT(p->active_concurrency, 1);
	CHECK_INT(p->skew_tolerance_ms, 50);
	const struct vms_analysis_keys *an = &c.analysis;
	CHECK_INT(an->window_s, 120);
	CHECK_INT(an->window_min, 3);
	CHECK_INT(an->min_samples, 5);
	CHECK_INT(an->buckets, 8);
	CHECK_INT(an->alert_for_s, 60);
	CHECK_INT(an->save_interval_s, 60);
	CHECK_INT(an->retention_s, 30 * 86400);
	CHECK_INT(an->capacity_min_levels, 3);
	CHECK(an->capacity_min_r2 == 0.8);
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
		CHECK(an->clear[i] == 1.2 && an->warning[i] == 1.5 && an->critical[i] == 2.0);
	CHECK_STR(c.control_socket, "/run/vmscale/control.sock");
	vms_config_fini(&c);
}

/* A valid value for every key, different from its default: the table must cover every key. */
static const struct {
	const char *key, *value;
} samples[] = {
    {"connect", "qemu:///session"},
    {"listen", "[::1]:9478"},
    {"interval", "2m"},
    {"busy-threshold", "0.75"},
    {"probe-domains", "^dvm[0-9]+$"},
    {"qemu-agent-connect", "qemu:///session"},
    {"qemu-agent-domains", "^legacy-"},
    {"qemu-agent-interval", "30s"},
    {"qemu-agent-timeout", "3s"},
    {"verbose", "yes"},
    {"tls-cert", "/etc/vmscale/cert.pem"},
    {"tls-key", "/etc/vmscale/key.pem"},
    {"web-config-file", VMSCALE_TEST_DATA "/../docs/examples/web-config.yml"},
    {"http-max-connections", "4"},
    {"http-timeout", "30s"},
    {"http-max-connections-per-address", "2"},
    {"http-header-timeout", "3s"},
    {"netio-listen", "192.0.2.1:18767"},
    {"netio-guest-address", "vmhost.example"},
    {"netio-udp-rate", "4MiB"},
    {"state-dir", "/srv/vmscale"},
    {"vsock-port", "18768"},
    {"tcp-listen", "192.0.2.1:18769"},
    {"probe-cpu-interval", "10s"},
    {"probe-disk-interval", "1m"},
    {"probe-cpu-work-interval", "off"},
    {"probe-memory-interval", "10m"},
    {"probe-disk-read-interval", "2m"},
    {"probe-network-interval", "1h"},
    {"probe-micro-interval", "90s"},
    {"probe-cpu-work-units", "12345"},
    {"probe-memory-buffer", "64MiB"},
    {"probe-memory-max", "50ms"},
    {"probe-disk-read-bytes", "16M"},
    {"probe-disk-read-max", "2s"},
    {"probe-network-bytes", "4M"},
    {"probe-network-max", "500ms"},
    {"probe-network-block-sizes", "1K, 4K,32768"},
    {"probe-micro-max", "10ms"},
    {"probe-active-concurrency", "2"},
    {"probe-skew-tolerance", "100ms"},
    {"slowdown-window", "10m"},
    {"slowdown-min-samples", "5"},
    {"baseline-min-samples", "10"},
    {"analysis-buckets", "16"},
    {"slowdown-warning", "1.6,cpu_work=1.3"},
    {"slowdown-critical", "3,fork_exit=4"},
    {"slowdown-clear", "1.1,cpu_work=1.05"},
    {"alert-for", "2m"},
    {"capacity-min-levels", "4"},
    {"capacity-min-r-squared", "0.9"},
    {"state-save-interval", "5m"},
    {"analysis-retention", "48h"},
    {"control-socket", "/run/vmscale-test/ctl.sock"},
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static const char *
sample_of(const char *key)
{
	for (size_t i = 0; i < NSAMPLES; i++)
		if (strcmp(samples[i].key, key) == 0)
			return samples[i].value;
	return NULL;
}

static const char *
samples_web(void)
{
	return sample_of("web-config-file");
}

static void
test_every_key(void)
{
	CHECK_INT(vms_config_nkeys(), NSAMPLES);
	for (size_t i = 0; i < vms_config_nkeys(); i++) {
		const struct vms_config_key *k = vms_config_key_at(i);
		if (!CHECK(sample_of(k->name) != NULL))
			fprintf(stderr, "  no sample value for key '%s'\n", k->name);
		CHECK(k->help && *k->help);
		for (size_t j = 0; j < i; j++) {
			CHECK(strcmp(vms_config_key_at(j)->name, k->name) != 0);
			CHECK(!k->short_opt || vms_config_key_at(j)->short_opt != k->short_opt);
		}
	}
	CHECK(vms_config_key_at(vms_config_nkeys()) == NULL);

	/* All of them in one file. */
	char text[4096] = "# every key\n\n";
	for (size_t i = 0; i < NSAMPLES; i++) {
		strcat(text, samples[i].key);
		strcat(text, i % 2 ? "\t" : "   ");
		strcat(text, samples[i].value);
		strcat(text, i % 3 ? "\n" : "  \n"); /* trailing blanks are not part of the value */
	}
	struct vms_config c;
	char err[512];
	if (!CHECK_INT(load_text(&c, text, err, sizeof(err)), 0))
		fprintf(stderr, "  %s\n", err);
	CHECK_INT(c.nuris, 1); /* the file's first connect replaced the default */
	CHECK_STR(c.uris[0], "qemu:///session");
	CHECK_STR(c.listen, "[::1]:9478");
	CHECK_INT(c.interval_s, 120);
	CHECK(c.busy_threshold == 0.75);
	CHECK_STR(c.probe_domains, "^dvm[0-9]+$");
	CHECK(c.verbose);
	CHECK_STR(c.tls_cert, "/etc/vmscale/cert.pem");
	CHECK_STR(c.tls_key, "/etc/vmscale/key.pem");
	CHECK_INT(c.http_max_connections, 4);
	CHECK_INT(c.http_timeout_s, 30);
	CHECK_INT(c.http_per_address, 2);
	CHECK_INT(c.http_header_timeout_s, 3);
	CHECK_STR(c.netio_listen, "192.0.2.1:18767");
	CHECK_STR(c.netio_guest_address, "vmhost.example");
	CHECK(c.netio_udp_rate == 4u << 20);
	CHECK_STR(c.state_dir, "/srv/vmscale");
	const struct vms_probe_config *p = &c.probe;
	CHECK_INT(p->cpu_interval_ms, 10000);
	CHECK_INT(p->disk_interval_ms, 60000);
	CHECK_INT(p->cpu_work_interval_ms, 0);
	CHECK_INT(p->memory_interval_ms, 600000);
	CHECK_INT(p->disk_read_interval_ms, 120000);
	CHECK_INT(p->network_interval_ms, 3600000);
	CHECK_INT(p->micro_interval_ms, 90000);
	CHECK_INT(p->cpu_work_units, 12345);
	CHECK_INT(p->memory_buffer_bytes, 64 << 20);
	CHECK_INT(p->memory_max_ms, 50);
	CHECK_INT(p->disk_read_bytes, 16 << 20);
	CHECK_INT(p->disk_read_max_ms, 2000);
	CHECK_INT(p->network_bytes, 4 << 20);
	CHECK_INT(p->network_max_ms, 500);
	CHECK_INT(p->network_nblocks, 3);
	CHECK_INT(p->network_blocks[0], 1024);
	CHECK_INT(p->network_blocks[1], 4096);
	CHECK_INT(p->network_blocks[2], 32768);
	CHECK_INT(p->micro_max_ms, 10);
	CHECK_INT(p->active_concurrency, 2);
	CHECK_INT(p->skew_tolerance_ms, 100);
	const struct vms_analysis_keys *an = &c.analysis;
	CHECK_INT(an->window_s, 600);
	CHECK_INT(an->window_min, 5);
	CHECK_INT(an->min_samples, 10);
	CHECK_INT(an->buckets, 16);
	CHECK(an->warning[VMS_AN_CPU_WORK] == 1.3 && an->warning[VMS_AN_DISK_READ] == 1.6);
	CHECK(an->critical[VMS_AN_FORK_EXIT] == 4.0 && an->critical[VMS_AN_CPU_WORK] == 3.0);
	CHECK(an->clear[VMS_AN_CPU_WORK] == 1.05 && an->clear[VMS_AN_CTXSW] == 1.1);
	CHECK_INT(an->alert_for_s, 120);
	CHECK_INT(an->capacity_min_levels, 4);
	CHECK(an->capacity_min_r2 == 0.9);
	CHECK_INT(an->save_interval_s, 300);
	CHECK_INT(an->retention_s, 48 * 3600);
	CHECK_STR(c.control_socket, "/run/vmscale-test/ctl.sock");
	/* Where each key came from. */
	CHECK_INT(c.origin[0], 3);
	CHECK_STR(c.path, path);

	/* A deep copy survives the original. */
	struct vms_config copy;
	vms_config_copy(&copy, &c);
	vms_config_fini(&c);
	CHECK_STR(copy.uris[0], "qemu:///session");
	CHECK_STR(copy.probe_domains, "^dvm[0-9]+$");
	CHECK_STR(copy.path, path);
	CHECK_STR(copy.control_socket, "/run/vmscale-test/ctl.sock");
	CHECK(copy.analysis.warning[VMS_AN_CPU_WORK] == 1.3);
	vms_config_fini(&copy);
	vms_config_fini(NULL);
}

static void
test_units(void)
{
	struct {
		const char *key, *value;
		uint64_t want;
	} ok[] = {
	    {"interval", "5", 5},
	    {"interval", "5s", 5},
	    {"interval", "1m", 60},
	    {"interval", "1h", 3600},
	    {"interval", "3000ms", 3},
	    {"probe-memory-max", "30ms", 30},
	    {"probe-memory-max", "1s", 1000},
	    {"probe-memory-max", "1", 1000},
	    {"probe-cpu-interval", "1500ms", 1500},
	    {"probe-memory-buffer", "8M", 8 << 20},
	    {"probe-memory-buffer", "8MiB", 8 << 20},
	    {"probe-memory-buffer", "128M", 128 << 20},
	    {"probe-memory-buffer", "128MiB", 128 << 20},
	    {"probe-memory-buffer", "8192K", 8 << 20},
	    {"probe-memory-buffer", "8388608", 8 << 20},
	    {"probe-memory-buffer", "8388608B", 8 << 20},
	    {"probe-disk-read-bytes", "4KiB", 4096},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct vms_config c;
		char err[512] = "";
		vms_config_defaults(&c);
		if (!CHECK_INT(vms_config_set(&c, ok[i].key, ok[i].value, err, sizeof(err)), 0))
			fprintf(stderr, "  %s %s: %s\n", ok[i].key, ok[i].value, err);
		uint64_t got =
		    strcmp(ok[i].key, "interval") == 0              ? c.interval_s
		    : strcmp(ok[i].key, "probe-memory-max") == 0    ? c.probe.memory_max_ms
		    : strcmp(ok[i].key, "probe-cpu-interval") == 0  ? c.probe.cpu_interval_ms
		    : strcmp(ok[i].key, "probe-memory-buffer") == 0 ? c.probe.memory_buffer_bytes
		                                                    : c.probe.disk_read_bytes;
		if (!CHECK_INT(got, ok[i].want))
			fprintf(stderr, "  %s %s\n", ok[i].key, ok[i].value);
		vms_config_fini(&c);
	}
	const struct {
		const char *key, *value;
	} bad[] = {
	    {"interval", "5 s"},
	    {"interval", "5sec"},
	    {"interval", "-1"},
	    {"interval", "+5"},
	    {"interval", "1.5s"},
	    {"interval", "0x10"},
	    {"interval", "1500ms"},
	    {"interval", "s"},
	    {"interval", "99999999999999999999"},
	    {"interval", "18446744073709551615h"},
	    {"probe-memory-buffer", "8MB"},
	    {"probe-memory-buffer",
	     "129M"}, /* more than the probe unit's MemoryMax leaves room for */
	    {"probe-memory-buffer", "8m"},
	    {"probe-memory-buffer", "1.5G"},
	    {"probe-memory-buffer", "99999999999G"},
	    {"probe-memory-buffer", "M"},
	    {"probe-cpu-work-units", "4k"},
	    {"probe-cpu-work-interval", "0"},
	    {"probe-cpu-interval", "off"},
	    {"busy-threshold", "1.5"},
	    {"busy-threshold", "nan"},
	    {"busy-threshold", "1e-1"},
	    {"busy-threshold", "-0"},
	    {"busy-threshold", "."},
	    {"busy-threshold", "0..1"},
	    {"verbose", "maybe"},
	    {"verbose", "YES"},
	    {"probe-network-block-sizes", "1024,"},
	    {"probe-network-block-sizes", ",1024"},
	    {"probe-network-block-sizes", "1K,1024"},
	    {"probe-network-block-sizes", "32"},
	    {"probe-network-block-sizes", "1K,2K,3K,4K,5K,6K,7K"},
	    {"probe-network-block-sizes", "2M"},
	    {"probe-cpu-work-units", "20000001"},
	    {"connect", "qemu:///system?a b"},
	    {"listen", "localhost:9477"},
	    {"state-dir", "var/lib/vmscale"},
	    {"netio-guest-address", "a b"},
	    {"netio-guest-address", "host/evil"},
	    {"probe-domains", "(["},
	    {"slowdown-window", "9s"},
	    {"slowdown-window", "25h"},
	    {"baseline-min-samples", "0"},
	    {"baseline-min-samples", "1001"},
	    {"analysis-buckets", "1"},
	    {"analysis-buckets", "33"},
	    {"capacity-min-levels", "1"},
	    {"capacity-min-levels", "33"},
	    {"capacity-min-r-squared", "1.01"},
	    {"capacity-min-r-squared", "-0.1"},
	    {"capacity-min-r-squared", "nan"},
	    {"capacity-min-r-squared", "8e-1"},
	    {"alert-for", "25h"},
	    {"alert-for", "500ms"},
	    {"state-save-interval", "0"},
	    {"analysis-retention", "59s"},
	    {"analysis-retention", "30d"},
	    {"control-socket", "run/vmscale/control.sock"},
	    {"control-socket", "control.sock"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vms_config c;
		char err[512] = "";
		vms_config_defaults(&c);
		if (!CHECK_INT(vms_config_set(&c, bad[i].key, bad[i].value, err, sizeof(err)), -1))
			fprintf(stderr, "  accepted %s %s\n", bad[i].key, bad[i].value);
		else if (!CHECK(strstr(err, bad[i].key) != NULL))
			fprintf(stderr, "  the message does not name the key: %s\n", err);
		vms_config_fini(&c);
	}
}

static void
test_messages(void)
{
	CHECK_STR(error_of("# vmscaled\n\ninterval 5\ninterval 0\n"),
	          "F:4: duplicate key 'interval' (first set on line 3)");
	CHECK_STR(error_of("# vmscaled\n\n   interval 0\n"),
	          "F:3: 'interval' must be 1..3600 seconds, got '0'");
	CHECK_STR(error_of("listen 127.0.0.1:9477\nintervall 5\n"), "F:2: unknown key 'intervall'");
	CHECK_STR(error_of("interval 3601"), "F:1: 'interval' must be 1..3600 seconds, got '3601'");
	CHECK_STR(error_of("interval\n"), "F:1: 'interval' needs a value");
	CHECK_STR(error_of("interval   \t \n"), "F:1: 'interval' needs a value");
	CHECK_STR(error_of("interval=5\n"),
	          "F:1: malformed key: lines are 'key value', keys are lower-case letters, digits "
	          "and '-' (no '=' or ':' after the key)");
	CHECK_STR(error_of("Interval 5\n"),
	          "F:1: malformed key: lines are 'key value', keys are lower-case letters, digits "
	          "and '-'");
	CHECK_STR(error_of("probe-domains \"^dvm\"\n"),
	          "F:1: 'probe-domains': values are written without quotes, got \"^dvm\"");
	CHECK_STR(
	    error_of("probe-memory-buffer 4M\n"),
	    "F:1: 'probe-memory-buffer' must be 8 MiB..128 MiB (below 8 MiB one measures caches), "
	    "got '4M'");
	CHECK_STR(error_of("probe-memory-max 61s\n"),
	          "F:1: 'probe-memory-max' must be 1..60000 ms, got '61s'");
	CHECK_STR(error_of("probe-micro-interval 0s\n"),
	          "F:1: 'probe-micro-interval' must be 1..3600 seconds or off, got '0s'");
	CHECK_STR(error_of("probe-active-concurrency 0\n"),
	          "F:1: 'probe-active-concurrency' must be 1..64, got '0'");
	CHECK_STR(
	    error_of("probe-disk-read-bytes 5000\n"),
	    "F:1: 'probe-disk-read-bytes' must be a multiple of 4 KiB (direct I/O), got '5000'");
	CHECK_STR(error_of("probe-network-block-sizes 1K,1024\n"),
	          "F:1: 'probe-network-block-sizes' names 1024 twice, got '1K,1024'");
	CHECK_STR(error_of("busy-threshold 2\n"),
	          "F:1: 'busy-threshold' must be a ratio 0..1, got '2'");
	CHECK_STR(error_of("verbose maybe\n"), "F:1: 'verbose' must be yes or no, got 'maybe'");
	CHECK_STR(error_of("listen 127.0.0.1:99999\n"),
	          "F:1: 'listen': port in '127.0.0.1:99999' must be 1..65535");
	CHECK_STR(error_of("state-dir relative\n"),
	          "F:1: 'state-dir' must be an absolute path, got 'relative'");
	CHECK(starts_with(error_of("probe-domains ([\n"),
	                  "F:1: 'probe-domains': '([' is not an extended regular expression: "));

	/* A value repeated in a message is cut, on a character boundary. */
	char text[300] = "state-dir ";
	for (int i = 0; i < 100; i++)
		strcat(text, "\xc3\xa9"); /* é */
	strcat(text, "\n");
	const char *e = error_of(text);
	CHECK(strstr(e, "...'") != NULL && strlen(e) < 200);
	CHECK(strstr(e, "\xc3\xa9\xc3\xa9...") != NULL);

	/* connect repeats, up to 8, each URI once; the file's first replaces the default. */
	struct vms_config c;
	char err[512];
	CHECK_INT(
	    load_text(&c, "connect qemu:///system\nconnect lxc:///system\n", err, sizeof(err)), 0);
	CHECK_INT(c.nuris, 2);
	CHECK_STR(c.uris[0], "qemu:///system");
	CHECK_STR(c.uris[1], "lxc:///system");
	vms_config_fini(&c);
	CHECK_STR(
	    error_of("connect qemu:///system\nconnect test:///default\nconnect qemu:///system\n"),
	    "F:3: 'connect': 'qemu:///system' is given twice (one connection per URI)");
	char many[512] = "";
	for (int i = 0; i < 9; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "connect test:///x%d\n",
		         i);
	CHECK_STR(error_of(many), "F:9: 'connect': at most 8 URIs");
}

static void
test_hostile(void)
{
	char err[512];
	struct vms_config c;

	/* A NUL byte, in the middle of line 3. */
	static const char nul[] = "# ok\ninterval 5\nverbose \0yes\n";
	write_file(nul, sizeof(nul) - 1);
	vms_config_defaults(&c);
	CHECK_INT(vms_config_load(&c, path, true, err, sizeof(err)), -1);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: a NUL byte at byte 9", path);
	CHECK_STR(err, want);
	vms_config_fini(&c);

	CHECK_STR(error_of("interval 5\r\n"),
	          "F:1: a carriage return (DOS line ending?) at byte 11");
	CHECK_STR(error_of("# \x1b[31mred\n"), "F:1: a control character at byte 3");
	CHECK_STR(error_of("# C1 \xc2\x85 next line\n"), "F:1: a control character at byte 6");
	CHECK_STR(error_of("\n\n# \xff\n"), "F:3: invalid UTF-8 at byte 3");
	CHECK_STR(error_of("# overlong \xc0\xaf\n"), "F:1: invalid UTF-8 at byte 12");
	CHECK_STR(error_of("# surrogate \xed\xa0\x80\n"), "F:1: invalid UTF-8 at byte 13");
	CHECK_STR(error_of("# above U+10FFFF \xf4\x90\x80\x80\n"), "F:1: invalid UTF-8 at byte 18");
	CHECK_STR(error_of("# truncated \xe2\x82"), "F:1: invalid UTF-8 at byte 13");
	CHECK_STR(error_of("probe-domains caf\xc3\xa9|\xe2\x82\xac|\xf0\x9f\x98\x80\n"),
	          "(accepted)");
	CHECK_STR(error_of("interval 5"), "(accepted)"); /* no final LF */
	CHECK_STR(error_of(""), "(accepted)");

	/* Lines up to the limit pass, one byte more does not. */
	char *line = malloc(VMS_CONFIG_MAX_LINE + 8);
	memset(line, '#', VMS_CONFIG_MAX_LINE);
	strcpy(line + VMS_CONFIG_MAX_LINE, "\n");
	CHECK_STR(error_of(line), "(accepted)");
	memset(line, '#', VMS_CONFIG_MAX_LINE + 1);
	strcpy(line + VMS_CONFIG_MAX_LINE + 1, "\n");
	CHECK_STR(error_of(line), "F:1: line longer than 1024 bytes");
	free(line);

	/* The size bound: 64 KiB of comments pass, one byte more does not. */
	size_t big = VMS_CONFIG_MAX_FILE + 1;
	char *huge = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		huge[i] = i % 64 == 63 ? '\n' : '#';
	write_file(huge, VMS_CONFIG_MAX_FILE);
	vms_config_defaults(&c);
	CHECK_INT(vms_config_load(&c, path, true, err, sizeof(err)), 0);
	vms_config_fini(&c);
	write_file(huge, big);
	vms_config_defaults(&c);
	CHECK_INT(vms_config_load(&c, path, true, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than 65536 bytes", path);
	CHECK_STR(err, want);
	vms_config_fini(&c);
	free(huge);

	/* Not a regular file: a directory, a FIFO (which must not hang), a device. */
	const char *notreg[] = {dir, NULL, "/dev/zero"};
	char fifo[300];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	notreg[1] = fifo;
	for (size_t i = 0; i < 3; i++) {
		vms_config_defaults(&c);
		CHECK_INT(vms_config_load(&c, notreg[i], true, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s: not a regular file", notreg[i]);
		CHECK_STR(err, want);
		vms_config_fini(&c);
	}
	unlink(fifo);

	/* Missing: fine unless the file was asked for. */
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/missing.conf", dir);
	vms_config_defaults(&c);
	CHECK_INT(vms_config_load(&c, missing, false, err, sizeof(err)), 1);
	CHECK_INT(vms_config_load(&c, missing, true, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
	CHECK_STR(err, want);
	vms_config_fini(&c);
}

/* slowdown-warning, -critical, -clear: RATIO[,PROBE=RATIO...]. */
static void
test_thresholds(void)
{
	struct vms_config c;
	char err[1024];

	/* A bare ratio sets every probe. */
	CHECK_INT(load_text(&c, "slowdown-warning 1.7\n", err, sizeof(err)), 0);
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
		CHECK(c.analysis.warning[i] == 1.7);
	vms_config_fini(&c);

	/* Overrides after it, by probe name; the probes not named keep the bare ratio. A name
	 * from before 1.0 (mem_read_latency, NEWS.md) still names its probe. */
	if (!CHECK_INT(load_text(&c,
	                         "slowdown-critical 2.5,fork_exit=4,mem_read_latency=3\n"
	                         "slowdown-warning 1.5,fork_exit=3.5\n"
	                         "slowdown-clear 1.1,fork_exit=1.25\n",
	                         err, sizeof(err)),
	               0))
		fprintf(stderr, "  %s\n", err);
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++) {
		double crit = i == VMS_AN_FORK_EXIT             ? 4.0
		              : i == VMS_AN_MEMORY_READ_LATENCY ? 3.0
		                                                : 2.5;
		if (!CHECK(c.analysis.critical[i] == crit))
			fprintf(stderr, "  critical of %s\n", vms_an_probe_name(i));
		CHECK(c.analysis.warning[i] == (i == VMS_AN_FORK_EXIT ? 3.5 : 1.5));
		CHECK(c.analysis.clear[i] == (i == VMS_AN_FORK_EXIT ? 1.25 : 1.1));
	}
	vms_config_fini(&c);

	/* Overrides alone leave the others at their default; a flag applies over the file. */
	CHECK_INT(load_text(&c, "slowdown-warning cpu_work=1.3\n", err, sizeof(err)), 0);
	CHECK(c.analysis.warning[VMS_AN_CPU_WORK] == 1.3);
	CHECK(c.analysis.warning[VMS_AN_MEMORY_COPY] == 1.5);
	const struct vms_config_arg flag[] = {{"slowdown-warning", "ctxsw=1.4"}};
	CHECK_INT(vms_config_apply_args(&c, flag, 1, err, sizeof(err)), 0);
	CHECK(c.analysis.warning[VMS_AN_CPU_WORK] == 1.3);
	CHECK(c.analysis.warning[VMS_AN_CTXSW] == 1.4);
	vms_config_fini(&c);

	/* Every probe name of the analysis is accepted, and listed when one is unknown. */
	char want[1024] = "F:1: 'slowdown-warning': unknown probe 'cpu' (";
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++) {
		char line[128];
		snprintf(line, sizeof(line), "slowdown-warning 1.5,%s=1.4\n", vms_an_probe_name(i));
		if (!CHECK_STR(error_of(line), "(accepted)"))
			fprintf(stderr, "  probe %s\n", vms_an_probe_name(i));
		strcat(want, vms_an_probe_name(i));
		strcat(want, i + 1 < VMS_AN_PROBE_COUNT ? ", " : ")");
	}
	CHECK_STR(error_of("slowdown-warning 1.5,cpu=1.4\n"), want);
	CHECK_STR(
	    error_of("slowdown-critical =3\n"),
	    "F:1: 'slowdown-critical': unknown probe '' (cpu_work, memory_copy, memory_read, "
	    "memory_write, disk_read, network_transmit, network_receive, fork_exit, fork_exec, "
	    "ctxsw, file_create_0k, file_create_10k, memory_read_latency)");
	vms_config_defaults(&c);
	const struct vms_config_arg unknown[] = {{"slowdown-clear", "CPU_WORK=1.1"}};
	CHECK_INT(vms_config_apply_args(&c, unknown, 1, err, sizeof(err)), -1);
	CHECK(starts_with(err, "--slowdown-clear: unknown probe 'CPU_WORK' (cpu_work, "));
	vms_config_fini(&c);

	/* A ratio must be above 1 and at most 1000, a plain decimal; no empty item. */
	const char *bad[] = {
	    "1",
	    "1.0",
	    "0.9",
	    "0",
	    "1000.5",
	    "-2",
	    "+2",
	    "1e1",
	    "nan",
	    "inf",
	    "2x",
	    ".",
	    "1.5.1",
	    "cpu_work=1",
	    "cpu_work=0.5",
	    "cpu_work=",
	    "cpu_work",
	    "1.5,",
	    ",1.5",
	    "1.5,,cpu_work=1.3",
	    ",",
	    "1.5,cpu_work=1.3,",
	    "1.5, ,cpu_work=1.3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[128], expect[256];
		snprintf(line, sizeof(line), "slowdown-warning %s\n", bad[i]);
		snprintf(
		    expect, sizeof(expect),
		    "F:1: 'slowdown-warning' must be a slowdown ratio "
		    "above 1 (at most 1000), then optional PROBE=RATIO items, separated by ','; "
		    "got '%s'",
		    bad[i]);
		if (!CHECK_STR(error_of(line), expect))
			fprintf(stderr, "  value '%s'\n", bad[i]);
	}
	/* Blanks around items are allowed, as in probe-network-block-sizes. */
	vms_config_defaults(&c);
	CHECK_INT(vms_config_set(&c, "slowdown-warning", "1.6 , cpu_work=1.3", err, sizeof(err)),
	          0);
	CHECK(c.analysis.warning[VMS_AN_CPU_WORK] == 1.3);
	CHECK(c.analysis.warning[VMS_AN_DISK_READ] == 1.6);
	vms_config_fini(&c);
	/* capacity-min-levels beyond analysis-buckets could never predict. */
	CHECK_STR(
	    error_of("analysis-buckets 4\ncapacity-min-levels 5\n"),
	    "F:2: 'capacity-min-levels' (5) must not exceed analysis-buckets (4): the capacity "
	    "would never be predicted");
	/* A rejected value leaves the previous thresholds whole. */
	vms_config_defaults(&c);
	CHECK_INT(vms_config_set(&c, "slowdown-warning", "1.8,cpu_work=1", err, sizeof(err)), -1);
	CHECK(c.analysis.warning[VMS_AN_DISK_READ] == 1.5);
	vms_config_fini(&c);
	vms_config_defaults(&c);
	const struct vms_config_arg low[] = {{"slowdown-critical", "1"}};
	CHECK_INT(vms_config_apply_args(&c, low, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "--slowdown-critical must be a slowdown ratio above 1 (at most 1000), then "
	               "optional PROBE=RATIO items, separated by ','; got '1'");
	vms_config_fini(&c);
	CHECK_STR(error_of("slowdown-critical 1000\n"), "(accepted)");

	/* Hysteresis: clear < warning < critical for every probe; the error names the line. */
	CHECK_STR(error_of("# analysis\nslowdown-clear 1.6\n"),
	          "F:2: 'slowdown-clear': probe cpu_work needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.6, 1.5 and 2");
	CHECK_STR(error_of("slowdown-clear 1.5\n"),
	          "F:1: 'slowdown-clear': probe cpu_work needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.5, 1.5 and 2");
	CHECK_STR(
	    error_of("slowdown-critical 1.5\n"),
	    "F:1: 'slowdown-critical': probe cpu_work needs slowdown-clear < slowdown-warning "
	    "< slowdown-critical, got 1.2, 1.5 and 1.5");
	/* Only the warning set, above the default critical: the message names its line. */
	CHECK_STR(error_of("interval 5\nslowdown-warning 2.5\n"),
	          "F:2: 'slowdown-warning': probe cpu_work needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.2, 2.5 and 2");
	CHECK_STR(error_of("slowdown-warning 1.1\n"),
	          "F:1: 'slowdown-warning': probe cpu_work needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.2, 1.1 and 2");
	/* One probe's override breaks it: that probe is named. */
	CHECK_STR(error_of("slowdown-warning 1.5\nslowdown-critical 2,ctxsw=1.4\n"),
	          "F:2: 'slowdown-critical': probe ctxsw needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.2, 1.5 and 1.4");
	CHECK_STR(error_of("slowdown-critical 1.4\nslowdown-warning 1.5\n"),
	          "F:2: 'slowdown-warning': probe cpu_work needs slowdown-clear < slowdown-warning "
	          "< slowdown-critical, got 1.2, 1.5 and 1.4");
	CHECK_STR(error_of("slowdown-clear 1.1,memory_read_latency=1.9\n"),
	          "F:1: 'slowdown-clear': probe memory_read_latency needs slowdown-clear < "
	          "slowdown-warning < slowdown-critical, got 1.9, 1.5 and 2");
	CHECK_STR(error_of("slowdown-warning 3\nslowdown-critical 4\nslowdown-clear 2.5\n"),
	          "(accepted)");
	/* From the command line: the flag, no file line. */
	CHECK_INT(load_text(&c, "slowdown-critical 3\n", err, sizeof(err)), 0);
	const struct vms_config_arg high[] = {{"slowdown-warning", "3"}};
	CHECK_INT(vms_config_apply_args(&c, high, 1, err, sizeof(err)), 0);
	CHECK_INT(vms_config_validate(&c, err, sizeof(err)), -1);
	CHECK_STR(err, "--slowdown-warning: probe cpu_work needs slowdown-clear < slowdown-warning "
	               "< slowdown-critical, got 1.2, 3 and 3");
	vms_config_fini(&c);
}

/* The other analysis keys: bounds and messages; control-socket; vms_config_analysis(). */
static void
test_analysis_keys(void)
{
	CHECK_STR(error_of("slowdown-window 5s\n"),
	          "F:1: 'slowdown-window' must be 10..86400 seconds, got '5s'");
	CHECK_STR(error_of("analysis-buckets 33\n"),
	          "F:1: 'analysis-buckets' must be 2..32, got '33'");
	CHECK_STR(error_of("baseline-min-samples 0\n"),
	          "F:1: 'baseline-min-samples' must be 1..1000, got '0'");
	CHECK_STR(error_of("alert-for 0\n"), "(accepted)");
	CHECK_STR(error_of("analysis-retention 30d\n"),
	          "F:1: 'analysis-retention' must be 60..315360000 seconds, got '30d'");
	CHECK_STR(error_of("analysis-retention 720h\n"), "(accepted)");

	/* capacity-min-r-squared: a ratio 0..1, both ends included. */
	CHECK_STR(error_of("capacity-min-r-squared 0\n"), "(accepted)");
	CHECK_STR(error_of("capacity-min-r-squared 1\n"), "(accepted)");
	CHECK_STR(error_of("capacity-min-r-squared 1.0\n"), "(accepted)");
	CHECK_STR(error_of("capacity-min-r-squared 1.5\n"),
	          "F:1: 'capacity-min-r-squared' must be a ratio 0..1, got '1.5'");
	CHECK_STR(error_of("capacity-min-r-squared -0.5\n"),
	          "F:1: 'capacity-min-r-squared' must be a ratio 0..1, got '-0.5'");
	struct vms_config c;
	char err[512];
	CHECK_INT(load_text(&c, "capacity-min-r-squared .95\n", err, sizeof(err)), 0);
	CHECK(c.analysis.capacity_min_r2 == 0.95);
	vms_config_fini(&c);

	/* control-socket: an absolute path; a change needs a restart. */
	CHECK_STR(error_of("control-socket vmscale.sock\n"),
	          "F:1: 'control-socket' must be an absolute path, got 'vmscale.sock'");
	CHECK_STR(error_of("control-socket /tmp/x/control.sock\n"), "(accepted)");
	vms_config_defaults(&c);
	const struct vms_config_arg rel[] = {{"control-socket", "./ctl.sock"}};
	CHECK_INT(vms_config_apply_args(&c, rel, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "--control-socket must be an absolute path, got './ctl.sock'");
	vms_config_fini(&c);
	struct vms_config a, b;
	vms_config_defaults(&a);
	CHECK_INT(load_text(&b, "control-socket /run/other/control.sock\n", err, sizeof(err)), 0);
	vms_config_validate(&a, err, sizeof(err));
	CHECK_STR(vms_config_restart_needed(&a, &b), "control-socket");
	vms_config_fini(&b);
	/* The analysis keys change live. */
	CHECK_INT(load_text(&b,
	                    "slowdown-window 1m\nslowdown-warning 1.8\nalert-for 0\n"
	                    "analysis-buckets 4\nstate-save-interval 10s\n",
	                    err, sizeof(err)),
	          0);
	CHECK(vms_config_restart_needed(&a, &b) == NULL);
	vms_config_fini(&a);
	vms_config_fini(&b);

	/* vms_config_analysis(): seconds to ns where the analysis counts in ns. */
	struct vms_analysis_config ac, def;
	vms_analysis_config_defaults(&def);
	vms_config_defaults(&c);
	CHECK_INT(vms_config_validate(&c, err, sizeof(err)), 0);
	vms_config_analysis(&c, &ac);
	CHECK_INT(ac.window_ns, def.window_ns);
	CHECK_INT(ac.alert_for_ns, def.alert_for_ns);
	CHECK_INT(ac.min_samples, def.min_samples);
	CHECK_INT(ac.max_buckets, def.max_buckets);
	CHECK_INT(ac.retention_s, def.retention_s);
	CHECK_INT(ac.capacity_min_levels, def.capacity_min_levels);
	CHECK(ac.capacity_min_r2 == def.capacity_min_r2);
	CHECK(memcmp(ac.warning, def.warning, sizeof(ac.warning)) == 0);
	CHECK(memcmp(ac.critical, def.critical, sizeof(ac.critical)) == 0);
	CHECK(memcmp(ac.clear, def.clear, sizeof(ac.clear)) == 0);
	vms_config_fini(&c);

	if (!CHECK_INT(load_text(&c,
	                         "slowdown-window 86400\nalert-for 2m\nbaseline-min-samples 7\n"
	                         "analysis-buckets 32\ncapacity-min-levels 5\n"
	                         "capacity-min-r-squared 0.6\nanalysis-retention 3650h\n"
	                         "slowdown-warning 1.6,disk_read=2.5\n"
	                         "slowdown-critical 3,disk_read=5\n"
	                         "slowdown-clear 1.3,disk_read=2\nstate-save-interval 15s\n",
	                         err, sizeof(err)),
	               0))
		fprintf(stderr, "  %s\n", err);
	vms_config_analysis(&c, &ac);
	CHECK_INT(ac.window_ns, 86400ull * 1000000000ull); /* above 2^32 ns: no overflow */
	CHECK_INT(ac.alert_for_ns, 120ull * 1000000000ull);
	CHECK_INT(ac.min_samples, 7);
	CHECK_INT(ac.max_buckets, 32);
	CHECK_INT(ac.capacity_min_levels, 5);
	CHECK(ac.capacity_min_r2 == 0.6);
	CHECK_INT(ac.retention_s, 3650ull * 3600);
	CHECK_INT(ac.host_cpus, def.host_cpus); /* not a key: the analysis' own default */
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++) {
		bool disk = i == VMS_AN_DISK_READ;
		CHECK(ac.warning[i] == (disk ? 2.5 : 1.6));
		CHECK(ac.critical[i] == (disk ? 5.0 : 3.0));
		CHECK(ac.clear[i] == (disk ? 2.0 : 1.3));
	}
	CHECK_INT(c.analysis.save_interval_s, 15); /* the daemon's, not the analysis' */
	vms_config_fini(&c);
}

/* A probe-domains regex that would cost regcomp ~3.9 GB is refused before it, in no time. */
static void
test_regex_bounds(void)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_STR(error_of("probe-domains ^(a+)+++++++++++++++++++++++++$\n"),
	          "F:1: 'probe-domains': '^(a+)+++++++++++++++++++++++++$' is refused before "
	          "compiling: '+' at offset 5 repeats a group that contains a repetition (nested "
	          "repetitions multiply what regcomp builds; only '?' may apply to such a group)");
	struct vms_config c;
	char err[512];
	vms_config_defaults(&c);
	const struct vms_config_arg flag[] = {{"probe-domains", "^(a+)+++++++++++++++++++++++++$"}};
	CHECK_INT(vms_config_apply_args(&c, flag, 1, err, sizeof(err)), -1);
	CHECK(starts_with(err, "--probe-domains: '^(a+)+++++++++++++++++++++++++$' is refused "
	                       "before compiling: '+' at offset 5 repeats a group"));
	vms_config_fini(&c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);

	CHECK_STR(
	    error_of("probe-domains a{1000}\n"),
	    "F:1: 'probe-domains': 'a{1000}' is refused before compiling: '{1000}' at offset 1 "
	    "counts beyond 255 (each count is a copy for regcomp)");
	CHECK_STR(error_of("probe-domains ^(web|db)-[0-9]+$\n"), "(accepted)");
	CHECK_STR(error_of("probe-domains ^[a-z0-9-]{1,63}$\n"), "(accepted)");
}

static void
test_args(void)
{
	struct vms_config c;
	char err[512];
	CHECK_INT(load_text(&c,
	                    "connect qemu:///system\nconnect lxc:///system\ninterval 10\n"
	                    "busy-threshold 0.5\n",
	                    err, sizeof(err)),
	          0);
	const struct vms_config_arg args[] = {
	    {"interval", "2"},        {"connect", "test:///default"},
	    {"connect", "test:///x"}, {"verbose", "yes"},
	    {"interval", "3"}, /* the last wins */
	};
	CHECK_INT(vms_config_apply_args(&c, args, 5, err, sizeof(err)), 0);
	CHECK_INT(c.interval_s, 3);
	CHECK_INT(c.nuris, 2); /* the first --connect replaced the file's list */
	CHECK_STR(c.uris[0], "test:///default");
	CHECK_STR(c.uris[1], "test:///x");
	CHECK(c.busy_threshold == 0.5); /* the file's, no flag */
	CHECK(c.verbose);
	CHECK_INT(c.origin[2], -1);
	vms_config_fini(&c);

	/* Flag errors name the flag. */
	vms_config_defaults(&c);
	const struct vms_config_arg bad1[] = {{"interval", "0"}};
	CHECK_INT(vms_config_apply_args(&c, bad1, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "--interval must be 1..3600 seconds, got '0'");
	const struct vms_config_arg bad2[] = {{"probe-domains", "(["}};
	CHECK_INT(vms_config_apply_args(&c, bad2, 1, err, sizeof(err)), -1);
	CHECK(starts_with(err, "--probe-domains: '([' is not an extended regular expression: "));
	const struct vms_config_arg bad3[] = {{"state-dir", "/x\ny"}};
	CHECK_INT(vms_config_apply_args(&c, bad3, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "--state-dir: the value contains a control character");
	const struct vms_config_arg bad4[] = {{"listen", ""}};
	CHECK_INT(vms_config_apply_args(&c, bad4, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "--listen needs a value");
	const struct vms_config_arg bad5[] = {{"nope", "1"}};
	CHECK_INT(vms_config_apply_args(&c, bad5, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "unknown flag --nope");
	const struct vms_config_arg bad6[] = {{"tls-key", "/k.pem"}};
	CHECK_INT(vms_config_apply_args(&c, bad6, 1, err, sizeof(err)), 0);
	CHECK_INT(vms_config_validate(&c, err, sizeof(err)), -1);
	CHECK_STR(err, "--tls-key needs --tls-cert");
	vms_config_fini(&c);

	CHECK_INT(vms_config_set(&c, "nope", "1", err, sizeof(err)), -1);
	CHECK_STR(err, "unknown key 'nope'");
}

static void
test_validate(void)
{
	CHECK_STR(error_of("# tls\ntls-cert /c.pem\n"), "F:2: 'tls-cert' needs 'tls-key'");
	CHECK_STR(error_of("tls-cert /c.pem\ntls-key /k.pem\n"), "(accepted)");
	/* The guest agent's read-write connection only with domains to read, and never alone. */
	CHECK_STR(error_of("qemu-agent-domains ^legacy-\n"),
	          "F:1: 'qemu-agent-domains' needs 'qemu-agent-connect': libvirt refuses guest "
	          "agent commands "
	          "on the read-only connections of connect (docs/security.md)");
	CHECK_STR(error_of("# rw\nqemu-agent-connect qemu:///system\n"),
	          "F:2: 'qemu-agent-connect' needs 'qemu-agent-domains': alone it would open a "
	          "read-write "
	          "connection to read no domain");
	CHECK_STR(error_of("qemu-agent-connect qemu:///system\nqemu-agent-domains ^legacy-\n"),
	          "(accepted)");
	CHECK_STR(error_of("qemu-agent-connect qemu:///system\nqemu-agent-domains "
	                   "^a\nqemu-agent-timeout 10s\n"),
	          "F:3: qemu-agent-timeout (10s) must be shorter than qemu-agent-interval (10s)");
	CHECK_STR(error_of("qemu-agent-connect qemu:///system\nqemu-agent-domains "
	                   "^a\nqemu-agent-timeout 31s\n"),
	          "F:3: 'qemu-agent-timeout' must be 1..30 seconds, got '31s'");
	CHECK_STR(error_of("qemu-agent-connect qemu:///system\nqemu-agent-domains (a+)+\n"),
	          "F:2: 'qemu-agent-domains': '(a+)+' is refused before compiling: '+' at offset 4 "
	          "repeats a group that contains a "
	          "repetition (nested repetitions multiply what regcomp builds; only '?' may apply "
	          "to such a group)");
	/* Only a URI vmscaled watches: its figures go to the domains of that connection. */
	CHECK_STR(error_of("connect test:///default\nqemu-agent-connect qemu:///system\n"
	                   "qemu-agent-domains ^legacy-\n"),
	          "F:2: 'qemu-agent-connect' must be one of the connect URIs: its figures go to "
	          "the domains vmscaled watches there");
	CHECK_STR(error_of("qemu-agent-connect qemu:///sys tem\n"),
	          "F:1: 'qemu-agent-connect' must be a libvirt URI (printable ASCII without "
	          "spaces, at most "
	          "1024 bytes), got 'qemu:///sys tem'");
	CHECK_STR(error_of("netio-guest-address 10.0.2.2\n"),
	          "F:1: 'netio-guest-address' needs 'netio-listen'");
	CHECK_STR(error_of("netio-listen 127.0.0.1:18767\n"),
	          "F:1: 'netio-listen' 127.0.0.1:18767 is a wildcard or loopback address that "
	          "guests cannot reach by that name: set 'netio-guest-address' (10.0.2.2 for "
	          "user-mode networking)");
	CHECK_STR(
	    error_of("netio-listen :18767\n"),
	    "F:1: 'netio-listen' :18767 is a wildcard or loopback address that guests cannot "
	    "reach by that name: set 'netio-guest-address' (10.0.2.2 for user-mode networking)");
	CHECK_STR(error_of("netio-listen 127.0.0.1:18767\nnetio-guest-address 10.0.2.2\n"),
	          "(accepted)");
	/* netio-udp-rate: 0 (off), or 64K..1G bytes/s; needs netio-listen. */
	const char *nl = "netio-listen 127.0.0.1:18767\nnetio-guest-address 10.0.2.2\n";
	char text[256];
	snprintf(text, sizeof(text), "%snetio-udp-rate 65535\n", nl);
	CHECK_STR(error_of(text), "F:3: 'netio-udp-rate' 65535 is below 65536 bytes/s (64K): set 0 "
	                          "(off) or more");
	snprintf(text, sizeof(text), "%snetio-udp-rate 1\n", nl);
	CHECK(strstr(error_of(text), "is below 65536 bytes/s") != NULL);
	snprintf(text, sizeof(text), "%snetio-udp-rate 1073741825\n", nl);
	CHECK(strcmp(error_of(text), "(accepted)") != 0);
	snprintf(text, sizeof(text), "%snetio-udp-rate 64K\n", nl);
	CHECK_STR(error_of(text), "(accepted)");
	snprintf(text, sizeof(text), "%snetio-udp-rate 1G\n", nl);
	CHECK_STR(error_of(text), "(accepted)");
	snprintf(text, sizeof(text), "%snetio-udp-rate 0\n", nl);
	CHECK_STR(error_of(text), "(accepted)");
	CHECK_STR(error_of("netio-udp-rate 4M\n"), "F:1: 'netio-udp-rate' needs 'netio-listen'");
	struct vms_config c;
	char err[512];
	CHECK_INT(load_text(&c, "netio-listen [2001:db8::1]:18767\n", err, sizeof(err)), 0);
	CHECK_STR(c.netio_guest_address, "2001:db8::1");
	vms_config_fini(&c);

	/* Passive intervals follow "interval" unless set. */
	CHECK_INT(load_text(&c, "interval 7\nprobe-disk-interval 3s\n", err, sizeof(err)), 0);
	CHECK_INT(c.probe.cpu_interval_ms, 7000);
	CHECK_INT(c.probe.disk_interval_ms, 3000);
	vms_config_fini(&c);

	/* An active run must fit in its interval. */
	CHECK_STR(error_of("probe-network-interval 4s\n"),
	          "F:1: 'probe-network-max' (1000 ms) times 4 per run must be shorter than "
	          "'probe-network-interval' (4 s)");
	CHECK_STR(error_of("probe-network-interval 5s\nprobe-network-block-sizes 1K,2K,4K\n"),
	          "F:1: 'probe-network-max' (1000 ms) times 6 per run must be shorter than "
	          "'probe-network-interval' (5 s)");
	CHECK_STR(error_of("probe-memory-max 400ms\nprobe-memory-interval 1s\n"),
	          "F:1: 'probe-memory-max' (400 ms) times 3 per run must be shorter than "
	          "'probe-memory-interval' (1 s)");
	CHECK_STR(error_of("probe-micro-max 1s\nprobe-micro-interval 6s\n"),
	          "F:1: 'probe-micro-max' (1000 ms) times 6 per run must be shorter than "
	          "'probe-micro-interval' (6 s)");
	CHECK_STR(error_of("probe-disk-read-max 2s\nprobe-disk-read-interval 2s\n"),
	          "F:1: 'probe-disk-read-max' (2000 ms) times 1 per run must be shorter than "
	          "'probe-disk-read-interval' (2 s)");
	CHECK_STR(error_of("probe-network-interval off\nprobe-network-max 60s\n"), "(accepted)");
	CHECK_STR(error_of("probe-network-bytes 16K\n"),
	          "F:1: 'probe-network-bytes' (16 KiB) must be at least the largest of "
	          "'probe-network-block-sizes' (32 KiB)");
}

/* Whether byte i of struct vms_config belongs to key k: its field, or a list's count. */
static bool
in_field(const struct cfg_key *k, size_t i)
{
	bool list = k->kind == K_URIS || k->kind == K_SIZES;
	return (i >= k->off && i < k->off + k->size) ||
	       (list && i >= k->count_off && i < k->count_off + sizeof(unsigned));
}

/* A value unlike the default: yes/no and ratios computed from the field, others the sample. */
static const char *
value_unlike(const struct cfg_key *k, const struct vms_config *c)
{
	if (k->kind == K_BOOL) {
		bool b;
		memcpy(&b, (const char *)c + k->off, sizeof(b));
		return b ? "no" : "yes";
	}
	if (k->kind == K_RATIO) {
		double r;
		memcpy(&r, (const char *)c + k->off, sizeof(r));
		return r == 0.5 ? "0.25" : "0.5";
	}
	return sample_of(k->pub.name);
}

static bool
is_string(const struct cfg_key *k)
{
	return k->kind == K_LISTEN || k->kind == K_REGEX || k->kind == K_PATH ||
	       k->kind == K_HOST || k->kind == K_URI;
}

/* A copy of a string key's value (NULL if unset): setting it frees the old one. */
static char *
string_of(const struct cfg_key *k, const struct vms_config *c)
{
	const char *v;
	memcpy(&v, (const char *)c + k->off, sizeof(v));
	return v ? strdup(v) : NULL;
}

/* Whether key k's field differs from before (for a string: old, the value it had). */
static bool
field_changed(const struct cfg_key *k, const struct vms_config *before, const struct vms_config *c,
              const char *old)
{
	if (is_string(k)) {
		/* Compare the text: free then strdup may give back the same address. */
		const char *v;
		memcpy(&v, (const char *)c + k->off, sizeof(v));
		return !old || strcmp(old, v) != 0;
	}
	return memcmp((const char *)before + k->off, (const char *)c + k->off, k->size) != 0;
}

/*
 * Every key, driven by the table, writes its own field and nothing else: set a value unlike
 * the default, then compare the struct byte by byte. (K_RATIO and K_BOOL once wrote to
 * busy_threshold and verbose whatever the key: a second key of either kind went astray.)
 */
static void
test_key_writes_its_field(void)
{
	size_t ratios = 0, bools = 0;
	for (size_t ki = 0; ki < cfg_nkeys; ki++) {
		const struct cfg_key *k = &cfg_keys[ki];
		struct vms_config c, before;
		char err[512];
		vms_config_defaults(&c);
		const char *value = value_unlike(k, &c);
		if (!CHECK(value != NULL))
			continue;
		ratios += k->kind == K_RATIO;
		bools += k->kind == K_BOOL;
		char *old = is_string(k) ? string_of(k, &c) : NULL;
		memcpy(&before, &c, sizeof(c)); /* shallow: only compared, never freed */
		if (!CHECK_INT(vms_config_set(&c, k->pub.name, value, err, sizeof(err)), 0))
			fprintf(stderr, "  %s %s: %s\n", k->pub.name, value, err);
		const unsigned char *a = (const unsigned char *)&before,
		                    *b = (const unsigned char *)&c;
		size_t stray = 0;
		for (size_t i = 0; i < sizeof(c); i++)
			stray += !in_field(k, i) && a[i] != b[i];
		if (!CHECK_INT(stray, 0))
			fprintf(stderr, "  '%s' changed %zu bytes outside its field\n", k->pub.name,
			        stray);
		if (!CHECK(field_changed(k, &before, &c, old)))
			fprintf(stderr, "  '%s %s' left its field as it was\n", k->pub.name, value);
		free(old);
		vms_config_fini(&c);
	}
	CHECK(ratios >= 2); /* busy-threshold, capacity-min-r-squared */
	CHECK(bools >= 1);  /* verbose */
}

/*
 * Changing one key: a restart for those that are not live, nothing for the others. Driven by
 * the table's live column, which is all vms_config_restart_needed knows: a new key is covered
 * by its row and its sample value (test_every_key wants one for every key).
 */
static void
test_restart_needed(void)
{
	size_t live = 0, restart = 0;
	for (size_t i = 0; i < vms_config_nkeys(); i++) {
		const struct vms_config_key *k = vms_config_key_at(i);
		const char *value = sample_of(k->name);
		if (!value)
			continue;
		live += k->live;
		restart += !k->live;
		struct vms_config a, b;
		char err[512];
		vms_config_defaults(&a);
		vms_config_defaults(&b);
		/* Keys that need a partner get it on both sides. */
		const struct vms_config_arg base[] = {{"netio-listen", "192.0.2.9:1"}};
		if (strcmp(k->name, "netio-guest-address") == 0) {
			vms_config_apply_args(&a, base, 1, err, sizeof(err));
			vms_config_apply_args(&b, base, 1, err, sizeof(err));
		}
		const struct vms_config_arg change[] = {{k->name, value}};
		CHECK_INT(vms_config_apply_args(&b, change, 1, err, sizeof(err)), 0);
		vms_config_validate(&a, err, sizeof(err));
		vms_config_validate(&b, err, sizeof(err));
		const char *need = vms_config_restart_needed(&a, &b);
		if (k->live) {
			if (!CHECK(need == NULL))
				fprintf(stderr, "  live key '%s' asks for a restart ('%s')\n",
				        k->name, need);
		} else {
			if (!CHECK(need && strcmp(need, k->name) == 0))
				fprintf(stderr, "  changing '%s' gives '%s'\n", k->name,
				        need ? need : "NULL");
		}
		CHECK(vms_config_restart_needed(&a, &a) == NULL);
		vms_config_fini(&a);
		vms_config_fini(&b);
	}
	CHECK(live > 0 && restart > 0);
	/* The same URIs in another order are the same connections. */
	struct vms_config a, b;
	char err[512];
	vms_config_defaults(&a);
	vms_config_defaults(&b);
	const struct vms_config_arg ab[] = {{"connect", "test:///a"}, {"connect", "test:///b"}};
	const struct vms_config_arg ba[] = {{"connect", "test:///b"}, {"connect", "test:///a"}};
	vms_config_apply_args(&a, ab, 2, err, sizeof(err));
	vms_config_apply_args(&b, ba, 2, err, sizeof(err));
	CHECK(vms_config_restart_needed(&a, &b) == NULL);
	vms_config_apply_args(&b, ba, 1, err, sizeof(err));
	CHECK_STR(vms_config_restart_needed(&a, &b), "connect");
	vms_config_fini(&a);
	vms_config_fini(&b);
}

/*
 * The shipped example: loads as is (everything commented), names every key once as a
 * commented "#key value" line, and with those lines uncommented still loads, with the
 * defaults it documents.
 */
static void
test_example(void)
{
	const char *example = VMSCALE_TEST_DATA "/../systemd/vmscaled.conf";
	struct vms_config c, d;
	char err[512];
	vms_config_defaults(&c);
	if (!CHECK_INT(vms_config_load(&c, example, true, err, sizeof(err)), 0))
		fprintf(stderr, "  %s\n", err);
	vms_config_fini(&c);

	size_t len;
	char *text = check_read_file(example, &len);
	char *out = calloc(1, len + 4096); /* room for the web config's path */
	size_t o = 0;
	int mentioned[VMS_CONFIG_MAX_KEYS] = {0};
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) + 1 : strlen(line);
		bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z';
		if (setting) {
			for (size_t k = 0; k < vms_config_nkeys(); k++) {
				const char *name = vms_config_key_at(k)->name;
				size_t nlen = strlen(name);
				if (strncmp(line + 1, name, nlen) == 0 &&
				    (line[1 + nlen] == ' ' || line[1 + nlen] == '\n'))
					mentioned[k]++;
			}
		}
		/* The example's web config is read by validation: the shipped one stands in. */
		if (strncmp(line, "#web-config-file ", 17) == 0) {
			o += (size_t)sprintf(out + o, "web-config-file %s\n", samples_web());
		} else {
			memcpy(out + o, line + setting, l - setting);
			o += l - setting;
		}
		line += l;
	}
	for (size_t k = 0; k < vms_config_nkeys(); k++)
		if (!CHECK_INT(mentioned[k], 1))
			fprintf(stderr, "  '%s' in the example\n", vms_config_key_at(k)->name);
	snprintf(path, sizeof(path), "%s/example.conf", dir);
	write_file(out, o);
	vms_config_defaults(&c);
	int rc = vms_config_load(&c, path, true, err, sizeof(err));
	if (rc == 0)
		rc = vms_config_validate(&c, err, sizeof(err));
	if (!CHECK_INT(rc, 0))
		fprintf(stderr, "  uncommented example: %s\n", err);
	vms_config_defaults(&d);
	vms_config_validate(&d, err, sizeof(err));
	CHECK(memcmp(&c.probe, &d.probe, sizeof(c.probe)) == 0);
	CHECK_INT(c.nuris, 1);
	CHECK_STR(c.uris[0], d.uris[0]);
	CHECK_STR(c.listen, d.listen);
	CHECK_INT(c.interval_s, d.interval_s);
	CHECK(c.busy_threshold == d.busy_threshold);
	CHECK_INT(c.http_max_connections, d.http_max_connections);
	CHECK_INT(c.http_timeout_s, d.http_timeout_s);
	CHECK_INT(c.http_per_address, d.http_per_address);
	CHECK_INT(c.http_header_timeout_s, d.http_header_timeout_s);
	CHECK_STR(c.state_dir, d.state_dir);
	CHECK(memcmp(&c.analysis, &d.analysis, sizeof(c.analysis)) == 0);
	CHECK_STR(c.control_socket, d.control_socket);
	vms_config_fini(&c);
	vms_config_fini(&d);
	free(out);
	free(text);
	snprintf(path, sizeof(path), "%s/test.conf", dir);
}

int
main(void)
{
	vms_log_init("test_config", false);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	test_defaults();
	test_every_key();
	test_units();
	test_messages();
	test_hostile();
	test_thresholds();
	test_analysis_keys();
	test_regex_bounds();
	test_args();
	test_validate();
	test_key_writes_its_field();
	test_restart_needed();
	test_example();
	unlink(path);
	char ex[300];
	snprintf(ex, sizeof(ex), "%s/example.conf", dir);
	unlink(ex);
	rmdir(dir);
	return check_done("test_config");
}

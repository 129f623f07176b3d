/*
 * The configuration: every key parses, units and bounds, errors naming file and line,
 * duplicates, hostile files (NUL, control characters, bad UTF-8, overlong lines, a huge file,
 * not a regular file), command-line overrides, checks across keys, and which changes need a
 * restart. The shipped example must load and name every key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmscale/protocol.h"

#include "../../daemon/config.h"
#include "../../daemon/log.h"
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
	CHECK_STR(c.state_dir, "/var/lib/vmscale");
	const struct vms_probe_config *p = &c.probe;
	CHECK_INT(p->cpu_interval_ms, 5000); /* follows interval */
	CHECK_INT(p->disk_interval_ms, 5000);
	CHECK_INT(p->cpu_work_interval_ms, 60000);
	CHECK_INT(p->memory_interval_ms, 60000);
	CHECK_INT(p->disk_read_interval_ms, 60000);
	CHECK_INT(p->network_interval_ms, 60000);
	CHECK_INT(p->micro_interval_ms, 60000);
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
	vms_config_fini(&c);
}

/* A valid value for every key, different from its default: the table must cover every key. */
static const struct {
	const char *key, *value;
} samples[] = {
	{"connect", "lxc:///system"},
	{"listen", "[::1]:9478"},
	{"interval", "2m"},
	{"busy-threshold", "0.75"},
	{"probe-domains", "^dvm[0-9]+$"},
	{"verbose", "yes"},
	{"tls-cert", "/etc/vmscale/cert.pem"},
	{"tls-key", "/etc/vmscale/key.pem"},
	{"http-max-connections", "4"},
	{"http-timeout", "30s"},
	{"netio-listen", "192.0.2.1:18767"},
	{"netio-guest-address", "vmhost.example"},
	{"state-dir", "/srv/vmscale"},
	{"vsock-port", "18768"},
	{"tcp-listen", "192.0.2.1:18769"},
	{"probe-cpu-interval", "10s"},
	{"probe-disk-interval", "1m"},
	{"probe-cpu-work-interval", "off"},
	{"probe-memory-interval", "5m"},
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
	CHECK_STR(c.uris[0], "lxc:///system");
	CHECK_STR(c.listen, "[::1]:9478");
	CHECK_INT(c.interval_s, 120);
	CHECK(c.busy_threshold == 0.75);
	CHECK_STR(c.probe_domains, "^dvm[0-9]+$");
	CHECK(c.verbose);
	CHECK_STR(c.tls_cert, "/etc/vmscale/cert.pem");
	CHECK_STR(c.tls_key, "/etc/vmscale/key.pem");
	CHECK_INT(c.http_max_connections, 4);
	CHECK_INT(c.http_timeout_s, 30);
	CHECK_STR(c.netio_listen, "192.0.2.1:18767");
	CHECK_STR(c.netio_guest_address, "vmhost.example");
	CHECK_STR(c.state_dir, "/srv/vmscale");
	const struct vms_probe_config *p = &c.probe;
	CHECK_INT(p->cpu_interval_ms, 10000);
	CHECK_INT(p->disk_interval_ms, 60000);
	CHECK_INT(p->cpu_work_interval_ms, 0);
	CHECK_INT(p->memory_interval_ms, 300000);
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
	/* Where each key came from. */
	CHECK_INT(c.origin[0], 3);
	CHECK_STR(c.path, path);

	/* A deep copy survives the original. */
	struct vms_config copy;
	vms_config_copy(&copy, &c);
	vms_config_fini(&c);
	CHECK_STR(copy.uris[0], "lxc:///system");
	CHECK_STR(copy.probe_domains, "^dvm[0-9]+$");
	CHECK_STR(copy.path, path);
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
		{"interval", "5", 5},           {"interval", "5s", 5},
		{"interval", "1m", 60},         {"interval", "1h", 3600},
		{"interval", "3000ms", 3},      {"probe-memory-max", "30ms", 30},
		{"probe-memory-max", "1s", 1000}, {"probe-memory-max", "1", 1000},
		{"probe-cpu-interval", "1500ms", 1500},
		{"probe-memory-buffer", "8M", 8 << 20}, {"probe-memory-buffer", "8MiB", 8 << 20},
		{"probe-memory-buffer", "1G", 1 << 30}, {"probe-memory-buffer", "1GiB", 1 << 30},
		{"probe-memory-buffer", "8192K", 8 << 20}, {"probe-memory-buffer", "8388608", 8 << 20},
		{"probe-memory-buffer", "8388608B", 8 << 20},
		{"probe-disk-read-bytes", "4KiB", 4096},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct vms_config c;
		char err[512] = "";
		vms_config_defaults(&c);
		if (!CHECK_INT(vms_config_set(&c, ok[i].key, ok[i].value, err, sizeof(err)), 0))
			fprintf(stderr, "  %s %s: %s\n", ok[i].key, ok[i].value, err);
		uint64_t got = strcmp(ok[i].key, "interval") == 0 ? c.interval_s
			     : strcmp(ok[i].key, "probe-memory-max") == 0 ? c.probe.memory_max_ms
			     : strcmp(ok[i].key, "probe-cpu-interval") == 0 ? c.probe.cpu_interval_ms
			     : strcmp(ok[i].key, "probe-memory-buffer") == 0 ? c.probe.memory_buffer_bytes
									   : c.probe.disk_read_bytes;
		if (!CHECK_INT(got, ok[i].want))
			fprintf(stderr, "  %s %s\n", ok[i].key, ok[i].value);
		vms_config_fini(&c);
	}
	const struct {
		const char *key, *value;
	} bad[] = {
		{"interval", "5 s"}, {"interval", "5sec"}, {"interval", "-1"}, {"interval", "+5"},
		{"interval", "1.5s"}, {"interval", "0x10"}, {"interval", "1500ms"}, {"interval", "s"},
		{"interval", "99999999999999999999"}, {"interval", "18446744073709551615h"},
		{"probe-memory-buffer", "8MB"}, {"probe-memory-buffer", "8m"},
		{"probe-memory-buffer", "1.5G"}, {"probe-memory-buffer", "99999999999G"},
		{"probe-memory-buffer", "M"}, {"probe-cpu-work-units", "4k"},
		{"probe-cpu-work-interval", "0"}, {"probe-cpu-interval", "off"},
		{"busy-threshold", "1.5"}, {"busy-threshold", "nan"}, {"busy-threshold", "1e-1"},
		{"busy-threshold", "-0"}, {"busy-threshold", "."}, {"busy-threshold", "0..1"},
		{"verbose", "maybe"}, {"verbose", "YES"},
		{"probe-network-block-sizes", "1024,"}, {"probe-network-block-sizes", ",1024"},
		{"probe-network-block-sizes", "1K,1024"}, {"probe-network-block-sizes", "32"},
		{"probe-network-block-sizes", "1K,2K,3K,4K,5K,6K,7K"},
		{"probe-network-block-sizes", "2M"}, {"probe-cpu-work-units", "20000001"},
		{"connect", "qemu:///system?a b"}, {"listen", "localhost:9477"},
		{"state-dir", "var/lib/vmscale"}, {"netio-guest-address", "a b"},
		{"netio-guest-address", "host/evil"}, {"probe-domains", "(["},
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
	CHECK_STR(error_of("probe-memory-buffer 4M\n"),
		  "F:1: 'probe-memory-buffer' must be 8 MiB..1 GiB (below 8 MiB one measures caches), "
		  "got '4M'");
	CHECK_STR(error_of("probe-memory-max 61s\n"),
		  "F:1: 'probe-memory-max' must be 1..60000 ms, got '61s'");
	CHECK_STR(error_of("probe-micro-interval 0s\n"),
		  "F:1: 'probe-micro-interval' must be 1..3600 seconds or off, got '0s'");
	CHECK_STR(error_of("probe-active-concurrency 0\n"),
		  "F:1: 'probe-active-concurrency' must be 1..64, got '0'");
	CHECK_STR(error_of("probe-disk-read-bytes 5000\n"),
		  "F:1: 'probe-disk-read-bytes' must be a multiple of 4 KiB (direct I/O), got '5000'");
	CHECK_STR(error_of("probe-network-block-sizes 1K,1024\n"),
		  "F:1: 'probe-network-block-sizes' names 1024 twice, got '1K,1024'");
	CHECK_STR(error_of("busy-threshold 2\n"), "F:1: 'busy-threshold' must be a ratio 0..1, got '2'");
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
	CHECK_INT(load_text(&c, "connect qemu:///system\nconnect lxc:///system\n", err, sizeof(err)), 0);
	CHECK_INT(c.nuris, 2);
	CHECK_STR(c.uris[0], "qemu:///system");
	CHECK_STR(c.uris[1], "lxc:///system");
	vms_config_fini(&c);
	CHECK_STR(error_of("connect qemu:///system\nconnect test:///default\nconnect qemu:///system\n"),
		  "F:3: 'connect': 'qemu:///system' is given twice (one connection per URI)");
	char many[512] = "";
	for (int i = 0; i < 9; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "connect test:///x%d\n", i);
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
	CHECK_STR(error_of("probe-domains caf\xc3\xa9|\xe2\x82\xac|\xf0\x9f\x98\x80\n"), "(accepted)");
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

static void
test_args(void)
{
	struct vms_config c;
	char err[512];
	CHECK_INT(load_text(&c, "connect qemu:///system\nconnect lxc:///system\ninterval 10\n"
				"busy-threshold 0.5\n", err, sizeof(err)), 0);
	const struct vms_config_arg args[] = {
		{"interval", "2"}, {"connect", "test:///default"}, {"connect", "test:///x"},
		{"verbose", "yes"}, {"interval", "3"}, /* the last wins */
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
	CHECK_STR(error_of("netio-guest-address 10.0.2.2\n"),
		  "F:1: 'netio-guest-address' needs 'netio-listen'");
	CHECK_STR(error_of("netio-listen 127.0.0.1:18767\n"),
		  "F:1: 'netio-listen' 127.0.0.1:18767 is a wildcard or loopback address that "
		  "guests cannot reach by that name: set 'netio-guest-address' (10.0.2.2 for "
		  "user-mode networking)");
	CHECK_STR(error_of("netio-listen :18767\n"),
		  "F:1: 'netio-listen' :18767 is a wildcard or loopback address that guests cannot "
		  "reach by that name: set 'netio-guest-address' (10.0.2.2 for user-mode networking)");
	CHECK_STR(error_of("netio-listen 127.0.0.1:18767\nnetio-guest-address 10.0.2.2\n"),
		  "(accepted)");
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

/* Changing one key: a restart for those that are not live, nothing for the others. */
static void
test_restart_needed(void)
{
	for (size_t i = 0; i < vms_config_nkeys(); i++) {
		const struct vms_config_key *k = vms_config_key_at(i);
		const char *value = sample_of(k->name);
		if (!value)
			continue;
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
				fprintf(stderr, "  live key '%s' asks for a restart ('%s')\n", k->name, need);
		} else {
			if (!CHECK(need && strcmp(need, k->name) == 0))
				fprintf(stderr, "  changing '%s' gives '%s'\n", k->name, need ? need : "NULL");
		}
		CHECK(vms_config_restart_needed(&a, &a) == NULL);
		vms_config_fini(&a);
		vms_config_fini(&b);
	}
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
	char *out = calloc(1, len + 1);
	size_t o = 0;
	int mentioned[64] = {0};
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
		memcpy(out + o, line + setting, l - setting);
		o += l - setting;
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
	CHECK_STR(c.state_dir, d.state_dir);
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
	test_args();
	test_validate();
	test_restart_needed();
	test_example();
	unlink(path);
	char ex[300];
	snprintf(ex, sizeof(ex), "%s/example.conf", dir);
	unlink(ex);
	rmdir(dir);
	return check_done("test_config");
}

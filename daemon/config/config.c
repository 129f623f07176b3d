/* vmscaled configuration (see config.h). */
#include "daemon/config/config.h"
#include "daemon/util/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmscale/protocol.h"
#include "daemon/control.h"
#include "daemon/http.h"
#include "daemon/util/log.h"
#include "collectors/guest/netio.h"
#include "daemon/store/store.h"
#include "daemon/util/alloc.h"

#define DEFAULT_URI "qemu:///system"
#define DEFAULT_LISTEN "127.0.0.1:9477"
#define DEFAULT_INTERVAL_S 5
#define DEFAULT_STATE_DIR "/var/lib/vmscale"
#define DEFAULT_ACTIVE_MS 60000u
#define DEFAULT_SKEW_TOLERANCE_MS 50u
#define MAX_CPU_WORK_UNITS 20000000u /* over 100 times the default: about a second */
#define MAX_CONCURRENCY 64u
#define MAX_URI 1024
#define MAX_PATH 4095
#define MAX_GUEST_ADDRESS 63 /* what a "run" record carries (struct vms_run.addr) */
#define MAX_KEY 40
#define MAX_QUOTED 64        /* bytes of a bad value repeated in an error message */
#define DISK_READ_ALIGN 4096 /* O_DIRECT reads whole pages */
#define MEM_OPS 3            /* copy, read, write: one run does each */
#define MICRO_OPS 6          /* fork_exit ... mem_latency */
#define NET_DIRECTIONS 2

_Static_assert(VMS_CONFIG_MAX_NET_BLOCKS == VMS_MAX_NET_BLOCKS, "one limit for the wire and us");

enum kind {
	K_URIS,       /* repeatable libvirt URI */
	K_LISTEN,     /* ADDR:PORT */
	K_SECONDS,    /* duration stored in whole seconds (unsigned) */
	K_MS,         /* duration stored in ms (uint32_t) */
	K_MS_OR_OFF,  /* same, or "off" = 0 */
	K_RATIO,      /* a double 0..1 at off */
	K_REGEX,      /* POSIX extended */
	K_BOOL,       /* yes|no into a bool at off */
	K_PATH,       /* absolute */
	K_COUNT,      /* plain integer (unsigned or uint64_t) */
	K_SIZE,       /* bytes with an optional binary unit (uint64_t) */
	K_SIZES,      /* comma-separated sizes into probe.network_blocks */
	K_HOST,       /* host name or IP address */
	K_THRESHOLDS, /* slowdown ratio for every probe, then PROBE=RATIO overrides */
};

struct key {
	struct vms_config_key pub;
	enum kind kind;
	size_t off, size;   /* the field in struct vms_config */
	uint64_t min, max;  /* bounds in the field's unit: s, ms, bytes or a count */
	const char *why;    /* appended to a bounds error */
};

#define A(field) F(analysis.field)
#define F(field) offsetof(struct vms_config, field), sizeof(((struct vms_config *)0)->field)
#define P(field) F(probe.field)
#define SCHED VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS
#define BOUND 1, VMS_MAX_BOUND_MS
#define NET_BLOCK_MAX (VMS_MAX_NET_BLOCK < VMS_NETIO_MAX_BLOCK ? VMS_MAX_NET_BLOCK : VMS_NETIO_MAX_BLOCK)

/* The order is --help's. */
static const struct key keys[] = {
	{{"connect", 'c', "URI", "libvirt URI, opened read-only; repeat for several "
	  "(default " DEFAULT_URI ")", false}, K_URIS, F(uris), 0, 0, NULL},
	{{"listen", 'l', "ADDR:PORT", "HTTP endpoint for /metrics and /; IPv6 as [ADDR]:PORT "
	  "(default " DEFAULT_LISTEN ")", false}, K_LISTEN, F(listen), 0, 0, NULL},
	{{"interval", 'i', "SEC", "libvirt and host collection interval (default 5 s)", true},
	 K_SECONDS, F(interval_s), VMS_SCHEDULE_MIN_MS / 1000, VMS_SCHEDULE_MAX_MS / 1000, NULL},
	{{"busy-threshold", 'b', "RATIO", "vCPU utilization (0..1) above which a domain counts "
	  "as busy (default 0.2)", true}, K_RATIO, F(busy_threshold), 0, 0, NULL},
	{{"probe-domains", 'p', "REGEX", "claim only the probe channels of domains whose name "
	  "matches this extended regex (default: all)", true}, K_REGEX, F(probe_domains), 0, 0, NULL},
	{{"verbose", 'v', NULL, "log debug messages too", true}, K_BOOL, F(verbose), 0, 0, NULL},
	{{"tls-cert", 0, "FILE", "serve HTTPS with this PEM certificate (needs --tls-key)", false},
	 K_PATH, F(tls_cert), 0, 0, NULL},
	{{"tls-key", 0, "FILE", "PEM private key of --tls-cert", false}, K_PATH, F(tls_key), 0, 0,
	 NULL},
	{{"http-max-connections", 0, "N", "HTTP connections at once, 1..1024 (default 16)", false},
	 K_COUNT, F(http_max_connections), 1, 1024, NULL},
	{{"http-timeout", 0, "DURATION", "an HTTP connection's time limit (default 10s)", false},
	 K_SECONDS, F(http_timeout_s), 1, 300, NULL},
	{{"netio-listen", 0, "ADDR:PORT", "TCP responder of the network probe (default: off)",
	  false}, K_LISTEN, F(netio_listen), 0, 0, NULL},
	{{"netio-guest-address", 0, "HOST", "where guests reach --netio-listen (default: its "
	  "address)", true}, K_HOST, F(netio_guest_address), 0, 0, NULL},
	{{"state-dir", 0, "DIR", "persistent state (default " DEFAULT_STATE_DIR ")", false}, K_PATH,
	 F(state_dir), 0, 0, NULL},
	{{"vsock-port", 0, "PORT", "AF_VSOCK port for probes without a virtio-serial channel, or 0 "
	  "for off (default 0; the probe's default is 18768)", false}, K_COUNT, F(vsock_port), 0,
	 4294967294u, NULL},
	{{"tcp-listen", 0, "ADDR:PORT", "TCP listener for probes with a token from "
	  "STATE-DIR/tokens (default: off)", false}, K_LISTEN, F(tcp_listen), 0, 0, NULL},
	{{"probe-cpu-interval", 0, "DURATION", "guest CPU split report interval (default: "
	  "--interval)", true}, K_MS, P(cpu_interval_ms), SCHED, NULL},
	{{"probe-disk-interval", 0, "DURATION", "guest diskstats report interval (default: "
	  "--interval)", true}, K_MS, P(disk_interval_ms), SCHED, NULL},
	{{"probe-cpu-work-interval", 0, "DURATION", "fixed-work CPU timing, or off (default 60s)",
	  true}, K_MS_OR_OFF, P(cpu_work_interval_ms), SCHED, NULL},
	{{"probe-memory-interval", 0, "DURATION", "memory bandwidth, or off (default 60s)", true},
	 K_MS_OR_OFF, P(memory_interval_ms), SCHED, NULL},
	{{"probe-disk-read-interval", 0, "DURATION", "direct disk read, or off (default 60s)", true},
	 K_MS_OR_OFF, P(disk_read_interval_ms), SCHED, NULL},
	{{"probe-network-interval", 0, "DURATION", "TCP throughput, or off (default 60s)", true},
	 K_MS_OR_OFF, P(network_interval_ms), SCHED, NULL},
	{{"probe-micro-interval", 0, "DURATION", "micro latencies, or off (default 60s)", true},
	 K_MS_OR_OFF, P(micro_interval_ms), SCHED, NULL},
	{{"probe-cpu-work-units", 0, "N", "work of one CPU timing, 1..20000000 (default: about "
	  "10 ms of work)", true},
	 K_COUNT, P(cpu_work_units), 1, MAX_CPU_WORK_UNITS, NULL},
	{{"probe-memory-buffer", 0, "SIZE", "memory bandwidth buffer, 8M..1G (default 32M)", true},
	 K_SIZE, P(memory_buffer_bytes), VMS_MIN_MEM_BYTES, VMS_MAX_MEM_BYTES,
	 "below 8 MiB one measures caches"},
	{{"probe-memory-max", 0, "DURATION", "time bound of one memory operation (default 30ms)",
	  true}, K_MS, P(memory_max_ms), BOUND, NULL},
	{{"probe-disk-read-bytes", 0, "SIZE", "bytes of one disk read, 4K..1G (default 8M)", true},
	 K_SIZE, P(disk_read_bytes), DISK_READ_ALIGN, VMS_MAX_DISK_READ_BYTES, NULL},
	{{"probe-disk-read-max", 0, "DURATION", "time bound of one disk read (default 1s)", true},
	 K_MS, P(disk_read_max_ms), BOUND, NULL},
	{{"probe-network-bytes", 0, "SIZE", "bytes per direction and block size (default 2M)",
	  true}, K_SIZE, P(network_bytes), VMS_MIN_NET_BLOCK, VMS_MAX_NET_BYTES, NULL},
	{{"probe-network-max", 0, "DURATION", "time bound per direction and block size "
	  "(default 1s)", true}, K_MS, P(network_max_ms), BOUND, NULL},
	{{"probe-network-block-sizes", 0, "SIZE,...", "TCP block sizes, 64..1M, up to 6 (default "
	  "1024,32768)", true}, K_SIZES, P(network_blocks), VMS_MIN_NET_BLOCK, NET_BLOCK_MAX, NULL},
	{{"probe-micro-max", 0, "DURATION", "time bound of one micro latency (default 20ms)", true},
	 K_MS, P(micro_max_ms), BOUND, NULL},
	{{"probe-active-concurrency", 0, "N", "guests running an active probe at once, 1..64 "
	  "(default 1)", true}, K_COUNT, P(active_concurrency), 1, MAX_CONCURRENCY, NULL},
	{{"probe-skew-tolerance", 0, "DURATION", "flag samples whose guest clock disagrees more "
	  "(default 50ms)", true}, K_MS, P(skew_tolerance_ms), BOUND, NULL},
	{{"slowdown-window", 0, "DURATION", "the current value of a probe is the median over "
	  "this window (default 300s)", true}, K_SECONDS, A(window_s), 10, 86400, NULL},
	{{"baseline-min-samples", 0, "N", "samples an N_up level needs to be a baseline, 1..1000 "
	  "(default 5)", true}, K_COUNT, A(min_samples), 1, 1000, NULL},
	{{"analysis-buckets", 0, "N", "N_up levels kept per domain and probe, 2..32 (default 8)",
	  true}, K_COUNT, A(buckets), 2, VMS_AN_MAX_BUCKETS, NULL},
	{{"slowdown-warning", 0, "RATIO[,PROBE=RATIO...]", "slowdown that raises a warning, for "
	  "every probe then per probe (default 1.5)", true}, K_THRESHOLDS, A(warning), 0, 0, NULL},
	{{"slowdown-critical", 0, "RATIO[,PROBE=RATIO...]", "slowdown that raises a critical "
	  "alert (default 2)", true}, K_THRESHOLDS, A(critical), 0, 0, NULL},
	{{"slowdown-clear", 0, "RATIO[,PROBE=RATIO...]", "a warning ends only below this "
	  "slowdown (default 1.2)", true}, K_THRESHOLDS, A(clear), 0, 0, NULL},
	{{"alert-for", 0, "DURATION", "how long a slowdown must last to fire an alert (default "
	  "60s)", true}, K_SECONDS, A(alert_for_s), 0, 86400, NULL},
	{{"capacity-min-levels", 0, "N", "N_up levels a capacity prediction needs, 2..32 (default "
	  "3)", true}, K_COUNT, A(capacity_min_levels), 2, VMS_AN_MAX_BUCKETS, NULL},
	{{"capacity-min-r-squared", 0, "RATIO", "R^2 a capacity fit needs, 0..1 (default 0.8)",
	  true}, K_RATIO, A(capacity_min_r2), 0, 0, NULL},
	{{"state-save-interval", 0, "DURATION", "how often the analysis state is written to "
	  "STATE-DIR/analysis.state (default 60s)", true}, K_SECONDS, A(save_interval_s), 1, 86400,
	 NULL},
	{{"analysis-retention", 0, "DURATION", "forget the baselines of a domain not running for "
	  "this long (default 720h, 30 days)", true}, K_SECONDS, A(retention_s), 60,
	 3650u * 86400, NULL},
	{{"control-socket", 0, "PATH", "unix socket of vmscalectl (default "
	  VMS_CONTROL_DEFAULT_PATH ")", false}, K_PATH, F(control_socket), 0, 0, NULL},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= VMS_CONFIG_MAX_KEYS, "raise VMS_CONFIG_MAX_KEYS");

void
vms_config_analysis(const struct vms_config *c, struct vms_analysis_config *out)
{
	vms_analysis_config_defaults(out);
	out->window_ns = (uint64_t)c->analysis.window_s * 1000000000u;
	out->min_samples = c->analysis.min_samples;
	out->max_buckets = c->analysis.buckets;
	out->alert_for_ns = (uint64_t)c->analysis.alert_for_s * 1000000000u;
	out->capacity_min_levels = c->analysis.capacity_min_levels;
	out->capacity_min_r2 = c->analysis.capacity_min_r2;
	out->retention_s = c->analysis.retention_s;
	memcpy(out->warning, c->analysis.warning, sizeof(out->warning));
	memcpy(out->critical, c->analysis.critical, sizeof(out->critical));
	memcpy(out->clear, c->analysis.clear, sizeof(out->clear));
}

size_t
vms_config_nkeys(void)
{
	return NKEYS;
}

const struct vms_config_key *
vms_config_key_at(size_t i)
{
	return i < NKEYS ? &keys[i].pub : NULL;
}

static int
key_index(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].pub.name, name) == 0)
			return (int)i;
	return -1;
}

static char *
dup_or_null(const char *s)
{
	return s ? vms_xstrdup(s) : NULL;
}

void
vms_config_defaults(struct vms_config *c)
{
	memset(c, 0, sizeof(*c));
	c->uris[0] = vms_xstrdup(DEFAULT_URI);
	c->nuris = 1;
	c->listen = vms_xstrdup(DEFAULT_LISTEN);
	c->interval_s = DEFAULT_INTERVAL_S;
	c->busy_threshold = VMS_BUSY_THRESHOLD_DEFAULT;
	c->http_max_connections = VMS_HTTP_MAX_CONNECTIONS_DEFAULT;
	c->http_timeout_s = VMS_HTTP_TIMEOUT_S_DEFAULT;
	c->state_dir = vms_xstrdup(DEFAULT_STATE_DIR);
	c->control_socket = vms_xstrdup(VMS_CONTROL_DEFAULT_PATH);
	struct vms_analysis_config ac;
	vms_analysis_config_defaults(&ac);
	c->analysis = (struct vms_analysis_keys){
		.window_s = (uint32_t)(ac.window_ns / 1000000000u),
		.min_samples = ac.min_samples,
		.buckets = ac.max_buckets,
		.alert_for_s = (uint32_t)(ac.alert_for_ns / 1000000000u),
		.save_interval_s = 60,
		.retention_s = (uint32_t)ac.retention_s,
		.capacity_min_levels = ac.capacity_min_levels,
		.capacity_min_r2 = ac.capacity_min_r2,
	};
	memcpy(c->analysis.warning, ac.warning, sizeof(ac.warning));
	memcpy(c->analysis.critical, ac.critical, sizeof(ac.critical));
	memcpy(c->analysis.clear, ac.clear, sizeof(ac.clear));
	c->probe = (struct vms_probe_config){
		/* 0: follow "interval", resolved by vms_config_validate. */
		.cpu_interval_ms = 0,
		.disk_interval_ms = 0,
		.cpu_work_interval_ms = DEFAULT_ACTIVE_MS,
		.memory_interval_ms = DEFAULT_ACTIVE_MS,
		.disk_read_interval_ms = DEFAULT_ACTIVE_MS,
		.network_interval_ms = DEFAULT_ACTIVE_MS,
		.micro_interval_ms = DEFAULT_ACTIVE_MS,
		.cpu_work_units = VMS_DEFAULT_CPU_WORK_UNITS,
		.memory_buffer_bytes = VMS_DEFAULT_MEM_BYTES,
		.memory_max_ms = VMS_DEFAULT_MEM_MS,
		.disk_read_bytes = VMS_DEFAULT_DISK_READ_BYTES,
		.disk_read_max_ms = VMS_DEFAULT_DISK_READ_MS,
		.network_bytes = VMS_DEFAULT_NET_BYTES,
		.network_max_ms = VMS_DEFAULT_NET_MS,
		.network_blocks = {1024, 32768},
		.network_nblocks = 2,
		.micro_max_ms = VMS_DEFAULT_MICRO_MS,
		.active_concurrency = 1,
		.skew_tolerance_ms = DEFAULT_SKEW_TOLERANCE_MS,
	};
}

static void
clear_uris(struct vms_config *c)
{
	for (unsigned i = 0; i < c->nuris; i++) {
		free(c->uris[i]);
		c->uris[i] = NULL;
	}
	c->nuris = 0;
}

void
vms_config_fini(struct vms_config *c)
{
	if (!c)
		return;
	clear_uris(c);
	free(c->listen);
	free(c->probe_domains);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->netio_listen);
	free(c->netio_guest_address);
	free(c->state_dir);
	free(c->tcp_listen);
	free(c->control_socket);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

void
vms_config_copy(struct vms_config *dst, const struct vms_config *src)
{
	*dst = *src;
	for (unsigned i = 0; i < src->nuris; i++)
		dst->uris[i] = vms_xstrdup(src->uris[i]);
	dst->listen = dup_or_null(src->listen);
	dst->probe_domains = dup_or_null(src->probe_domains);
	dst->tls_cert = dup_or_null(src->tls_cert);
	dst->tls_key = dup_or_null(src->tls_key);
	dst->netio_listen = dup_or_null(src->netio_listen);
	dst->netio_guest_address = dup_or_null(src->netio_guest_address);
	dst->state_dir = dup_or_null(src->state_dir);
	dst->tcp_listen = dup_or_null(src->tcp_listen);
	dst->control_socket = dup_or_null(src->control_socket);
	dst->path = dup_or_null(src->path);
}

/* ------------------------------------------------------------------ messages */

/* How a message names a key: as the flag when the command line set it, else quoted. */
static const char *
keyref(const struct vms_config *c, size_t k, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, c->origin[k] < 0 ? "--%s" : "'%s'", keys[k].pub.name);
	return buf;
}

/* The same, in the style of another key's origin: "--a needs --b", "'a' needs 'b'". */
static const char *
keyref_like(const struct vms_config *c, size_t k, size_t like, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, c->origin[like] < 0 ? "--%s" : "'%s'", keys[k].pub.name);
	return buf;
}

/* "FILE:LINE: " when the key came from the file, else "". */
static const char *
where(const struct vms_config *c, size_t k, char *buf, size_t bufsz)
{
	if (c->origin[k] > 0 && c->path)
		snprintf(buf, bufsz, "%s:%d: ", c->path, c->origin[k]);
	else
		buf[0] = '\0';
	return buf;
}

/* A value repeated in a message: at most MAX_QUOTED bytes, cut on a UTF-8 boundary. */
static const char *
quoted(const char *v, char *buf, size_t bufsz)
{
	size_t n = strlen(v);
	if (n <= MAX_QUOTED && n < bufsz) {
		memcpy(buf, v, n + 1);
		return buf;
	}
	n = MAX_QUOTED < bufsz - 4 ? MAX_QUOTED : bufsz - 4;
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, v, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

static const char *
fmt_size(uint64_t b, char *buf, size_t bufsz)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	unsigned u = 0;
	while (u < 3 && b >= 1024 && b % 1024 == 0) {
		b /= 1024;
		u++;
	}
	snprintf(buf, bufsz, "%llu %s", (unsigned long long)b, units[u]);
	return buf;
}

static const char *
fmt_ms(uint64_t ms, char *buf, size_t bufsz)
{
	if (ms % 1000 == 0)
		snprintf(buf, bufsz, "%llu s", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, bufsz, "%llu ms", (unsigned long long)ms);
	return buf;
}

/* ------------------------------------------------------------------ values */

/*
 * Where s stops being UTF-8 without control characters (C0 but tab, DEL, C1), or NULL if
 * it does not. Overlong forms, surrogates and code points above U+10FFFF are errors.
 */
static const char *
text_error(const unsigned char *s, size_t n, size_t *at)
{
	for (size_t i = 0; i < n;) {
		unsigned char b = s[i];
		*at = i;
		if (b == '\0')
			return "a NUL byte";
		if (b == '\r')
			return "a carriage return (DOS line ending?)";
		if ((b < 0x20 && b != '\t') || b == 0x7f)
			return "a control character";
		if (b < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned char lo = 0x80, hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf)
			len = 2;
		else if (b >= 0xe0 && b <= 0xef) {
			len = 3;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			len = 4;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else
			return "invalid UTF-8";
		if (i + len > n || s[i + 1] < lo || s[i + 1] > hi)
			return "invalid UTF-8";
		for (size_t j = 2; j < len; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return "invalid UTF-8";
		if (b == 0xc2 && s[i + 1] < 0xa0)
			return "a control character";
		i += len;
	}
	return NULL;
}

/* Decimal digits only (no sign, no blanks), into *out; *end is the first other character. */
static bool
parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return true;
}

/* "5" (seconds), "5s", "30ms", "1m", "2h", into milliseconds. */
static bool
parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	uint64_t v;
	const char *end;
	if (!parse_u64(s, &v, &end))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return false;
		*ms = v * units[i].ms;
		return true;
	}
	return false;
}

/* "1024", "512B", "4K", "4KiB", "8M", "32MiB", "1G", "1GiB": binary units only. */
static bool
parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {{"", 0},   {"B", 0},    {"K", 10},  {"KiB", 10},
		     {"M", 20}, {"MiB", 20}, {"G", 30},  {"GiB", 30}};
	uint64_t v;
	const char *end;
	if (!parse_u64(s, &v, &end))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return false;
		*bytes = v << units[i].shift;
		return true;
	}
	return false;
}

/* "0.2", "1", ".5": digits and at most one point; no exponent, sign, nan or inf. */
/* A plain decimal: digits with at most one point, at most 32 characters (no sign, exponent,
 * inf or nan: what strtod alone would let through). */
static bool
parse_decimal(const char *s, double *out)
{
	size_t digits = 0, points = 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.')
			points++;
		else
			return false;
	}
	if (digits == 0 || points > 1 || strlen(s) > 32)
		return false;
	*out = strtod(s, NULL);
	return true;
}

static bool
parse_ratio(const char *s, double *out)
{
	return parse_decimal(s, out) && *out >= 0.0 && *out <= 1.0;
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
valid_uri(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_URI)
		return false;
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

static bool
valid_host(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_GUEST_ADDRESS)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == ':'))
			return false;
	return true;
}

static void
put_uint(struct vms_config *c, const struct key *k, uint64_t v)
{
	char *field = (char *)c + k->off;
	if (k->size == sizeof(uint64_t)) {
		memcpy(field, &v, sizeof(v));
	} else {
		uint32_t v32 = (uint32_t)v;
		memcpy(field, &v32, sizeof(v32));
	}
}

static void
put_string(struct vms_config *c, const struct key *k, const char *v)
{
	char **field = (char **)(void *)((char *)c + k->off);
	free(*field);
	*field = vms_xstrdup(v);
}

/* The common "must be MIN..MAX UNIT" complaint. */
static int
bounds_error(const struct vms_config *c, size_t ki, const char *value, char *err, size_t errsz)
{
	const struct key *k = &keys[ki];
	char name[64], v[MAX_QUOTED + 4], lo[32], hi[32], range[96];
	switch (k->kind) {
	case K_SECONDS:
		snprintf(range, sizeof(range), "%llu..%llu seconds", (unsigned long long)k->min,
			 (unsigned long long)k->max);
		break;
	case K_MS:
	case K_MS_OR_OFF:
		if (k->min % 1000 == 0 && k->max % 1000 == 0)
			snprintf(range, sizeof(range), "%llu..%llu seconds%s",
				 (unsigned long long)k->min / 1000, (unsigned long long)k->max / 1000,
				 k->kind == K_MS_OR_OFF ? " or off" : "");
		else
			snprintf(range, sizeof(range), "%llu..%llu ms", (unsigned long long)k->min,
				 (unsigned long long)k->max);
		break;
	case K_SIZE:
	case K_SIZES:
		snprintf(range, sizeof(range), "%s..%s%s", fmt_size(k->min, lo, sizeof(lo)),
			 fmt_size(k->max, hi, sizeof(hi)),
			 k->kind == K_SIZES ? " each, at most 6, separated by ','" : "");
		break;
	default:
		snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)k->min,
			 (unsigned long long)k->max);
	}
	snprintf(err, errsz, "%s must be %s%s%s%s, got '%s'", keyref(c, ki, name, sizeof(name)),
		 range, k->why ? " (" : "", k->why ? k->why : "", k->why ? ")" : "",
		 quoted(value, v, sizeof(v)));
	return -1;
}

/*
 * The next item of a ','-separated list, blanks around it dropped, into item. Advances *p to
 * the next item, or to NULL after the last. False for an empty or overlong item.
 */
static bool
list_next(const char **p, char *item, size_t itemsz)
{
	const char *s = *p, *comma = strchr(s, ',');
	size_t len = comma ? (size_t)(comma - s) : strlen(s);
	*p = comma ? comma + 1 : NULL;
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= itemsz)
		return false;
	memcpy(item, s, len);
	item[len] = '\0';
	return true;
}

static int
set_sizes(struct vms_config *c, size_t ki, const char *value, char *err, size_t errsz)
{
	const struct key *k = &keys[ki];
	uint32_t blocks[VMS_CONFIG_MAX_NET_BLOCKS];
	unsigned n = 0;
	char item[32], name[64], v[MAX_QUOTED + 4];
	for (const char *p = value; p;) {
		uint64_t b;
		if (n == VMS_CONFIG_MAX_NET_BLOCKS || !list_next(&p, item, sizeof(item)))
			return bounds_error(c, ki, value, err, errsz);
		if (!parse_size(item, &b) || b < k->min || b > k->max)
			return bounds_error(c, ki, value, err, errsz);
		for (unsigned i = 0; i < n; i++) {
			if (blocks[i] == b) {
				snprintf(err, errsz, "%s names %s twice, got '%s'",
					 keyref(c, ki, name, sizeof(name)), item,
					 quoted(value, v, sizeof(v)));
				return -1;
			}
		}
		blocks[n++] = (uint32_t)b;
	}
	memcpy(c->probe.network_blocks, blocks, sizeof(blocks[0]) * n);
	for (unsigned i = n; i < VMS_CONFIG_MAX_NET_BLOCKS; i++)
		c->probe.network_blocks[i] = 0;
	c->probe.network_nblocks = n;
	return 0;
}

/* A slowdown ratio: a plain decimal above 1 and at most 1000. */
static bool
parse_slowdown(const char *s, double *out)
{
	return parse_decimal(s, out) && *out > 1.0 && *out <= 1000.0;
}

/* "1.5" or "1.5,cpu_work=1.3,fork_exit=3": every probe, then the named ones. */
static int
set_thresholds(struct vms_config *c, size_t ki, const char *value, char *err, size_t errsz)
{
	const struct key *k = &keys[ki];
	double t[VMS_AN_PROBE_COUNT];
	char item[64], name[64], v[MAX_QUOTED + 4];
	memcpy(t, (char *)c + k->off, sizeof(t));
	for (const char *p = value; p;) {
		if (!list_next(&p, item, sizeof(item)))
			goto bad;
		char *eq = strchr(item, '=');
		double r;
		if (!eq) {
			if (!parse_slowdown(item, &r))
				goto bad;
			for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
				t[i] = r;
		} else {
			*eq = '\0';
			int probe = vms_an_probe_from_name(item);
			if (probe < 0) {
				char names[256] = "";
				for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
					snprintf(names + strlen(names), sizeof(names) - strlen(names),
						 "%s%s", i ? ", " : "", vms_an_probe_name(i));
				snprintf(err, errsz, "%s: unknown probe '%s' (%s)",
					 keyref(c, ki, name, sizeof(name)), quoted(item, v, sizeof(v)), names);
				return -1;
			}
			if (!parse_slowdown(eq + 1, &r))
				goto bad;
			t[probe] = r;
		}
	}
	memcpy((char *)c + k->off, t, sizeof(t));
	return 0;
bad:
	snprintf(err, errsz, "%s must be a slowdown ratio above 1 (at most 1000), then optional "
		 "PROBE=RATIO items, separated by ','; got '%s'", keyref(c, ki, name, sizeof(name)),
		 quoted(value, v, sizeof(v)));
	return -1;
}

/*
 * Applies one value. origin: the file's line, or -1 for the command line (it says how
 * messages name the key). fresh: the first occurrence from this source, which replaces a
 * repeatable key's list instead of appending to it.
 */
static int
set_key(struct vms_config *c, size_t ki, const char *value, int origin, bool fresh, char *err,
	size_t errsz)
{
	const struct key *k = &keys[ki];
	char name[64], v[MAX_QUOTED + 4];
	int saved_origin = c->origin[ki];
	c->origin[ki] = origin; /* for keyref() in messages */
	size_t at;
	const char *bad = text_error((const unsigned char *)value, strlen(value), &at);
	if (bad) {
		snprintf(err, errsz, "%s: the value contains %s", keyref(c, ki, name, sizeof(name)),
			 bad);
		goto fail;
	}
	if (!*value) {
		snprintf(err, errsz, "%s needs a value", keyref(c, ki, name, sizeof(name)));
		goto fail;
	}
	size_t vlen = strlen(value);
	if (origin > 0 && vlen >= 2 && (value[0] == '"' || value[0] == '\'') &&
	    value[vlen - 1] == value[0]) {
		/* A quoted regex would silently match nothing: say so instead. */
		snprintf(err, errsz, "%s: values are written without quotes, got %s",
			 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
		goto fail;
	}

	switch (k->kind) {
	case K_URIS:
		if (!valid_uri(value)) {
			snprintf(err, errsz, "%s must be a libvirt URI (printable ASCII without "
				 "spaces, at most %d bytes), got '%s'", keyref(c, ki, name, sizeof(name)),
				 MAX_URI, quoted(value, v, sizeof(v)));
			goto fail;
		}
		if (fresh)
			clear_uris(c);
		for (unsigned i = 0; i < c->nuris; i++) {
			if (strcmp(c->uris[i], value) == 0) {
				snprintf(err, errsz, "%s: '%s' is given twice (one connection per URI)",
					 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
				goto fail;
			}
		}
		if (c->nuris == VMS_CONFIG_MAX_URIS) {
			snprintf(err, errsz, "%s: at most %d URIs", keyref(c, ki, name, sizeof(name)),
				 VMS_CONFIG_MAX_URIS);
			goto fail;
		}
		c->uris[c->nuris++] = vms_xstrdup(value);
		break;
	case K_LISTEN: {
		struct sockaddr_storage ss;
		size_t sslen;
		char why[200];
		if (vms_sockaddr_parse(value, &ss, &sslen, why, sizeof(why)) < 0) {
			snprintf(err, errsz, "%s: %s", keyref(c, ki, name, sizeof(name)), why);
			goto fail;
		}
		put_string(c, k, value);
		break;
	}
	case K_SECONDS:
	case K_MS:
	case K_MS_OR_OFF: {
		uint64_t ms;
		if (k->kind == K_MS_OR_OFF && strcmp(value, "off") == 0) {
			put_uint(c, k, 0);
			break;
		}
		if (!parse_duration_ms(value, &ms))
			goto bounds;
		if (k->kind == K_SECONDS) {
			if (ms % 1000 != 0 || ms / 1000 < k->min || ms / 1000 > k->max)
				goto bounds;
			put_uint(c, k, ms / 1000);
		} else {
			if (ms < k->min || ms > k->max)
				goto bounds;
			put_uint(c, k, ms);
		}
		break;
	}
	case K_COUNT: {
		uint64_t n;
		const char *end;
		if (!parse_u64(value, &n, &end) || *end || n < k->min || n > k->max)
			goto bounds;
		put_uint(c, k, n);
		break;
	}
	case K_SIZE: {
		uint64_t b;
		if (!parse_size(value, &b) || b < k->min || b > k->max)
			goto bounds;
		if (k->off == offsetof(struct vms_config, probe.disk_read_bytes) &&
		    b % DISK_READ_ALIGN != 0) {
			snprintf(err, errsz, "%s must be a multiple of 4 KiB (direct I/O), got '%s'",
				 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
			goto fail;
		}
		put_uint(c, k, b);
		break;
	}
	case K_SIZES:
		if (set_sizes(c, ki, value, err, errsz) < 0)
			goto fail;
		break;
	case K_RATIO: {
		double f;
		if (!parse_ratio(value, &f)) {
			snprintf(err, errsz, "%s must be a ratio 0..1, got '%s'",
				 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
			goto fail;
		}
		memcpy((char *)c + k->off, &f, sizeof(f));
		break;
	}
	case K_THRESHOLDS:
		if (set_thresholds(c, ki, value, err, errsz) < 0)
			goto fail;
		break;
	case K_REGEX: {
		regex_t re;
		int rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			snprintf(err, errsz, "%s: '%s' is not an extended regular expression: %s",
				 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)), why);
			goto fail;
		}
		regfree(&re);
		put_string(c, k, value);
		break;
	}
	case K_BOOL: {
		bool b;
		if (!parse_bool(value, &b)) {
			snprintf(err, errsz, "%s must be yes or no, got '%s'",
				 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
			goto fail;
		}
		memcpy((char *)c + k->off, &b, sizeof(b));
		break;
	}
	case K_PATH:
		if (value[0] != '/' || vlen > MAX_PATH) {
			snprintf(err, errsz, "%s must be an absolute path, got '%s'",
				 keyref(c, ki, name, sizeof(name)), quoted(value, v, sizeof(v)));
			goto fail;
		}
		put_string(c, k, value);
		break;
	case K_HOST:
		if (!valid_host(value)) {
			snprintf(err, errsz, "%s must be a host name or an IP address (letters, digits, "
				 "'.', '-', ':'; at most %d), got '%s'", keyref(c, ki, name, sizeof(name)),
				 MAX_GUEST_ADDRESS, quoted(value, v, sizeof(v)));
			goto fail;
		}
		put_string(c, k, value);
		break;
	}
	return 0;
bounds:
	bounds_error(c, ki, value, err, errsz);
fail:
	c->origin[ki] = saved_origin;
	return -1;
}

int
vms_config_set(struct vms_config *c, const char *key, const char *value, char *err, size_t errsz)
{
	int k = key_index(key);
	if (k < 0) {
		char q[MAX_QUOTED + 4];
		snprintf(err, errsz, "unknown key '%s'", quoted(key, q, sizeof(q)));
		return -1;
	}
	return set_key(c, (size_t)k, value, 0, false, err, errsz);
}

int
vms_config_apply_args(struct vms_config *c, const struct vms_config_arg *args, size_t n,
		      char *err, size_t errsz)
{
	bool seen[NKEYS] = {false};
	for (size_t i = 0; i < n; i++) {
		int k = key_index(args[i].key);
		if (k < 0) {
			char q[MAX_QUOTED + 4];
			snprintf(err, errsz, "unknown flag --%s", quoted(args[i].key, q, sizeof(q)));
			return -1;
		}
		if (set_key(c, (size_t)k, args[i].value, -1, !seen[k], err, errsz) < 0)
			return -1;
		seen[k] = true;
	}
	return 0;
}

/* ------------------------------------------------------------------ the file */

/* One line (NUL-terminated, checked for encoding). first_line: per key, where the file set it. */
static int
parse_line(struct vms_config *c, const char *path, int lineno, char *line, int *first_line,
	   char *err, size_t errsz)
{
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#')
		return 0;
	char *key = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	size_t keylen = (size_t)(s - key);
	if (*s)
		*s++ = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	char *value = s;
	size_t vlen = strlen(value);
	while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		value[--vlen] = '\0';

	bool well_formed = keylen <= MAX_KEY;
	for (const char *p = key; *p && well_formed; p++)
		well_formed = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
	if (!well_formed) {
		snprintf(err, errsz, "%s:%d: malformed key: lines are 'key value', keys are lower-case "
			 "letters, digits and '-'%s", path, lineno,
			 strchr(key, '=') || strchr(key, ':') ? " (no '=' or ':' after the key)" : "");
		return -1;
	}
	int k = key_index(key);
	if (k < 0) {
		snprintf(err, errsz, "%s:%d: unknown key '%s'", path, lineno, key);
		return -1;
	}
	if (first_line[k] && keys[k].kind != K_URIS) {
		snprintf(err, errsz, "%s:%d: duplicate key '%s' (first set on line %d)", path, lineno,
			 key, first_line[k]);
		return -1;
	}
	char why[512];
	if (set_key(c, (size_t)k, value, lineno, first_line[k] == 0, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s:%d: %s", path, lineno, why);
		return -1;
	}
	if (!first_line[k])
		first_line[k] = lineno;
	return 0;
}

static int
parse_buffer(struct vms_config *c, const char *path, const char *buf, size_t len, char *err,
	     size_t errsz)
{
	int first_line[NKEYS] = {0};
	char line[VMS_CONFIG_MAX_LINE + 1];
	int lineno = 0;
	for (const char *p = buf, *end = buf + len; p < end;) {
		lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t at;
		const char *bad = text_error((const unsigned char *)p, l, &at);
		if (bad) {
			snprintf(err, errsz, "%s:%d: %s at byte %zu", path, lineno, bad, at + 1);
			return -1;
		}
		if (l > VMS_CONFIG_MAX_LINE) {
			snprintf(err, errsz, "%s:%d: line longer than %d bytes", path, lineno,
				 VMS_CONFIG_MAX_LINE);
			return -1;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		if (parse_line(c, path, lineno, line, first_line, err, errsz) < 0)
			return -1;
		p += l + (nl ? 1 : 0);
	}
	return 0;
}

int
vms_config_load(struct vms_config *c, const char *path, bool must_exist, char *err, size_t errsz)
{
	/* O_NONBLOCK: opening a FIFO someone put there must not hang the daemon. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 1;
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	char *buf = NULL;
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto cleanup;
	}
	/* Read one byte more than allowed: the size may have changed since fstat. */
	buf = vms_xcalloc(VMS_CONFIG_MAX_FILE + 1, 1);
	size_t len = 0;
	while (len <= VMS_CONFIG_MAX_FILE) {
		ssize_t r = read(fd, buf + len, VMS_CONFIG_MAX_FILE + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > VMS_CONFIG_MAX_FILE) {
		snprintf(err, errsz, "%s: larger than %d bytes", path, VMS_CONFIG_MAX_FILE);
		goto cleanup;
	}
	free(c->path);
	c->path = vms_xstrdup(path);
	rc = parse_buffer(c, path, buf, len, err, errsz);
cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ across keys */

/* The prefix of a message about keys a and b: the file line of whichever came from the file. */
static const char *
where2(const struct vms_config *c, size_t a, size_t b, char *buf, size_t bufsz)
{
	return where(c, c->origin[a] > 0 || c->origin[b] <= 0 ? a : b, buf, bufsz);
}

/* A run of `ops` measurements bounded by max_ms each must fit in its family's interval. */
static int
check_run(const struct vms_config *c, const char *max_key, uint32_t max_ms, unsigned ops,
	  const char *interval_key, uint32_t interval_ms, char *err, size_t errsz)
{
	if (interval_ms == 0 || (uint64_t)max_ms * ops < interval_ms)
		return 0;
	size_t a = (size_t)key_index(max_key), b = (size_t)key_index(interval_key);
	char w[600], na[64], nb[64], iv[32];
	snprintf(err, errsz, "%s%s (%u ms) times %u per run must be shorter than %s (%s)",
		 where2(c, a, b, w, sizeof(w)), keyref(c, a, na, sizeof(na)), max_ms, ops,
		 keyref(c, b, nb, sizeof(nb)), fmt_ms(interval_ms, iv, sizeof(iv)));
	return -1;
}

/* The address of an ADDR:PORT a guest could use, or -1 (wildcard or loopback) / -2 (bad). */
static int
listen_address(const char *spec, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	size_t sslen;
	char why[200];
	if (vms_sockaddr_parse(spec, &ss, &sslen, why, sizeof(why)) < 0)
		return -2;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a))
			return -1;
		return inet_ntop(AF_INET6, a, out, (socklen_t)outsz) ? 0 : -2;
	}
	const struct in_addr *a = &((const struct sockaddr_in *)(const void *)&ss)->sin_addr;
	uint32_t h = ntohl(a->s_addr);
	if (h == INADDR_ANY || (h >> 24) == 127)
		return -1;
	return inet_ntop(AF_INET, a, out, (socklen_t)outsz) ? 0 : -2;
}

int
vms_config_validate(struct vms_config *c, char *err, size_t errsz)
{
	struct vms_probe_config *p = &c->probe;
	char w[600], na[64], nb[64];
	if (!p->cpu_interval_ms)
		p->cpu_interval_ms = c->interval_s * 1000;
	if (!p->disk_interval_ms)
		p->disk_interval_ms = c->interval_s * 1000;

	/* A prediction needs more levels than the buckets keep: it would never come. */
	if (c->analysis.capacity_min_levels > c->analysis.buckets) {
		size_t kl = (size_t)key_index("capacity-min-levels");
		snprintf(err, errsz, "%s%s (%u) must not exceed analysis-buckets (%u): the capacity "
			 "would never be predicted", where(c, kl, w, sizeof(w)),
			 keyref(c, kl, na, sizeof(na)), c->analysis.capacity_min_levels,
			 c->analysis.buckets);
		return -1;
	}
	/* Hysteresis needs clear < warning < critical, probe by probe. */
	size_t kw = (size_t)key_index("slowdown-warning"), kc = (size_t)key_index("slowdown-critical"),
	       kl = (size_t)key_index("slowdown-clear");
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++) {
		const struct vms_analysis_keys *an = &c->analysis;
		if (an->clear[i] < an->warning[i] && an->warning[i] < an->critical[i])
			continue;
		/* Name the key of the broken pair set last: a flag, else the later file line. */
		size_t a = an->clear[i] >= an->warning[i] ? kl : kw, b = a == kl ? kw : kc;
		int oa = c->origin[a], ob = c->origin[b];
		size_t at = oa < 0 ? a : ob < 0 ? b : ob > oa ? b : a;
		snprintf(err, errsz, "%s%s: probe %s needs slowdown-clear < slowdown-warning < "
			 "slowdown-critical, got %g, %g and %g", where(c, at, w, sizeof(w)),
			 keyref(c, at, na, sizeof(na)), vms_an_probe_name(i), an->clear[i],
			 an->warning[i], an->critical[i]);
		return -1;
	}

	size_t cert = (size_t)key_index("tls-cert"), key = (size_t)key_index("tls-key");
	if (!c->tls_cert != !c->tls_key) {
		size_t have = c->tls_cert ? cert : key, missing = c->tls_cert ? key : cert;
		snprintf(err, errsz, "%s%s needs %s", where(c, have, w, sizeof(w)),
			 keyref(c, have, na, sizeof(na)), keyref_like(c, missing, have, nb, sizeof(nb)));
		return -1;
	}

	size_t nl = (size_t)key_index("netio-listen"), ng = (size_t)key_index("netio-guest-address");
	if (c->netio_guest_address && !c->netio_listen) {
		snprintf(err, errsz, "%s%s needs %s", where(c, ng, w, sizeof(w)),
			 keyref(c, ng, na, sizeof(na)), keyref_like(c, nl, ng, nb, sizeof(nb)));
		return -1;
	}
	if (c->netio_listen && !c->netio_guest_address) {
		char addr[64];
		if (listen_address(c->netio_listen, addr, sizeof(addr)) < 0) {
			snprintf(err, errsz, "%s%s %s is a wildcard or loopback address that guests "
				 "cannot reach by that name: set %s (10.0.2.2 for user-mode networking)",
				 where(c, nl, w, sizeof(w)), keyref(c, nl, na, sizeof(na)),
				 c->netio_listen, keyref_like(c, ng, nl, nb, sizeof(nb)));
			return -1;
		}
		c->netio_guest_address = vms_xstrdup(addr);
	}

	if (check_run(c, "probe-memory-max", p->memory_max_ms, MEM_OPS, "probe-memory-interval",
		      p->memory_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-disk-read-max", p->disk_read_max_ms, 1, "probe-disk-read-interval",
		      p->disk_read_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-network-max", p->network_max_ms,
		      NET_DIRECTIONS * p->network_nblocks, "probe-network-interval",
		      p->network_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-micro-max", p->micro_max_ms, MICRO_OPS, "probe-micro-interval",
		      p->micro_interval_ms, err, errsz) < 0)
		return -1;

	uint32_t largest = 0;
	for (unsigned i = 0; i < p->network_nblocks; i++)
		if (p->network_blocks[i] > largest)
			largest = p->network_blocks[i];
	if (p->network_bytes < largest) {
		size_t a = (size_t)key_index("probe-network-bytes"),
		       b = (size_t)key_index("probe-network-block-sizes");
		char s1[32], s2[32];
		snprintf(err, errsz, "%s%s (%s) must be at least the largest of %s (%s)",
			 where2(c, a, b, w, sizeof(w)), keyref(c, a, na, sizeof(na)),
			 fmt_size(p->network_bytes, s1, sizeof(s1)), keyref(c, b, nb, sizeof(nb)),
			 fmt_size(largest, s2, sizeof(s2)));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ reload */

static bool
same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same URIs, in any order: each opens its own connection. */
static bool
same_uris(const struct vms_config *a, const struct vms_config *b)
{
	if (a->nuris != b->nuris)
		return false;
	for (unsigned i = 0; i < a->nuris; i++) {
		bool found = false;
		for (unsigned j = 0; j < b->nuris && !found; j++)
			found = strcmp(a->uris[i], b->uris[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Whether key k has the same value in a and b. */
static bool
same_value(const struct key *k, const struct vms_config *a, const struct vms_config *b)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
	switch (k->kind) {
	case K_URIS:
		return same_uris(a, b);
	case K_LISTEN:
	case K_REGEX:
	case K_PATH:
	case K_HOST: {
		const char *sa, *sb;
		memcpy(&sa, fa, sizeof(sa));
		memcpy(&sb, fb, sizeof(sb));
		return same_string(sa, sb);
	}
	default:
		/* Numbers, flags and arrays of them; a list of sizes is zero past its count. */
		return memcmp(fa, fb, k->size) == 0;
	}
}

/* The `live` column of the key table is the only list of the keys that need a restart. */
const char *
vms_config_restart_needed(const struct vms_config *old, const struct vms_config *new_)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].pub.live && !same_value(&keys[i], old, new_))
			return keys[i].pub.name;
	return NULL;
}

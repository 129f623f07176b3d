/*
 * Setting one key: the checks every value passes, then one setter per kind, chosen by the
 * key's row. Each setter writes at its row's offset (and a list's count at count_off), so a
 * new key of an existing kind needs only its row.
 */
#include "daemon/config/config_internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/analysis/analysis.h"
#include "daemon/util/alloc.h"
#include "daemon/util/regex_bound.h"
#include "daemon/util/sockaddr.h"

/* One value being applied to one key. */
struct setting {
	struct vms_config *c;
	size_t ki;
	const struct cfg_key *k;
	const char *value;
	bool fresh; /* the first occurrence from its source: a list starts over */
	char *err;
	size_t errsz;
};

static void *
field_of(const struct setting *s)
{
	return (char *)s->c + s->k->off;
}

static unsigned *
count_of(const struct setting *s)
{
	return (unsigned *)(void *)((char *)s->c + s->k->count_off);
}

static void
put_uint(const struct setting *s, uint64_t v)
{
	if (s->k->size == sizeof(uint64_t)) {
		memcpy(field_of(s), &v, sizeof(v));
	} else {
		uint32_t v32 = (uint32_t)v;
		memcpy(field_of(s), &v32, sizeof(v32));
	}
}

static void
put_string(const struct setting *s)
{
	char **field = field_of(s);
	free(*field);
	*field = vms_xstrdup(s->value);
}

/* "KEY must be WHAT, got 'VALUE'": returns -1. */
static int
bad_value(const struct setting *s, const char *what)
{
	char name[64], v[CFG_MAX_QUOTED + 4];
	snprintf(s->err, s->errsz, "%s must be %s, got '%s'",
	         cfg_keyref(s->c, s->ki, name, sizeof(name)), what,
	         cfg_quoted(s->value, v, sizeof(v)));
	return -1;
}

/* The bounds of a key in words: "1..3600 seconds", "8 MiB..1 GiB". */
static void
range_text(const struct cfg_key *k, char *range, size_t rangesz)
{
	char lo[32], hi[32];
	switch (k->kind) {
	case K_SECONDS:
		snprintf(range, rangesz, "%llu..%llu seconds", (unsigned long long)k->min,
		         (unsigned long long)k->max);
		break;
	case K_MS:
	case K_MS_OR_OFF:
		if (k->min % 1000 == 0 && k->max % 1000 == 0)
			snprintf(range, rangesz, "%llu..%llu seconds%s",
			         (unsigned long long)k->min / 1000,
			         (unsigned long long)k->max / 1000,
			         k->kind == K_MS_OR_OFF ? " or off" : "");
		else
			snprintf(range, rangesz, "%llu..%llu ms", (unsigned long long)k->min,
			         (unsigned long long)k->max);
		break;
	case K_SIZE:
	case K_SIZES:
		snprintf(range, rangesz, "%s..%s%s", cfg_fmt_size(k->min, lo, sizeof(lo)),
		         cfg_fmt_size(k->max, hi, sizeof(hi)),
		         k->kind == K_SIZES ? " each, at most 6, separated by ','" : "");
		break;
	default:
		snprintf(range, rangesz, "%llu..%llu", (unsigned long long)k->min,
		         (unsigned long long)k->max);
	}
}

/* The common "must be MIN..MAX UNIT" complaint: returns -1. */
static int
bounds_error(const struct setting *s)
{
	const struct cfg_key *k = s->k;
	char range[96], what[200];
	range_text(k, range, sizeof(range));
	snprintf(what, sizeof(what), "%s%s%s%s", range, k->why ? " (" : "", k->why ? k->why : "",
	         k->why ? ")" : "");
	return bad_value(s, what);
}

/* ------------------------------------------------------------------ one setter per kind */

static int
set_uris(const struct setting *s)
{
	char name[64], v[CFG_MAX_QUOTED + 4], what[96];
	char **list = field_of(s);
	unsigned *n = count_of(s), max = (unsigned)(s->k->size / sizeof(list[0]));
	if (!cfg_valid_uri(s->value)) {
		snprintf(what, sizeof(what),
		         "a libvirt URI (printable ASCII without spaces, at most %d bytes)",
		         CFG_MAX_URI);
		return bad_value(s, what);
	}
	if (s->fresh) {
		for (unsigned i = 0; i < *n; i++) {
			free(list[i]);
			list[i] = NULL;
		}
		*n = 0;
	}
	for (unsigned i = 0; i < *n; i++) {
		if (strcmp(list[i], s->value) == 0) {
			snprintf(s->err, s->errsz,
			         "%s: '%s' is given twice (one connection per URI)",
			         cfg_keyref(s->c, s->ki, name, sizeof(name)),
			         cfg_quoted(s->value, v, sizeof(v)));
			return -1;
		}
	}
	if (*n == max) {
		snprintf(s->err, s->errsz, "%s: at most %u URIs",
		         cfg_keyref(s->c, s->ki, name, sizeof(name)), max);
		return -1;
	}
	list[(*n)++] = vms_xstrdup(s->value);
	return 0;
}

static int
set_uri(const struct setting *s)
{
	char what[96];
	if (!cfg_valid_uri(s->value)) {
		snprintf(what, sizeof(what),
		         "a libvirt URI (printable ASCII without spaces, at most %d bytes)",
		         CFG_MAX_URI);
		return bad_value(s, what);
	}
	put_string(s);
	return 0;
}

static int
set_listen(const struct setting *s)
{
	struct sockaddr_storage ss;
	size_t sslen;
	char why[200], name[64];
	if (vms_sockaddr_parse(s->value, &ss, &sslen, why, sizeof(why)) < 0) {
		snprintf(s->err, s->errsz, "%s: %s", cfg_keyref(s->c, s->ki, name, sizeof(name)),
		         why);
		return -1;
	}
	put_string(s);
	return 0;
}

/* K_SECONDS, K_MS and K_MS_OR_OFF. */
static int
set_duration(const struct setting *s)
{
	const struct cfg_key *k = s->k;
	uint64_t ms;
	if (k->kind == K_MS_OR_OFF && strcmp(s->value, "off") == 0) {
		put_uint(s, 0);
		return 0;
	}
	if (!cfg_parse_duration_ms(s->value, &ms))
		return bounds_error(s);
	if (k->kind == K_SECONDS) {
		if (ms % 1000 != 0 || ms / 1000 < k->min || ms / 1000 > k->max)
			return bounds_error(s);
		put_uint(s, ms / 1000);
	} else {
		if (ms < k->min || ms > k->max)
			return bounds_error(s);
		put_uint(s, ms);
	}
	return 0;
}

/* K_COUNT, a plain integer, and K_SIZE, bytes with an optional unit. */
static int
set_number(const struct setting *s)
{
	const struct cfg_key *k = s->k;
	uint64_t v;
	const char *end = "";
	bool parsed = k->kind == K_SIZE ? cfg_parse_size(s->value, &v)
	                                : cfg_parse_u64(s->value, &v, &end) && !*end;
	if (!parsed || v < k->min || v > k->max)
		return bounds_error(s);
	if (k->off == offsetof(struct vms_config, probe.disk_read_bytes) &&
	    v % CFG_DISK_READ_ALIGN != 0)
		return bad_value(s, "a multiple of 4 KiB (direct I/O)");
	put_uint(s, v);
	return 0;
}

/* "1024,32768": distinct sizes into the uint32_t array at off, their number at count_off. */
static int
set_sizes(const struct setting *s)
{
	const struct cfg_key *k = s->k;
	uint32_t blocks[VMS_CONFIG_MAX_NET_BLOCKS] = {0};
	unsigned n = 0, max = (unsigned)(k->size / sizeof(blocks[0]));
	char item[32], name[64], v[CFG_MAX_QUOTED + 4];
	if (max > VMS_CONFIG_MAX_NET_BLOCKS)
		max = VMS_CONFIG_MAX_NET_BLOCKS;
	for (const char *p = s->value; p;) {
		uint64_t b;
		if (n == max || !cfg_list_next(&p, item, sizeof(item)))
			return bounds_error(s);
		if (!cfg_parse_size(item, &b) || b < k->min || b > k->max)
			return bounds_error(s);
		for (unsigned i = 0; i < n; i++) {
			if (blocks[i] == b) {
				snprintf(s->err, s->errsz, "%s names %s twice, got '%s'",
				         cfg_keyref(s->c, s->ki, name, sizeof(name)), item,
				         cfg_quoted(s->value, v, sizeof(v)));
				return -1;
			}
		}
		blocks[n++] = (uint32_t)b;
	}
	memset(field_of(s), 0, k->size);
	memcpy(field_of(s), blocks, sizeof(blocks[0]) * n);
	*count_of(s) = n;
	return 0;
}

/* K_RATIO and K_BOOL: parsed, then written at the row's offset like every other kind. */
static int
set_ratio_or_bool(const struct setting *s)
{
	if (s->k->kind == K_BOOL) {
		bool b;
		if (!cfg_parse_bool(s->value, &b))
			return bad_value(s, "yes or no");
		memcpy(field_of(s), &b, sizeof(b));
	} else {
		double r;
		if (!cfg_parse_ratio(s->value, &r))
			return bad_value(s, "a ratio 0..1");
		memcpy(field_of(s), &r, sizeof(r));
	}
	return 0;
}

static int
unknown_probe(const struct setting *s, const char *probe)
{
	char names[256] = "", name[64], v[CFG_MAX_QUOTED + 4];
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
		         i ? ", " : "", vms_an_probe_name(i));
	snprintf(s->err, s->errsz, "%s: unknown probe '%s' (%s)",
	         cfg_keyref(s->c, s->ki, name, sizeof(name)), cfg_quoted(probe, v, sizeof(v)),
	         names);
	return -1;
}

static int
bad_thresholds(const struct setting *s)
{
	char name[64], v[CFG_MAX_QUOTED + 4];
	snprintf(s->err, s->errsz,
	         "%s must be a slowdown ratio above 1 (at most 1000), then optional "
	         "PROBE=RATIO items, separated by ','; got '%s'",
	         cfg_keyref(s->c, s->ki, name, sizeof(name)), cfg_quoted(s->value, v, sizeof(v)));
	return -1;
}

/* "1.5" or "1.5,cpu_work=1.3,fork_exit=3": every probe, then the named ones. */
static int
set_thresholds(const struct setting *s)
{
	double t[VMS_AN_PROBE_COUNT];
	char item[64];
	memcpy(t, field_of(s), sizeof(t));
	for (const char *p = s->value; p;) {
		if (!cfg_list_next(&p, item, sizeof(item)))
			return bad_thresholds(s);
		char *eq = strchr(item, '=');
		double r;
		if (!eq) {
			if (!cfg_parse_slowdown(item, &r))
				return bad_thresholds(s);
			for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++)
				t[i] = r;
			continue;
		}
		*eq = '\0';
		int probe = vms_an_probe_from_name(item);
		if (probe < 0)
			return unknown_probe(s, item);
		if (!cfg_parse_slowdown(eq + 1, &r))
			return bad_thresholds(s);
		t[probe] = r;
	}
	memcpy(field_of(s), t, sizeof(t));
	return 0;
}

static int
set_regex(const struct setting *s)
{
	regex_t re;
	char why[384];
	if (vms_regex_compile(&re, s->value, why, sizeof(why)) < 0) {
		char name[64], v[CFG_MAX_QUOTED + 4];
		snprintf(s->err, s->errsz, "%s: '%s' %s",
		         cfg_keyref(s->c, s->ki, name, sizeof(name)),
		         cfg_quoted(s->value, v, sizeof(v)), why);
		return -1;
	}
	regfree(&re);
	put_string(s);
	return 0;
}

static int
set_path(const struct setting *s)
{
	if (s->value[0] != '/' || strlen(s->value) > CFG_MAX_PATH)
		return bad_value(s, "an absolute path");
	put_string(s);
	return 0;
}

static int
set_host(const struct setting *s)
{
	char what[96];
	if (!cfg_valid_host(s->value)) {
		snprintf(
		    what, sizeof(what),
		    "a host name or an IP address (letters, digits, '.', '-', ':'; at most %d)",
		    CFG_MAX_GUEST_ADDRESS);
		return bad_value(s, what);
	}
	put_string(s);
	return 0;
}

static int (*const setters[K_KIND_COUNT])(const struct setting *) = {
    [K_URIS] = set_uris,    [K_LISTEN] = set_listen,         [K_SECONDS] = set_duration,
    [K_MS] = set_duration,  [K_MS_OR_OFF] = set_duration,    [K_RATIO] = set_ratio_or_bool,
    [K_REGEX] = set_regex,  [K_BOOL] = set_ratio_or_bool,    [K_PATH] = set_path,
    [K_COUNT] = set_number, [K_SIZE] = set_number,           [K_SIZES] = set_sizes,
    [K_HOST] = set_host,    [K_THRESHOLDS] = set_thresholds, [K_URI] = set_uri,
};

/* ------------------------------------------------------------------ every value */

/* What every value must pass whatever its kind: encoding, not empty, not quoted. */
static int
check_text(const struct setting *s, int origin)
{
	char name[64], v[CFG_MAX_QUOTED + 4];
	size_t at, vlen = strlen(s->value);
	const char *bad = cfg_text_error((const unsigned char *)s->value, vlen, &at);
	if (bad) {
		snprintf(s->err, s->errsz, "%s: the value contains %s",
		         cfg_keyref(s->c, s->ki, name, sizeof(name)), bad);
		return -1;
	}
	if (!vlen) {
		snprintf(s->err, s->errsz, "%s needs a value",
		         cfg_keyref(s->c, s->ki, name, sizeof(name)));
		return -1;
	}
	if (origin > 0 && vlen >= 2 && (s->value[0] == '"' || s->value[0] == '\'') &&
	    s->value[vlen - 1] == s->value[0]) {
		/* A quoted regex would silently match nothing: say so instead. */
		snprintf(s->err, s->errsz, "%s: values are written without quotes, got %s",
		         cfg_keyref(s->c, s->ki, name, sizeof(name)),
		         cfg_quoted(s->value, v, sizeof(v)));
		return -1;
	}
	return 0;
}

int
cfg_set_key(struct vms_config *c, size_t ki, const char *value, int origin, bool fresh, char *err,
            size_t errsz)
{
	const struct setting s = {c, ki, &cfg_keys[ki], value, fresh, err, errsz};
	int saved_origin = c->origin[ki];
	c->origin[ki] = origin; /* for cfg_keyref() in messages */
	if (check_text(&s, origin) < 0 || setters[s.k->kind](&s) < 0) {
		c->origin[ki] = saved_origin;
		return -1;
	}
	return 0;
}

int
vms_config_set(struct vms_config *c, const char *key, const char *value, char *err, size_t errsz)
{
	int k = cfg_key_index(key);
	if (k < 0) {
		char q[CFG_MAX_QUOTED + 4];
		snprintf(err, errsz, "unknown key '%s'", cfg_quoted(key, q, sizeof(q)));
		return -1;
	}
	return cfg_set_key(c, (size_t)k, value, 0, false, err, errsz);
}

int
vms_config_apply_args(struct vms_config *c, const struct vms_config_arg *args, size_t n, char *err,
                      size_t errsz)
{
	bool seen[VMS_CONFIG_MAX_KEYS] = {false};
	for (size_t i = 0; i < n; i++) {
		int k = cfg_key_index(args[i].key);
		if (k < 0) {
			char q[CFG_MAX_QUOTED + 4];
			snprintf(err, errsz, "unknown flag --%s",
			         cfg_quoted(args[i].key, q, sizeof(q)));
			return -1;
		}
		if (cfg_set_key(c, (size_t)k, args[i].value, -1, !seen[k], err, errsz) < 0)
			return -1;
		seen[k] = true;
	}
	return 0;
}

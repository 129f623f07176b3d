/* Text to values, before any key is involved: encoding, integers, units, ratios, lists. */
#include "daemon/config/config_internal.h"

#include <stdlib.h>
#include <string.h>

/*
 * Where s stops being UTF-8 without control characters (C0 but tab, DEL, C1), or NULL if
 * it does not. Overlong forms, surrogates and code points above U+10FFFF are errors.
 */
const char *
cfg_text_error(const unsigned char *s, size_t n, size_t *at)
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
bool
cfg_parse_u64(const char *s, uint64_t *out, const char **end)
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

/* A number and one of the units, into number * unit; false on any other suffix or overflow. */
struct unit {
	const char *suffix;
	uint64_t scale;
};

static bool
parse_with_unit(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	uint64_t v;
	const char *end;
	if (!cfg_parse_u64(s, &v, &end))
		return false;
	for (size_t i = 0; i < nunits; i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].scale)
			return false;
		*out = v * units[i].scale;
		return true;
	}
	return false;
}

/* "5" (seconds), "5s", "30ms", "1m", "2h", into milliseconds. */
bool
cfg_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct unit units[] = {
	    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
	};
	return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), ms);
}

/* "1024", "512B", "4K", "4KiB", "8M", "32MiB", "1G", "1GiB": binary units only. */
bool
cfg_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
	    {"", 1},         {"B", 1},          {"K", 1u << 10}, {"KiB", 1u << 10},
	    {"M", 1u << 20}, {"MiB", 1u << 20}, {"G", 1u << 30}, {"GiB", 1u << 30},
	};
	return parse_with_unit(s, units, sizeof(units) / sizeof(units[0]), bytes);
}

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

bool
cfg_parse_ratio(const char *s, double *out)
{
	return parse_decimal(s, out) && *out >= 0.0 && *out <= 1.0;
}

bool
cfg_parse_bool(const char *s, bool *out)
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

/* Not empty, at most max bytes, every byte one that ok() accepts. */
static bool
valid_text(const char *s, size_t max, bool (*ok)(char))
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!ok(*p))
			return false;
	return true;
}

static bool
uri_char(char c)
{
	return c > ' ' && c <= '~';
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == ':';
}

/* Printable ASCII without blanks. */
bool
cfg_valid_uri(const char *s)
{
	return valid_text(s, CFG_MAX_URI, uri_char);
}

/* Letters, digits, '.', '-', ':' (names, IPv4, IPv6). */
bool
cfg_valid_host(const char *s)
{
	return valid_text(s, CFG_MAX_GUEST_ADDRESS, host_char);
}

/*
 * The next item of a ','-separated list, blanks around it dropped, into item. Advances *p to
 * the next item, or to NULL after the last. False for an empty or overlong item.
 */
bool
cfg_list_next(const char **p, char *item, size_t itemsz)
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

/* A slowdown ratio: a plain decimal above 1 and at most 1000. */
bool
cfg_parse_slowdown(const char *s, double *out)
{
	return parse_decimal(s, out) && *out > 1.0 && *out <= 1000.0;
}

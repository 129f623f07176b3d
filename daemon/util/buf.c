/* Byte buffer for the text outputs: growth, escaping and exact number formatting. */
#include "daemon/util/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/alloc.h"

void
vms_buf_init(struct vms_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
vms_buf_free(struct vms_buf *b)
{
	free(b->data);
	vms_buf_init(b);
}

void
vms_buf_grow(struct vms_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = vms_xrealloc(b->data, cap, 1);
	b->cap = cap;
	b->data[b->len] = '\0'; /* a fresh buffer, grown before any append, is "" too */
}

void
vms_buf_printf(struct vms_buf *b, const char *fmt, ...)
{
	/* One pass into the spare room, which nearly always suffices; a second only to grow. */
	vms_buf_reserve(b, 128);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n <= 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		vms_buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
vms_buf_label_value(struct vms_buf *b, const char *s)
{
	/* Runs of plain characters in one copy: label values are mostly plain. */
	while (*s) {
		size_t run = strcspn(s, "\\\"\n");
		vms_buf_append(b, s, run);
		s += run;
		if (!*s)
			break;
		vms_buf_append(b, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n", 2);
		s++;
	}
}

/* Decimal digits without printf: most of /metrics is integers. */
static void
buf_u64(struct vms_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	vms_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static const uint64_t pow10_u64[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull};
static const double pow10_dbl[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/*
 * num / 10^frac written exactly, trailing zeros dropped; false if out of range. In range
 * (num < 10^15, value 0 or >= 0.0001) this is what vms_buf_double prints for the double
 * nearest that value: 15 significant digits read back exactly and %g stays in fixed notation.
 * Counters in seconds take this path, which is many times faster than printf and strtod.
 */
bool
vms_buf_decimal(struct vms_buf *b, uint64_t num, unsigned frac)
{
	if (frac >= sizeof(pow10_u64) / sizeof(pow10_u64[0]) || num >= 1000000000000000ull ||
	    (num != 0 && num * 10000 < pow10_u64[frac]))
		return false;
	uint64_t fp = num % pow10_u64[frac];
	buf_u64(b, num / pow10_u64[frac]);
	if (fp) {
		char tmp[sizeof(pow10_u64) / sizeof(pow10_u64[0])];
		unsigned n = frac;
		for (; fp % 10 == 0; fp /= 10)
			n--;
		for (unsigned i = n; i > 0; i--, fp /= 10)
			tmp[i - 1] = (char)('0' + fp % 10);
		vms_buf_append(b, ".", 1);
		vms_buf_append(b, tmp, n);
	}
	return true;
}

size_t
vms_utf8_prefix_len(const char *s, size_t max_bytes)
{
	size_t len = strnlen(s, max_bytes + 1);
	if (len <= max_bytes)
		return len;
	/* s[max_bytes] is the first byte cut off: if it continues a sequence, drop that
	 * sequence's start too (a sequence is at most 4 bytes: at most 3 continue it). */
	size_t cut = max_bytes;
	for (int back = 0; back < 3 && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80; back++)
		cut--;
	return ((unsigned char)s[cut] & 0xc0) == 0x80 ? max_bytes : cut;
}

void
vms_buf_html(struct vms_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			vms_buf_append(b, "&amp;", 5);
			break;
		case '<':
			vms_buf_append(b, "&lt;", 4);
			break;
		case '>':
			vms_buf_append(b, "&gt;", 4);
			break;
		case '"':
			vms_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			vms_buf_append(b, "&#39;", 5);
			break;
		default:
			vms_buf_append(b, s, 1);
		}
	}
}

void
vms_buf_family(struct vms_buf *b, const char *name, const char *type, const char *help)
{
	vms_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The shortest decimal that reads back as the same double: 0.1, not 0.10000000000000001. */
void
vms_buf_double(struct vms_buf *b, double v)
{
	char tmp[40];
	if (isnan(v)) {
		vms_buf_append(b, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		vms_buf_append(b, v > 0 ? "+Inf" : "-Inf", 4);
		return;
	}
	/* Whole numbers below 10^15 print as %.15g would print them. */
	if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
		if (v < 0)
			vms_buf_append(b, "-", 1);
		buf_u64(b, (uint64_t)(v < 0 ? -(int64_t)v : (int64_t)v));
		return;
	}
	/*
	 * Most values we export have at most 15 significant digits (rates, seconds from
	 * milliseconds). Find the fewest decimals d with m / 10^d == |v| exactly (m < 10^15, so
	 * m and 10^d are exact and the division is correctly rounded): that decimal is the text
	 * %.15g settles on below, at a fraction of printf's and strtod's cost. A product that
	 * rounded the wrong way shows as a trailing zero: then printf decides.
	 */
	double a = fabs(v);
	if (a >= 1e-4 && a < 1e15) {
		for (unsigned d = 1; d < sizeof(pow10_dbl) / sizeof(pow10_dbl[0]); d++) {
			double m = round(a * pow10_dbl[d]);
			if (m >= 1e15)
				break;
			if (m / pow10_dbl[d] != a)
				continue;
			if (fmod(m, 10) == 0)
				break;
			if (v < 0)
				vms_buf_append(b, "-", 1);
			vms_buf_decimal(b, (uint64_t)m, d);
			return;
		}
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	vms_buf_append(b, tmp, strlen(tmp));
}

void
vms_buf_u64(struct vms_buf *b, uint64_t v)
{
	buf_u64(b, v);
}

void
vms_buf_sig(struct vms_buf *b, double v, unsigned digits)
{
	double a = fabs(v);
	if (!isfinite(v) || v == 0 || digits == 0 || digits > 15) {
		vms_buf_double(b, v);
		return;
	}
	if (a < 1e-4 || a >= 1e15) { /* exponent notation: printf, for these few */
		char tmp[40];
		int n = snprintf(tmp, sizeof(tmp), "%.*g", (int)digits, v);
		vms_buf_append(b, tmp, (size_t)n);
		return;
	}
	int e = (int)floor(log10(a)); /* a is in [10^e, 10^(e+1)) */
	int d = (int)digits - 1 - e;  /* decimals to keep */
	if (d <= 0) {
		double unit = pow10_dbl[-d < 15 ? -d : 15];
		if (v < 0)
			vms_buf_append(b, "-", 1);
		buf_u64(b, (uint64_t)(round(a / unit) * unit));
		return;
	}
	if ((unsigned)d < sizeof(pow10_dbl) / sizeof(pow10_dbl[0])) {
		size_t len = b->len;
		if (v < 0)
			vms_buf_append(b, "-", 1);
		if (vms_buf_decimal(b, (uint64_t)round(a * pow10_dbl[d]), (unsigned)d))
			return;
		b->len = len;
	}
	vms_buf_double(b, v);
}

void
vms_buf_ticks_sample_value(struct vms_buf *b, uint64_t ticks, uint64_t hz)
{
	vms_buf_append(b, " ", 1);
	/* USER_HZ is 100 (or 250, 1000): ticks / hz is then an exact short decimal. */
	bool done = false;
	for (unsigned k = 0; hz && k < sizeof(pow10_u64) / sizeof(pow10_u64[0]) && !done; k++)
		if (pow10_u64[k] % hz == 0 && ticks <= UINT64_MAX / (pow10_u64[k] / hz))
			done = vms_buf_decimal(b, ticks * (pow10_u64[k] / hz), k);
	if (!done)
		vms_buf_double(b, (double)ticks / (double)hz);
	vms_buf_append(b, "\n", 1);
}

/*
 * A measurement rounded to 10^-decimals (what it can resolve: a byte per second, a
 * nanosecond, a millisecond), in fixed notation with trailing zeros dropped. Far cheaper
 * than the shortest round-trip text of vms_buf_double, and no measured digit is lost.
 */
void
vms_buf_measured(struct vms_buf *b, double v, unsigned decimals)
{
	if (!isfinite(v) || decimals >= sizeof(pow10_dbl) / sizeof(pow10_dbl[0]) ||
	    fabs(v) >= 1e15 / pow10_dbl[decimals]) {
		vms_buf_double(b, v);
		return;
	}
	uint64_t m = (uint64_t)llround(fabs(v) * pow10_dbl[decimals]);
	if (v < 0 && m)
		vms_buf_append(b, "-", 1);
	vms_buf_u64(b, m / pow10_u64[decimals]);
	uint64_t fp = m % pow10_u64[decimals];
	if (!fp)
		return;
	char tmp[16];
	unsigned n = decimals;
	for (; fp % 10 == 0; fp /= 10)
		n--;
	for (unsigned i = n; i > 0; i--, fp /= 10)
		tmp[i - 1] = (char)('0' + fp % 10);
	vms_buf_append(b, ".", 1);
	vms_buf_append(b, tmp, n);
}

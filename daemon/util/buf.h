/*
 * A growing byte buffer, always NUL-terminated, with the appenders the text outputs need:
 * exposition label escaping, HTML escaping and numbers written exactly without printf.
 */
#ifndef VMSCALE_UTIL_BUF_H
#define VMSCALE_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vms_buf {
	char *data;
	size_t len, cap;
};

void vms_buf_init(struct vms_buf *b);
void vms_buf_free(struct vms_buf *b);
/* Grows the buffer to hold extra more bytes; callers use vms_buf_reserve. */
void vms_buf_grow(struct vms_buf *b, size_t extra);

/* Makes room for extra more bytes without changing the content. */
static inline void
vms_buf_reserve(struct vms_buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		vms_buf_grow(b, extra);
}

/* Inline: a 1 000-domain exposition is some 400 000 short appends. */
static inline void
vms_buf_append(struct vms_buf *b, const char *s, size_t n)
{
	vms_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void vms_buf_printf(struct vms_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a label value: \ " and newline escaped as the exposition format requires. */
void vms_buf_label_value(struct vms_buf *b, const char *s);
/* Appends v as the shortest decimal that reads back exactly (NaN, +Inf, -Inf as Prometheus spells
 * them). */
void vms_buf_double(struct vms_buf *b, double v);
/* Appends v in decimal. */
void vms_buf_u64(struct vms_buf *b, uint64_t v);
/* Appends v rounded to `digits` significant digits (at most 15), without printf in the common
 * range (1e-4 to 1e15): for measured values, whose further digits are noise. */
void vms_buf_sig(struct vms_buf *b, double v, unsigned digits);
/* Appends num / 10^frac exactly, trailing zeros dropped; false (nothing appended) when out of
 * the range where that is what vms_buf_double would print (num < 10^15, value 0 or >= 1e-4). */
bool vms_buf_decimal(struct vms_buf *b, uint64_t num, unsigned frac);
/* Appends a measurement rounded to 10^-decimals (what it can resolve) in fixed notation. */
void vms_buf_measured(struct vms_buf *b, double v, unsigned decimals);
/* Appends " SECONDS\n" for ticks of a hz clock, exactly where ticks / hz is a short decimal. */
void vms_buf_ticks_sample_value(struct vms_buf *b, uint64_t ticks, uint64_t hz);
/* Appends a metric family's # HELP and # TYPE lines. */
void vms_buf_family(struct vms_buf *b, const char *name, const char *type, const char *help);
/* Appends s with HTML's special characters as entities. */
void vms_buf_html(struct vms_buf *b, const char *s);

/* The length of s, or if that is over max_bytes the longest prefix of at most max_bytes that
 * does not end inside a UTF-8 sequence: where to cut s to fit without splitting a character. */
size_t vms_utf8_prefix_len(const char *s, size_t max_bytes);

#endif

/* The wire protocol's line/record codec (see include/vmscale/record.h), and the field helpers
 * the message codecs share (common/proto_internal.h). */
#include "vmscale/record.h"

#include <stdio.h>
#include <string.h>

#include "common/proto_internal.h"

static const char *const error_names[VMS_PROTO_E_COUNT] = {
    [VMS_PROTO_OK] = "ok",
    [VMS_PROTO_E_OVERSIZED] = "oversized",
    [VMS_PROTO_E_SYNTAX] = "syntax",
    [VMS_PROTO_E_TOO_MANY] = "too_many_fields",
    [VMS_PROTO_E_DUPLICATE] = "duplicate_field",
    [VMS_PROTO_E_UNKNOWN] = "unknown_type",
    [VMS_PROTO_E_MISSING] = "missing_field",
    [VMS_PROTO_E_VALUE] = "bad_value",
    [VMS_PROTO_E_VERSION] = "bad_version",
    [VMS_PROTO_E_SEQUENCE] = "out_of_sequence",
    [VMS_PROTO_E_IMPLAUSIBLE] = "implausible",
    [VMS_PROTO_E_UNMATCHED] = "unmatched",
};

const char *
vms_proto_error_name(enum vms_proto_error err)
{
	if ((unsigned)err >= VMS_PROTO_E_COUNT)
		return "invalid";
	return error_names[err];
}

static bool
is_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_key_char(char c)
{
	return is_type_char(c) || (c >= '0' && c <= '9');
}

static bool
is_value_char(char c)
{
	return c > ' ' && c < 0x7f && c != '=';
}

/* Checks that [s, s+len) is a non-empty run of allowed characters of at most max. */
static bool
valid_token(const char *s, size_t len, size_t max, bool (*ok)(char))
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

enum vms_proto_error
vms_record_parse(struct vms_record *rec, const char *line, size_t len)
{
	rec->type = NULL;
	rec->nfields = 0;
	if (len >= VMS_PROTO_MAX_RECORD)
		return VMS_PROTO_E_OVERSIZED;
	memcpy(rec->text, line, len);
	rec->text[len] = '\0';

	/* Split on single spaces; a double, leading or trailing space is a syntax error. */
	char *p = rec->text;
	char *end = rec->text + len;
	char *sp = memchr(p, ' ', (size_t)(end - p));
	char *tok_end = sp ? sp : end;
	if (!valid_token(p, (size_t)(tok_end - p), VMS_PROTO_MAX_TYPE, is_type_char))
		return VMS_PROTO_E_SYNTAX;
	*tok_end = '\0';
	rec->type = p;
	p = sp ? sp + 1 : end;
	if (sp && p == end)
		return VMS_PROTO_E_SYNTAX;

	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		tok_end = sp ? sp : end;
		char *eq = memchr(p, '=', (size_t)(tok_end - p));
		if (!eq)
			return VMS_PROTO_E_SYNTAX;
		if (!valid_token(p, (size_t)(eq - p), VMS_PROTO_MAX_KEY, is_key_char) ||
		    !valid_token(eq + 1, (size_t)(tok_end - eq - 1), VMS_PROTO_MAX_VALUE,
		                 is_value_char))
			return VMS_PROTO_E_SYNTAX;
		if (rec->nfields == VMS_PROTO_MAX_FIELDS)
			return VMS_PROTO_E_TOO_MANY;
		*eq = '\0';
		*tok_end = '\0';
		for (size_t i = 0; i < rec->nfields; i++)
			if (strcmp(rec->fields[i].key, p) == 0)
				return VMS_PROTO_E_DUPLICATE;
		rec->fields[rec->nfields].key = p;
		rec->fields[rec->nfields].value = eq + 1;
		rec->nfields++;
		p = sp ? sp + 1 : end;
		if (sp && p == end)
			return VMS_PROTO_E_SYNTAX;
	}
	return VMS_PROTO_OK;
}

const char *
vms_record_get(const struct vms_record *rec, const char *key)
{
	for (size_t i = 0; i < rec->nfields; i++)
		if (strcmp(rec->fields[i].key, key) == 0)
			return rec->fields[i].value;
	return NULL;
}

/* Strict unsigned decimal: digits only, at most 20 of them (record.h: leading zeros do not
 * lengthen a number), no overflow. strtoull accepts too much (sign, space). */
static bool
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0' || strlen(s) > 20)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

enum vms_proto_error
vms_record_get_u64(const struct vms_record *rec, const char *key, uint64_t *out)
{
	const char *v = vms_record_get(rec, key);
	if (!v)
		return VMS_PROTO_E_MISSING;
	return parse_u64(v, out) ? VMS_PROTO_OK : VMS_PROTO_E_VALUE;
}

void
vms_writer_begin(struct vms_writer *w, const char *type)
{
	w->len = 0;
	w->failed = false;
	size_t n = strlen(type);
	if (!valid_token(type, n, VMS_PROTO_MAX_TYPE, is_type_char)) {
		w->failed = true;
		return;
	}
	memcpy(w->buf, type, n);
	w->len = n;
}

void
vms_writer_add_str(struct vms_writer *w, const char *key, const char *value)
{
	if (w->failed)
		return;
	size_t kl = strlen(key), vl = strlen(value);
	if (!valid_token(key, kl, VMS_PROTO_MAX_KEY, is_key_char) ||
	    !valid_token(value, vl, VMS_PROTO_MAX_VALUE, is_value_char) ||
	    w->len + 1 + kl + 1 + vl + 1 > sizeof(w->buf)) { /* the last 1 keeps room for LF */
		w->failed = true;
		return;
	}
	w->buf[w->len++] = ' ';
	memcpy(w->buf + w->len, key, kl);
	w->len += kl;
	w->buf[w->len++] = '=';
	memcpy(w->buf + w->len, value, vl);
	w->len += vl;
}

void
vms_writer_add_u64(struct vms_writer *w, const char *key, uint64_t value)
{
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	vms_writer_add_str(w, key, num);
}

size_t
vms_writer_finish(struct vms_writer *w)
{
	if (w->failed || w->len + 1 > sizeof(w->buf))
		return 0;
	w->buf[w->len++] = '\n';
	return w->len;
}

void
vms_linebuf_reset(struct vms_linebuf *lb)
{
	lb->len = 0;
	lb->discarding = false;
}

size_t
vms_linebuf_feed(struct vms_linebuf *lb, const char *data, size_t n,
                 void (*on_line)(void *ctx, const char *line, size_t len),
                 void (*on_error)(void *ctx, enum vms_proto_error err), void *ctx)
{
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t chunk = nl ? (size_t)(nl - (data + i)) : n - i;
		if (!lb->discarding) {
			/* The line plus its LF must fit in one record. */
			if (lb->len + chunk + 1 > sizeof(lb->buf)) {
				lb->discarding = true;
				lb->len = 0;
				on_error(ctx, VMS_PROTO_E_OVERSIZED);
			} else {
				memcpy(lb->buf + lb->len, data + i, chunk);
				lb->len += chunk;
			}
		}
		i += chunk;
		if (nl) {
			i++; /* the LF */
			if (!lb->discarding)
				on_line(ctx, lb->buf, lb->len);
			lb->len = 0;
			lb->discarding = false;
		}
	}
	return n;
}

size_t
vms_writer_copy(struct vms_writer *w, char *out, size_t outsz)
{
	size_t n = vms_writer_finish(w);
	if (n == 0 || n >= outsz)
		return 0;
	memcpy(out, w->buf, n);
	out[n] = '\0';
	return n;
}

void
vms_copy_str(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src);
}

/* The field helpers of the message codecs (common/proto_internal.h). */
enum vms_proto_error
vms_get_opt_u64(const struct vms_record *rec, const char *key, uint64_t lo, uint64_t hi,
                uint64_t *out)
{
	uint64_t v;
	enum vms_proto_error err = vms_record_get_u64(rec, key, &v);
	if (err == VMS_PROTO_E_MISSING)
		return VMS_PROTO_OK;
	if (err)
		return err;
	if (v < lo || v > hi)
		return VMS_PROTO_E_VALUE;
	*out = v;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_get_opt_u32(const struct vms_record *rec, const char *key, uint32_t lo, uint32_t hi,
                uint32_t *out)
{
	uint64_t v = *out;
	enum vms_proto_error err = vms_get_opt_u64(rec, key, lo, hi, &v);
	*out = (uint32_t)v;
	return err;
}

enum vms_proto_error
vms_get_req_u64(const struct vms_record *rec, const char *key, uint64_t lo, uint64_t hi,
                uint64_t *out)
{
	if (!vms_record_get(rec, key))
		return VMS_PROTO_E_MISSING;
	return vms_get_opt_u64(rec, key, lo, hi, out);
}

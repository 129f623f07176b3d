/* vmscale wire protocol v1: parsing and encoding of records (see include/vmscale/protocol.h). */
#include "vmscale/protocol.h"

#include <stdio.h>
#include <string.h>

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
};

const char *
vms_proto_error_name(enum vms_proto_error err)
{
	if ((unsigned)err >= VMS_PROTO_E_COUNT)
		return "invalid";
	return error_names[err];
}

static const char *const cpu_mode_names[VMS_CPU_MODE_COUNT] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice",
};

const char *
vms_cpu_mode_name(enum vms_cpu_mode mode)
{
	if ((unsigned)mode >= VMS_CPU_MODE_COUNT)
		return "invalid";
	return cpu_mode_names[mode];
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
		    !valid_token(eq + 1, (size_t)(tok_end - eq - 1), VMS_PROTO_MAX_VALUE, is_value_char))
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

/* Strict unsigned decimal: digits only, no overflow. strtoull accepts too much (sign, space). */
static bool
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
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

static size_t
writer_copy(struct vms_writer *w, char *out, size_t outsz)
{
	size_t n = vms_writer_finish(w);
	if (n == 0 || n >= outsz)
		return 0;
	memcpy(out, w->buf, n);
	out[n] = '\0';
	return n;
}

size_t
vms_encode_hello(char *out, size_t outsz, const struct vms_hello *hello)
{
	struct vms_writer w;
	vms_writer_begin(&w, "hello");
	vms_writer_add_u64(&w, "proto", hello->proto);
	vms_writer_add_str(&w, "probe", hello->probe_version);
	vms_writer_add_str(&w, "caps", hello->caps);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_cpu(char *out, size_t outsz, const struct vms_cpu_report *r)
{
	struct vms_writer w;
	vms_writer_begin(&w, "cpu");
	vms_writer_add_u64(&w, "seq", r->seq);
	vms_writer_add_u64(&w, "mono_ns", r->mono_ns);
	vms_writer_add_u64(&w, "real_ns", r->real_ns);
	vms_writer_add_u64(&w, "hz", r->hz);
	vms_writer_add_u64(&w, "ncpu", r->ncpu);
	if (r->nmodes < VMS_CPU_REQUIRED_MODES || r->nmodes > VMS_CPU_MODE_COUNT)
		w.failed = true;
	for (unsigned m = 0; m < r->nmodes && m < VMS_CPU_MODE_COUNT; m++)
		vms_writer_add_u64(&w, vms_cpu_mode_name((enum vms_cpu_mode)m), r->ticks[m]);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_host(char *out, size_t outsz)
{
	struct vms_writer w;
	vms_writer_begin(&w, "host");
	vms_writer_add_u64(&w, "proto", VMS_PROTO_VERSION);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_schedule(char *out, size_t outsz, const struct vms_schedule *s)
{
	struct vms_writer w;
	vms_writer_begin(&w, "schedule");
	vms_writer_add_u64(&w, "cpu_ms", s->cpu_ms);
	return writer_copy(&w, out, outsz);
}

static void
copy_str(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src);
}

enum vms_proto_error
vms_decode_hello(const struct vms_record *rec, struct vms_hello *hello)
{
	uint64_t proto;
	enum vms_proto_error err;
	if (strcmp(rec->type, "hello") != 0)
		return VMS_PROTO_E_UNKNOWN;
	if ((err = vms_record_get_u64(rec, "proto", &proto)) != VMS_PROTO_OK)
		return err;
	if (proto != VMS_PROTO_VERSION)
		return VMS_PROTO_E_VERSION;
	const char *probe = vms_record_get(rec, "probe");
	const char *caps = vms_record_get(rec, "caps");
	if (!probe || !caps)
		return VMS_PROTO_E_MISSING;
	hello->proto = (unsigned)proto;
	copy_str(hello->probe_version, sizeof(hello->probe_version), probe);
	copy_str(hello->caps, sizeof(hello->caps), caps);
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_cpu(const struct vms_record *rec, struct vms_cpu_report *r)
{
	enum vms_proto_error err;
	uint64_t hz, ncpu;
	if (strcmp(rec->type, "cpu") != 0)
		return VMS_PROTO_E_UNKNOWN;
	if ((err = vms_record_get_u64(rec, "seq", &r->seq)) ||
	    (err = vms_record_get_u64(rec, "mono_ns", &r->mono_ns)) ||
	    (err = vms_record_get_u64(rec, "real_ns", &r->real_ns)) ||
	    (err = vms_record_get_u64(rec, "hz", &hz)) ||
	    (err = vms_record_get_u64(rec, "ncpu", &ncpu)))
		return err;
	/* USER_HZ is 100 on every Linux ABI we know; accept any sane tick rate. */
	if (hz == 0 || hz > 100000 || ncpu == 0 || ncpu > 65536)
		return VMS_PROTO_E_VALUE;
	r->hz = (uint32_t)hz;
	r->ncpu = (uint32_t)ncpu;

	/* Modes are a prefix of the /proc/stat column order: a gap is malformed. */
	r->nmodes = 0;
	for (unsigned m = 0; m < VMS_CPU_MODE_COUNT; m++) {
		err = vms_record_get_u64(rec, vms_cpu_mode_name((enum vms_cpu_mode)m), &r->ticks[m]);
		if (err == VMS_PROTO_E_MISSING)
			break;
		if (err)
			return err;
		r->nmodes = m + 1;
	}
	for (unsigned m = r->nmodes + 1; m < VMS_CPU_MODE_COUNT; m++)
		if (vms_record_get(rec, vms_cpu_mode_name((enum vms_cpu_mode)m)))
			return VMS_PROTO_E_VALUE;
	for (unsigned m = r->nmodes; m < VMS_CPU_MODE_COUNT; m++)
		r->ticks[m] = 0;
	if (r->nmodes < VMS_CPU_REQUIRED_MODES)
		return VMS_PROTO_E_MISSING;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_schedule(const struct vms_record *rec, struct vms_schedule *s)
{
	uint64_t ms;
	enum vms_proto_error err;
	if (strcmp(rec->type, "schedule") != 0)
		return VMS_PROTO_E_UNKNOWN;
	if ((err = vms_record_get_u64(rec, "cpu_ms", &ms)) != VMS_PROTO_OK)
		return err;
	if (ms < VMS_SCHEDULE_MIN_MS || ms > VMS_SCHEDULE_MAX_MS)
		return VMS_PROTO_E_VALUE;
	s->cpu_ms = (uint32_t)ms;
	return VMS_PROTO_OK;
}

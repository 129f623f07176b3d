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

static const char *const family_names[VMS_FAM_COUNT] = {
	"cpu", "disk", "cpu_work", "memory", "disk_read", "network", "micro",
};

const char *
vms_family_name(enum vms_family f)
{
	if ((unsigned)f >= VMS_FAM_COUNT)
		return "invalid";
	return family_names[f];
}

int
vms_family_from_name(const char *name)
{
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		if (strcmp(name, family_names[f]) == 0)
			return (int)f;
	return -1;
}

static const struct {
	enum vms_family family;
	enum vms_op_kind kind;
	const char *name;
} ops[VMS_OP_COUNT] = {
	[VMS_OP_CPU_WORK] = {VMS_FAM_CPU_WORK, VMS_KIND_RATE, "work"},
	[VMS_OP_MEM_COPY] = {VMS_FAM_MEMORY, VMS_KIND_THROUGHPUT, "copy"},
	[VMS_OP_MEM_READ] = {VMS_FAM_MEMORY, VMS_KIND_THROUGHPUT, "read"},
	[VMS_OP_MEM_WRITE] = {VMS_FAM_MEMORY, VMS_KIND_THROUGHPUT, "write"},
	[VMS_OP_DISK_READ] = {VMS_FAM_DISK_READ, VMS_KIND_THROUGHPUT, "read"},
	[VMS_OP_NET_SEND] = {VMS_FAM_NETWORK, VMS_KIND_THROUGHPUT, "send"},
	[VMS_OP_NET_RECV] = {VMS_FAM_NETWORK, VMS_KIND_THROUGHPUT, "receive"},
	[VMS_OP_FORK_EXIT] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "fork_exit"},
	[VMS_OP_FORK_EXEC] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "fork_exec"},
	[VMS_OP_CTXSW] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "ctxsw"},
	[VMS_OP_FILE_0K] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "file_create_0k"},
	[VMS_OP_FILE_10K] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "file_create_10k"},
	[VMS_OP_MEM_LATENCY] = {VMS_FAM_MICRO, VMS_KIND_LATENCY, "mem_read"},
};

enum vms_family
vms_op_family(enum vms_op op)
{
	return (unsigned)op < VMS_OP_COUNT ? ops[op].family : VMS_FAM_COUNT;
}

enum vms_op_kind
vms_op_kind(enum vms_op op)
{
	return (unsigned)op < VMS_OP_COUNT ? ops[op].kind : VMS_KIND_RATE;
}

const char *
vms_op_name(enum vms_op op)
{
	return (unsigned)op < VMS_OP_COUNT ? ops[op].name : "invalid";
}

int
vms_op_from_name(enum vms_family f, const char *name)
{
	for (unsigned op = 0; op < VMS_OP_COUNT; op++)
		if (ops[op].family == f && strcmp(ops[op].name, name) == 0)
			return (int)op;
	return -1;
}

static const char *const disk_field_names[VMS_DISK_FIELD_COUNT] = {
	"reads", "read_merges", "read_sectors", "read_ms", "writes", "write_merges",
	"write_sectors", "write_ms", "in_flight", "io_ms", "weighted_io_ms", "discards",
	"discard_merges", "discard_sectors", "discard_ms", "flushes", "flush_ms",
};

void
vms_schedule_defaults(struct vms_schedule *s)
{
	*s = (struct vms_schedule){
		.cpu_ms = VMS_SCHEDULE_DEFAULT_CPU_MS,
		.disk_ms = VMS_SCHEDULE_DEFAULT_DISK_MS,
		.cpu_work_units = VMS_DEFAULT_CPU_WORK_UNITS,
		.mem_bytes = VMS_DEFAULT_MEM_BYTES,
		.mem_ms = VMS_DEFAULT_MEM_MS,
		.disk_read_bytes = VMS_DEFAULT_DISK_READ_BYTES,
		.disk_read_ms = VMS_DEFAULT_DISK_READ_MS,
		.net_bytes = VMS_DEFAULT_NET_BYTES,
		.net_ms = VMS_DEFAULT_NET_MS,
		.net_blocks = {1024, 32768},
		.net_nblocks = 2,
		.micro_ms = VMS_DEFAULT_MICRO_MS,
	};
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

size_t
vms_encode_disk(char *out, size_t outsz, const struct vms_disk_report *r)
{
	struct vms_writer w;
	vms_writer_begin(&w, "disk");
	vms_writer_add_u64(&w, "seq", r->seq);
	vms_writer_add_u64(&w, "mono_ns", r->mono_ns);
	vms_writer_add_str(&w, "dev", r->dev);
	if (r->nfields != 11 && r->nfields != 15 && r->nfields != 17)
		w.failed = true;
	for (unsigned i = 0; i < r->nfields && i < VMS_DISK_FIELD_COUNT; i++)
		vms_writer_add_u64(&w, disk_field_names[i], r->v[i]);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_cost(char *out, size_t outsz, const struct vms_cost_report *r)
{
	struct vms_writer w;
	vms_writer_begin(&w, "cost");
	vms_writer_add_u64(&w, "seq", r->seq);
	vms_writer_add_u64(&w, "mono_ns", r->mono_ns);
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		vms_writer_add_u64(&w, family_names[f], r->ns[f]);
	vms_writer_add_u64(&w, "other", r->other_ns);
	if (r->rss_bytes)
		vms_writer_add_u64(&w, "rss_bytes", r->rss_bytes);
	if (r->peak_rss_bytes)
		vms_writer_add_u64(&w, "peak_rss_bytes", r->peak_rss_bytes);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_sample(char *out, size_t outsz, const struct vms_sample *s)
{
	struct vms_writer w;
	vms_writer_begin(&w, "sample");
	vms_writer_add_u64(&w, "seq", s->seq);
	vms_writer_add_u64(&w, "id", s->id);
	if ((unsigned)s->op >= VMS_OP_COUNT) {
		w.failed = true;
		return writer_copy(&w, out, outsz);
	}
	vms_writer_add_str(&w, "probe", family_names[ops[s->op].family]);
	vms_writer_add_str(&w, "op", ops[s->op].name);
	if (s->err) {
		vms_writer_add_u64(&w, "errno", s->err);
		return writer_copy(&w, out, outsz);
	}
	vms_writer_add_u64(&w, "start_ns", s->start_ns);
	vms_writer_add_u64(&w, "end_ns", s->end_ns);
	vms_writer_add_u64(&w, "ops", s->ops);
	vms_writer_add_u64(&w, "bytes", s->bytes);
	if (ops[s->op].family == VMS_FAM_NETWORK)
		vms_writer_add_u64(&w, "block", s->block);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_done(char *out, size_t outsz, const struct vms_done *d)
{
	struct vms_writer w;
	vms_writer_begin(&w, "done");
	vms_writer_add_u64(&w, "seq", d->seq);
	vms_writer_add_u64(&w, "id", d->id);
	vms_writer_add_str(&w, "probe", vms_family_name(d->family));
	vms_writer_add_u64(&w, "start_ns", d->start_ns);
	vms_writer_add_u64(&w, "end_ns", d->end_ns);
	vms_writer_add_u64(&w, "mono_ns", d->mono_ns);
	if ((unsigned)d->family >= VMS_FAM_COUNT)
		w.failed = true;
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_schedule(char *out, size_t outsz, const struct vms_schedule *s)
{
	struct vms_writer w;
	vms_writer_begin(&w, "schedule");
	vms_writer_add_u64(&w, "cpu_ms", s->cpu_ms);
	vms_writer_add_u64(&w, "disk_ms", s->disk_ms);
	vms_writer_add_u64(&w, "cpu_work_units", s->cpu_work_units);
	vms_writer_add_u64(&w, "mem_bytes", s->mem_bytes);
	vms_writer_add_u64(&w, "mem_ms", s->mem_ms);
	vms_writer_add_u64(&w, "disk_read_bytes", s->disk_read_bytes);
	vms_writer_add_u64(&w, "disk_read_ms", s->disk_read_ms);
	vms_writer_add_u64(&w, "net_bytes", s->net_bytes);
	vms_writer_add_u64(&w, "net_ms", s->net_ms);
	char blocks[VMS_PROTO_MAX_VALUE + 1] = "";
	size_t bl = 0;
	for (unsigned i = 0; i < s->net_nblocks && i < VMS_MAX_NET_BLOCKS; i++)
		bl += (size_t)snprintf(blocks + bl, sizeof(blocks) - bl, "%s%u", i ? "," : "",
				       (unsigned)s->net_blocks[i]);
	if (s->net_nblocks == 0 || s->net_nblocks > VMS_MAX_NET_BLOCKS)
		w.failed = true;
	vms_writer_add_str(&w, "net_blocks", blocks);
	vms_writer_add_u64(&w, "micro_ms", s->micro_ms);
	return writer_copy(&w, out, outsz);
}

size_t
vms_encode_run(char *out, size_t outsz, const struct vms_run *r)
{
	struct vms_writer w;
	vms_writer_begin(&w, "run");
	vms_writer_add_u64(&w, "id", r->id);
	vms_writer_add_str(&w, "probe", vms_family_name(r->family));
	if (r->family < VMS_FAM_FIRST_ACTIVE || r->family >= VMS_FAM_COUNT)
		w.failed = true;
	if (r->family == VMS_FAM_NETWORK) {
		vms_writer_add_str(&w, "addr", r->addr);
		vms_writer_add_u64(&w, "port", r->port);
		vms_writer_add_str(&w, "token", r->token);
	}
	return writer_copy(&w, out, outsz);
}

/* Optional bounded number: absent keeps *out; present must be lo..hi. */
static enum vms_proto_error
get_opt_u64(const struct vms_record *rec, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
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

static enum vms_proto_error
get_opt_u32(const struct vms_record *rec, const char *key, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = *out;
	enum vms_proto_error err = get_opt_u64(rec, key, lo, hi, &v);
	*out = (uint32_t)v;
	return err;
}

static enum vms_proto_error
get_req_u64(const struct vms_record *rec, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!vms_record_get(rec, key))
		return VMS_PROTO_E_MISSING;
	return get_opt_u64(rec, key, lo, hi, out);
}

/* "1024,32768": 1..VMS_MAX_NET_BLOCKS block sizes, each within bounds. */
static enum vms_proto_error
parse_blocks(const char *v, struct vms_schedule *s)
{
	unsigned n = 0;
	const char *p = v;
	while (*p) {
		if (n == VMS_MAX_NET_BLOCKS || *p < '0' || *p > '9')
			return VMS_PROTO_E_VALUE;
		uint64_t b = 0;
		while (*p >= '0' && *p <= '9') {
			b = b * 10 + (uint64_t)(*p - '0');
			if (b > VMS_MAX_NET_BLOCK)
				return VMS_PROTO_E_VALUE;
			p++;
		}
		if (b < VMS_MIN_NET_BLOCK)
			return VMS_PROTO_E_VALUE;
		s->net_blocks[n++] = (uint32_t)b;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p)
			return VMS_PROTO_E_VALUE;
	}
	if (n == 0)
		return VMS_PROTO_E_VALUE;
	s->net_nblocks = n;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_schedule(const struct vms_record *rec, struct vms_schedule *s)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "schedule") != 0)
		return VMS_PROTO_E_UNKNOWN;
	vms_schedule_defaults(s);
	uint64_t cpu_ms;
	if ((err = get_req_u64(rec, "cpu_ms", VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS, &cpu_ms)))
		return err;
	s->cpu_ms = (uint32_t)cpu_ms;
	if ((err = get_opt_u32(rec, "disk_ms", VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS,
			       &s->disk_ms)) ||
	    (err = get_opt_u64(rec, "cpu_work_units", 1, UINT64_C(1) << 40, &s->cpu_work_units)) ||
	    (err = get_opt_u64(rec, "mem_bytes", VMS_MIN_MEM_BYTES, VMS_MAX_MEM_BYTES,
			       &s->mem_bytes)) ||
	    (err = get_opt_u32(rec, "mem_ms", 1, VMS_MAX_BOUND_MS, &s->mem_ms)) ||
	    (err = get_opt_u64(rec, "disk_read_bytes", 4096, VMS_MAX_DISK_READ_BYTES,
			       &s->disk_read_bytes)) ||
	    (err = get_opt_u32(rec, "disk_read_ms", 1, VMS_MAX_BOUND_MS, &s->disk_read_ms)) ||
	    (err = get_opt_u64(rec, "net_bytes", VMS_MIN_NET_BLOCK, VMS_MAX_NET_BYTES,
			       &s->net_bytes)) ||
	    (err = get_opt_u32(rec, "net_ms", 1, VMS_MAX_BOUND_MS, &s->net_ms)) ||
	    (err = get_opt_u32(rec, "micro_ms", 1, VMS_MAX_BOUND_MS, &s->micro_ms)))
		return err;
	const char *blocks = vms_record_get(rec, "net_blocks");
	if (blocks && (err = parse_blocks(blocks, s)))
		return err;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_run(const struct vms_record *rec, struct vms_run *r)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "run") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(r, 0, sizeof(*r));
	if ((err = get_req_u64(rec, "id", 0, UINT64_MAX, &r->id)))
		return err;
	const char *probe = vms_record_get(rec, "probe");
	if (!probe)
		return VMS_PROTO_E_MISSING;
	int f = vms_family_from_name(probe);
	if (f < (int)VMS_FAM_FIRST_ACTIVE)
		return VMS_PROTO_E_VALUE;
	r->family = (enum vms_family)f;
	if (r->family != VMS_FAM_NETWORK)
		return VMS_PROTO_OK;
	const char *addr = vms_record_get(rec, "addr");
	const char *token = vms_record_get(rec, "token");
	uint64_t port;
	if (!addr || !token)
		return VMS_PROTO_E_MISSING;
	if ((err = get_req_u64(rec, "port", 1, 65535, &port)))
		return err;
	if (strlen(addr) >= sizeof(r->addr) || !vms_token_valid(token))
		return VMS_PROTO_E_VALUE;
	copy_str(r->addr, sizeof(r->addr), addr);
	copy_str(r->token, sizeof(r->token), token);
	r->port = (uint32_t)port;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_disk(const struct vms_record *rec, struct vms_disk_report *r)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "disk") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(r, 0, sizeof(*r));
	if ((err = get_req_u64(rec, "seq", 0, UINT64_MAX, &r->seq)) ||
	    (err = get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &r->mono_ns)))
		return err;
	const char *dev = vms_record_get(rec, "dev");
	if (!dev)
		return VMS_PROTO_E_MISSING;
	if (strlen(dev) > VMS_DISK_NAME_MAX)
		return VMS_PROTO_E_VALUE;
	copy_str(r->dev, sizeof(r->dev), dev);
	/* Columns are a prefix of the kernel's order, and only 11, 15 or 17 long. */
	for (unsigned i = 0; i < VMS_DISK_FIELD_COUNT; i++) {
		err = vms_record_get_u64(rec, disk_field_names[i], &r->v[i]);
		if (err == VMS_PROTO_E_MISSING)
			break;
		if (err)
			return err;
		r->nfields = i + 1;
	}
	for (unsigned i = r->nfields + 1; i < VMS_DISK_FIELD_COUNT; i++)
		if (vms_record_get(rec, disk_field_names[i]))
			return VMS_PROTO_E_VALUE;
	if (r->nfields < VMS_DISK_REQUIRED_FIELDS)
		return VMS_PROTO_E_MISSING;
	if (r->nfields != 11 && r->nfields != 15 && r->nfields != 17)
		return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_cost(const struct vms_record *rec, struct vms_cost_report *r)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "cost") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(r, 0, sizeof(*r));
	if ((err = get_req_u64(rec, "seq", 0, UINT64_MAX, &r->seq)) ||
	    (err = get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &r->mono_ns)))
		return err;
	/* A family the probe lacks may be absent: it cost nothing. */
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		if ((err = get_opt_u64(rec, family_names[f], 0, UINT64_MAX, &r->ns[f])))
			return err;
	if ((err = get_opt_u64(rec, "rss_bytes", 0, UINT64_MAX, &r->rss_bytes)) ||
	    (err = get_opt_u64(rec, "peak_rss_bytes", 0, UINT64_MAX, &r->peak_rss_bytes)))
		return err;
	return get_opt_u64(rec, "other", 0, UINT64_MAX, &r->other_ns);
}

static enum vms_proto_error
get_family(const struct vms_record *rec, enum vms_family *out)
{
	const char *probe = vms_record_get(rec, "probe");
	if (!probe)
		return VMS_PROTO_E_MISSING;
	int f = vms_family_from_name(probe);
	if (f < (int)VMS_FAM_FIRST_ACTIVE)
		return VMS_PROTO_E_VALUE;
	*out = (enum vms_family)f;
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_sample(const struct vms_record *rec, struct vms_sample *s)
{
	enum vms_proto_error err;
	enum vms_family f;
	if (strcmp(rec->type, "sample") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(s, 0, sizeof(*s));
	if ((err = get_req_u64(rec, "seq", 0, UINT64_MAX, &s->seq)) ||
	    (err = get_req_u64(rec, "id", 0, UINT64_MAX, &s->id)) || (err = get_family(rec, &f)))
		return err;
	const char *opname = vms_record_get(rec, "op");
	if (!opname)
		return VMS_PROTO_E_MISSING;
	int op = vms_op_from_name(f, opname);
	if (op < 0)
		return VMS_PROTO_E_VALUE;
	s->op = (enum vms_op)op;
	if (vms_record_get(rec, "errno")) {
		uint64_t e;
		if ((err = get_req_u64(rec, "errno", 1, 4095, &e)))
			return err;
		s->err = (uint32_t)e;
		return VMS_PROTO_OK;
	}
	if ((err = get_req_u64(rec, "start_ns", 0, UINT64_MAX, &s->start_ns)) ||
	    (err = get_req_u64(rec, "end_ns", 0, UINT64_MAX, &s->end_ns)) ||
	    (err = get_req_u64(rec, "ops", 1, UINT64_MAX, &s->ops)) ||
	    (err = get_req_u64(rec, "bytes", 0, UINT64_MAX, &s->bytes)))
		return err;
	/* A measurement takes time, and a throughput moves bytes. */
	if (s->end_ns <= s->start_ns)
		return VMS_PROTO_E_VALUE;
	if (ops[op].kind == VMS_KIND_THROUGHPUT && s->bytes == 0)
		return VMS_PROTO_E_VALUE;
	if (f == VMS_FAM_NETWORK) {
		uint64_t block;
		if ((err = get_req_u64(rec, "block", VMS_MIN_NET_BLOCK, VMS_MAX_NET_BLOCK, &block)))
			return err;
		s->block = (uint32_t)block;
	}
	return VMS_PROTO_OK;
}

enum vms_proto_error
vms_decode_done(const struct vms_record *rec, struct vms_done *d)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "done") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(d, 0, sizeof(*d));
	if ((err = get_req_u64(rec, "seq", 0, UINT64_MAX, &d->seq)) ||
	    (err = get_req_u64(rec, "id", 0, UINT64_MAX, &d->id)) ||
	    (err = get_family(rec, &d->family)) ||
	    (err = get_req_u64(rec, "start_ns", 0, UINT64_MAX, &d->start_ns)) ||
	    (err = get_req_u64(rec, "end_ns", 0, UINT64_MAX, &d->end_ns)) ||
	    (err = get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &d->mono_ns)))
		return err;
	if (d->end_ns < d->start_ns || d->mono_ns < d->end_ns)
		return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
}

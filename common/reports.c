/* Guest -> host messages (include/vmscale/reports.h): hello, cpu, disk, cost, sample, done. */
#include "vmscale/protocol.h"

#include <string.h>

#include "common/proto_internal.h"
#include "vmscale/netudp.h"

static const char *const disk_field_names[VMS_DISK_FIELD_COUNT] = {
    "reads",          "read_merges",   "read_sectors",   "read_ms",         "writes",
    "write_merges",   "write_sectors", "write_ms",       "in_flight",       "io_ms",
    "weighted_io_ms", "discards",      "discard_merges", "discard_sectors", "discard_ms",
    "flushes",        "flush_ms",
};

static const char *
disk_field_key(unsigned i)
{
	return disk_field_names[i];
}

static const char *
cpu_mode_key(unsigned m)
{
	return vms_cpu_mode_name((enum vms_cpu_mode)m);
}

/*
 * Reads the numbers keyed key(0), key(1)... up to the first absent key into v, and their
 * count into *n: the columns of /proc/stat and /proc/diskstats, which newer kernels extend.
 * A key present after an absent one is malformed (VMS_PROTO_E_VALUE).
 */
static enum vms_proto_error
get_columns(const struct vms_record *rec, const char *(*key)(unsigned), unsigned count, uint64_t *v,
            unsigned *n)
{
	enum vms_proto_error err;
	*n = 0;
	for (unsigned i = 0; i < count; i++) {
		err = vms_record_get_u64(rec, key(i), &v[i]);
		if (err == VMS_PROTO_E_MISSING)
			break;
		if (err)
			return err;
		*n = i + 1;
	}
	for (unsigned i = *n + 1; i < count; i++)
		if (vms_record_get(rec, key(i)))
			return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
}

size_t
vms_encode_hello(char *out, size_t outsz, const struct vms_hello *hello)
{
	struct vms_writer w;
	vms_writer_begin(&w, "hello");
	vms_writer_add_u64(&w, "proto", hello->proto);
	vms_writer_add_str(&w, "probe", hello->probe_version);
	vms_writer_add_str(&w, "caps", hello->caps);
	if (hello->view_host)
		vms_writer_add_str(&w, "view", "host");
	return vms_writer_copy(&w, out, outsz);
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
	return vms_writer_copy(&w, out, outsz);
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
	const char *view = vms_record_get(rec, "view");
	if (view && strcmp(view, "host") != 0 && strcmp(view, "guest") != 0)
		return VMS_PROTO_E_VALUE;
	hello->view_host = view && strcmp(view, "host") == 0;
	hello->proto = (unsigned)proto;
	vms_copy_str(hello->probe_version, sizeof(hello->probe_version), probe);
	vms_copy_str(hello->caps, sizeof(hello->caps), caps);
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
	if ((err = get_columns(rec, cpu_mode_key, VMS_CPU_MODE_COUNT, r->ticks, &r->nmodes)))
		return err;
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
	return vms_writer_copy(&w, out, outsz);
}

enum vms_proto_error
vms_decode_disk(const struct vms_record *rec, struct vms_disk_report *r)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "disk") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(r, 0, sizeof(*r));
	if ((err = vms_get_req_u64(rec, "seq", 0, UINT64_MAX, &r->seq)) ||
	    (err = vms_get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &r->mono_ns)))
		return err;
	const char *dev = vms_record_get(rec, "dev");
	if (!dev)
		return VMS_PROTO_E_MISSING;
	if (strlen(dev) > VMS_DISK_NAME_MAX)
		return VMS_PROTO_E_VALUE;
	vms_copy_str(r->dev, sizeof(r->dev), dev);
	/* Columns are a prefix of the kernel's order, and only 11, 15 or 17 long. */
	if ((err = get_columns(rec, disk_field_key, VMS_DISK_FIELD_COUNT, r->v, &r->nfields)))
		return err;
	if (r->nfields < VMS_DISK_REQUIRED_FIELDS)
		return VMS_PROTO_E_MISSING;
	if (r->nfields != 11 && r->nfields != 15 && r->nfields != 17)
		return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
}

size_t
vms_encode_cost(char *out, size_t outsz, const struct vms_cost_report *r)
{
	struct vms_writer w;
	vms_writer_begin(&w, "cost");
	vms_writer_add_u64(&w, "seq", r->seq);
	vms_writer_add_u64(&w, "mono_ns", r->mono_ns);
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		vms_writer_add_u64(&w, vms_family_name((enum vms_family)f), r->ns[f]);
	vms_writer_add_u64(&w, "other", r->other_ns);
	if (r->rss_bytes)
		vms_writer_add_u64(&w, "rss_bytes", r->rss_bytes);
	if (r->peak_rss_bytes)
		vms_writer_add_u64(&w, "peak_rss_bytes", r->peak_rss_bytes);
	return vms_writer_copy(&w, out, outsz);
}

enum vms_proto_error
vms_decode_cost(const struct vms_record *rec, struct vms_cost_report *r)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "cost") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(r, 0, sizeof(*r));
	if ((err = vms_get_req_u64(rec, "seq", 0, UINT64_MAX, &r->seq)) ||
	    (err = vms_get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &r->mono_ns)))
		return err;
	/* A family the probe lacks may be absent: it cost nothing. */
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		if ((err = vms_get_opt_u64(rec, vms_family_name((enum vms_family)f), 0, UINT64_MAX,
		                           &r->ns[f])))
			return err;
	if ((err = vms_get_opt_u64(rec, "rss_bytes", 0, UINT64_MAX, &r->rss_bytes)) ||
	    (err = vms_get_opt_u64(rec, "peak_rss_bytes", 0, UINT64_MAX, &r->peak_rss_bytes)))
		return err;
	return vms_get_opt_u64(rec, "other", 0, UINT64_MAX, &r->other_ns);
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
		return vms_writer_copy(&w, out, outsz);
	}
	vms_writer_add_str(&w, "probe", vms_family_name(vms_op_family(s->op)));
	vms_writer_add_str(&w, "op", vms_op_name(s->op));
	if (s->err) {
		vms_writer_add_u64(&w, "errno", s->err);
		return vms_writer_copy(&w, out, outsz);
	}
	vms_writer_add_u64(&w, "start_ns", s->start_ns);
	vms_writer_add_u64(&w, "end_ns", s->end_ns);
	vms_writer_add_u64(&w, "ops", s->ops);
	vms_writer_add_u64(&w, "bytes", s->bytes);
	if (vms_op_family(s->op) == VMS_FAM_NETWORK)
		vms_writer_add_u64(&w, "block", s->block);
	return vms_writer_copy(&w, out, outsz);
}

enum vms_proto_error
vms_decode_sample(const struct vms_record *rec, struct vms_sample *s)
{
	enum vms_proto_error err;
	enum vms_family f;
	if (strcmp(rec->type, "sample") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(s, 0, sizeof(*s));
	if ((err = vms_get_req_u64(rec, "seq", 0, UINT64_MAX, &s->seq)) ||
	    (err = vms_get_req_u64(rec, "id", 0, UINT64_MAX, &s->id)) ||
	    (err = vms_get_family(rec, &f)))
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
		if ((err = vms_get_req_u64(rec, "errno", 1, 4095, &e)))
			return err;
		s->err = (uint32_t)e;
		return VMS_PROTO_OK;
	}
	if ((err = vms_get_req_u64(rec, "start_ns", 0, UINT64_MAX, &s->start_ns)) ||
	    (err = vms_get_req_u64(rec, "end_ns", 0, UINT64_MAX, &s->end_ns)) ||
	    (err = vms_get_req_u64(rec, "ops", 1, UINT64_MAX, &s->ops)) ||
	    (err = vms_get_req_u64(rec, "bytes", 0, UINT64_MAX, &s->bytes)))
		return err;
	/* A measurement takes time, and a throughput moves bytes. */
	if (s->end_ns <= s->start_ns)
		return VMS_PROTO_E_VALUE;
	if (vms_op_kind(s->op) == VMS_KIND_THROUGHPUT && s->bytes == 0)
		return VMS_PROTO_E_VALUE;
	if (f == VMS_FAM_NETWORK) {
		uint64_t block;
		if ((err = vms_get_req_u64(rec, "block", VMS_MIN_NET_BLOCK, VMS_MAX_NET_BLOCK,
		                           &block)))
			return err;
		s->block = (uint32_t)block;
	}
	/* UDP: the blocks after the first of at least two datagrams (PROTOCOL.md), nothing
	 * else: any other byte count claims a rate no burst had. */
	if (s->op == VMS_OP_NET_UDP_RECV &&
	    (s->ops < 2 || s->ops > VMS_UDP_MAX_COUNT || s->bytes != (s->ops - 1) * s->block))
		return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
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
	return vms_writer_copy(&w, out, outsz);
}

enum vms_proto_error
vms_decode_done(const struct vms_record *rec, struct vms_done *d)
{
	enum vms_proto_error err;
	if (strcmp(rec->type, "done") != 0)
		return VMS_PROTO_E_UNKNOWN;
	memset(d, 0, sizeof(*d));
	if ((err = vms_get_req_u64(rec, "seq", 0, UINT64_MAX, &d->seq)) ||
	    (err = vms_get_req_u64(rec, "id", 0, UINT64_MAX, &d->id)) ||
	    (err = vms_get_family(rec, &d->family)) ||
	    (err = vms_get_req_u64(rec, "start_ns", 0, UINT64_MAX, &d->start_ns)) ||
	    (err = vms_get_req_u64(rec, "end_ns", 0, UINT64_MAX, &d->end_ns)) ||
	    (err = vms_get_req_u64(rec, "mono_ns", 0, UINT64_MAX, &d->mono_ns)))
		return err;
	if (d->end_ns < d->start_ns || d->mono_ns < d->end_ns)
		return VMS_PROTO_E_VALUE;
	return VMS_PROTO_OK;
}

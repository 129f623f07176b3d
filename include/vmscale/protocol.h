/*
 * vmscale wire protocol, version 1: shared by vmscale-probe (guest) and vmscaled (host).
 *
 * The transport is a byte stream (a virtio-serial port named org.vmscale.probe.0).
 * The stream carries records, one per line:
 *
 *   record = type *( SP key "=" value ) LF
 *   type   = 1..15 of [a-z_]
 *   key    = 1..31 of [a-z0-9_]
 *   value  = 1..127 printable ASCII characters other than SP and "="
 *
 * A record is at most VMS_PROTO_MAX_RECORD bytes including the LF, has at most
 * VMS_PROTO_MAX_FIELDS fields, and names each key once. Anything else is rejected
 * whole; the reader resynchronises at the next LF. Unknown keys in a known record
 * are ignored (forward compatibility within a version); unknown record types are
 * rejected and counted. Numbers are unsigned decimal, no sign, no leading "+",
 * at most 20 digits, and must fit in 64 bits.
 *
 * Guest -> host
 *   hello proto=1 probe=VERSION caps=cpu[,...]
 *       Sent when the probe starts, whenever the host (re)connects, and in reply to "host".
 *   cpu seq=N mono_ns=N real_ns=N hz=N ncpu=N user=T nice=T system=T idle=T
 *       [iowait=T irq=T softirq=T steal=T guest=T guest_nice=T]
 *       Cumulative /proc/stat ticks (units of 1/hz s) of all CPUs; older kernels have
 *       fewer columns and omit the missing keys. seq counts reports since the probe
 *       started; mono_ns and real_ns are the guest's CLOCK_MONOTONIC and CLOCK_REALTIME.
 *
 * Host -> guest
 *   host proto=1
 *       Sent when the host connects; the probe answers with hello.
 *   schedule cpu_ms=N
 *       Report interval of the CPU family, VMS_SCHEDULE_MIN_MS..VMS_SCHEDULE_MAX_MS.
 *
 * See probes/PROTOCOL.md for the rationale and examples.
 */
#ifndef VMSCALE_PROTOCOL_H
#define VMSCALE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMS_PROTO_VERSION 1
#define VMS_PROTO_CHANNEL_NAME "org.vmscale.probe.0"
#define VMS_PROTO_MAX_RECORD 1024 /* bytes, including the LF */
#define VMS_PROTO_MAX_FIELDS 24
#define VMS_PROTO_MAX_TYPE 15
#define VMS_PROTO_MAX_KEY 31
#define VMS_PROTO_MAX_VALUE 127

#define VMS_SCHEDULE_MIN_MS 1000u
#define VMS_SCHEDULE_MAX_MS 3600000u
#define VMS_SCHEDULE_DEFAULT_CPU_MS 5000u

/* Why a record was rejected: each has a stable name, used as a metric label. */
enum vms_proto_error {
	VMS_PROTO_OK = 0,
	VMS_PROTO_E_OVERSIZED,   /* longer than VMS_PROTO_MAX_RECORD */
	VMS_PROTO_E_SYNTAX,      /* not type *(SP key=value), or a bad character */
	VMS_PROTO_E_TOO_MANY,    /* more than VMS_PROTO_MAX_FIELDS fields */
	VMS_PROTO_E_DUPLICATE,   /* a key given twice */
	VMS_PROTO_E_UNKNOWN,     /* a record type this side does not know */
	VMS_PROTO_E_MISSING,     /* a required field is absent */
	VMS_PROTO_E_VALUE,       /* a field's value is not a valid number or out of range */
	VMS_PROTO_E_VERSION,     /* an unsupported protocol version */
	VMS_PROTO_E_SEQUENCE,    /* a report before hello, or counters that went backwards */
	VMS_PROTO_E_COUNT
};

const char *vms_proto_error_name(enum vms_proto_error err);

struct vms_field {
	const char *key;
	const char *value;
};

/* A parsed record; its strings point into its own copy of the line. */
struct vms_record {
	const char *type;
	size_t nfields;
	struct vms_field fields[VMS_PROTO_MAX_FIELDS];
	char text[VMS_PROTO_MAX_RECORD];
};

/* Parse one line (without its LF; a trailing CR is not allowed). */
enum vms_proto_error vms_record_parse(struct vms_record *rec, const char *line, size_t len);
const char *vms_record_get(const struct vms_record *rec, const char *key);
/* 0 on success; VMS_PROTO_E_MISSING or VMS_PROTO_E_VALUE otherwise. */
enum vms_proto_error vms_record_get_u64(const struct vms_record *rec, const char *key,
					uint64_t *out);

/* Builds one record; any overflow or bad character poisons it (vms_writer_finish fails). */
struct vms_writer {
	char buf[VMS_PROTO_MAX_RECORD];
	size_t len;
	bool failed;
};

void vms_writer_begin(struct vms_writer *w, const char *type);
void vms_writer_add_u64(struct vms_writer *w, const char *key, uint64_t value);
void vms_writer_add_str(struct vms_writer *w, const char *key, const char *value);
/* Appends the LF; returns the record length, or 0 if the record is invalid. */
size_t vms_writer_finish(struct vms_writer *w);

/*
 * Splits a byte stream into lines of at most VMS_PROTO_MAX_RECORD bytes.
 * An overlong line is discarded up to its LF and reported once as VMS_PROTO_E_OVERSIZED.
 */
struct vms_linebuf {
	char buf[VMS_PROTO_MAX_RECORD];
	size_t len;
	bool discarding;
};

void vms_linebuf_reset(struct vms_linebuf *lb);
/*
 * Feeds bytes; calls on_line(ctx, line, len) for every complete line (LF removed) and
 * on_error(ctx, VMS_PROTO_E_OVERSIZED) for every overlong one. Returns bytes consumed (= n).
 */
size_t vms_linebuf_feed(struct vms_linebuf *lb, const char *data, size_t n,
			void (*on_line)(void *ctx, const char *line, size_t len),
			void (*on_error)(void *ctx, enum vms_proto_error err), void *ctx);

/* CPU modes in /proc/stat column order. */
enum vms_cpu_mode {
	VMS_CPU_USER,
	VMS_CPU_NICE,
	VMS_CPU_SYSTEM,
	VMS_CPU_IDLE,
	VMS_CPU_IOWAIT,
	VMS_CPU_IRQ,
	VMS_CPU_SOFTIRQ,
	VMS_CPU_STEAL,
	VMS_CPU_GUEST,
	VMS_CPU_GUEST_NICE,
	VMS_CPU_MODE_COUNT
};
#define VMS_CPU_REQUIRED_MODES 4 /* user nice system idle: every Linux since 2.4 */

const char *vms_cpu_mode_name(enum vms_cpu_mode mode);

struct vms_hello {
	unsigned proto;
	char probe_version[VMS_PROTO_MAX_VALUE + 1];
	char caps[VMS_PROTO_MAX_VALUE + 1];
};

struct vms_cpu_report {
	uint64_t seq;
	uint64_t mono_ns;
	uint64_t real_ns;
	uint32_t hz;
	uint32_t ncpu;
	unsigned nmodes; /* modes present: the first nmodes of enum vms_cpu_mode */
	uint64_t ticks[VMS_CPU_MODE_COUNT];
};

struct vms_schedule {
	uint32_t cpu_ms;
};

size_t vms_encode_hello(char *out, size_t outsz, const struct vms_hello *hello);
size_t vms_encode_cpu(char *out, size_t outsz, const struct vms_cpu_report *report);
size_t vms_encode_host(char *out, size_t outsz);
size_t vms_encode_schedule(char *out, size_t outsz, const struct vms_schedule *sched);

enum vms_proto_error vms_decode_hello(const struct vms_record *rec, struct vms_hello *hello);
enum vms_proto_error vms_decode_cpu(const struct vms_record *rec, struct vms_cpu_report *report);
enum vms_proto_error vms_decode_schedule(const struct vms_record *rec, struct vms_schedule *sched);

#endif

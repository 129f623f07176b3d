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
 * Guest -> host (every record but hello carries seq, one counter over all types)
 *   hello proto=1 probe=VERSION caps=FAMILY[,...]
 *       Sent when the probe starts, whenever the host (re)connects, and in reply to "host".
 *   cpu seq=N mono_ns=N real_ns=N hz=N ncpu=N user=T nice=T system=T idle=T
 *       [iowait=T irq=T softirq=T steal=T guest=T guest_nice=T]
 *       Cumulative /proc/stat ticks (units of 1/hz s) of all CPUs; older kernels have
 *       fewer columns and omit the missing keys. mono_ns and real_ns are the guest's
 *       CLOCK_MONOTONIC and CLOCK_REALTIME.
 *   disk seq=N mono_ns=N dev=NAME reads=N ... [flush_ms=N]
 *       Cumulative /proc/diskstats counters of one block device (11, 15 or 17 columns).
 *   cost seq=N mono_ns=N cpu=NS disk=NS cpu_work=NS ... other=NS [rss_bytes=N peak_rss_bytes=N]
 *       Cumulative CPU time the probe spent per family since it started; its memory.
 *   sample seq=N id=N probe=FAMILY op=OP start_ns=N end_ns=N ops=N bytes=N [block=N]
 *   sample seq=N id=N probe=FAMILY op=OP errno=N
 *       One measurement of an active run (guest monotonic times), or why it failed.
 *   done seq=N id=N probe=FAMILY start_ns=N end_ns=N mono_ns=N
 *       The run is over; mono_ns is when this record was written.
 *
 * Host -> guest
 *   host proto=1
 *       Sent when the host connects; the probe answers with hello.
 *   schedule cpu_ms=N [disk_ms=N cpu_work_units=N mem_bytes=N mem_ms=N disk_read_bytes=N
 *       disk_read_ms=N net_bytes=N net_ms=N net_blocks=N[,N...] micro_ms=N]
 *       Passive intervals and active sizes/bounds; absent keys take the defaults below.
 *   run id=N probe=FAMILY [addr=ADDR port=N token=HEX]
 *       Run one active family now (network: against the host's responder with this token).
 *
 * See probes/PROTOCOL.md for the rationale and examples.
 */
#ifndef VMSCALE_PROTOCOL_H
#define VMSCALE_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmscale/token.h"

#define VMS_PROTO_VERSION 1
#define VMS_PROTO_CHANNEL_NAME "org.vmscale.probe.0"
/* The vsock port the probe connects to unless told otherwise (vmscaled's vsock-port). */
#define VMS_PROTO_VSOCK_PORT 18768u
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

/* Probe families. Passive ones report on the guest's timer; active ones run when the host
 * says "run", so that the host can keep them from overlapping across guests. */
enum vms_family {
	VMS_FAM_CPU,       /* /proc/stat split (passive) */
	VMS_FAM_DISK,      /* /proc/diskstats (passive) */
	VMS_FAM_CPU_WORK,  /* fixed arithmetic work, timed */
	VMS_FAM_MEMORY,    /* copy/read/write bandwidth */
	VMS_FAM_DISK_READ, /* O_DIRECT read of the guest's disk */
	VMS_FAM_NETWORK,   /* TCP send/receive against vmscaled's responder */
	VMS_FAM_MICRO,     /* lmbench-style latencies */
	VMS_FAM_COUNT
};
#define VMS_FAM_FIRST_ACTIVE VMS_FAM_CPU_WORK
const char *vms_family_name(enum vms_family f);
int vms_family_from_name(const char *name); /* -1 if unknown */

/* What one sample measures; the value's meaning follows its kind. */
enum vms_op_kind {
	VMS_KIND_RATE,       /* ops per second (cpu_work) */
	VMS_KIND_THROUGHPUT, /* bytes per second */
	VMS_KIND_LATENCY,    /* seconds per op */
};
enum vms_op {
	VMS_OP_CPU_WORK,
	VMS_OP_MEM_COPY,
	VMS_OP_MEM_READ,
	VMS_OP_MEM_WRITE,
	VMS_OP_DISK_READ,
	VMS_OP_NET_SEND,
	VMS_OP_NET_RECV,
	VMS_OP_FORK_EXIT,
	VMS_OP_FORK_EXEC,
	VMS_OP_CTXSW,
	VMS_OP_FILE_0K,
	VMS_OP_FILE_10K,
	VMS_OP_MEM_LATENCY,
	VMS_OP_COUNT
};
enum vms_family vms_op_family(enum vms_op op);
enum vms_op_kind vms_op_kind(enum vms_op op);
/* The wire name within its family, also the metric label: "copy", "send", "fork_exit"... */
const char *vms_op_name(enum vms_op op);
int vms_op_from_name(enum vms_family f, const char *name); /* -1 if unknown */

#define VMS_MAX_NET_BLOCKS 6
#define VMS_MAX_RUN_SAMPLES 16 /* samples one run may report: 2 directions x 6 blocks */

/* Defaults of the schedule (the host's configuration overrides them). */
#define VMS_SCHEDULE_DEFAULT_DISK_MS 5000u
#define VMS_DEFAULT_CPU_WORK_UNITS 172000u /* ~10 ms on an idle core of a 2.6 GHz EPYC */
#define VMS_DEFAULT_MEM_BYTES (32ull << 20)
#define VMS_MIN_MEM_BYTES (8ull << 20) /* below this one measures caches (seed 004) */
#define VMS_MAX_MEM_BYTES (1ull << 30)
#define VMS_DEFAULT_MEM_MS 30u
#define VMS_DEFAULT_DISK_READ_BYTES (8ull << 20)
#define VMS_MAX_DISK_READ_BYTES (1ull << 30)
#define VMS_DEFAULT_DISK_READ_MS 1000u
#define VMS_DEFAULT_NET_BYTES (2ull << 20)
#define VMS_MAX_NET_BYTES (1ull << 30)
#define VMS_DEFAULT_NET_MS 1000u
#define VMS_DEFAULT_MICRO_MS 20u
#define VMS_MAX_BOUND_MS 60000u /* no single measurement may be allowed longer */
#define VMS_MIN_NET_BLOCK 64u
#define VMS_MAX_NET_BLOCK (1u << 20)

struct vms_schedule {
	uint32_t cpu_ms;  /* passive intervals */
	uint32_t disk_ms;
	uint64_t cpu_work_units; /* active sizes and time bounds */
	uint64_t mem_bytes;
	uint32_t mem_ms;
	uint64_t disk_read_bytes;
	uint32_t disk_read_ms;
	uint64_t net_bytes;
	uint32_t net_ms;
	uint32_t net_blocks[VMS_MAX_NET_BLOCKS];
	unsigned net_nblocks;
	uint32_t micro_ms;
};
/* The schedule a probe follows until the host sends one. */
void vms_schedule_defaults(struct vms_schedule *s);

struct vms_run {
	uint64_t id;
	enum vms_family family;
	char addr[64]; /* network only: where the responder is, as the guest reaches it */
	uint32_t port;
	char token[VMS_TOKEN_LEN + 1];
};

#define VMS_DISK_FIELD_COUNT 17
#define VMS_DISK_REQUIRED_FIELDS 11
#define VMS_DISK_NAME_MAX 31
#define VMS_DISK_IN_FLIGHT 8 /* the one column that is a gauge, not a cumulative count */

struct vms_disk_report {
	uint64_t seq;
	uint64_t mono_ns;
	char dev[VMS_DISK_NAME_MAX + 1];
	unsigned nfields; /* 11, 15 or 17 */
	uint64_t v[VMS_DISK_FIELD_COUNT];
};

struct vms_cost_report {
	uint64_t seq;
	uint64_t mono_ns;
	uint64_t ns[VMS_FAM_COUNT];
	uint64_t other_ns; /* the probe's own loop, protocol and start-up */
	uint64_t rss_bytes, peak_rss_bytes; /* the probe's resident memory now and at most */
};

struct vms_sample {
	uint64_t seq;
	uint64_t id;
	enum vms_op op;
	uint32_t err; /* errno of a failed measurement; the other fields are then 0 */
	uint64_t start_ns, end_ns, ops, bytes;
	uint32_t block; /* network only */
};

struct vms_done {
	uint64_t seq;
	uint64_t id;
	enum vms_family family;
	uint64_t start_ns, end_ns, mono_ns;
};

size_t vms_encode_hello(char *out, size_t outsz, const struct vms_hello *hello);
size_t vms_encode_cpu(char *out, size_t outsz, const struct vms_cpu_report *report);
size_t vms_encode_disk(char *out, size_t outsz, const struct vms_disk_report *report);
size_t vms_encode_cost(char *out, size_t outsz, const struct vms_cost_report *report);
size_t vms_encode_sample(char *out, size_t outsz, const struct vms_sample *sample);
size_t vms_encode_done(char *out, size_t outsz, const struct vms_done *done);
size_t vms_encode_host(char *out, size_t outsz);
size_t vms_encode_schedule(char *out, size_t outsz, const struct vms_schedule *sched);
size_t vms_encode_run(char *out, size_t outsz, const struct vms_run *run);

enum vms_proto_error vms_decode_hello(const struct vms_record *rec, struct vms_hello *hello);
enum vms_proto_error vms_decode_cpu(const struct vms_record *rec, struct vms_cpu_report *report);
enum vms_proto_error vms_decode_disk(const struct vms_record *rec, struct vms_disk_report *r);
enum vms_proto_error vms_decode_cost(const struct vms_record *rec, struct vms_cost_report *r);
enum vms_proto_error vms_decode_sample(const struct vms_record *rec, struct vms_sample *s);
enum vms_proto_error vms_decode_done(const struct vms_record *rec, struct vms_done *d);
enum vms_proto_error vms_decode_schedule(const struct vms_record *rec, struct vms_schedule *sched);
enum vms_proto_error vms_decode_run(const struct vms_record *rec, struct vms_run *run);

#endif

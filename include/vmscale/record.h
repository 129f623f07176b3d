/*
 * The line/record codec of the wire protocol (vmscale/protocol.h has the messages):
 *
 *   record = type *( SP key "=" value ) LF
 *   type   = 1..15 of [a-z_]
 *   key    = 1..31 of [a-z0-9_]
 *   value  = 1..127 printable ASCII characters other than SP and "="
 *
 * A record is at most VMS_PROTO_MAX_RECORD bytes including the LF, has at most
 * VMS_PROTO_MAX_FIELDS fields, and names each key once. Anything else is rejected
 * whole; the reader resynchronises at the next LF. Numbers are unsigned decimal, no sign,
 * no leading "+", at most 20 digits, and must fit in 64 bits.
 */
#ifndef VMSCALE_RECORD_H
#define VMSCALE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMS_PROTO_MAX_RECORD 1024 /* bytes, including the LF */
#define VMS_PROTO_MAX_FIELDS 24
#define VMS_PROTO_MAX_TYPE 15
#define VMS_PROTO_MAX_KEY 31
#define VMS_PROTO_MAX_VALUE 127

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
	VMS_PROTO_E_IMPLAUSIBLE, /* well-formed, but beyond what the guest could physically do */
	VMS_PROTO_E_UNMATCHED, /* a measurement the host has no record of (a UDP burst not sent) */
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

#endif

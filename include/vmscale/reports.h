/*
 * Guest -> host messages of the wire protocol (vmscale/protocol.h has the overview). Every
 * record but hello carries seq, one counter over all types:
 *
 *   hello proto=1 probe=VERSION caps=FAMILY[,...] [view=host|guest]
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
 */
#ifndef VMSCALE_REPORTS_H
#define VMSCALE_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "vmscale/families.h"
#include "vmscale/record.h"

struct vms_hello {
	unsigned proto;
	char probe_version[VMS_PROTO_MAX_VALUE + 1];
	char caps[VMS_PROTO_MAX_VALUE + 1];
	/* What the probe's /proc shows: its own kernel's counters (a VM, a container with
	 * lxcfs), or the host's (a container without lxcfs), which must never pass for the
	 * guest's. Absent in a hello: "guest" (a probe in a VM, or one older than this). */
	bool view_host;
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
	uint64_t other_ns;                  /* the probe's own loop, protocol and start-up */
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

enum vms_proto_error vms_decode_hello(const struct vms_record *rec, struct vms_hello *hello);
enum vms_proto_error vms_decode_cpu(const struct vms_record *rec, struct vms_cpu_report *report);
enum vms_proto_error vms_decode_disk(const struct vms_record *rec, struct vms_disk_report *r);
enum vms_proto_error vms_decode_cost(const struct vms_record *rec, struct vms_cost_report *r);
enum vms_proto_error vms_decode_sample(const struct vms_record *rec, struct vms_sample *s);
enum vms_proto_error vms_decode_done(const struct vms_record *rec, struct vms_done *d);

#endif

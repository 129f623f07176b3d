/*
 * The protocol's vocabulary: the probe families, the ops each measures, and the CPU modes of
 * /proc/stat. Each has a stable wire name, also used as a metric label.
 */
#ifndef VMSCALE_FAMILIES_H
#define VMSCALE_FAMILIES_H

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

/* Probe families. Passive ones report on the guest's timer; active ones run when the host
 * says "run", so that the host can keep them from overlapping across guests. */
enum vms_family {
	VMS_FAM_CPU,       /* /proc/stat split (passive) */
	VMS_FAM_DISK,      /* /proc/diskstats (passive) */
	VMS_FAM_CPU_WORK,  /* fixed arithmetic work, timed */
	VMS_FAM_MEMORY,    /* copy/read/write bandwidth */
	VMS_FAM_DISK_READ, /* O_DIRECT read of the guest's disk */
	VMS_FAM_NETWORK,   /* TCP send/receive (and UDP receive) against vmscaled's responder */
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
	VMS_OP_NET_UDP_RECV, /* UDP datagrams the host paced to the guest */
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

#endif

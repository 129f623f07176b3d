/* The protocol's vocabulary (include/vmscale/families.h): families, ops, CPU modes. */
#include "vmscale/families.h"

#include <string.h>

#include "common/proto_internal.h"

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
    [VMS_OP_NET_UDP_RECV] = {VMS_FAM_NETWORK, VMS_KIND_THROUGHPUT, "udp_receive"},
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

enum vms_proto_error
vms_get_family(const struct vms_record *rec, enum vms_family *out)
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

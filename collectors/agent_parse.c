/* The QEMU guest agent's replies, read with bounds (see agent_parse.h). */
#include "collectors/agent_parse.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/alloc.h"

void
vms_agent_scratch_init(struct vms_agent_scratch *s)
{
	s->nodes = vms_xcalloc(VMS_AGENT_NODES_MAX, sizeof(*s->nodes));
}

void
vms_agent_scratch_fini(struct vms_agent_scratch *s)
{
	free(s->nodes);
	s->nodes = NULL;
}

/* Parses the reply and finds its "return" value, which must be an array. */
static int
parse_return(struct vms_agent_scratch *s, struct vms_json *j, const char *reply, size_t len,
             int *ret, char *err, size_t errsz)
{
	char why[160];
	if (len > VMS_AGENT_REPLY_MAX) {
		snprintf(err, errsz, "reply of %zu bytes (at most %u)", len, VMS_AGENT_REPLY_MAX);
		return -1;
	}
	if (vms_json_parse(j, reply, len, s->nodes, VMS_AGENT_NODES_MAX, VMS_AGENT_DEPTH_MAX, why,
	                   sizeof(why)) < 0) {
		snprintf(err, errsz, "not JSON within bounds: %s", why);
		return -1;
	}
	*ret = vms_json_member(j, 0, "return");
	if (*ret < 0 || j->nodes[*ret].type != VMS_JSON_ARRAY) {
		snprintf(err, errsz, "no \"return\" array");
		return -1;
	}
	return 0;
}

/* The agent's names of the modes, in enum vms_cpu_mode's order. */
static const char *const cpu_keys[VMS_CPU_MODE_COUNT] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestnice",
};

/* One CPU's entry: adds its times to out; *modes is how many leading modes it gave. */
static int
add_cpu(const struct vms_json *j, uint32_t e, struct vms_cpu_report *out, unsigned *modes,
        char *err, size_t errsz)
{
	if (j->nodes[e].type != VMS_JSON_OBJECT) {
		snprintf(err, errsz, "a CPU entry is not an object");
		return -1;
	}
	int type = vms_json_member(j, e, "type");
	if (type < 0 || !vms_json_string_is(j, (uint32_t)type, "linux")) {
		snprintf(err, errsz, "a CPU entry is not of type \"linux\"");
		return -1;
	}
	*modes = 0;
	for (unsigned m = 0; m < VMS_CPU_MODE_COUNT; m++) {
		int v = vms_json_member(j, e, cpu_keys[m]);
		uint64_t x;
		if (v < 0)
			break;
		if (vms_json_u64(j, (uint32_t)v, VMS_AGENT_VALUE_MAX, &x) < 0) {
			snprintf(err, errsz, "CPU %s is not a whole number of ms up to 2^53",
			         cpu_keys[m]);
			return -1;
		}
		out->ticks[m] += x; /* at most 1024 * 2^53 < 2^64 */
		*modes = m + 1;
	}
	if (*modes < VMS_CPU_REQUIRED_MODES) {
		snprintf(err, errsz, "a CPU entry lacks %s", cpu_keys[*modes]);
		return -1;
	}
	return 0;
}

int
vms_agent_parse_cpustats(struct vms_agent_scratch *s, const char *reply, size_t len,
                         struct vms_cpu_report *out, char *err, size_t errsz)
{
	struct vms_json j;
	int ret;
	if (parse_return(s, &j, reply, len, &ret, err, errsz) < 0)
		return -1;
	uint32_t count = j.nodes[ret].count;
	if (count == 0 || count > VMS_AGENT_MAX_CPUS) {
		snprintf(err, errsz, "%u CPUs (1..%u)", count, (unsigned)VMS_AGENT_MAX_CPUS);
		return -1;
	}
	*out = (struct vms_cpu_report){.hz = 1000, .ncpu = count, .nmodes = VMS_CPU_MODE_COUNT};
	int e = vms_json_first(&j, (uint32_t)ret);
	for (uint32_t i = 0; i < count; i++, e = (int)j.nodes[e].end) {
		unsigned modes;
		if (add_cpu(&j, (uint32_t)e, out, &modes, err, errsz) < 0)
			return -1;
		if (modes < out->nmodes)
			out->nmodes = modes;
	}
	for (unsigned m = out->nmodes; m < VMS_CPU_MODE_COUNT; m++)
		out->ticks[m] = 0;
	return 0;
}

/* The agent's names of /proc/diskstats' columns, in their order. */
static const char *const disk_keys[VMS_DISK_FIELD_COUNT] = {
    "read-ios",     "read-merges",   "read-sectors",   "read-ticks",      "write-ios",
    "write-merges", "write-sectors", "write-ticks",    "ios-pgr",         "total-ticks",
    "weight-ticks", "discard-ios",   "discard-merges", "discard-sectors", "discard-ticks",
    "flush-ios",    "flush-ticks",
};

static bool
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int
vms_agent_whole_disk(const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "nbd", "sr", "fd"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (has_prefix(name, skip[i]))
			return 0;
	size_t n = strlen(name), d = n;
	while (d > 0 && isdigit((unsigned char)name[d - 1]))
		d--;
	if (d == n || d == 0)
		return 1; /* no trailing number: vda, sda */
	/* nvme0n1p1, mmcblk0p1: "<digit>p<number>" */
	if (d >= 2 && name[d - 1] == 'p' && isdigit((unsigned char)name[d - 2]))
		return 0;
	/* vda1, sdb2, xvda1, hda1: letters then a number */
	for (size_t i = 0; i < d; i++)
		if (!isalpha((unsigned char)name[i]))
			return 1; /* nvme0n1, mmcblk0 */
	return !(has_prefix(name, "sd") || has_prefix(name, "vd") || has_prefix(name, "xvd") ||
	         has_prefix(name, "hd"));
}

static bool
valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.:", *s))
			return false;
	return true;
}

/* One device's entry into r; returns 1 to keep it, 0 to skip it, -1 to reject the reply. */
static int
read_disk(const struct vms_json *j, uint32_t e, struct vms_disk_report *r, char *err, size_t errsz)
{
	int name = j->nodes[e].type == VMS_JSON_OBJECT ? vms_json_member(j, e, "name") : -1;
	*r = (struct vms_disk_report){0};
	if (name < 0 || vms_json_string(j, (uint32_t)name, r->dev, sizeof(r->dev)) < 0 ||
	    !valid_name(r->dev)) {
		snprintf(err, errsz, "a disk without a name of 1..%d of [A-Za-z0-9-_.:]",
		         VMS_DISK_NAME_MAX);
		return -1;
	}
	int stats = vms_json_member(j, e, "stats");
	if (stats < 0 || j->nodes[stats].type != VMS_JSON_OBJECT) {
		snprintf(err, errsz, "disk %s without a stats object", r->dev);
		return -1;
	}
	unsigned have = 0;
	for (unsigned f = 0; f < VMS_DISK_FIELD_COUNT; f++) {
		int v = vms_json_member(j, (uint32_t)stats, disk_keys[f]);
		if (v < 0)
			break;
		if (vms_json_u64(j, (uint32_t)v, VMS_AGENT_VALUE_MAX, &r->v[f]) < 0) {
			snprintf(err, errsz, "disk %s: %s is not a whole number up to 2^53", r->dev,
			         disk_keys[f]);
			return -1;
		}
		have = f + 1;
	}
	r->nfields = have >= 17 ? 17 : have >= 15 ? 15 : have >= VMS_DISK_REQUIRED_FIELDS ? 11 : 0;
	for (unsigned f = r->nfields; f < VMS_DISK_FIELD_COUNT; f++)
		r->v[f] = 0;
	/* A device without the classic columns has nothing to show; not the guest's fault. */
	return r->nfields && vms_agent_whole_disk(r->dev);
}

int
vms_agent_parse_diskstats(struct vms_agent_scratch *s, const char *reply, size_t len,
                          struct vms_disk_report *out, unsigned max, unsigned *n, unsigned *dropped,
                          char *err, size_t errsz)
{
	struct vms_json j;
	int ret;
	*n = *dropped = 0;
	if (parse_return(s, &j, reply, len, &ret, err, errsz) < 0)
		return -1;
	uint32_t count = j.nodes[ret].count;
	if (count > VMS_AGENT_MAX_DISK_ENTRIES) {
		snprintf(err, errsz, "%u devices (at most %u)", count,
		         (unsigned)VMS_AGENT_MAX_DISK_ENTRIES);
		return -1;
	}
	int e = vms_json_first(&j, (uint32_t)ret);
	for (uint32_t i = 0; i < count; i++, e = (int)j.nodes[e].end) {
		struct vms_disk_report r;
		int rc = read_disk(&j, (uint32_t)e, &r, err, errsz);
		if (rc < 0)
			return -1;
		if (!rc)
			continue;
		for (unsigned k = 0; k < *n; k++)
			if (strcmp(out[k].dev, r.dev) == 0) {
				snprintf(err, errsz, "disk %s listed twice", r.dev);
				return -1;
			}
		if (*n < max)
			out[(*n)++] = r;
		else
			(*dropped)++;
	}
	return 0;
}

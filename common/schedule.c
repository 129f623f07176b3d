/* Host -> guest messages (include/vmscale/schedule.h): host, schedule, run. */
#include "vmscale/protocol.h"

#include <stdio.h>
#include <string.h>

#include "common/proto_internal.h"
#include "vmscale/netudp.h"

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

size_t
vms_encode_host(char *out, size_t outsz)
{
	struct vms_writer w;
	vms_writer_begin(&w, "host");
	vms_writer_add_u64(&w, "proto", VMS_PROTO_VERSION);
	return vms_writer_copy(&w, out, outsz);
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
	return vms_writer_copy(&w, out, outsz);
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
		if (r->udp_port) {
			vms_writer_add_u64(&w, "udp_port", r->udp_port);
			vms_writer_add_u64(&w, "udp_rate", r->udp_rate);
		}
	}
	return vms_writer_copy(&w, out, outsz);
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
	if ((err =
	         vms_get_req_u64(rec, "cpu_ms", VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS, &cpu_ms)))
		return err;
	s->cpu_ms = (uint32_t)cpu_ms;
	if ((err = vms_get_opt_u32(rec, "disk_ms", VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS,
	                           &s->disk_ms)) ||
	    (err = vms_get_opt_u64(rec, "cpu_work_units", 1, UINT64_C(1) << 40,
	                           &s->cpu_work_units)) ||
	    (err = vms_get_opt_u64(rec, "mem_bytes", VMS_MIN_MEM_BYTES, VMS_MAX_MEM_BYTES,
	                           &s->mem_bytes)) ||
	    (err = vms_get_opt_u32(rec, "mem_ms", 1, VMS_MAX_BOUND_MS, &s->mem_ms)) ||
	    (err = vms_get_opt_u64(rec, "disk_read_bytes", 4096, VMS_MAX_DISK_READ_BYTES,
	                           &s->disk_read_bytes)) ||
	    (err = vms_get_opt_u32(rec, "disk_read_ms", 1, VMS_MAX_BOUND_MS, &s->disk_read_ms)) ||
	    (err = vms_get_opt_u64(rec, "net_bytes", VMS_MIN_NET_BLOCK, VMS_MAX_NET_BYTES,
	                           &s->net_bytes)) ||
	    (err = vms_get_opt_u32(rec, "net_ms", 1, VMS_MAX_BOUND_MS, &s->net_ms)) ||
	    (err = vms_get_opt_u32(rec, "micro_ms", 1, VMS_MAX_BOUND_MS, &s->micro_ms)))
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
	if ((err = vms_get_req_u64(rec, "id", 0, UINT64_MAX, &r->id)) ||
	    (err = vms_get_family(rec, &r->family)))
		return err;
	if (r->family != VMS_FAM_NETWORK)
		return VMS_PROTO_OK;
	const char *addr = vms_record_get(rec, "addr");
	const char *token = vms_record_get(rec, "token");
	uint64_t port;
	if (!addr || !token)
		return VMS_PROTO_E_MISSING;
	if ((err = vms_get_req_u64(rec, "port", 1, 65535, &port)))
		return err;
	if (strlen(addr) >= sizeof(r->addr) || !vms_token_valid(token))
		return VMS_PROTO_E_VALUE;
	vms_copy_str(r->addr, sizeof(r->addr), addr);
	vms_copy_str(r->token, sizeof(r->token), token);
	r->port = (uint32_t)port;
	/* Optional: a host without UDP sends none, a probe without UDP ignores it. With a port
	 * comes the pace, which bounds the bytes a request may ask for. */
	uint64_t udp_port = 0, udp_rate = 0;
	if ((err = vms_get_opt_u64(rec, "udp_port", 1, 65535, &udp_port)) ||
	    (err = vms_get_opt_u64(rec, "udp_rate", VMS_UDP_MIN_RATE, VMS_UDP_MAX_RATE, &udp_rate)))
		return err;
	if (!udp_port != !udp_rate)
		return VMS_PROTO_E_MISSING;
	r->udp_port = (uint32_t)udp_port;
	r->udp_rate = udp_rate;
	return VMS_PROTO_OK;
}

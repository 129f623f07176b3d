/*
 * Host -> guest messages of the wire protocol (vmscale/protocol.h has the overview):
 *
 *   host proto=1
 *       Sent when the host connects; the probe answers with hello.
 *   schedule cpu_ms=N [disk_ms=N cpu_work_units=N mem_bytes=N mem_ms=N disk_read_bytes=N
 *       disk_read_ms=N net_bytes=N net_ms=N net_blocks=N[,N...] micro_ms=N]
 *       Passive intervals and active sizes/bounds; absent keys take the defaults below.
 *   run id=N probe=FAMILY [addr=ADDR port=N token=HEX [udp_port=N udp_rate=N]]
 *       Run one active family now (network: against the host's responder with this token;
 *       with udp_port, the UDP receive measurement too, paced at udp_rate bytes/s, which
 *       bounds what the guest may ask for: vmscale/netudp.h).
 */
#ifndef VMSCALE_SCHEDULE_H
#define VMSCALE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "vmscale/families.h"
#include "vmscale/record.h"
#include "vmscale/token.h"

#define VMS_SCHEDULE_MIN_MS 1000u
#define VMS_SCHEDULE_MAX_MS 3600000u
#define VMS_SCHEDULE_DEFAULT_CPU_MS 5000u

#define VMS_MAX_NET_BLOCKS 6
#define VMS_MAX_RUN_SAMPLES 18 /* samples one run may report: (2 TCP + 1 UDP) x 6 blocks */

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
	uint32_t cpu_ms; /* passive intervals */
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
	uint32_t udp_port; /* network only: the responder's UDP port, 0 = no UDP measurement */
	uint64_t udp_rate; /* with udp_port: the host's pace, bytes/s (VMS_UDP_MIN..MAX_RATE) */
};

size_t vms_encode_host(char *out, size_t outsz);
size_t vms_encode_schedule(char *out, size_t outsz, const struct vms_schedule *sched);
size_t vms_encode_run(char *out, size_t outsz, const struct vms_run *run);

enum vms_proto_error vms_decode_schedule(const struct vms_record *rec, struct vms_schedule *sched);
enum vms_proto_error vms_decode_run(const struct vms_record *rec, struct vms_run *run);

#endif

/*
 * The UDP half of the network probe (NetIO's UDP mode, seeds 000/004): the guest asks, the
 * host paces a burst of datagrams to it, the guest counts what arrives. Shared by the probe
 * and vmscaled; probes/PROTOCOL.md, "UDP receive rate and loss", has the exchange.
 *
 * Guest -> host, one datagram holding one text record (vmscale/record.h, LF optional):
 *
 *   udp proto=1 token=HEX id=N block=N bytes=N ms=N
 *
 * Host -> guest: `count` datagrams of exactly `block` bytes each, starting with this header
 * (network byte order), then zeros:
 *
 *   0  magic "vmsU"   4  version (1)   5  flags (bit 0: the last of the burst)   6  0 0
 *   8  id (the guest's, echoed, 64 bits)   16  seq (0..count-1)   20  count
 *
 * The host never answers anything else: a request it does not honour is dropped, so that
 * nobody can make it send to an address that did not present a granted token.
 */
#ifndef VMSCALE_NETUDP_H
#define VMSCALE_NETUDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMS_UDP_PROTO 1
#define VMS_UDP_HEADER 24
#define VMS_UDP_MAGIC "vmsU"
#define VMS_UDP_FLAG_LAST 1u
/* A datagram is one block: at least 1 KiB (each datagram costs the host a sendmsg, so a burst
 * of tiny blocks would cost it most per byte), at most what IPv4 carries. */
#define VMS_UDP_MIN_BLOCK 1024u
#define VMS_UDP_MAX_BLOCK 65507u
/* Datagrams in one burst: the guest keeps one bit per datagram (8 KiB) to ignore repeats. */
#define VMS_UDP_MAX_COUNT 65536u
/* The host's pace, bytes/s per burst (netio-udp-rate): two 32 KiB datagrams a second at
 * least, 1 GiB/s at most. A request may ask for at most pace x ms / 1000 bytes. */
#define VMS_UDP_MIN_RATE (64u * 1024)
#define VMS_UDP_MAX_RATE (1u << 30)

struct vms_udp_header {
	uint8_t flags;
	uint64_t id;
	uint32_t seq, count;
};

/* Writes the header into buf (at least VMS_UDP_HEADER bytes). */
void vms_udp_header_encode(unsigned char *buf, const struct vms_udp_header *h);
/*
 * Reads the header of a datagram of len bytes: false unless it has our magic and version,
 * 1 <= count <= VMS_UDP_MAX_COUNT, seq < count, and the unused bits are zero.
 */
bool vms_udp_header_decode(const unsigned char *buf, size_t len, struct vms_udp_header *h);

#endif

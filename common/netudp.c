/* The UDP probe's datagram header (see vmscale/netudp.h). Pure C, libc only. */
#include "vmscale/netudp.h"

#include <string.h>

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
vms_udp_header_encode(unsigned char *buf, const struct vms_udp_header *h)
{
	memcpy(buf, VMS_UDP_MAGIC, 4);
	buf[4] = VMS_UDP_PROTO;
	buf[5] = h->flags & VMS_UDP_FLAG_LAST;
	buf[6] = buf[7] = 0;
	put32(buf + 8, (uint32_t)(h->id >> 32));
	put32(buf + 12, (uint32_t)h->id);
	put32(buf + 16, h->seq);
	put32(buf + 20, h->count);
}

bool
vms_udp_header_decode(const unsigned char *buf, size_t len, struct vms_udp_header *h)
{
	if (len < VMS_UDP_HEADER || memcmp(buf, VMS_UDP_MAGIC, 4) != 0 || buf[4] != VMS_UDP_PROTO ||
	    (buf[5] & ~VMS_UDP_FLAG_LAST) || buf[6] || buf[7])
		return false;
	h->flags = buf[5];
	h->id = (uint64_t)get32(buf + 8) << 32 | get32(buf + 12);
	h->seq = get32(buf + 16);
	h->count = get32(buf + 20);
	return h->count >= 1 && h->count <= VMS_UDP_MAX_COUNT && h->seq < h->count;
}

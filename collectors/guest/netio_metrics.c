/* The network-probe responder's families (see netio.h). */
#include "collectors/guest/netio.h"

/* Only when netio-udp-rate turned UDP on. */
static void
render_udp(const struct vms_netio_stats *n, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_netio_udp_requests_total", "counter",
	               "UDP request datagrams the network-probe responder received.");
	vms_buf_printf(b, "vmscale_netio_udp_requests_total %llu\n",
	               (unsigned long long)n->udp_requests);
	vms_buf_family(b, "vmscale_netio_udp_dropped_total", "counter",
	               "UDP requests dropped unanswered, by reason (unproven_address: the source "
	               "is no address a granted TCP connection came from).");
	for (unsigned r = 0; r < VMS_NETIO_UDP_DROP_COUNT; r++)
		vms_buf_printf(b, "vmscale_netio_udp_dropped_total{reason=\"%s\"} %llu\n",
		               vms_netio_udp_drop_name((enum vms_netio_udp_drop)r),
		               (unsigned long long)n->udp_dropped[r]);
	vms_buf_family(b, "vmscale_netio_udp_bursts_total", "counter",
	               "UDP bursts by result: completed (all sent) or aborted.");
	vms_buf_printf(b, "vmscale_netio_udp_bursts_total{result=\"completed\"} %llu\n",
	               (unsigned long long)n->udp_completed);
	vms_buf_printf(b, "vmscale_netio_udp_bursts_total{result=\"aborted\"} %llu\n",
	               (unsigned long long)n->udp_aborted);
	vms_buf_family(
	    b, "vmscale_netio_udp_bytes_total", "counter",
	    "Bytes of the UDP datagrams the responder paced to guests (headers included), "
	    "by direction as the guest sees it (only receive).");
	vms_buf_printf(b, "vmscale_netio_udp_bytes_total{direction=\"receive\"} %llu\n",
	               (unsigned long long)n->udp_bytes_sent);
	vms_buf_family(
	    b, "vmscale_netio_udp_datagrams_total", "counter",
	    "UDP datagrams the responder paced to guests, by direction as the guest sees it "
	    "(only receive).");
	vms_buf_printf(b, "vmscale_netio_udp_datagrams_total{direction=\"receive\"} %llu\n",
	               (unsigned long long)n->udp_datagrams_sent);
}

void
vms_netio_render_stats(const struct vms_netio_stats *n, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_netio_connections_total", "counter",
	               "TCP connections accepted by the network-probe responder.");
	vms_buf_printf(b, "vmscale_netio_connections_total %llu\n",
	               (unsigned long long)n->connections);
	vms_buf_family(b, "vmscale_netio_refused_total", "counter",
	               "Responder connections refused before moving data, by reason.");
	for (unsigned r = 0; r < VMS_NETIO_REFUSE_COUNT; r++)
		vms_buf_printf(b, "vmscale_netio_refused_total{reason=\"%s\"} %llu\n",
		               vms_netio_refuse_name((enum vms_netio_refuse)r),
		               (unsigned long long)n->refused[r]);
	vms_buf_family(b, "vmscale_netio_transfers_total", "counter",
	               "Responder transfers by result: completed or aborted.");
	vms_buf_printf(b, "vmscale_netio_transfers_total{result=\"completed\"} %llu\n",
	               (unsigned long long)n->completed);
	vms_buf_printf(b, "vmscale_netio_transfers_total{result=\"aborted\"} %llu\n",
	               (unsigned long long)n->aborted);
	vms_buf_family(b, "vmscale_netio_bytes_total", "counter",
	               "Payload bytes the responder moved, by direction as the guest sees it.");
	vms_buf_printf(b, "vmscale_netio_bytes_total{direction=\"transmit\"} %llu\n",
	               (unsigned long long)n->bytes_received);
	vms_buf_printf(b, "vmscale_netio_bytes_total{direction=\"receive\"} %llu\n",
	               (unsigned long long)n->bytes_sent);
	if (n->udp)
		render_udp(n, b);
}

static uint64_t
netio_generation(const void *ctx, uint64_t now_ns)
{
	struct vms_netio_stats s;
	(void)now_ns;
	vms_netio_get_stats(ctx, &s);
	/* Counters only grow: their sum moves exactly when one of them does. */
	uint64_t sum = s.connections + s.completed + s.aborted + s.bytes_received + s.bytes_sent +
	               s.udp_requests + s.udp_completed + s.udp_aborted + s.udp_bytes_sent;
	for (unsigned r = 0; r < VMS_NETIO_REFUSE_COUNT; r++)
		sum += s.refused[r];
	return sum;
}

static void
netio_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	struct vms_netio_stats s;
	(void)now_ns;
	vms_netio_get_stats(ctx, &s);
	vms_netio_render_stats(&s, b);
}

struct vms_metrics_source
vms_netio_metrics_source(const struct vms_netio *n)
{
	return (struct vms_metrics_source){.owner = "collectors/guest/netio_metrics.c",
	                                   .ctx = n,
	                                   .generation = netio_generation,
	                                   .render = netio_render};
}

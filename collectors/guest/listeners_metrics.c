/* The probe transports' families (see listeners.h): connections accepted and refused. */
#include "collectors/guest/listeners.h"

/* The containers' sockets: present once one was listened on. */
static void
render_unix(const struct vms_sockdir_stats *u, struct vms_buf *b)
{
	if (!u->on)
		return;
	vms_buf_family(b, "vmscale_probe_container_sockets", "gauge",
	               "Containers whose probe socket vmscaled listens on now.");
	vms_buf_printf(b, "vmscale_probe_container_sockets %u\n", u->listening);
	vms_buf_family(b, "vmscale_probe_container_socket_failures_total", "counter",
	               "Attempts to make a container's probe socket that failed (bind, or a "
	               "non-socket in its place).");
	vms_buf_printf(b, "vmscale_probe_container_socket_failures_total %llu\n",
	               (unsigned long long)u->failures);
}

/* The vsock, tcp and unix probe transports: present only when their listener is on. */
void
vms_listeners_render_stats(const struct vms_listener_stats *ls, struct vms_buf *b)
{
	render_unix(&ls->unix_, b);
	if (!ls->vsock_on && !ls->tcp_on && !ls->unix_.on)
		return;
	vms_buf_family(
	    b, "vmscale_probe_transport_connections_total", "counter",
	    "Probe connections accepted by a listener and tied to a domain, by transport.");
	if (ls->vsock_on)
		vms_buf_printf(b,
		               "vmscale_probe_transport_connections_total{transport=\"vsock\"} "
		               "%llu\n",
		               (unsigned long long)ls->vsock_accepted);
	if (ls->tcp_on)
		vms_buf_printf(b,
		               "vmscale_probe_transport_connections_total{transport=\"tcp\"} "
		               "%llu\n",
		               (unsigned long long)ls->tcp_accepted);
	if (ls->unix_.on)
		vms_buf_printf(b,
		               "vmscale_probe_transport_connections_total{transport=\"unix\"} "
		               "%llu\n",
		               (unsigned long long)ls->unix_.accepted);
	if (!ls->vsock_on && !ls->tcp_on)
		return;
	vms_buf_family(
	    b, "vmscale_probe_auth_failures_total", "counter",
	    "Probe connections refused before they were tied to a domain, by transport and "
	    "reason.");
	if (ls->vsock_on)
		vms_buf_printf(b,
		               "vmscale_probe_auth_failures_total{transport=\"vsock\","
		               "reason=\"unknown_cid\"} %llu\n",
		               (unsigned long long)ls->vsock_unknown_cid);
	for (unsigned r = 0; ls->tcp_on && r < VMS_AUTH_FAIL_COUNT; r++)
		vms_buf_printf(b,
		               "vmscale_probe_auth_failures_total{transport=\"tcp\",reason=\"%s\"} "
		               "%llu\n",
		               vms_auth_fail_name((enum vms_auth_fail)r),
		               (unsigned long long)ls->tcp_refused[r]);
}

static uint64_t
listeners_generation(const void *ctx, uint64_t now_ns)
{
	struct vms_listener_stats s;
	(void)now_ns;
	vms_listeners_get_stats(ctx, &s);
	/* Counters only grow: their sum moves exactly when one of them does. */
	uint64_t sum = s.vsock_accepted + s.vsock_unknown_cid + s.tcp_accepted + s.unix_.accepted +
	               s.unix_.failures + s.unix_.on;
	for (unsigned r = 0; r < VMS_AUTH_FAIL_COUNT; r++)
		sum += s.tcp_refused[r];
	/* The sockets open now go up and down: in bits of their own. */
	return sum + ((uint64_t)s.unix_.listening << 48);
}

static void
listeners_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	struct vms_listener_stats s;
	(void)now_ns;
	vms_listeners_get_stats(ctx, &s);
	vms_listeners_render_stats(&s, b);
}

struct vms_metrics_source
vms_listeners_metrics_source(const struct vms_listeners *l)
{
	return (struct vms_metrics_source){.owner = "collectors/guest/listeners_metrics.c",
	                                   .ctx = l,
	                                   .generation = listeners_generation,
	                                   .render = listeners_render};
}

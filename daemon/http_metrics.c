/* The HTTP endpoint's families (see http.h): connections closed unserved and requests refused
 * by basic auth, by reason. */
#include "daemon/http.h"

void
vms_http_render_refusals(const struct vms_http_refusals *r, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_http_connections_refused_total", "counter",
	               "HTTP connections closed without an answer, by reason: per_address_limit "
	               "(the client address held http-max-connections-per-address), total_limit "
	               "(http-max-connections were open), header_timeout (the request's headers "
	               "took longer than http-header-timeout).");
	vms_buf_printf(b,
	               "vmscale_http_connections_refused_total{reason=\"per_address_limit\"} %llu\n"
	               "vmscale_http_connections_refused_total{reason=\"total_limit\"} %llu\n"
	               "vmscale_http_connections_refused_total{reason=\"header_timeout\"} %llu\n",
	               (unsigned long long)r->per_address_limit, (unsigned long long)r->total_limit,
	               (unsigned long long)r->header_timeout);
	const struct vms_http_unauthorized *u = &r->unauthorized;
	vms_buf_family(b, "vmscale_http_requests_unauthorized_total", "counter",
	               "HTTP requests refused by the basic auth of web-config-file, by reason: "
	               "missing (no credentials), malformed (not Basic base64 of USER:PASSWORD), "
	               "wrong (unknown user or wrong password), busy (answered 429: more password "
	               "checks per second than allowed).");
	vms_buf_printf(b,
	               "vmscale_http_requests_unauthorized_total{reason=\"missing\"} %llu\n"
	               "vmscale_http_requests_unauthorized_total{reason=\"malformed\"} %llu\n"
	               "vmscale_http_requests_unauthorized_total{reason=\"wrong\"} %llu\n"
	               "vmscale_http_requests_unauthorized_total{reason=\"busy\"} %llu\n",
	               (unsigned long long)u->missing, (unsigned long long)u->malformed,
	               (unsigned long long)u->wrong, (unsigned long long)u->busy);
}

static uint64_t
http_generation(const void *ctx, uint64_t now_ns)
{
	struct vms_http_refusals r;
	(void)now_ns;
	vms_http_get_refusals(ctx, &r);
	/* Counters only grow: their sum moves exactly when one of them does. */
	return r.per_address_limit + r.total_limit + r.header_timeout + r.unauthorized.missing +
	       r.unauthorized.malformed + r.unauthorized.wrong + r.unauthorized.busy;
}

static void
http_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	struct vms_http_refusals r;
	(void)now_ns;
	vms_http_get_refusals(ctx, &r);
	vms_http_render_refusals(&r, b);
}

struct vms_metrics_source
vms_http_metrics_source(const struct vms_http *h)
{
	return (struct vms_metrics_source){.owner = "daemon/http_metrics.c",
	                                   .ctx = h,
	                                   .generation = http_generation,
	                                   .render = http_render};
}

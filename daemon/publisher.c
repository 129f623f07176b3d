/* Drawing /metrics and / on demand (see publisher.h). */
#include "daemon/publisher.h"

#include <stdbool.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>

#include "daemon/expo/expo.h"
#include "daemon/util/alloc.h"
#include "daemon/util/buf.h"
#include "vmscale/clock.h"

#define WANT(part) (1u << (part))

struct vms_publisher {
	struct vms_http *http;
	struct vms_registry *registry;
	const struct vms_store *store;
	const struct vms_analysis *analysis;
	const char *version;
	int watch;                   /* on the demand fd, -1 before vms_publisher_watch */
	bool published;              /* the first snapshot is out */
	struct vms_buf landing;      /* the landing page as last rendered */
	uint64_t landing_generation; /* of its inputs then (landing_generation()), 0: never */
	struct vms_publisher_counts counts;
};

struct vms_publisher *
vms_publisher_new(struct vms_http *h, struct vms_registry *r, const struct vms_store *st,
                  const struct vms_analysis *a, const char *version)
{
	struct vms_publisher *p = vms_xcalloc(1, sizeof(*p));
	*p = (struct vms_publisher){
	    .http = h, .registry = r, .store = st, .analysis = a, .version = version, .watch = -1};
	vms_buf_init(&p->landing);
	return p;
}

void
vms_publisher_free(struct vms_publisher *p)
{
	if (!p)
		return;
	if (p->watch >= 0)
		virEventRemoveHandle(p->watch);
	vms_buf_free(&p->landing);
	free(p);
}

/* The landing page shows domains, probes and the analysis, not the host: what it is drawn
 * from, so that a host read alone does not draw it again. Never 0. */
static uint64_t
landing_generation(const struct vms_publisher *p, uint64_t now)
{
	const uint64_t *part = p->store->part_generation;
	uint64_t g = 1 + part[VMS_STORE_DOMAINS] + part[VMS_STORE_DOMSTATS] +
	             part[VMS_STORE_PROBES] + vms_analysis_generation(p->analysis);
	return g * 1000003u + vms_store_probes_up(p->store, now);
}

static void
draw_metrics(struct vms_publisher *p, uint64_t now)
{
	struct vms_buf metrics;
	vms_buf_init(&metrics);
	vms_registry_refresh(p->registry, now);
	vms_registry_text(p->registry, &metrics);
	vms_http_publish_part(p->http, VMS_HTTP_METRICS, metrics.data, metrics.len);
	p->counts.metrics_drawn++;
}

static void
draw_landing(struct vms_publisher *p, uint64_t now)
{
	uint64_t lg = landing_generation(p, now);
	if (lg != p->landing_generation) {
		p->landing.len = 0;
		vms_expo_landing(&p->landing, p->store, p->version, p->analysis, now);
		p->landing_generation = lg;
		p->counts.landing_drawn++;
	}
	struct vms_buf copy; /* the snapshot owns its copy */
	vms_buf_init(&copy);
	vms_buf_append(&copy, p->landing.data, p->landing.len);
	vms_http_publish_part(p->http, VMS_HTTP_LANDING, copy.data, copy.len);
}

static void
draw(struct vms_publisher *p, unsigned want, uint64_t now)
{
	if (want & WANT(VMS_HTTP_METRICS))
		draw_metrics(p, now);
	if (want & WANT(VMS_HTTP_LANDING))
		draw_landing(p, now);
}

static void
on_demand(int watch, int fd, int events, void *opaque)
{
	struct vms_publisher *p = opaque;
	(void)watch;
	(void)fd;
	(void)events;
	unsigned want = vms_http_take_demand(p->http);
	if (want) {
		p->counts.demands++;
		draw(p, want, vms_monotonic_ns());
	}
}

int
vms_publisher_watch(struct vms_publisher *p)
{
	p->watch = virEventAddHandle(vms_http_demand_fd(p->http), VIR_EVENT_HANDLE_READABLE,
	                             on_demand, p, NULL);
	return p->watch < 0 ? -1 : 0;
}

void
vms_publisher_offer(struct vms_publisher *p, uint64_t now)
{
	if (!p->published) {
		draw(p, WANT(VMS_HTTP_METRICS) | WANT(VMS_HTTP_LANDING), now);
		p->published = true;
		return;
	}
	bool news = false;
	if (vms_registry_changed(p->registry, now)) {
		vms_http_mark_stale(p->http, VMS_HTTP_METRICS);
		news = true;
	}
	if (landing_generation(p, now) != p->landing_generation) {
		vms_http_mark_stale(p->http, VMS_HTTP_LANDING);
		news = true;
	}
	if (!news)
		vms_http_confirm(p->http);
}

void
vms_publisher_get_counts(const struct vms_publisher *p, struct vms_publisher_counts *out)
{
	*out = p->counts;
}

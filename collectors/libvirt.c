/* libvirt collector (see libvirt.h). */
#include "collectors/libvirt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "daemon/util/log.h"
#include "collectors/domstats.h"
#include "collectors/domxml.h"
#include "collectors/lxcstats.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define BACKOFF_MIN_NS (1 * NS_PER_S)
#define BACKOFF_MAX_NS (60 * NS_PER_S)
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3
/* PERF reports the perf events the operator enabled (virsh perf DOMAIN --enable ...); vmscaled
 * never enables them itself: that takes a read-write connection, root's power over libvirt. */
#define DOMAIN_STATS                                                                               \
	(VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |          \
	 VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BLOCK |             \
	 VIR_DOMAIN_STATS_PERF)

struct vms_libvirt {
	char *uri;
	struct vms_store *store;
	struct vms_conn *sconn; /* in the store: its up state, and the owner of our domains */
	virConnectPtr conn;
	int lifecycle_cb;
	int device_cb[2];    /* device added, device removed: a channel may come or go live */
	bool closed_by_peer; /* set by the close callback; the connection is dropped on refresh */
	bool per_domain;     /* the driver has no bulk statistics (LXC): lxcstats.c instead */
	uint64_t retry_at_ns;
	uint64_t backoff_ns;
	struct vms_complaint complaint;
	struct vms_domstats scratch; /* where a domain's new statistics are compared with its old */
	void (*on_change)(void *);
	void *on_change_cls;
};

/* libvirt prints every error to stderr by default; we report them ourselves, once. */
static void
quiet_error(void *cls, virErrorPtr err)
{
	(void)cls;
	(void)err;
}

static const char *
last_error(void)
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "unknown libvirt error";
}

int
vms_libvirt_event_init(void)
{
	virSetErrorFunc(NULL, quiet_error);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		vms_err("libvirt: cannot initialise the event loop: %s", last_error());
		return -1;
	}
	return 0;
}

struct vms_libvirt *
vms_libvirt_new(const char *uri, struct vms_store *st, void (*on_change)(void *), void *cls)
{
	struct vms_libvirt *lv = vms_xcalloc(1, sizeof(*lv));
	lv->uri = vms_xstrdup(uri);
	lv->store = st;
	lv->sconn = vms_store_add_conn(st, uri);
	lv->lifecycle_cb = -1;
	lv->device_cb[0] = lv->device_cb[1] = -1;
	lv->on_change = on_change;
	lv->on_change_cls = cls;
	return lv;
}

static void on_close(virConnectPtr conn, int reason, void *opaque);

static void
disconnect(struct vms_libvirt *lv)
{
	if (!lv->conn)
		return;
	if (lv->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(lv->conn, lv->lifecycle_cb);
	lv->lifecycle_cb = -1;
	for (int i = 0; i < 2; i++) {
		if (lv->device_cb[i] >= 0)
			virConnectDomainEventDeregisterAny(lv->conn, lv->device_cb[i]);
		lv->device_cb[i] = -1;
	}
	virConnectUnregisterCloseCallback(lv->conn, on_close);
	virConnectClose(lv->conn);
	lv->conn = NULL;
	lv->closed_by_peer = false;
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct vms_libvirt *lv = opaque;
	(void)conn;
	(void)detail;
	vms_log(LOG_DEBUG, virDomainGetName(dom), "lifecycle event %d", event);
	if (lv->on_change)
		lv->on_change(lv->on_change_cls);
	return 0;
}

/* A device came or went (virsh attach-device --live, detach-device): the domain's channel
 * path and vsock CID are read again at the next refresh, which this asks for now. */
static void
on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	struct vms_libvirt *lv = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN], key[VMS_DOMAIN_KEY_LEN + 1];
	(void)conn;
	if (virDomainGetUUIDString(dom, uuid) < 0)
		return;
	vms_domain_key(key, lv->sconn, uuid);
	struct vms_domain *d = vms_store_find(lv->store, key);
	if (!d)
		return; /* not listed yet: its XML is read when it is */
	vms_log(LOG_DEBUG, d->name, "device %s added or removed", alias ? alias : "?");
	d->devices_changed = true;
	if (lv->on_change)
		lv->on_change(lv->on_change_cls);
}

static void
register_events(struct vms_libvirt *lv)
{
	lv->lifecycle_cb =
	    virConnectDomainEventRegisterAny(lv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	                                     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
	if (lv->lifecycle_cb < 0)
		vms_warn("libvirt: %s: no lifecycle events (%s); N_up follows the poll interval",
		         lv->uri, last_error());
	const int ids[2] = {VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED};
	for (int i = 0; i < 2; i++)
		lv->device_cb[i] = virConnectDomainEventRegisterAny(
		    lv->conn, NULL, ids[i], VIR_DOMAIN_EVENT_CALLBACK(on_device), lv, NULL);
	if (lv->device_cb[0] < 0 || lv->device_cb[1] < 0)
		vms_warn("libvirt: %s: no device events (%s); a channel attached to a running "
		         "domain is seen when the domain starts again",
		         lv->uri, last_error());
}

static void
on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct vms_libvirt *lv = opaque;
	(void)conn;
	(void)reason;
	lv->closed_by_peer = true;
	if (lv->on_change)
		lv->on_change(lv->on_change_cls);
}

static int
connect_libvirt(struct vms_libvirt *lv)
{
	uint64_t now = vms_monotonic_ns();
	if (now < lv->retry_at_ns)
		return -1;
	/* Read-only: vmscaled observes; it never changes a domain. */
	lv->conn = virConnectOpenReadOnly(lv->uri);
	if (!lv->conn) {
		lv->backoff_ns = lv->backoff_ns ? lv->backoff_ns * 2 : BACKOFF_MIN_NS;
		if (lv->backoff_ns > BACKOFF_MAX_NS)
			lv->backoff_ns = BACKOFF_MAX_NS;
		lv->retry_at_ns = now + lv->backoff_ns;
		vms_complain(&lv->complaint, LOG_ERR, NULL,
		             "libvirt: cannot connect to %s: %s (retrying with backoff)", lv->uri,
		             last_error());
		return -1;
	}
	/* Keepalive detects a dead libvirtd even while we are idle; not every driver has it. */
	virConnectSetKeepAlive(lv->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
	virConnectRegisterCloseCallback(lv->conn, on_close, lv, NULL);
	register_events(lv);
	lv->backoff_ns = 0;
	if (lv->complaint.interval_ns)
		vms_complain_recovered(&lv->complaint, NULL, "libvirt: connected to %s again",
		                       lv->uri);
	else
		vms_info("libvirt: connected to %s", lv->uri);
	return 0;
}

/* A container's probe socket directory (the host side of its VMS_PROTO_CONTAINER_DIR). */
static void
read_socket_dir(struct vms_domain *d, const char *xml)
{
	char dir[256], err[256];
	int rc = vms_domxml_socket_dir(xml, VMS_PROTO_CONTAINER_DIR, VMS_PROTO_CONTAINER_SOCKET,
	                               dir, sizeof(dir), err, sizeof(err));
	if (rc < 0)
		vms_log(LOG_WARNING, d->name, "ignoring its probe socket directory: %s", err);
	vms_store_set_socket_dir(d, rc == 1 ? dir : NULL);
}

/* Reads the probe channel path from the live XML of a domain we have not seen at this id, or
 * whose devices changed. */
static void
read_channel(struct vms_domain *d, virDomainPtr dom)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	if (!xml) {
		/* A domain that stopped since the listing is the next listing's business. */
		virErrorPtr e = virGetLastError();
		int prio = e && e->code == VIR_ERR_NO_DOMAIN ? LOG_DEBUG : LOG_WARNING;
		vms_log(prio, d->name, "cannot read live XML: %s", last_error());
		vms_store_set_channel(d, NULL);
		vms_store_set_socket_dir(d, NULL);
		d->vsock_cid = 0;
		return;
	}
	char path[256], err[256];
	int rc = vms_domxml_channel_path(xml, VMS_PROTO_CHANNEL_NAME, path, sizeof(path), err,
	                                 sizeof(err));
	uint32_t cid = 0;
	char verr[256];
	int vrc = vms_domxml_vsock_cid(xml, &cid, verr, sizeof(verr));
	read_socket_dir(d, xml);
	free(xml);
	if (vrc < 0)
		vms_log(LOG_WARNING, d->name, "ignoring its vsock device: %s", verr);
	d->vsock_cid = vrc == 1 ? cid : 0;
	if (rc < 0)
		vms_log(LOG_WARNING, d->name, "ignoring its probe channel: %s", err);
	else if (rc == 0)
		vms_log(LOG_INFO, d->name, "no %s channel: %s", VMS_PROTO_CHANNEL_NAME,
		        d->vsock_cid ? "its probe may use vsock"
		        : d->socket_dir
		            ? "its probe uses the socket in its " VMS_PROTO_CONTAINER_DIR
		            : "no probe data unless over vsock or tcp");
	vms_store_set_channel(d, rc == 1 ? path : NULL);
}

/*
 * Another connection runs a domain of this name or UUID: both are kept and counted, but every
 * per-domain series is labelled by name alone, and a UUID names one domain on a host. Said
 * once, when the domain appears.
 */
static void
warn_collisions(const struct vms_store *st, const struct vms_conn *conn, const char *uuid,
                const char *name)
{
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *o = st->domains[i];
		if (o->conn == conn)
			continue;
		if (strcmp(o->uuid, uuid) == 0)
			vms_log(LOG_WARNING, name, "same UUID %s as domain '%s' on %s", uuid,
			        o->name, o->conn ? o->conn->uri : "?");
		else if (strcmp(o->name, name) == 0)
			vms_log(LOG_WARNING, name,
			        "a domain of this name also runs on %s: their "
			        "per-domain series collide (vmscale_domain_info tells them apart "
			        "by uri)",
			        o->conn ? o->conn->uri : "?");
	}
}

static bool
same_ratio(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Stores a domain's statistics; true if anything the domains' families show changed
 * (counters of a running QEMU guest move every interval; the test driver's stand still).
 * stats_incomplete_total is its own source's generation (daemon/expo/store_core.c). */
static bool
update_stats(struct vms_libvirt *lv, struct vms_domain *d, virDomainStatsRecordPtr rec)
{
	bool changed;
	if (vms_domstats_update(rec->params, rec->nparams, &d->stats, &lv->scratch, &changed) < 0)
		lv->store->stats_incomplete_total++;
	double before = d->vcpu_utilization;
	vms_domain_update_utilization(d, vms_monotonic_ns());
	return changed || !same_ratio(before, d->vcpu_utilization);
}

/* The running domains and their statistics: one bulk call, or, on a driver that has none
 * (LXC), the per-domain calls (lxcstats.c), found out once per connection. */
static int
list_stats(struct vms_libvirt *lv, virDomainStatsRecordPtr **recs)
{
	if (!lv->per_domain) {
		/* NOWAIT: a domain stuck in a job returns what can be had at once instead of
		 * stalling everyone. */
		int n = virConnectGetAllDomainStats(lv->conn, DOMAIN_STATS, recs,
		                                    VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE |
		                                        VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
		virErrorPtr e = virGetLastError();
		if (n >= 0 || !e || e->code != VIR_ERR_NO_SUPPORT)
			return n;
		vms_info("libvirt: %s has no bulk domain statistics (%s): reading each domain's "
		         "with the per-domain calls",
		         lv->uri, last_error());
		lv->per_domain = true;
	}
	return vms_lxcstats_collect(lv->conn, recs);
}

int
vms_libvirt_refresh(struct vms_libvirt *lv)
{
	struct vms_store *st = lv->store;
	if (lv->conn && (lv->closed_by_peer || virConnectIsAlive(lv->conn) != 1)) {
		vms_complain(&lv->complaint, LOG_ERR, NULL,
		             "libvirt: connection to %s lost; reconnecting", lv->uri);
		disconnect(lv);
	}
	if (!lv->conn && connect_libvirt(lv) < 0) {
		vms_store_set_conn_up(st, lv->sconn, false);
		return -1;
	}

	/* One call lists the running domains and their host-side statistics. */
	virDomainStatsRecordPtr *recs = NULL;
	int n = list_stats(lv, &recs);
	if (n < 0) {
		vms_complain(&lv->complaint, LOG_ERR, NULL,
		             "libvirt: cannot list domains on %s: %s", lv->uri, last_error());
		if (virConnectIsAlive(lv->conn) != 1)
			disconnect(lv);
		vms_store_set_conn_up(st, lv->sconn, false);
		return -1;
	}
	for (size_t i = 0; i < st->ndomains; i++)
		if (st->domains[i]->conn == lv->sconn)
			st->domains[i]->seen = false;
	bool stats_changed = false;
	for (int i = 0; i < n; i++) {
		virDomainPtr dom = recs[i]->dom;
		char uuid[VIR_UUID_STRING_BUFLEN];
		const char *name = virDomainGetName(dom);
		if (!name || virDomainGetUUIDString(dom, uuid) < 0)
			continue;
		int id = (int)virDomainGetID(dom);
		char key[VMS_DOMAIN_KEY_LEN + 1];
		vms_domain_key(key, lv->sconn, uuid);
		struct vms_domain *d = vms_store_find(st, key);
		bool fresh = !d || d->id != id;
		if (!d)
			warn_collisions(st, lv->sconn, uuid, name);
		d = vms_store_upsert_in(st, lv->sconn, uuid, name, id);
		if (fresh || d->devices_changed) {
			d->devices_changed = false;
			read_channel(d, dom);
			vms_store_part_changed(st, VMS_STORE_DOMAINS);
		}
		d->seen = true;
		stats_changed |= update_stats(lv, d, recs[i]);
	}
	if (lv->per_domain)
		vms_lxcstats_free(recs, n);
	else
		virDomainStatsRecordListFree(recs);
	if (stats_changed)
		vms_store_part_changed(st, VMS_STORE_DOMSTATS);
	for (size_t i = 0; i < st->ndomains;) {
		struct vms_domain *d = st->domains[i];
		if (d->seen || d->conn != lv->sconn) {
			i++;
			continue;
		}
		vms_log(LOG_INFO, d->name, "no longer running");
		vms_store_remove(st, d);
	}
	vms_store_set_conn_up(st, lv->sconn, true);
	return 0;
}

void
vms_libvirt_free(struct vms_libvirt *lv)
{
	if (!lv)
		return;
	disconnect(lv);
	vms_domstats_free(&lv->scratch);
	free(lv->uri);
	free(lv);
}

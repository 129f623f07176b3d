/* The libvirt collector against libvirt's test driver (in-process, no libvirtd needed). */
#include <stdio.h>
#include <string.h>

#include "collectors/libvirt.h"
#include "collectors/domstats.h"
#include "collectors/lxcstats.h"
#include "daemon/util/log.h"
#include "check.h"

static int changes;

static void
on_change(void *cls)
{
	(void)cls;
	changes++;
}

static void
test_default(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_libvirt *lv = vms_libvirt_new("test:///default", &st, on_change, NULL);
	CHECK_INT(vms_libvirt_refresh(lv), 0);
	CHECK(st.libvirt_up);
	CHECK_INT(st.ndomains, 1);
	if (st.ndomains == 1) {
		CHECK_STR(st.domains[0]->name, "test");
		CHECK_INT(strlen(st.domains[0]->uuid), 36);
		CHECK(st.domains[0]->channel_path == NULL);
	}
	/* A second refresh changes nothing and keeps the same entry. */
	struct vms_domain *d = st.ndomains ? st.domains[0] : NULL;
	uint64_t g = st.generation;
	CHECK_INT(vms_libvirt_refresh(lv), 0);
	CHECK(st.ndomains == 1 && st.domains[0] == d);
	/* The test driver's statistics stand still: nothing to render again. */
	CHECK(st.generation == g);
	vms_libvirt_free(lv);
	vms_store_fini(&st);
}

static void
test_node_file(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_libvirt *lv = vms_libvirt_new(
	    "test://" VMSCALE_TEST_DATA "/fixtures/libvirt/testnode.xml", &st, on_change, NULL);
	CHECK_INT(vms_libvirt_refresh(lv), 0);
	CHECK_INT(st.ndomains, 2);
	struct vms_domain *d1 = vms_store_find(&st, "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11");
	struct vms_domain *d2 = vms_store_find(&st, "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a22");
	CHECK(d1 && d2);
	if (d1 && d2) {
		CHECK_STR(d1->name, "dvm1");
		CHECK_STR(d1->channel_path, "/nonexistent/vmscale-test/dvm1.sock");
		CHECK_STR(d2->name, "dvm\"2\\<x>");
		CHECK(d2->channel_path == NULL);
	}
	vms_libvirt_free(lv);
	vms_store_fini(&st);
}

#define TWO_URI "test://" VMSCALE_TEST_DATA "/fixtures/testdriver-two.xml"

/* Two URIs on one store: one connection each, N_up sums them, each sweeps only its own. */
static void
test_two_uris(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_libvirt *a = vms_libvirt_new("test:///default", &st, on_change, NULL);
	struct vms_libvirt *b = vms_libvirt_new(TWO_URI, &st, on_change, NULL);
	CHECK_INT(st.nconns, 2);
	CHECK(!st.libvirt_up);
	CHECK_INT(vms_libvirt_refresh(a), 0);
	CHECK(!st.libvirt_up); /* the second is not up yet */
	CHECK_INT(vms_libvirt_refresh(b), 0);
	CHECK(st.libvirt_up);
	CHECK_INT(st.ndomains, 1 + 2);
	struct vms_domain *t = NULL, *ta = NULL, *tb = NULL;
	for (size_t i = 0; i < st.ndomains; i++) {
		struct vms_domain *d = st.domains[i];
		if (strcmp(d->name, "test") == 0)
			t = d;
		else if (strcmp(d->name, "two-a") == 0)
			ta = d;
		else if (strcmp(d->name, "two-b") == 0)
			tb = d;
	}
	CHECK(t && ta && tb);
	if (t && ta && tb) {
		CHECK_STR(t->conn->uri, "test:///default");
		CHECK_STR(ta->conn->uri, TWO_URI);
		CHECK(tb->conn == ta->conn);
		/* Keys: bare UUIDs on the first connection, qualified on the others. */
		CHECK_STR(t->key, t->uuid);
		CHECK_STR(ta->key, "7c0b3a52-2d1e-4f55-9e7a-000000000a02@1");
		CHECK(vms_store_find(&st, ta->key) == ta);
		CHECK(vms_store_find(&st, ta->uuid) == NULL);
		CHECK_STR(ta->channel_path, "/nonexistent/vmscale-test/two-a.sock");
	}
	/* Refreshing either again keeps the other's domains. */
	CHECK_INT(vms_libvirt_refresh(a), 0);
	CHECK_INT(vms_libvirt_refresh(b), 0);
	CHECK_INT(vms_libvirt_refresh(a), 0);
	CHECK_INT(st.ndomains, 3);

	/* The same UUID on two URIs: two domains, two keys. */
	struct vms_libvirt *c = vms_libvirt_new(
	    "test://" VMSCALE_TEST_DATA "/fixtures/libvirt/testnode.xml", &st, on_change, NULL);
	struct vms_libvirt *d =
	    vms_libvirt_new("test://" VMSCALE_TEST_DATA "/fixtures/libvirt/../libvirt/testnode.xml",
	                    &st, on_change, NULL);
	CHECK_INT(vms_libvirt_refresh(c), 0);
	CHECK_INT(vms_libvirt_refresh(d), 0);
	CHECK_INT(st.ndomains, 3 + 2 + 2);
	CHECK(vms_store_find(&st, "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11@2") != NULL);
	CHECK(vms_store_find(&st, "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11@3") != NULL);
	vms_libvirt_free(d);
	vms_libvirt_free(c);
	vms_libvirt_free(b);
	vms_libvirt_free(a);
	vms_store_fini(&st);
}

/* One URI down, one up: libvirt_up says not all, the up one's domains are there. */
static void
test_one_of_two_down(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_libvirt *up = vms_libvirt_new(TWO_URI, &st, on_change, NULL);
	struct vms_libvirt *down =
	    vms_libvirt_new("qemu+unix:///system?socket=/nonexistent/vmscale-test/libvirt-sock",
	                    &st, on_change, NULL);
	CHECK_INT(vms_libvirt_refresh(up), 0);
	CHECK_INT(vms_libvirt_refresh(down), -1);
	CHECK(!st.libvirt_up);
	CHECK(st.conns[0]->up);
	CHECK(!st.conns[1]->up);
	CHECK_INT(st.ndomains, 2);
	vms_libvirt_free(down);
	vms_libvirt_free(up);
	vms_store_fini(&st);
}

static void
test_unreachable(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	/* A libvirtd socket that does not exist: refresh fails, libvirt_up stays 0, no crash. */
	struct vms_libvirt *lv =
	    vms_libvirt_new("qemu+unix:///system?socket=/nonexistent/vmscale-test/libvirt-sock",
	                    &st, on_change, NULL);
	CHECK_INT(vms_libvirt_refresh(lv), -1);
	CHECK(!st.libvirt_up);
	CHECK_INT(st.ndomains, 0);
	/* Within the backoff, a second refresh does not even try. */
	CHECK_INT(vms_libvirt_refresh(lv), -1);
	vms_libvirt_free(lv);
	vms_store_fini(&st);
}

/* The per-domain calls (lxcstats.c) on the test driver's running domain: what it has is in
 * the record under the bulk call's names, and domstats.c reads it. */
static void
test_per_domain(void)
{
	virConnectPtr conn = virConnectOpen("test:///default");
	CHECK(conn != NULL);
	if (!conn)
		return;
	virDomainStatsRecordPtr *recs = NULL;
	int n = vms_lxcstats_collect(conn, &recs);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(virDomainGetName(recs[0]->dom), "test");
		virDomainInfo info;
		CHECK_INT(virDomainGetInfo(recs[0]->dom, &info), 0);
		int state = -1;
		unsigned long long cur = 0, cpu = 0;
		CHECK_INT(
		    virTypedParamsGetInt(recs[0]->params, recs[0]->nparams, "state.state", &state),
		    1);
		CHECK_INT(state, VIR_DOMAIN_RUNNING);
		CHECK_INT(virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams,
		                                  "balloon.current", &cur),
		          1);
		CHECK_INT(cur, info.memory);
		CHECK_INT(
		    virTypedParamsGetULLong(recs[0]->params, recs[0]->nparams, "cpu.time", &cpu),
		    1);
		struct vms_domstats ds = {0};
		CHECK_INT(vms_domstats_parse(recs[0]->params, recs[0]->nparams, &ds), 0);
		CHECK(ds.have_cpu && ds.cpu_time_ns == cpu);
		CHECK(ds.have_balloon_current && ds.balloon_current_kib == info.memory);
		vms_domstats_free(&ds);
	}
	vms_lxcstats_free(recs, n);
	/* A domain that is gone: no record. */
	virDomainPtr dom = virDomainLookupByName(conn, "test");
	CHECK(dom && virDomainDestroy(dom) == 0);
	virDomainStatsRecord r = {.dom = dom};
	CHECK_INT(vms_lxcstats_domain(dom, &r), 0); /* still defined: GetInfo answers "shut off" */
	virTypedParamsFree(r.params, r.nparams);
	CHECK_INT(vms_lxcstats_collect(conn, &recs), 0);
	vms_lxcstats_free(recs, 0);
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
}

int
main(void)
{
	vms_log_init("test_libvirt", false);
	if (vms_libvirt_event_init() < 0)
		return 1;
	test_default();
	test_node_file();
	test_two_uris();
	test_one_of_two_down();
	test_unreachable();
	test_per_domain();
	return check_done("test_libvirt");
}

/* The libvirt collector against libvirt's test driver (in-process, no libvirtd needed). */
#include <stdio.h>
#include <string.h>

#include "../../collectors/libvirt.h"
#include "../../daemon/log.h"
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
	CHECK_INT(vms_libvirt_refresh(lv), 0);
	CHECK(st.ndomains == 1 && st.domains[0] == d);
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

static void
test_unreachable(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	/* A libvirtd socket that does not exist: refresh fails, libvirt_up stays 0, no crash. */
	struct vms_libvirt *lv = vms_libvirt_new(
		"qemu+unix:///system?socket=/nonexistent/vmscale-test/libvirt-sock", &st, on_change,
		NULL);
	CHECK_INT(vms_libvirt_refresh(lv), -1);
	CHECK(!st.libvirt_up);
	CHECK_INT(st.ndomains, 0);
	/* Within the backoff, a second refresh does not even try. */
	CHECK_INT(vms_libvirt_refresh(lv), -1);
	vms_libvirt_free(lv);
	vms_store_fini(&st);
}

int
main(void)
{
	vms_log_init("test_libvirt", false);
	if (vms_libvirt_event_init() < 0)
		return 1;
	test_default();
	test_node_file();
	test_unreachable();
	return check_done("test_libvirt");
}

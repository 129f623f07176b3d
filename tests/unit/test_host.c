/* The host collector on this very machine, through libstatgrab. */
#include <stdio.h>
#include <string.h>

#include "collectors/host.h"
#include "daemon/util/log.h"
#include "check.h"

int
main(void)
{
	vms_log_init("test_host", false);
	struct vms_store st;
	vms_store_init(&st, 5000);
	if (!CHECK_INT(vms_host_init(), 0))
		return check_done("test_host");
	uint64_t g = st.generation;
	uint64_t parts[VMS_STORE_PART_COUNT];
	memcpy(parts, st.part_generation, sizeof(parts));
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(st.host.valid);
	CHECK(st.generation != g);
	/* A host read changes the host part alone: the domains' families stay as rendered. */
	for (unsigned p = 0; p < VMS_STORE_PART_COUNT; p++)
		CHECK(p == VMS_STORE_HOST ? st.part_generation[p] != parts[p]
		                          : st.part_generation[p] == parts[p]);
	CHECK(st.host.mem_total > 0);
	CHECK(st.host.mem_used + st.host.mem_free <= st.host.mem_total);
	CHECK(st.host.cpu_ticks_idle > 0);
	CHECK(st.host.ticks_per_second >= 100);
	CHECK(st.host.load1 >= 0);
	struct vms_host_stats first = st.host;
	/* Burn a little CPU so that some counter must move. */
	volatile double x = 0;
	for (int i = 0; i < 20000000; i++)
		x += i * 0.5;
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(st.host.cpu_ticks_user >= first.cpu_ticks_user);
	CHECK(st.host.cpu_ticks_idle >= first.cpu_ticks_idle);
	CHECK(st.host.cpu_ticks_user + st.host.cpu_ticks_system + st.host.cpu_ticks_idle >
	      first.cpu_ticks_user + first.cpu_ticks_system + first.cpu_ticks_idle);

	/* Swap, disks, interfaces, processes: present on any Linux host, bounded, named. */
	const struct vms_host_stats *h = &st.host;
	CHECK(h->have_swap && h->swap_used + h->swap_free <= h->swap_total);
	CHECK(h->have_shared && h->mem_shared <= h->mem_cache && h->mem_buffers < h->mem_total);
	CHECK(h->have_disks && h->ndisks <= VMS_HOST_MAX_DISKS);
	bool loops = false;
	for (unsigned i = 0; i < h->ndisks; i++)
		loops |= strncmp(h->disks[i].name, "loop", 4) == 0 ||
		         strncmp(h->disks[i].name, "ram", 3) == 0;
	CHECK(!loops);
	CHECK(h->have_ifaces && h->nifaces >= 1 && h->nifaces <= VMS_HOST_MAX_IFACES);
	bool lo = false;
	for (unsigned i = 0; i < h->nifaces; i++)
		lo |= strcmp(h->ifaces[i].name, "lo") == 0;
	CHECK(lo);
	CHECK(h->have_procs && h->procs_running + h->procs_sleeping + h->procs_other >= 1);
	/* Loop and RAM disks on request (this machine may have none: then the count is equal). */
	unsigned without = h->ndisks + h->disks_dropped;
	vms_host_include_virtual_disks(true);
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(h->ndisks + h->disks_dropped >= without);
	vms_host_include_virtual_disks(false);

	/* Virtualization memory: unknown while libvirt is down, then used - buffers + shared
	 * with no domain running. */
	CHECK(!h->have_virt_mem);
	st.libvirt_up = true;
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(h->have_virt_mem);
	CHECK(h->virt_mem == h->mem_used - h->mem_buffers + h->mem_shared);
	CHECK_INT(h->virt_mem_clamped_total, 0);
	/* A domain whose RSS exceeds all the host uses: clamped to 0, and counted. */
	struct vms_domain *d = vms_store_upsert(&st, "u", "big", 1);
	d->stats.have_balloon_rss = true;
	d->stats.balloon_rss_kib = h->mem_total / 1024 * 2;
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(h->have_virt_mem && h->virt_mem == 0);
	CHECK_INT(h->virt_mem_clamped_total, 1);
	d->stats.have_balloon_rss = false;
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(!h->have_virt_mem);
	vms_host_fini();
	vms_store_fini(&st);
	return check_done("test_host");
}

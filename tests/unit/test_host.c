/* The host collector on this very machine, through libstatgrab. */
#include <stdio.h>

#include "../../collectors/host.h"
#include "../../daemon/log.h"
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
	CHECK_INT(vms_host_read(&st), 0);
	CHECK(st.host.valid);
	CHECK(st.generation != g);
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
	vms_host_fini();
	vms_store_fini(&st);
	return check_done("test_host");
}

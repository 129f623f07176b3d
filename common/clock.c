/* Clocks in nanoseconds (see vmscale/clock.h). */
#include "vmscale/clock.h"

uint64_t
vms_clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t
vms_monotonic_ns(void)
{
	return vms_clock_ns(CLOCK_MONOTONIC);
}

/* Clocks in nanoseconds and the unit constants, for the probe and the daemon alike. */
#ifndef VMSCALE_CLOCK_H
#define VMSCALE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US UINT64_C(1000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

/* clock_gettime(id) in nanoseconds. */
uint64_t vms_clock_ns(clockid_t id);
/* CLOCK_MONOTONIC in nanoseconds: every interval, deadline and age is measured on it. */
uint64_t vms_monotonic_ns(void);

#endif

/*
 * The host-wide schedule of active probe runs. Active probes (CPU work, memory, disk read,
 * network, micro latencies) load the host they measure, so the daemon runs them one guest
 * at a time (or `concurrency` at a time) with a quiet gap between runs: the measurement of
 * one guest never includes another guest's probe. Each (guest, family) pair has its own
 * due time on the monotonic clock; pure logic, so tests drive it with a fake clock.
 */
#ifndef VMSCALE_PROBESCHED_H
#define VMSCALE_PROBESCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmscale/protocol.h"

#define VMS_PSCHED_KEY_MAX 63

struct vms_psched_config {
	uint32_t interval_ms[VMS_FAM_COUNT]; /* active families; 0 turns a family off */
	unsigned concurrency;                /* runs at once host-wide, >= 1 */
	uint32_t gap_ms;                     /* quiet time after a run before the next starts */
};

struct vms_psched;

struct vms_psched *vms_psched_new(const struct vms_psched_config *cfg);
void vms_psched_free(struct vms_psched *ps);
/* New intervals apply from each pair's next due time; a shorter one pulls it in. */
void vms_psched_configure(struct vms_psched *ps, const struct vms_psched_config *cfg,
                          uint64_t now_ns);

/* A guest whose probe can run the families in caps (bit 1 << family). Idempotent: a known
 * key keeps its due times and gets the new caps. First due times are spread over one
 * interval, by key and family, so guests that appear together do not queue together. */
void vms_psched_add(struct vms_psched *ps, const char *key, unsigned caps, uint64_t now_ns);
void vms_psched_remove(struct vms_psched *ps, const char *key);

/* The run to start now, if a slot is free, the gap has passed and a pair is due (earliest
 * first, one run per guest). The pair is then running until vms_psched_finish. */
bool vms_psched_next(struct vms_psched *ps, uint64_t now_ns, const char **key,
                     enum vms_family *family);
/* The guest's run is over (done, timed out or lost); its next due time advances. */
void vms_psched_finish(struct vms_psched *ps, const char *key, uint64_t now_ns);

size_t vms_psched_running(const struct vms_psched *ps);
/* Runs that started more than half an interval after they were due: the host cannot keep
 * up with the configured schedule (too many guests, too long runs). */
uint64_t vms_psched_delayed_total(const struct vms_psched *ps);

#endif

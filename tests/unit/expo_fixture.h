/*
 * The fixture behind the golden /metrics, OpenMetrics and landing files and the metrics
 * reference: a store with every kind of sample (hostile names included), an analysis loaded
 * from a state file, and the exposition assembled as the daemon does.
 */
#ifndef VMSCALE_TEST_EXPO_FIXTURE_H
#define VMSCALE_TEST_EXPO_FIXTURE_H

#include "daemon/analysis/analysis.h"
#include "daemon/control.h"
#include "daemon/expo/expo.h"
#include "daemon/store/store.h"

#define NOW_NS (1000ull * 1000000000ull)

void fixture_fill_store(struct vms_store *st);
/* web-1 runs 1.6 times slower than its baseline: a warning (alert-for is 0 here). */
struct vms_analysis *fixture_analysis(struct vms_store *st);
/* The sources in daemon/main.c's order; control and analysis only when given, as there. */
void fixture_render_exposition(struct vms_buf *b, const struct vms_self_info *self,
                               struct vms_store *st, const struct vms_control_stats *control,
                               const struct vms_analysis *an);

/* A real source's owner and families over stand-in statistics (a struct the render reads),
 * for producers that need a socket or an event loop to exist. */
struct vms_metrics_source fixture_stand_in(struct vms_metrics_source real, const void *stats,
                                           void (*render)(const void *stats, struct vms_buf *b,
                                                          uint64_t now_ns));
/* The control socket's family from a struct vms_control_stats. */
void fixture_control_render(const void *ctx, struct vms_buf *b, uint64_t now_ns);

#endif

/*
 * What the QEMU guest agent says is the guest's word (collectors/agent.c): its counters are
 * judged against the figures the domain shows now before they replace them, as the probe's
 * are (collectors/guest/channel_plaus.c).
 */
#ifndef VMSCALE_COLLECTORS_AGENT_PLAUS_H
#define VMSCALE_COLLECTORS_AGENT_PLAUS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/store/store.h"

/* A counter that falls is believed a restart of the guest at most once in this many
 * intervals (a reboot starts them at 0); any other fall is a lie. */
#define VMS_AGENT_RESET_INTERVALS 6
/* A read may come late and the next one early: CPU time may grow by this much more than the
 * guest's CPUs run in the time between them, plus a second of each CPU. */
#define VMS_AGENT_GROWTH_SLACK 1.5

/*
 * The agent's CPU split c against the domain's agent state s: no more CPUs than libvirt gives
 * d, never falling (but for one believed restart: *reset), growing no faster than its CPUs
 * run. NULL when believed, else why not.
 */
const char *vms_agent_judge_cpu(const struct vms_agent_state *s, const struct vms_domain *d,
                                const struct vms_cpu_report *c, uint64_t now_ns,
                                uint64_t interval_ns, bool *reset);

/*
 * The agent's disks against s's: the set of devices is the one of the first read (so a guest
 * that renames its disks at every read does not churn series), newcomers are dropped and
 * counted in *dropped; a counter that falls is a believed restart (*reset: the read's set
 * replaces the old one) or, within VMS_AGENT_RESET_INTERVALS of the last, a lie. On success
 * out[0..*nout) is what the domain shows next.
 */
const char *vms_agent_judge_disks(const struct vms_agent_state *s, const struct vms_disk_report *in,
                                  unsigned nin, uint64_t now_ns, uint64_t interval_ns,
                                  struct vms_disk_report *out, unsigned *nout, unsigned *dropped,
                                  bool *reset);

#endif

/*
 * Agentless guests: the CPU split and disk counters of running domains whose name matches
 * qemu-agent-domains, read through the QEMU guest agent (qemu-ga >= 7.1: guest-get-cpustats,
 * guest-get-diskstats) with libvirt's virDomainQemuAgentCommand.
 *
 * libvirt refuses that call on a read-only connection, so this collector has its own
 * connection to qemu-agent-connect, a URI the operator gives on purpose (docs/security.md). An
 * agent command blocks until the guest answers or qemu-agent-timeout passes, so the reads run on
 * a worker thread of their own: it lists the running domains, reads the matching ones one
 * after the other, and posts each domain's results to a mailbox. The event loop never waits
 * on a guest: vms_agent_collect takes the mailbox (a mutex held for a pointer swap) and writes
 * the store, logs and counts in its own thread, as every other collector does.
 */
#ifndef VMSCALE_AGENT_H
#define VMSCALE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct vms_agent;

/* Starts the worker: NULL with err filled if the regex does not compile or the thread cannot
 * start. A URI that does not answer yet is retried with backoff, not an error. */
struct vms_agent *vms_agent_new(const char *uri, const char *regex, unsigned interval_s,
                                unsigned timeout_s, char *err, size_t errsz);
/* Stops the worker and frees everything: waits at most qemu-agent-timeout + 12 s (the command
 * under way, after libvirt's sync with the agent); a worker stuck longer in libvirt is left to
 * the process's exit. */
void vms_agent_free(struct vms_agent *a);

/* From the event loop: applies the reads finished since the last call to the store's domains
 * (found by UUID on the first connection), logs failures rate-limited, and forgets figures
 * not refreshed for 3 intervals. */
void vms_agent_collect(struct vms_agent *a, struct vms_store *st, uint64_t now_ns);

#endif

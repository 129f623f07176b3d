/*
 * NetIO-style network throughput, guest side (seeds 000 and 004: TCP send and receive with
 * blocks of 1 to 32 KiB). One timed TCP transfer to or from vmscaled's netio responder, with
 * the token the host granted for this run over the probe channel. The exchange is in
 * probes/PROTOCOL.md, "Network throughput (NetIO-style)". libc only.
 */
#ifndef VMSCALE_PROBE_NETCLIENT_H
#define VMSCALE_PROBE_NETCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "probes/bench.h"
#include "vmscale/protocol.h"

#define VMSP_NET_MIN_BLOCK VMS_MIN_NET_BLOCK /* the host refuses blocks outside these */
#define VMSP_NET_MAX_BLOCK VMS_MAX_NET_BLOCK
#define VMSP_NET_SETUP_MS 3000u   /* connect, send the request, get the host's answer */
#define VMSP_NET_CONFIRM_MS 2000u /* after the timed part: the host's "done", or ours out */

/*
 * Moves `bytes` in blocks of `block` bytes to (guest_sends) or from the host at addr (an IPv4
 * or IPv6 literal; no name lookup) and port, presenting token (32 hex characters). Each
 * write is of one block (VMSP_NET_MIN_BLOCK..VMSP_NET_MAX_BLOCK); reads take what is there.
 *
 * The timed part stops after max_ms even if fewer bytes moved; r->bytes then says how many
 * did, so that bytes / (end_ns - start_ns) stays an honest throughput:
 * - guest sends: from the first write to the host's "done", which counts the bytes that
 *   arrived (the socket's buffers are drained, not assumed delivered). If "done" does not come
 *   within VMSP_NET_CONFIRM_MS, the bytes the host's kernel acknowledged are reported instead.
 * - guest receives: from the host's "ok" to the last byte (or to the deadline if cut).
 * r->ops counts blocks (the last may be partial). Every step has a deadline: the call returns
 * within VMSP_NET_SETUP_MS + max_ms + VMSP_NET_CONFIRM_MS (plus scheduling delays).
 *
 * On failure r->err is an errno value and r->why a static reason: ECONNREFUSED (nothing
 * listening), ETIMEDOUT (no answer in time, or no data moved before the deadline), EACCES
 * (host refused the token: bad_token, expired, used_up), EBUSY (too_many_connections),
 * EMSGSIZE (too_many_bytes), EPROTO (the host did not understand us, or answered nonsense),
 * ECONNRESET (the host closed during the transfer), EINVAL (bad arguments).
 */
void vmsp_net_measure(const char *addr, unsigned port, const char *token, bool guest_sends,
                      uint32_t block, uint64_t bytes, unsigned max_ms, struct vmsp_result *r);

#endif

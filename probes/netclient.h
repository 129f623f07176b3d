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
#include <sys/socket.h>

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

/* An IPv4 or IPv6 literal ("[::1]" too) and a port as a socket address; 0, or -1 with r->err
 * EINVAL and r->why set. No name lookup. */
int vmsp_net_addr(const char *addr, unsigned port, struct sockaddr_storage *out, socklen_t *outlen,
                  struct vmsp_result *r);
/* Polls fd for events until deadline_ns: 1 ready (or an error the next call will tell),
 * 0 deadline passed, -1 poll failed. */
int vmsp_wait_fd(int fd, short events, uint64_t deadline_ns);

#define VMSP_UDP_RETRY_MS 500u /* the request again while nothing has arrived */
#define VMSP_UDP_IDLE_MS 500u  /* a burst that falls silent this long is over */

/*
 * UDP receive rate and loss (NetIO's UDP mode; vmscale/netudp.h): asks the host at
 * addr:port, presenting token, for a burst of datagrams of `block` bytes
 * (VMS_UDP_MIN_BLOCK..VMS_UDP_MAX_BLOCK) totalling at most `bytes`, sent within max_ms at
 * the host's pace; id marks this burst's datagrams. The request is sent again every
 * VMSP_UDP_RETRY_MS until a datagram arrives, within VMSP_NET_SETUP_MS. The burst is over
 * when all its datagrams arrived, when it is silent for VMSP_UDP_IDLE_MS, or max_ms +
 * VMSP_NET_CONFIRM_MS after the first arrival. Repeats and strays (another id, another
 * size) are not counted.
 *
 * r->ops = distinct datagrams received; r->start_ns / end_ns = the first and last arrival;
 * r->bytes = the bytes of the datagrams after the first (the rate is over the gaps between
 * arrivals). *count = the burst's size the host announced (0 if nothing arrived): the
 * guest's view of the loss, 1 - ops / count. Errors: ETIMEDOUT (nothing arrived: the host
 * dropped the request, or nothing reaches us), ENODATA (a single datagram: no rate),
 * ECONNREFUSED (nothing listens), EMSGSIZE (block out of bounds), EINVAL.
 */
void vmsp_udp_measure(const char *addr, unsigned port, const char *token, uint64_t id,
                      uint32_t block, uint64_t bytes, unsigned max_ms, struct vmsp_result *r,
                      uint32_t *count);

#endif

/*
 * The local control interface: a unix stream socket on which an operator's vmscalectl(8) asks
 * the daemon to list, pin or reset degradation baselines. This module is the transport; what a
 * request means is up to the handler given to vms_control_open.
 *
 * Protocol (one request per connection):
 *   - the client connects and sends ONE request line: words of printable ASCII (0x21-0x7e)
 *     separated by single spaces, ended by LF; at most VMS_CONTROL_MAX_LINE bytes with the LF,
 *     at most VMS_CONTROL_MAX_WORDS words of at most VMS_CONTROL_MAX_WORD bytes each;
 *   - the server replies with zero or more body lines, then a final status line "ok" or
 *     "error: REASON", each ending in LF, and closes the connection. The status is the LAST
 *     line: a body line that happens to read "ok" does not end the reply.
 *
 * Access control: the socket is made mode 0600, so the filesystem lets only its owner (and
 * root) connect; the peer's credentials (SO_PEERCRED) are checked as well, and only uid 0 and
 * the daemon's own effective uid are served.
 *
 * Everything from the peer is hostile: the line is bounded, a client that sends nothing
 * complete within VMS_CONTROL_TIMEOUT_MS is dropped, at most VMS_CONTROL_MAX_PENDING
 * connections are kept (the oldest is dropped for a new one), and the reply is written without
 * ever blocking the event loop (a peer that does not read it in time loses it).
 *
 * This header is also used by vmscalectl, which links nothing of the daemon: keep it free of
 * other project headers.
 */
#ifndef VMSCALE_CONTROL_H
#define VMSCALE_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/util/metrics_source.h"

#define VMS_CONTROL_DEFAULT_PATH "/run/vmscale/control.sock"
#define VMS_CONTROL_MAX_LINE 1024 /* bytes of a request line, LF included */
#define VMS_CONTROL_MAX_WORDS 8
#define VMS_CONTROL_MAX_WORD 255     /* bytes of one word */
#define VMS_CONTROL_TIMEOUT_MS 2000u /* to send the request line, and to read the reply */
#define VMS_CONTROL_MAX_PENDING 8    /* connections being served at once */

struct vms_control;

/*
 * Answers one request. argv holds the request's words (argc of them, 1 to
 * VMS_CONTROL_MAX_WORDS, each at most VMS_CONTROL_MAX_WORD bytes of printable ASCII without
 * spaces). Appends the reply body to out (zero or more lines, each ending in \n) and returns
 * 0, or returns -1 with a one-line reason in err (errsz is at least 256).
 */
typedef int (*vms_control_fn)(void *opaque, int argc, char **argv, struct vms_buf *out, char *err,
                              size_t errsz);

/*
 * Binds a unix stream socket at path, mode 0600 (its parent folder is made 0755 if missing),
 * and serves requests from libvirt's event loop (one must be registered). A socket file that
 * nobody answers on is stale and replaced; a path where another process listens, or that is
 * not a socket, is refused. Returns NULL with err filled on failure.
 */
struct vms_control *vms_control_open(const char *path, vms_control_fn fn, void *opaque, char *err,
                                     size_t errsz);
/* Stops serving, drops the connections in progress and unlinks the socket it made. NULL ok. */
void vms_control_close(struct vms_control *c);

struct vms_control_stats {
	uint64_t requests_total; /* well-formed requests handed to the handler */
	uint64_t errors_total;   /* of those, the ones the handler answered with an error */
	uint64_t rejected_total; /* malformed, oversize, non-printable, incomplete, wrong peer */
	uint64_t timeouts_total; /* silent or slow peers cut off, oldest dropped when full */
};
void vms_control_get_stats(const struct vms_control *c, struct vms_control_stats *s);

/* For tests: the timeout of a connection, and the two uids served (default 0 and geteuid()). */
void vms_control_set_timeout_ms(struct vms_control *c, unsigned ms);
void vms_control_set_peer_uids(struct vms_control *c, uid_t a, uid_t b);

/* The control socket's family: requests by result. */
void vms_control_render_stats(const struct vms_control_stats *s, struct vms_buf *b);
struct vms_metrics_source vms_control_metrics_source(const struct vms_control *c);

#endif

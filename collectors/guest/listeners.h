/*
 * Probe transports other than the virtio-serial channel: listeners that accept a guest's
 * connection, decide which domain it is, and hand it to the channels (vms_channels_attach),
 * which then handle its records exactly as on a channel.
 *
 * vsock: the identity is the peer's CID, which the hypervisor sets and the guest cannot
 * forge; it is matched against the CID in each domain's live XML. Unknown CIDs are refused.
 *
 * tcp: anyone who can reach the port can connect, so the identity is a per-domain secret:
 * 128 random bits in hex, kept in STATE_DIR/tokens/<key> (mode 0600, made on first sight of
 * the domain, kept across restarts), that the operator gives the guest's probe. The first
 * line must be "auth proto=1 token=HEX"; no name the peer claims is believed.
 */
#ifndef VMSCALE_LISTENERS_H
#define VMSCALE_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"
#include "collectors/guest/channel.h"
#include "collectors/guest/sockdir.h"
#include "vmscale/token.h"
#include "daemon/util/metrics_source.h"

#define VMS_AUTH_TIMEOUT_MS 10000u /* to send the auth line after connecting */
#define VMS_AUTH_MAX_PENDING 32    /* unauthenticated connections at once; more are refused */
/* Of those, from one peer address: one guest cannot hold every slot and lock the others out
 * (a probe authenticates at once, and reconnects one connection at a time). */
#define VMS_AUTH_MAX_PENDING_PER_PEER 4

/* Why a tcp connection was refused before it was tied to a domain. */
enum vms_auth_fail {
	VMS_AUTH_BAD_TOKEN, /* "bad_token": well-formed, but no domain has this token */
	VMS_AUTH_MALFORMED, /* "malformed": not an auth record, or a wrong protocol version */
	VMS_AUTH_OVERSIZED, /* "oversized": no LF within a record's maximum length */
	VMS_AUTH_TIMEOUT,   /* "timeout": no complete line in time */
	VMS_AUTH_CLOSED,    /* "closed": the peer went away before authenticating */
	VMS_AUTH_BUSY,      /* "busy": too many unauthenticated connections */
	VMS_AUTH_EXCLUDED,  /* "excluded": the token's domain is excluded by probe-domains */
	VMS_AUTH_PEER_BUSY, /* "peer_busy": its address has VMS_AUTH_MAX_PENDING_PER_PEER */
	VMS_AUTH_FAIL_COUNT
};
const char *vms_auth_fail_name(enum vms_auth_fail f);

struct vms_listener_stats {
	bool vsock_on, tcp_on;
	struct vms_sockdir_stats unix_; /* the containers' sockets (sockdir.h) */
	uint64_t vsock_accepted;        /* tied to a domain */
	uint64_t vsock_unknown_cid;     /* refused: no running domain has the peer's CID */
	uint64_t tcp_accepted;          /* authenticated */
	uint64_t tcp_refused[VMS_AUTH_FAIL_COUNT];
};

struct vms_listeners;

struct vms_listeners *vms_listeners_new(struct vms_store *st, struct vms_channels *chans);
void vms_listeners_free(struct vms_listeners *l);

/* For tests: the socket() the vsock listener calls (to stand in for a kernel without
 * AF_VSOCK), and the auth timeout. */
void vms_listeners_set_socket_fn(struct vms_listeners *l, int (*fn)(int, int, int));
void vms_listeners_set_auth_timeout_ms(struct vms_listeners *l, unsigned ms);

/*
 * Listens on AF_VSOCK, any CID, this port. Returns 0, or -1 with err saying why; a kernel
 * without AF_VSOCK (EAFNOSUPPORT) gets its own plain message.
 */
int vms_listeners_open_vsock(struct vms_listeners *l, uint32_t port, char *err, size_t errsz);

/* Listens on TCP ADDR:PORT ([ADDR]:PORT for IPv6); tokens live under state_dir. */
int vms_listeners_open_tcp(struct vms_listeners *l, const char *spec, const char *state_dir,
                           char *err, size_t errsz);
unsigned vms_listeners_tcp_port(const struct vms_listeners *l); /* the bound port, 0 if off */

/* After the domain list changed: provisions the tokens of new domains (tcp on), listens on
 * the sockets of new containers (sockdir.h). */
void vms_listeners_sync(struct vms_listeners *l);

void vms_listeners_get_stats(const struct vms_listeners *l, struct vms_listener_stats *out);

/* The store key of the running domain whose vsock CID is cid; NULL if none or cid < 3. */
const char *vms_vsock_domain_for_cid(const struct vms_store *st, uint32_t cid);

/*
 * The domain's token: read from STATE_DIR/tokens/<key>, or made and stored there (the
 * directories are made 0700 if missing). A file with bad content or open permissions is
 * replaced by a new token (logged); a symlink or non-regular file is refused. Returns 0, or -1
 * with err filled.
 */
int vms_token_provision(const char *state_dir, const char *key, char token[VMS_TOKEN_LEN + 1],
                        char *err, size_t errsz);

/* The transports' families: connections tied to a domain and refused (when a listener is on). */
void vms_listeners_render_stats(const struct vms_listener_stats *ls, struct vms_buf *b);
struct vms_metrics_source vms_listeners_metrics_source(const struct vms_listeners *l);

#endif

/*
 * NetIO-style network throughput, host side (seeds 000 and 004 measured TCP send and receive
 * with blocks of 1 to 32 KiB). A TCP responder on libvirt's event loop moves bytes to or from
 * a guest's vmscale-probe for one measurement run that the daemon granted over the guest's
 * private probe channel: the run's token travels there, and the guest presents it on every
 * TCP connection. The exchange is in probes/PROTOCOL.md, "Network throughput (NetIO-style)".
 *
 * The TCP peer is untrusted: anyone who can reach the port can connect. Without a valid token
 * a connection moves no data; with one it moves at most what the grant allows. Every step has
 * a deadline, the number of connections is bounded, and the event loop never blocks.
 *
 * The responder also times each transfer with the host's monotonic clock, so that guest-timed
 * throughput (which lies under contention, seed 001) can be checked against the host's view.
 *
 * Every function must be called from the event-loop thread.
 */
#ifndef VMSCALE_NETIO_H
#define VMSCALE_NETIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmscale/clock.h"
#include "vmscale/netudp.h"

#include "vmscale/protocol.h"
#include "daemon/util/metrics_source.h"

#define VMS_NETIO_PROTO 1
#define VMS_NETIO_OWNER_MAX 63                /* a domain UUID is 36 */
#define VMS_NETIO_MIN_BLOCK VMS_MIN_NET_BLOCK /* bytes; the seeds used 1 KiB .. 32 KiB */
#define VMS_NETIO_MAX_BLOCK VMS_MAX_NET_BLOCK
#define VMS_NETIO_MAX_GRANTS 64 /* outstanding at once, host-wide */
#define VMS_NETIO_MAX_CONNS 8   /* open TCP connections at once, host-wide */
/* Fair shares of those slots, so that one guest cannot hold them all: a peer address may
 * hold this many connections that no grant owns yet (waiting for a request, or refused and
 * lingering), and one owner this many granted ones (the probe uses one at a time). */
#define VMS_NETIO_MAX_PEER_PENDING 2
#define VMS_NETIO_MAX_OWNER_CONNS 2
#define VMS_NETIO_REQUEST_MS 2000 /* from accept to a whole request line */
#define VMS_NETIO_IDLE_MS 5000    /* a transfer without progress this long ends */
#define VMS_NETIO_LIFETIME_MS (VMS_MAX_BOUND_MS + 10000u) /* no connection lives longer */
/* UDP (off unless vms_netio_udp_open): bursts paced to guests, see vmscale/netudp.h. */
#define VMS_NETIO_UDP_MIN_RATE VMS_UDP_MIN_RATE /* bytes/s per burst (vmscale/netudp.h) */
#define VMS_NETIO_UDP_MAX_RATE VMS_UDP_MAX_RATE /* 4 bursts at once at most */
#define VMS_NETIO_UDP_MAX_SESSIONS 4      /* bursts at once host-wide, at most one per owner */
#define VMS_NETIO_UDP_READS 64            /* request datagrams read per wakeup */
#define VMS_NETIO_UDP_BUDGET (256 * 1024) /* bytes one burst may send per turn of the loop */
/* Datagrams per turn of the loop, one burst and all: each is a sendmsg, so the event loop's
 * time per turn is bounded whatever block size a guest asks for. */
#define VMS_NETIO_UDP_SESSION_DATAGRAMS 32
#define VMS_NETIO_UDP_TURN_DATAGRAMS 96
#define VMS_NETIO_UDP_PACE_MS 1 /* the pacing timer's period while bursts run */

/* Why a connection was refused before any data moved; each name is a stable metric label. */
enum vms_netio_refuse {
	VMS_NETIO_REFUSE_SYNTAX,         /* "syntax": not a well-formed netio request */
	VMS_NETIO_REFUSE_OVERSIZED,      /* "oversized": no LF within VMS_PROTO_MAX_RECORD */
	VMS_NETIO_REFUSE_VERSION,        /* "bad_version": proto is not VMS_NETIO_PROTO */
	VMS_NETIO_REFUSE_BAD_TOKEN,      /* "bad_token": unknown or revoked token */
	VMS_NETIO_REFUSE_EXPIRED,        /* "expired": the grant's time is up */
	VMS_NETIO_REFUSE_USED_UP,        /* "used_up": the grant served all its connections */
	VMS_NETIO_REFUSE_TOO_MANY_BYTES, /* "too_many_bytes": bytes above the grant's max_bytes */
	VMS_NETIO_REFUSE_TOO_MANY_CONNS, /* "too_many_connections": VMS_NETIO_MAX_CONNS open */
	VMS_NETIO_REFUSE_TIMEOUT,        /* "timeout": no request within VMS_NETIO_REQUEST_MS */
	VMS_NETIO_REFUSE_PEER_PENDING,   /* "too_many_per_peer": VMS_NETIO_MAX_PEER_PENDING */
	VMS_NETIO_REFUSE_OWNER_CONNS,    /* "too_many_per_owner": VMS_NETIO_MAX_OWNER_CONNS */
	VMS_NETIO_REFUSE_COUNT
};

const char *vms_netio_refuse_name(enum vms_netio_refuse reason);

/* Why a UDP request datagram was dropped (never answered); each a stable metric label. */
enum vms_netio_udp_drop {
	VMS_NETIO_UDP_SYNTAX,         /* "syntax": not a well-formed udp request */
	VMS_NETIO_UDP_VERSION,        /* "bad_version": proto is not VMS_UDP_PROTO */
	VMS_NETIO_UDP_BAD_TOKEN,      /* "bad_token": unknown or revoked token */
	VMS_NETIO_UDP_EXPIRED,        /* "expired": the grant's time is up */
	VMS_NETIO_UDP_USED_UP,        /* "used_up": the grant served all its connections */
	VMS_NETIO_UDP_TOO_MANY_BYTES, /* "too_many_bytes": bytes above the grant's max_bytes */
	VMS_NETIO_UDP_OWNER_BUSY,     /* "owner_busy": the owner's burst is still running */
	VMS_NETIO_UDP_FULL,           /* "too_many_sessions": VMS_NETIO_UDP_MAX_SESSIONS run */
	/* "unproven_address": no granted TCP connection with this token came from the source
	 * address, so nothing shows the requester receives there (it may be forged) */
	VMS_NETIO_UDP_UNPROVEN,
	VMS_NETIO_UDP_BLOCK_TOO_BIG, /* "block_exceeds_bytes": block > bytes or > max_bytes */
	VMS_NETIO_UDP_TOO_FAST,      /* "exceeds_rate": bytes > the rate times ms */
	VMS_NETIO_UDP_REPEATED,      /* "repeated_id": id not above the grant's last burst's */
	VMS_NETIO_UDP_DROP_COUNT
};

const char *vms_netio_udp_drop_name(enum vms_netio_udp_drop reason);

struct vms_netio_stats {
	uint64_t connections; /* TCP connections accepted */
	uint64_t accepted;    /* requests granted: transfers started */
	uint64_t completed;   /* transfers that ended by the protocol (see result.complete) */
	uint64_t aborted;     /* transfers cut: idle, reset by the peer, revoked, too long */
	uint64_t silent;      /* closed by the peer before a whole request (port scans) */
	uint64_t refused[VMS_NETIO_REFUSE_COUNT];
	uint64_t bytes_received; /* payload bytes, guest to host */
	uint64_t bytes_sent;     /* payload bytes, host to guest */
	unsigned active;         /* connections open now */
	unsigned grants;         /* grants still usable (neither expired nor used up) */
	/* UDP */
	uint64_t udp_requests;  /* request datagrams received, good or not */
	uint64_t udp_completed; /* bursts sent whole */
	uint64_t udp_aborted;   /* bursts cut: revoked, the owner went away, a send error */
	uint64_t udp_dropped[VMS_NETIO_UDP_DROP_COUNT];
	uint64_t udp_datagrams_sent, udp_bytes_sent;
	bool udp; /* the UDP responder is on */
};

/*
 * One transfer seen from the host. host_ns starts when the host's "ok" has been sent (the
 * guest starts on it) and ends, when the guest sends (dir=send), at the last payload byte
 * received; when the guest receives (dir=recv), at the arrival of the guest's "done", which
 * says how much it received: bytes is then what the guest confirmed (never more than the host
 * wrote). complete: all requested bytes moved.
 */
struct vms_netio_result {
	bool udp; /* a UDP burst: host_ns is from the first datagram sent to the last */
	bool guest_sends;
	uint32_t block;
	uint64_t requested; /* bytes the guest asked to move */
	uint64_t bytes;     /* bytes moved */
	uint64_t host_ns;   /* host monotonic duration of the transfer */
	bool complete;
	uint64_t end_mono_ns; /* host monotonic time the transfer ended (tells fresh from stale) */
	uint32_t datagrams;   /* UDP: datagrams the host sent (the guest's loss is against this) */
};

struct vms_netio;

/*
 * Listens on "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all IPv4 addresses) and joins the
 * default event loop, which must be registered already. NULL with a message in err.
 */
struct vms_netio *vms_netio_open(const char *listen, char *err, size_t errsz);
/* Closes every connection and the listening socket; NULL is fine. */
void vms_netio_close(struct vms_netio *n);
/* The port bound (for log lines and for the address handed to guests). */
unsigned vms_netio_port(const struct vms_netio *n);

/*
 * Allows up to max_conns connections presenting token, each moving at most max_bytes, until
 * expires_mono_ns (vms_monotonic_ns() clock). owner names who may use it (a domain UUID).
 * When VMS_NETIO_MAX_GRANTS are stored, expired and used-up grants are dropped, oldest
 * first; if none is, the grant is refused. 0, or -1 with errno: EINVAL (bad argument),
 * EEXIST (token already granted), ENOSPC (full).
 */
int vms_netio_grant(struct vms_netio *n, const char *token, const char *owner, uint64_t max_bytes,
                    unsigned max_conns, uint64_t expires_mono_ns);
/* Drops every grant of owner and ends its open connections (counted as aborted). */
void vms_netio_revoke(struct vms_netio *n, const char *owner);
/* vms_netio_revoke, and forgets owner's results too: for a domain that went away. */
void vms_netio_forget(struct vms_netio *n, const char *owner);

void vms_netio_get_stats(const struct vms_netio *n, struct vms_netio_stats *out);

/* The last transfer of owner, whatever its direction and block size. */
bool vms_netio_last_result(const struct vms_netio *n, const char *owner,
                           struct vms_netio_result *out);
/* The last transfer of owner in that direction with that block size. */
bool vms_netio_find_result(const struct vms_netio *n, const char *owner, bool guest_sends,
                           uint32_t block, struct vms_netio_result *out);

/*
 * Turns on the UDP responder: a UDP socket on the TCP listener's address and port, paced
 * bursts of at most rate bytes per second (VMS_NETIO_UDP_MIN_RATE..VMS_NETIO_UDP_MAX_RATE)
 * to each guest that presents a granted token from an address a granted TCP connection with
 * that token came from (a UDP burst uses one of the grant's connections). Replies leave from
 * the local address the request arrived at. 0, or -1 with a message in err.
 */
int vms_netio_udp_open(struct vms_netio *n, uint64_t rate, char *err, size_t errsz);
/* The last UDP burst of owner with that block size. */
bool vms_netio_find_udp_result(const struct vms_netio *n, const char *owner, uint32_t block,
                               struct vms_netio_result *out);
/*
 * Whether a guest's UDP receive figure fits the burst the host sent (hr): at least two and no
 * more datagrams than the host sent, bytes exactly the blocks after the first, and not
 * received faster than sent: its window (first to last arrival, guest_ns) times 1.5 is at
 * least the host's send window over as many gaps between datagrams. No allowance for clock
 * skew: each window is a span on one clock.
 */
bool vms_netio_udp_plausible(const struct vms_netio_result *hr, uint64_t received, uint64_t bytes,
                             uint64_t guest_ns);

/* The responder's families: connections, refusals, transfers, bytes. */
void vms_netio_render_stats(const struct vms_netio_stats *n, struct vms_buf *b);
struct vms_metrics_source vms_netio_metrics_source(const struct vms_netio *n);

#endif

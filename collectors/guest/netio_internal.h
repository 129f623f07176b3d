/*
 * The NetIO responder's insides, shared by its files: netio.c (the listener, accepting, the
 * deadline sweep), netio_conn.c (one connection's state machine) and netio_grants.c (grants
 * and the results their transfers left). Not for other modules: they use netio.h.
 */
#ifndef VMSCALE_NETIO_INTERNAL_H
#define VMSCALE_NETIO_INTERNAL_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/guest/netio.h"
#include "daemon/util/log.h"
#include "daemon/util/tick.h"
#include "vmscale/protocol.h"

/* TCP both ways and UDP, times six block sizes (the seeds' 1k..32k) */
#define RESULTS_PER_OWNER 18
#define SCRATCH (64 * 1024) /* reads need not match the block size: recv() takes what is there */

enum conn_state {
	ST_REQUEST,    /* reading the request line */
	ST_RECEIVE,    /* guest sends: reading payload */
	ST_SEND,       /* guest receives: writing payload */
	ST_AWAIT_DONE, /* guest receives: all written, waiting for its "done" */
	ST_FLUSH,      /* writing the last reply ("refused ...", "done ...") */
	ST_DRAIN,      /* write side shut: discard input until EOF, a bound or the deadline */
};

struct conn {
	struct vms_netio *n;
	int fd, watch;
	enum conn_state state;
	char peer[INET6_ADDRSTRLEN + 8];
	struct sockaddr_storage addr;        /* the peer's, for the per-peer limit */
	char owner[VMS_NETIO_OWNER_MAX + 1]; /* empty until a grant matched */
	bool transfer;                       /* started: ends counted completed or aborted */
	bool guest_sends;
	uint32_t block;
	uint32_t block_left; /* bytes left to write in the current block */
	uint64_t requested, moved;
	uint64_t accepted_ns, first_ns, last_ns, progress_ns, linger_until_ns;
	size_t drained;
	char in[VMS_PROTO_MAX_RECORD];
	size_t inlen;
	char out[VMS_PROTO_MAX_RECORD + 1];
	size_t outlen, outoff;
};

#define GRANT_PROVEN_ADDRS 2 /* the probe connects from one address; a second is generous */

struct grant {
	char token[VMS_TOKEN_LEN + 1];
	char owner[VMS_NETIO_OWNER_MAX + 1];
	uint64_t max_bytes;
	unsigned max_conns, used;
	uint64_t expires_ns;
	uint64_t seq; /* creation order: the oldest unusable grant goes first */
	/* The peer addresses (IP, no port) of the TCP connections that presented this token and
	 * were granted: the handshake proved the guest receives there. UDP goes nowhere else. */
	struct sockaddr_storage proven[GRANT_PROVEN_ADDRS];
	unsigned nproven;
	/* The id of the last UDP burst started: a request must carry a greater one, so that a
	 * retried (or replayed) request never starts a second burst. */
	uint64_t udp_last_id;
	bool udp_started;
};

/* One UDP burst: paced datagrams to the peer that presented the token, from a proven address,
 * sent from the local address the request arrived at (local, from IP_PKTINFO/IPV6_PKTINFO). */
struct udp_session {
	bool active;
	char owner[VMS_NETIO_OWNER_MAX + 1];
	struct sockaddr_storage peer;
	socklen_t peerlen;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} local;
	bool have_local, local_v6; /* local holds the request's destination (v6: an in6_pktinfo) */
	uint64_t id, requested;
	uint32_t block, count, sent;
	uint64_t start_ns, last_ns;
};

struct owner_results {
	char owner[VMS_NETIO_OWNER_MAX + 1];
	struct vms_netio_result r[RESULTS_PER_OWNER];
	unsigned nr, last;
	uint64_t touched;
};

struct vms_netio {
	int lfd, lwatch;
	struct vms_tick tick; /* deadline sweep, only while something can time out */
	bool accept_paused;
	uint64_t accept_resume_ns;
	unsigned port;
	struct conn *conns[VMS_NETIO_MAX_CONNS];
	unsigned nconns;
	struct grant grants[VMS_NETIO_MAX_GRANTS];
	unsigned ngrants;
	uint64_t seq;
	struct owner_results **owners;
	size_t nowners, capowners;
	struct vms_netio_stats st;
	/* Per reason: a port scanner's bad tokens must not hide our own expired grants. */
	struct vms_complaint refuse_complaint[VMS_NETIO_REFUSE_COUNT];
	struct vms_complaint abort_complaint, accept_complaint;
	struct vms_record rec; /* 2 KiB: parsed here, one thread only */
	char scratch[SCRATCH]; /* guest payload lands here and goes nowhere */
	/* UDP, when on: its socket, the bursts, their pacing timer. */
	struct sockaddr_storage laddr; /* the TCP listener's address, shared by UDP */
	socklen_t laddrlen;
	int ufd, uwatch;
	uint64_t udp_rate; /* bytes per second per burst */
	struct vms_tick upace;
	struct udp_session usess[VMS_NETIO_UDP_MAX_SESSIONS];
	struct vms_complaint udp_complaint[VMS_NETIO_UDP_DROP_COUNT], udp_send_complaint;
	unsigned char *ubuf; /* one datagram: a header, then zeros */
	/* Payload the host sends: zeros, never written, so that no guest's data can reach
	 * another guest (and, calloc'd, its pages stay the kernel's shared zero page). */
	char *zeros;
};

/* netio.c: runs the deadline sweep only while a deadline can pass. */
void netio_tick_sync(struct vms_netio *n);
/* "ADDR:PORT" or "[V6ADDR]:PORT" of ss into out; returns out. */
const char *netio_peer_name(const struct sockaddr_storage *ss, char *out, size_t outsz);

/* netio_conn.c */
void netio_on_conn(int watch, int fd, int events, void *opaque);
void netio_conn_free(struct conn *c);
/* Ends c; a transfer in progress counts as aborted (why logged, as a warning if complain). */
void netio_conn_abort(struct conn *c, const char *why, bool complain);
/* Sends "refused reason=..." and lingers; returns false if c is gone. */
bool netio_refuse(struct conn *c, enum vms_netio_refuse reason);

/* netio_udp.c */
/* Ends owner's UDP burst, counted as aborted. */
void netio_udp_revoke(struct vms_netio *n, const char *owner);
void netio_udp_close(struct vms_netio *n);

/* netio_grants.c */
/* Connections that owner's grants hold now (for the per-owner limit). */
unsigned netio_owner_conns(const struct vms_netio *n, const char *owner);
struct grant *netio_grant_find(struct vms_netio *n, const char *token);
/* Remembers addr (a granted TCP connection's peer) as a proven address of g. */
void netio_grant_prove(struct grant *g, const struct sockaddr_storage *addr);
/* Whether addr's IP is one of g's proven addresses (the port is not compared). */
bool netio_grant_proven(const struct grant *g, const struct sockaddr_storage *addr);
/* Keeps res as owner's latest result for its direction and block size. */
void netio_record_result(struct vms_netio *n, const char *owner,
                         const struct vms_netio_result *res);

#endif

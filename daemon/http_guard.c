/*
 * The HTTP endpoint's admission policy and header deadline (see http_guard.h).
 *
 * Why our own policy rather than MHD_OPTION_PER_IP_CONNECTION_LIMIT: libmicrohttpd checks its
 * own limits before the accept policy and logs every refusal ("Server reached connection
 * limit"), unthrottled and without a reason we could count. Deciding here, with libmicrohttpd's
 * own limit one above ours, keeps it silent and lets each refusal be counted by reason.
 *
 * Why a thread for the header deadline: libmicrohttpd has one timeout, reset by every byte
 * received, so a client sending a byte every few seconds never reaches it. This thread closes
 * such connections with shutdown(2): libmicrohttpd then reads end-of-file and closes the
 * connection itself. It is safe because libmicrohttpd reports a connection closed (taking our
 * lock) before it closes the socket, so a socket still listed here is still that connection's.
 */
#include "daemon/http_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/util/alloc.h"
#include "daemon/util/log.h"
#include "vmscale/clock.h"

#define IDLE_WAKE_NS (3600 * NS_PER_S) /* nothing pending: one wakeup an hour */
#define QUIET_NS (60 * NS_PER_S)       /* no refusal this long: say so once */

/* A client address without its port: what the per-address limit counts. */
struct addr_key {
	sa_family_t family;
	unsigned char ip[16];
};

struct slot {
	bool used;
	bool awaiting_headers; /* its deadline applies */
	bool closing;          /* shut down past its deadline: counted once */
	int fd;
	uint64_t deadline_ns;
	struct addr_key key;
};

struct vms_http_guard {
	struct vms_http_guard_limits limits;
	pthread_mutex_t lock; /* everything below; held briefly by both threads */
	pthread_cond_t wake;
	pthread_t reaper;
	bool stopping;
	struct slot *slots; /* limits.max_connections + 1: libmicrohttpd's own limit */
	size_t nslots;
	struct vms_http_refusals refusals;
	uint64_t last_refusal_ns;
	struct vms_complaint refuse_complaint, slow_complaint;
};

static bool
addr_key_of(const struct sockaddr *sa, socklen_t len, struct addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		memcpy(k->ip, &in->sin_addr, sizeof(in->sin_addr));
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(k->ip, &in6->sin6_addr, sizeof(in6->sin6_addr));
	} else {
		return false;
	}
	k->family = sa->sa_family;
	return true;
}

static void
addr_key_text(const struct addr_key *k, char *buf, size_t bufsz)
{
	if (!inet_ntop(k->family, k->ip, buf, (socklen_t)bufsz))
		snprintf(buf, bufsz, "an unknown address");
}

/*
 * Closes connections whose headers are late and, after a quiet spell, ends the complaints;
 * called with the lock held. Returns when it has something to do next.
 */
static uint64_t
reap_late(struct vms_http_guard *g, uint64_t now)
{
	unsigned late = 0;
	uint64_t next = now + IDLE_WAKE_NS;
	char who[INET6_ADDRSTRLEN] = "";
	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];
		if (!s->used || !s->awaiting_headers || s->closing)
			continue;
		if (now < s->deadline_ns) {
			next = s->deadline_ns < next ? s->deadline_ns : next;
			continue;
		}
		shutdown(s->fd, SHUT_RDWR);
		s->closing = true;
		g->refusals.header_timeout++;
		addr_key_text(&s->key, who, sizeof(who));
		late++;
	}
	if (late) {
		g->last_refusal_ns = now;
		vms_complain(
		    &g->slow_complaint, LOG_WARNING, NULL,
		    "http: closed %u connection(s), the last from %s, whose request headers "
		    "took over %u s (http-header-timeout)",
		    late, who, g->limits.header_timeout_s);
	}
	bool complaining = g->refuse_complaint.interval_ns || g->slow_complaint.interval_ns;
	if (complaining && now - g->last_refusal_ns >= QUIET_NS) {
		vms_complain_recovered(&g->refuse_complaint, NULL,
		                       "http: no connection refused for %llu s",
		                       (unsigned long long)(QUIET_NS / NS_PER_S));
		vms_complain_recovered(&g->slow_complaint, NULL,
		                       "http: no slow request headers for %llu s",
		                       (unsigned long long)(QUIET_NS / NS_PER_S));
	} else if (complaining && g->last_refusal_ns + QUIET_NS < next) {
		next = g->last_refusal_ns + QUIET_NS;
	}
	return next;
}

/* Sleeps until the next deadline, or until a new one (a connection, an answer) wakes it. */
static void *
reaper_main(void *arg)
{
	struct vms_http_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	uint64_t next = vms_monotonic_ns() + IDLE_WAKE_NS;
	while (!g->stopping) {
		struct timespec until = {.tv_sec = (time_t)(next / NS_PER_S),
		                         .tv_nsec = (long)(next % NS_PER_S)};
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (!g->stopping)
			next = reap_late(g, vms_monotonic_ns());
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct vms_http_guard *
vms_http_guard_new(const struct vms_http_guard_limits *limits)
{
	struct vms_http_guard *g = vms_xcalloc(1, sizeof(*g));
	g->limits = *limits;
	g->nslots = (size_t)limits->max_connections + 1;
	g->slots = vms_xcalloc(g->nslots, sizeof(*g->slots));
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&g->reaper, NULL, reaper_main, g);
	if (rc != 0) {
		vms_err("http: cannot start the header deadline thread: %s", strerror(rc));
		g->stopping = true; /* nothing to join */
		vms_http_guard_free(g);
		return NULL;
	}
	return g;
}

void
vms_http_guard_stop(struct vms_http_guard *g)
{
	pthread_mutex_lock(&g->lock);
	bool running = !g->stopping;
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	if (running)
		pthread_join(g->reaper, NULL);
}

void
vms_http_guard_free(struct vms_http_guard *g)
{
	if (!g)
		return;
	vms_http_guard_stop(g);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g->slots);
	free(g);
}

/* Counts a refusal at accept and complains at a bounded rate; called with the lock held. */
static void
refuse(struct vms_http_guard *g, uint64_t *counter, const struct addr_key *k, const char *why)
{
	char who[INET6_ADDRSTRLEN];
	addr_key_text(k, who, sizeof(who));
	(*counter)++;
	g->last_refusal_ns = vms_monotonic_ns();
	bool first = g->refuse_complaint.interval_ns == 0;
	vms_complain(&g->refuse_complaint, LOG_WARNING, NULL,
	             "http: refused a connection from %s: %s", who, why);
	if (first)
		pthread_cond_signal(&g->wake); /* to say when the refusals stop */
}

enum MHD_Result
vms_http_guard_admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct vms_http_guard *g = cls;
	struct addr_key k;
	if (!addr_key_of(addr, addrlen, &k))
		return MHD_YES; /* not an IP peer: nothing to count it against */
	enum MHD_Result ok = MHD_YES;
	pthread_mutex_lock(&g->lock);
	unsigned total = 0, same = 0;
	for (size_t i = 0; i < g->nslots; i++) {
		const struct slot *s = &g->slots[i];
		total += s->used;
		same += s->used && memcmp(&s->key, &k, sizeof(k)) == 0;
	}
	if (same >= g->limits.per_address) {
		refuse(g, &g->refusals.per_address_limit, &k,
		       "the address holds its share of connections "
		       "(http-max-connections-per-address)");
		ok = MHD_NO;
	} else if (total >= g->limits.max_connections) {
		refuse(g, &g->refusals.total_limit, &k,
		       "every connection is taken (http-max-connections)");
		ok = MHD_NO;
	}
	pthread_mutex_unlock(&g->lock);
	return ok;
}

static void
connection_started(struct vms_http_guard *g, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *addr =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fd =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct addr_key k;
	/* libmicrohttpd keeps the address as accept(2) gave it: room for its family's struct. */
	if (!addr || !fd || !addr_key_of(addr->client_addr, sizeof(struct sockaddr_in6), &k))
		return; /* admitted without an address: not counted, no deadline */
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];
		if (s->used)
			continue;
		*s = (struct slot){.used = true,
		                   .awaiting_headers = true,
		                   .fd = fd->connect_fd,
		                   .deadline_ns = now + g->limits.header_timeout_s * NS_PER_S,
		                   .key = k};
		*socket_context = s;
		pthread_cond_signal(&g->wake);
		break;
	}
	pthread_mutex_unlock(&g->lock);
}

void
vms_http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
	struct vms_http_guard *g = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		connection_started(g, conn, socket_context);
		return;
	}
	struct slot *s = *socket_context;
	if (!s)
		return;
	pthread_mutex_lock(&g->lock);
	s->used = false;
	pthread_mutex_unlock(&g->lock);
	*socket_context = NULL;
}

static struct slot *
slot_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void
vms_http_guard_headers_done(struct vms_http_guard *g, struct MHD_Connection *conn)
{
	struct slot *s = slot_of(conn);
	if (!s)
		return;
	pthread_mutex_lock(&g->lock);
	s->awaiting_headers = false;
	pthread_mutex_unlock(&g->lock);
}

/* The next request on a kept-alive connection must be in within the idle timeout. */
void
vms_http_guard_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct vms_http_guard *g = cls;
	(void)req_cls;
	(void)toe;
	struct slot *s = slot_of(conn);
	if (!s)
		return;
	pthread_mutex_lock(&g->lock);
	s->awaiting_headers = true;
	s->deadline_ns = vms_monotonic_ns() + g->limits.idle_timeout_s * NS_PER_S;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
}

void
vms_http_guard_refusals(struct vms_http_guard *g, struct vms_http_refusals *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->refusals;
	pthread_mutex_unlock(&g->lock);
}

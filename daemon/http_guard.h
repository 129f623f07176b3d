/*
 * Who may hold the HTTP endpoint's connections (private to daemon/http*.c): a limit per
 * client address below the total, so one address (a slow-client attack, a leaking client)
 * cannot take every slot and a scraper from another address always gets through; and a
 * deadline for a request's headers, so a client dribbling bytes cannot keep its slots the
 * way libmicrohttpd's idle timeout lets it. Refusals are counted by reason and complained
 * about at a bounded rate (daemon/util/log.h), never once per connection.
 */
#ifndef VMSCALE_HTTP_GUARD_H
#define VMSCALE_HTTP_GUARD_H

#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "daemon/http.h"

struct vms_http_guard_limits {
	unsigned max_connections;  /* at once, from every address */
	unsigned per_address;      /* at once, from one address */
	unsigned header_timeout_s; /* from the connection's start to the request's headers */
	unsigned idle_timeout_s;   /* from an answer to the next request's headers */
};

struct vms_http_guard;

/* Starts the thread that closes connections past their header deadline; NULL if it cannot. */
struct vms_http_guard *vms_http_guard_new(const struct vms_http_guard_limits *limits);
/* Stops that thread; connections stay counted until libmicrohttpd reports them closed. */
void vms_http_guard_stop(struct vms_http_guard *g);
/* After libmicrohttpd stopped (it reports every connection closed first). */
void vms_http_guard_free(struct vms_http_guard *g);

/* libmicrohttpd's callbacks, cls the guard: the accept policy, MHD_OPTION_NOTIFY_CONNECTION
 * and MHD_OPTION_NOTIFY_COMPLETED. */
enum MHD_Result vms_http_guard_admit(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void vms_http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode code);
void vms_http_guard_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe);
/* A request's headers are in (the request handler's first call): its deadline no longer applies. */
void vms_http_guard_headers_done(struct vms_http_guard *g, struct MHD_Connection *conn);

void vms_http_guard_refusals(struct vms_http_guard *g, struct vms_http_refusals *out);

#endif

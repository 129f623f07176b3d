/*
 * The HTTP endpoint (libmicrohttpd, its own thread). It serves only what the event loop
 * published: immutable, reference-counted snapshots (http_snapshot.h), so a scrape never
 * blocks collection and never sees half an update.
 */
#ifndef VMSCALE_HTTP_H
#define VMSCALE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/http_webconfig.h"
#include "daemon/util/metrics_source.h"

struct vms_http;

#define VMS_HTTP_MAX_CONNECTIONS_DEFAULT 16
#define VMS_HTTP_TIMEOUT_S_DEFAULT 10
#define VMS_HTTP_PER_ADDRESS_DEFAULT 4 /* a quarter of the default total */
#define VMS_HTTP_HEADER_TIMEOUT_S_DEFAULT 5
#define VMS_HTTP_INTERVAL_S_DEFAULT 5

/* What vms_http_start needs; fields left 0 or NULL take the defaults. */
struct vms_http_options {
	const char *listen;        /* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" */
	unsigned max_connections;  /* connections served at once; more are closed at accept */
	unsigned timeout_s;        /* a connection idle this long is closed */
	unsigned per_address;      /* connections at once from one client address */
	unsigned header_timeout_s; /* a request's headers must be in this long after connecting */
	const char *tls_cert;      /* PEM certificate (chain) and private key files: HTTPS */
	const char *tls_key;       /* when both are set, plain HTTP when neither is */
	unsigned interval_s; /* collection interval: /healthz fails after 3 without a snapshot */
	/* The exporter-toolkit web config (http_webconfig.h), or NULL: its tls_server_config
	 * replaces tls_cert and tls_key; its basic_auth_users guard every path. */
	const struct vms_webconfig *web;
};

/*
 * Starts serving /metrics, / and /healthz; NULL with a logged reason on failure (a bad
 * address, a port in use, an unreadable or invalid certificate or key, naming the file).
 */
struct vms_http *vms_http_start(const struct vms_http_options *opt);
void vms_http_stop(struct vms_http *h);

/* Replaces the basic auth users with web's (NULL or none: no authentication) and forgets the
 * cached verifications; TLS stays as started (libmicrohttpd keeps its certificate). */
void vms_http_set_web(struct vms_http *h, const struct vms_webconfig *web);
/* True if serving HTTPS (from tls-cert or from the web config). */
bool vms_http_tls(const struct vms_http *h);

/*
 * What is served, in two parts with a snapshot each. The event loop publishes a part (the
 * first time at once) and afterwards only marks it stale when something changed: a request
 * for a stale part asks the loop through vms_http_demand_fd and waits, at most 2 s, for it
 * to draw and publish the part. Nobody scraping costs no rendering.
 */
enum vms_http_part { VMS_HTTP_METRICS, VMS_HTTP_LANDING, VMS_HTTP_PART_COUNT };

/* Replaces the part's snapshot (no longer stale) and wakes the requests waiting for it; takes
 * ownership of the malloc'd text. */
void vms_http_publish_part(struct vms_http *h, enum vms_http_part part, char *text, size_t len);
/* Both parts at once. */
void vms_http_publish(struct vms_http *h, char *metrics, size_t metrics_len, char *landing,
                      size_t landing_len);
/* The loop has news for a published part: the next request for it asks for a new one. */
void vms_http_mark_stale(struct vms_http *h, enum vms_http_part part);
/* Readable when a request waits for a stale part: the event loop watches it. */
int vms_http_demand_fd(const struct vms_http *h);
/* The parts asked for since the last call (1 << part each), and the fd drained. */
unsigned vms_http_take_demand(struct vms_http *h);

/* The loop runs and nothing changed since the last publish. /healthz answers 200 while the
 * loop publishes, marks or confirms at least once every 3 intervals. */
void vms_http_confirm(struct vms_http *h);

/* Connections closed unserved, and requests refused by basic auth, by reason; counters since
 * start. */
struct vms_http_refusals {
	uint64_t per_address_limit; /* refused at accept: the address held its share */
	uint64_t total_limit;       /* refused at accept: every connection was taken */
	uint64_t header_timeout;    /* closed: the request's headers came too slowly */
	struct vms_http_unauthorized {
		uint64_t missing;   /* 401: no Authorization header */
		uint64_t malformed; /* 401: not "Basic" with base64 of USER:PASSWORD */
		uint64_t wrong;     /* 401: unknown user or wrong password */
		uint64_t busy;      /* 429: too many password checks per second (bcrypt is slow) */
	} unauthorized;
};

/* A consistent copy, safe from any thread. */
void vms_http_get_refusals(const struct vms_http *h, struct vms_http_refusals *out);

/* vmscale_http_connections_refused_total (daemon/http_metrics.c). */
void vms_http_render_refusals(const struct vms_http_refusals *r, struct vms_buf *b);
struct vms_metrics_source vms_http_metrics_source(const struct vms_http *h);

#endif

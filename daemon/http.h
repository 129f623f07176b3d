/*
 * The HTTP endpoint (libmicrohttpd, its own thread). It serves only what the event loop
 * published last: an immutable, reference-counted snapshot, so a scrape never blocks
 * collection and never sees half an update.
 */
#ifndef VMSCALE_HTTP_H
#define VMSCALE_HTTP_H

#include <stddef.h>

struct vms_http;

#define VMS_HTTP_MAX_CONNECTIONS_DEFAULT 16
#define VMS_HTTP_TIMEOUT_S_DEFAULT 10
#define VMS_HTTP_INTERVAL_S_DEFAULT 5

/* What vms_http_start needs; fields left 0 or NULL take the defaults. */
struct vms_http_options {
	const char *listen;       /* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" */
	unsigned max_connections; /* connections served at once; more are closed at accept */
	unsigned timeout_s;       /* a connection idle this long is closed */
	const char *tls_cert;     /* PEM certificate (chain) and private key files: HTTPS */
	const char *tls_key;      /* when both are set, plain HTTP when neither is */
	unsigned interval_s; /* collection interval: /healthz fails after 3 without a snapshot */
};

/*
 * Starts serving /metrics, / and /healthz; NULL with a logged reason on failure (a bad
 * address, a port in use, an unreadable or invalid certificate or key, naming the file).
 */
struct vms_http *vms_http_start(const struct vms_http_options *opt);
void vms_http_stop(struct vms_http *h);

/* Replaces the snapshot; takes ownership of both malloc'd buffers. /healthz answers 200 while
 * this is called at least once every 3 intervals. */
void vms_http_publish(struct vms_http *h, char *metrics, size_t metrics_len, char *landing,
                      size_t landing_len);

/* Confirms that the snapshot served is still current (nothing changed since the last
 * publish): /healthz counts it as a publish. */
void vms_http_confirm(struct vms_http *h);

#endif

/*
 * The HTTP endpoint (libmicrohttpd, its own thread). It serves only what the event loop
 * published last: an immutable, reference-counted snapshot, so a scrape never blocks
 * collection and never sees half an update.
 */
#ifndef VMSCALE_HTTP_H
#define VMSCALE_HTTP_H

#include <stddef.h>

struct vms_http;

/* Parses "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT"; 0 or -1 with a message in err. */
int vms_http_parse_listen(const char *spec, void *sockaddr_storage, size_t *socklen, char *err,
			  size_t errsz);

/* Starts serving at spec; NULL with a logged reason on failure. */
struct vms_http *vms_http_start(const char *listen_spec);
void vms_http_stop(struct vms_http *h);

/* Replaces the snapshot; takes ownership of both malloc'd buffers. */
void vms_http_publish(struct vms_http *h, char *metrics, size_t metrics_len, char *landing,
		      size_t landing_len);

#endif

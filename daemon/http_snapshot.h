/*
 * What the HTTP endpoint serves (private to daemon/http*.c): an immutable, reference-counted
 * body published by the event loop, the metrics or the landing page. A scrape takes a
 * reference and serves from it however long the transfer takes; the next publish never waits.
 */
#ifndef VMSCALE_HTTP_SNAPSHOT_H
#define VMSCALE_HTTP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct http_snapshot;

/* Takes ownership of text (malloc'd, len bytes); one reference. */
struct http_snapshot *http_snapshot_new(char *text, size_t len);
void http_snapshot_ref(struct http_snapshot *s);
/* Drops a reference; the last frees it. NULL is fine. */
void http_snapshot_unref(struct http_snapshot *s);
/* The body as published. */
const char *http_snapshot_text(const struct http_snapshot *s, size_t *len);
/* The metrics body in the asked format, derived once per snapshot by the first scrape that
 * asks (OpenMetrics, gzip of either) and shared by the rest; NULL if the derivation failed
 * (the caller then serves plain text). */
const char *http_snapshot_body(struct http_snapshot *s, bool openmetrics, bool gzip, size_t *len);

#endif

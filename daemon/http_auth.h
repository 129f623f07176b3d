/*
 * HTTP basic auth of the web config's basic_auth_users (private to daemon/http*.c). A password
 * is checked by libxcrypt's crypt_r against the user's bcrypt hash, the results compared in
 * constant time. bcrypt costs 50-100 ms by design and libmicrohttpd serves from one thread, so:
 * a verified USER:PASSWORD is remembered for a minute (by an HMAC-SHA-256 under a key drawn at
 * start, never the password itself: a scraper every 15 s pays bcrypt once a minute), and
 * verifications not remembered are limited to a few per second (a guesser answered 429 cannot
 * make the thread that serves scrapes spend its time in bcrypt).
 */
#ifndef VMSCALE_HTTP_AUTH_H
#define VMSCALE_HTTP_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "daemon/http.h"

#define VMS_HTTP_AUTH_CACHE_TTL_S 60
#define VMS_HTTP_AUTH_CACHE_SLOTS 16
#define VMS_HTTP_AUTH_VERIFY_PER_S 5 /* bcrypt runs per second for credentials not cached */
#define VMS_HTTP_AUTH_VERIFY_BURST 10
#define VMS_HTTP_AUTH_MAX_HEADER 1024 /* bytes of an Authorization header */

enum vms_http_auth_verdict {
	VMS_AUTH_OK,
	VMS_AUTH_MISSING,
	VMS_AUTH_MALFORMED,
	VMS_AUTH_WRONG,
	VMS_AUTH_BUSY,
};

struct vms_http_auth;

/* No users: every request passes until vms_http_auth_set_users gives some. NULL if the
 * random key cannot be drawn. */
struct vms_http_auth *vms_http_auth_new(void);
void vms_http_auth_free(struct vms_http_auth *a);
/* Safe from any thread; forgets every cached verification. */
void vms_http_auth_set_users(struct vms_http_auth *a, const struct vms_webconfig *web);
/* The verdict on an Authorization header (NULL when absent) at monotonic time now_ns, counted. */
enum vms_http_auth_verdict vms_http_auth_check(struct vms_http_auth *a, const char *authorization,
                                               uint64_t now_ns);
/*
 * libmicrohttpd's side: true if the request on conn may be answered; else its 401 (with
 * WWW-Authenticate: Basic realm="vmscale") or 429 is queued, its result in *ret, and the
 * refusal complained about at a bounded rate.
 */
bool vms_http_auth_admit(struct vms_http_auth *a, struct MHD_Connection *conn,
                         enum MHD_Result *ret);
void vms_http_auth_counts(struct vms_http_auth *a, struct vms_http_unauthorized *out);

#endif

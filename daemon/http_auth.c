/* HTTP basic auth against the web config's bcrypt hashes (see http_auth.h). */
#include "daemon/http_auth.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "daemon/util/alloc.h"
#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "vmscale/token.h"

#define TAG_LEN 32 /* HMAC-SHA-256 */

struct cached {
	uint8_t tag[TAG_LEN]; /* HMAC of "USER\0PASSWORD": the password is never kept */
	uint64_t expires_ns;  /* 0: free */
};

struct vms_http_auth {
	pthread_mutex_t lock; /* guards everything below; never held during bcrypt */
	struct vms_webconfig_user *users;
	size_t nusers;
	uint64_t generation; /* bumped when the users change: older verifications are not cached */
	uint8_t key[32];
	struct cached cache[VMS_HTTP_AUTH_CACHE_SLOTS];
	double tokens; /* bcrypt runs allowed now, refilled at VMS_HTTP_AUTH_VERIFY_PER_S */
	uint64_t refilled_ns;
	struct vms_http_unauthorized counts;
	struct vms_complaint complaint;
};

struct vms_http_auth *
vms_http_auth_new(void)
{
	struct vms_http_auth *a = vms_xcalloc(1, sizeof(*a));
	if (gnutls_rnd(GNUTLS_RND_KEY, a->key, sizeof(a->key)) != 0) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->tokens = VMS_HTTP_AUTH_VERIFY_BURST;
	return a;
}

static void
drop_users(struct vms_http_auth *a)
{
	for (size_t i = 0; i < a->nusers; i++)
		free(a->users[i].name);
	if (a->users)
		explicit_bzero(a->users, a->nusers * sizeof(*a->users));
	free(a->users);
	a->users = NULL;
	a->nusers = 0;
}

void
vms_http_auth_free(struct vms_http_auth *a)
{
	if (!a)
		return;
	drop_users(a);
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

void
vms_http_auth_set_users(struct vms_http_auth *a, const struct vms_webconfig *web)
{
	struct vms_webconfig *copy = vms_webconfig_dup(web);
	pthread_mutex_lock(&a->lock);
	drop_users(a);
	if (copy) {
		a->users = copy->users;
		a->nusers = copy->nusers;
		copy->users = NULL;
		copy->nusers = 0;
	}
	a->generation++;
	memset(a->cache, 0, sizeof(a->cache));
	pthread_mutex_unlock(&a->lock);
	vms_webconfig_free(copy);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The base64 token of "Basic TOKEN", strictly (padded, standard alphabet), decoded into out
 * (NUL-terminated); its length, or -1. */
static long
decode_basic(const char *header, char *out, size_t outsz)
{
	if (strnlen(header, VMS_HTTP_AUTH_MAX_HEADER + 1) > VMS_HTTP_AUTH_MAX_HEADER ||
	    strncasecmp(header, "Basic ", 6) != 0)
		return -1;
	const char *s = header + 6 + strspn(header + 6, " ");
	size_t len = strcspn(s, " ");
	if (len == 0 || len % 4 != 0 || s[len + strspn(s + len, " ")] != '\0' ||
	    len / 4 * 3 >= outsz)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		unsigned pad = last && s[i + 3] == '=' ? (s[i + 2] == '=' ? 2 : 1) : 0;
		uint32_t q = 0;
		for (unsigned j = 0; j < 4; j++) {
			int v = j >= 4 - pad ? 0 : b64_value(s[i + j]);
			if (v < 0)
				return -1;
			q = q << 6 | (uint32_t)v;
		}
		out[n++] = (char)(q >> 16);
		if (pad < 2)
			out[n++] = (char)(q >> 8 & 0xff);
		if (pad < 1)
			out[n++] = (char)(q & 0xff);
	}
	out[n] = '\0';
	return (long)n;
}

static enum vms_http_auth_verdict
counted(struct vms_http_auth *a, enum vms_http_auth_verdict v)
{
	pthread_mutex_lock(&a->lock);
	uint64_t *c = v == VMS_AUTH_MISSING     ? &a->counts.missing
	              : v == VMS_AUTH_MALFORMED ? &a->counts.malformed
	              : v == VMS_AUTH_WRONG     ? &a->counts.wrong
	              : v == VMS_AUTH_BUSY      ? &a->counts.busy
	                                        : NULL;
	if (c)
		(*c)++;
	pthread_mutex_unlock(&a->lock);
	return v;
}

/* Under the lock: true if tag was verified within the TTL. */
static bool
cache_has(struct vms_http_auth *a, const uint8_t *tag, uint64_t now_ns)
{
	bool hit = false;
	for (size_t i = 0; i < VMS_HTTP_AUTH_CACHE_SLOTS; i++) {
		const struct cached *c = &a->cache[i];
		hit |= now_ns < c->expires_ns && vms_ct_equal(c->tag, tag, TAG_LEN);
	}
	return hit;
}

/* Under the lock: into a free or expired slot, else over the one that expires first. */
static void
cache_put(struct vms_http_auth *a, const uint8_t *tag, uint64_t now_ns)
{
	struct cached *slot = &a->cache[0];
	for (size_t i = 1; i < VMS_HTTP_AUTH_CACHE_SLOTS; i++)
		if (a->cache[i].expires_ns < slot->expires_ns)
			slot = &a->cache[i];
	memcpy(slot->tag, tag, TAG_LEN);
	slot->expires_ns = now_ns + (uint64_t)VMS_HTTP_AUTH_CACHE_TTL_S * NS_PER_S;
}

/* Under the lock: takes one bcrypt run from the budget, false if none is left. */
static bool
take_verification(struct vms_http_auth *a, uint64_t now_ns)
{
	if (now_ns > a->refilled_ns) {
		a->tokens += (double)(now_ns - a->refilled_ns) / 1e9 * VMS_HTTP_AUTH_VERIFY_PER_S;
		if (a->tokens > VMS_HTTP_AUTH_VERIFY_BURST)
			a->tokens = VMS_HTTP_AUTH_VERIFY_BURST;
		a->refilled_ns = now_ns;
	}
	if (a->tokens < 1)
		return false;
	a->tokens -= 1;
	return true;
}

/* libxcrypt's bcrypt of password with hash's salt and cost, compared in constant time. */
static bool
bcrypt_matches(const char *password, const char *hash)
{
	struct crypt_data *data = vms_xcalloc(1, sizeof(*data));
	const char *out = crypt_r(password, hash, data);
	bool ok = out && strlen(out) == VMS_WEBCONFIG_BCRYPT_LEN &&
	          vms_ct_equal(out, hash, VMS_WEBCONFIG_BCRYPT_LEN);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ok;
}

/* Under the lock: whether USER exists, its hash (or, to take as long, the first user's) in hash. */
static bool
find_user(struct vms_http_auth *a, const char *user, char *hash)
{
	bool found = false;
	memcpy(hash, a->users[0].hash, VMS_WEBCONFIG_BCRYPT_LEN + 1);
	for (size_t i = 0; i < a->nusers && !found; i++)
		if (strcmp(a->users[i].name, user) == 0) {
			found = true;
			memcpy(hash, a->users[i].hash, VMS_WEBCONFIG_BCRYPT_LEN + 1);
		}
	return found;
}

/* cred is "USER:PASSWORD" of len bytes; its colon becomes the NUL the HMAC covers. */
static enum vms_http_auth_verdict
verify(struct vms_http_auth *a, char *cred, size_t len, uint64_t now_ns)
{
	char *colon = memchr(cred, ':', len);
	if (!colon || memchr(cred, '\0', len))
		return VMS_AUTH_MALFORMED;
	*colon = '\0';
	uint8_t tag[TAG_LEN];
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->key, sizeof(a->key), cred, len, tag) != 0)
		return VMS_AUTH_WRONG;
	char hash[VMS_WEBCONFIG_BCRYPT_LEN + 1];
	pthread_mutex_lock(&a->lock);
	uint64_t generation = a->generation;
	bool none = a->nusers == 0, hit = !none && cache_has(a, tag, now_ns);
	bool found = !none && !hit && find_user(a, cred, hash);
	bool allowed = none || hit || take_verification(a, now_ns);
	pthread_mutex_unlock(&a->lock);
	if (none || hit)
		return VMS_AUTH_OK;
	if (!allowed)
		return VMS_AUTH_BUSY;
	bool ok = bcrypt_matches(colon + 1, hash) && found;
	explicit_bzero(hash, sizeof(hash));
	if (!ok)
		return VMS_AUTH_WRONG;
	pthread_mutex_lock(&a->lock);
	if (generation == a->generation)
		cache_put(a, tag, now_ns);
	pthread_mutex_unlock(&a->lock);
	return VMS_AUTH_OK;
}

enum vms_http_auth_verdict
vms_http_auth_check(struct vms_http_auth *a, const char *authorization, uint64_t now_ns)
{
	pthread_mutex_lock(&a->lock);
	bool on = a->nusers > 0;
	pthread_mutex_unlock(&a->lock);
	if (!on)
		return VMS_AUTH_OK;
	if (!authorization)
		return counted(a, VMS_AUTH_MISSING);
	char cred[VMS_HTTP_AUTH_MAX_HEADER];
	long n = decode_basic(authorization, cred, sizeof(cred));
	enum vms_http_auth_verdict v =
	    n < 0 ? VMS_AUTH_MALFORMED : verify(a, cred, (size_t)n, now_ns);
	explicit_bzero(cred, sizeof(cred));
	return counted(a, v);
}

static void
client_text(struct MHD_Connection *conn, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const void *addr = NULL;
	if (sa && sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!addr || !inet_ntop(sa->sa_family, addr, out, (socklen_t)outsz))
		snprintf(out, outsz, "an unknown address");
}

bool
vms_http_auth_admit(struct vms_http_auth *a, struct MHD_Connection *conn, enum MHD_Result *ret)
{
	const char *header =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	enum vms_http_auth_verdict v = vms_http_auth_check(a, header, vms_monotonic_ns());
	if (v == VMS_AUTH_OK)
		return true;
	static const char *const why[] = {
	    [VMS_AUTH_MISSING] = "no credentials",
	    [VMS_AUTH_MALFORMED] = "a malformed Authorization header",
	    [VMS_AUTH_WRONG] = "a wrong user or password",
	    [VMS_AUTH_BUSY] = "too many password checks per second",
	};
	char who[INET6_ADDRSTRLEN + 32];
	client_text(conn, who, sizeof(who));
	pthread_mutex_lock(&a->lock);
	vms_complain(&a->complaint, LOG_WARNING, NULL,
	             "http: refused a request from %s: %s (basic auth of web-config-file)", who,
	             why[v]);
	pthread_mutex_unlock(&a->lock);
	bool busy = v == VMS_AUTH_BUSY;
	const char *body = busy ? "429 too many password checks: retry in a second\n"
	                        : "401 unauthorized: this endpoint needs HTTP basic auth\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
	*ret = MHD_NO;
	if (!r)
		return false;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (busy)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	else
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Basic realm=\"vmscale\"");
	*ret =
	    MHD_queue_response(conn, busy ? MHD_HTTP_TOO_MANY_REQUESTS : MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return false;
}

void
vms_http_auth_counts(struct vms_http_auth *a, struct vms_http_unauthorized *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->counts;
	pthread_mutex_unlock(&a->lock);
}

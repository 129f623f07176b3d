/* The HTTP endpoint (see http.h). */
#include "daemon/http.h"
#include "daemon/http_auth.h"
#include "daemon/http_guard.h"
#include "daemon/util/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "daemon/util/log.h"
#include "daemon/expo/openmetrics.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define HEALTH_STALE_INTERVALS 3
#define PEM_MAX_BYTES (1024 * 1024) /* a certificate chain is a few KiB */
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

enum { VARIANT_TEXT_GZ, VARIANT_OM, VARIANT_OM_GZ, VARIANT_COUNT };

struct snapshot {
	atomic_uint refs;
	char *metrics;
	size_t metrics_len;
	char *landing;
	size_t landing_len;
	/* Variants of metrics (OpenMetrics, gzip of either), derived by the first scrape that
	 * asks for one, then shared by every scrape of this snapshot. */
	pthread_mutex_t derive_lock;
	struct variant {
		bool tried;
		char *data;
		size_t len;
	} derived[VARIANT_COUNT];
};

struct vms_http {
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock; /* guards current and published_ns; held only briefly */
	struct snapshot *current;
	uint64_t published_ns;    /* monotonic time of the last publish, 0 before the first */
	uint64_t stale_ns;        /* /healthz fails when the last publish is older */
	char *tls_cert, *tls_key; /* PEM text, kept while libmicrohttpd may refer to it */
	size_t tls_key_len;
	struct vms_http_guard *guard;
	struct vms_http_auth *auth; /* basic auth of the web config; passes all without users */
	atomic_bool serving;        /* libmicrohttpd's complaints are rate-limited once set */
	struct vms_complaint mhd_complaint; /* touched by libmicrohttpd's thread only */
};

static void
snapshot_unref(struct snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->metrics);
		free(s->landing);
		for (int i = 0; i < VARIANT_COUNT; i++)
			free(s->derived[i].data);
		pthread_mutex_destroy(&s->derive_lock);
		free(s);
	}
}

static void
snapshot_unref_cb(void *cls)
{
	snapshot_unref(cls);
}

static struct snapshot *
snapshot_get(struct vms_http *h)
{
	pthread_mutex_lock(&h->lock);
	struct snapshot *s = h->current;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return s;
}

/*
 * gzip-compresses in (a gzip member, not a zlib stream); NULL if zlib fails. Fastest level:
 * on 1 000 domains (5 MB) it takes 15 ms instead of 50 at the default level, for a body 20 %
 * larger (345 KB instead of 287): the scrape's latency matters more than those bytes.
 */
static char *
gzip_buffer(const char *in, size_t len, size_t *outlen)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, (uLong)len);
	char *out = vms_xcalloc(1, cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

#define OM_SLICE_BYTES (64 * 1024)

/*
 * gzip of the OpenMetrics form of text, converted a slice of lines at a time: Prometheus asks
 * for exactly this, and keeping an uncompressed OpenMetrics copy of a 5 MB exposition (1 000
 * domains) only to compress it would double the snapshot's memory. NULL if zlib fails.
 */
static char *
gzip_openmetrics(const char *text, size_t len, size_t *outlen)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	/* The conversion only shortens names and adds "# EOF\n". */
	size_t cap = deflateBound(&z, (uLong)len + 6);
	char *out = vms_xcalloc(1, cap);
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	struct vms_buf slice;
	vms_buf_init(&slice);
	const char *p = text, *end = text + len;
	int rc = Z_OK;
	for (bool last = false; !last && rc == Z_OK;) {
		const char *stop = (size_t)(end - p) > OM_SLICE_BYTES ? p + OM_SLICE_BYTES : end;
		const char *nl = stop < end ? memchr(stop, '\n', (size_t)(end - stop)) : NULL;
		if (stop < end)
			stop = nl ? nl + 1 : end;
		last = stop == end;
		slice.len = 0;
		vms_openmetrics_lines(&slice, p, (size_t)(stop - p));
		if (last)
			vms_buf_append(&slice, "# EOF\n", 6);
		p = stop;
		z.next_in = (Bytef *)slice.data;
		z.avail_in = (uInt)slice.len;
		rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_OK && z.avail_in != 0)
			rc = Z_BUF_ERROR; /* cannot happen with deflateBound's room; never loop on
			                     it */
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	vms_buf_free(&slice);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

/* Returns the metrics body in the asked format, deriving it once per snapshot; NULL if the
 * derivation failed (the caller then serves plain text). */
static const char *
snapshot_body(struct snapshot *s, bool openmetrics, bool gzip, size_t *len)
{
	if (!openmetrics && !gzip) {
		*len = s->metrics_len;
		return s->metrics;
	}
	pthread_mutex_lock(&s->derive_lock);
	struct variant *om = &s->derived[VARIANT_OM];
	if (openmetrics && !gzip && !om->tried) {
		struct vms_buf b;
		vms_buf_init(&b);
		vms_openmetrics(&b, s->metrics, s->metrics_len);
		om->tried = true;
		om->data = b.data;
		om->len = b.len;
	}
	struct variant *v = om;
	if (gzip) {
		v = &s->derived[openmetrics ? VARIANT_OM_GZ : VARIANT_TEXT_GZ];
		const char *in = openmetrics ? om->data : s->metrics;
		size_t in_len = openmetrics ? om->len : s->metrics_len;
		if (!v->tried) {
			v->tried = true;
			if (openmetrics && !om->data)
				v->data = gzip_openmetrics(s->metrics, s->metrics_len, &v->len);
			else
				v->data = gzip_buffer(in, in_len, &v->len);
		}
	}
	pthread_mutex_unlock(&s->derive_lock);
	*len = v->len;
	return v->data;
}

/*
 * True if a comma-separated header such as Accept or Accept-Encoding accepts token (or
 * wildcard, if given) with a non-zero quality. Tokens compare without case and parameters.
 */
static bool
header_accepts(const char *header, const char *token, const char *wildcard)
{
	if (!header)
		return false;
	size_t tl = strlen(token), wl = wildcard ? strlen(wildcard) : 0;
	for (const char *p = header; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *tok = p;
		while (*p && *p != ',' && *p != ';' && *p != ' ')
			p++;
		size_t n = (size_t)(p - tok);
		bool match = (n == tl && strncasecmp(tok, token, tl) == 0) ||
		             (wl && n == wl && strncmp(tok, wildcard, wl) == 0);
		double q = 1.0;
		while (*p && *p != ',') {
			if (*p == ';') {
				const char *qp = p + 1;
				while (*qp == ' ')
					qp++;
				if ((qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=')
					q = strtod(qp + 2, NULL);
			}
			p++;
		}
		if (match && q > 0)
			return true;
	}
	return false;
}

static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned status, const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A text answer built at request time. */
static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * Healthy while the event loop publishes or confirms the snapshot: it does at least once a
 * second while it runs, so a snapshot older than 3 intervals means collection is stuck (a hung
 * libvirt call, say) even though this thread still answers.
 */
static enum MHD_Result
reply_health(struct vms_http *h, struct MHD_Connection *conn)
{
	pthread_mutex_lock(&h->lock);
	uint64_t at = h->published_ns;
	pthread_mutex_unlock(&h->lock);
	if (at == 0)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                  "503 first collection not finished yet\n");
	uint64_t now = vms_monotonic_ns();
	if (now > at && now - at > h->stale_ns) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		         "503 no snapshot published for %.1f s (limit %.0f s, 3 intervals): "
		         "collection is stuck\n",
		         (double)(now - at) / 1e9, (double)h->stale_ns / 1e9);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
	}
	return reply_text(conn, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct vms_http *h = cls;
	(void)version;
	(void)upload_data;
	/* The first call only announces the request; answer on the second, after headers. */
	if (*req_cls == NULL) {
		*req_cls = (void *)1;
		vms_http_guard_headers_done(h->guard, conn);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body on GET/HEAD is discarded; other methods get 405 */
		return MHD_YES;
	}
	/* Every path, as the exporter-toolkit does: /healthz too (see docs/configuration.md). */
	enum MHD_Result refused;
	if (!vms_http_auth_admit(h->auth, conn, &refused))
		return refused;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed\n",
		                    "GET, HEAD");

	if (strcmp(url, "/healthz") == 0)
		return reply_health(h, conn);
	bool want_metrics = strcmp(url, "/metrics") == 0;
	if (!want_metrics && strcmp(url, "/") != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "404 not found: try /metrics\n",
		                    NULL);

	struct snapshot *s = snapshot_get(h);
	if (!s)
		return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "503 first collection not finished yet\n", NULL);
	const char *body = want_metrics ? s->metrics : s->landing;
	size_t body_len = want_metrics ? s->metrics_len : s->landing_len;
	bool gz = false, om = false;
	if (want_metrics) {
		om = header_accepts(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		    "application/openmetrics-text", NULL);
		gz = header_accepts(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                                MHD_HTTP_HEADER_ACCEPT_ENCODING),
		                    "gzip", "*");
		size_t len;
		const char *derived = snapshot_body(s, om, gz, &len);
		if (derived) {
			body = derived;
			body_len = len;
		} else {
			om = gz = false; /* zlib failed: plain text is still an answer */
		}
	}
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
	    body_len, (void *)(uintptr_t)body, snapshot_unref_cb, s);
	if (!r) {
		snapshot_unref(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        !want_metrics ? "text/html; charset=utf-8"
	                        : om          ? CONTENT_TYPE_OPENMETRICS
	                                      : CONTENT_TYPE_METRICS);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * libmicrohttpd's messages: each one while starting (they say why it failed), then at a
 * bounded rate, since a client can provoke them at will.
 */
static void __attribute__((format(printf, 2, 0)))
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	struct vms_http *h = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	if (!atomic_load(&h->serving))
		vms_warn("http: %s", msg);
	else
		vms_complain(&h->mhd_complaint, LOG_WARNING, NULL, "http: %s", msg);
}

/* Reads a PEM file whole (NUL-terminated); NULL with a message naming the file. */
static char *
read_pem(const char *what, const char *path, size_t *len)
{
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		vms_err("%s %s: cannot read: %s", what, path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > PEM_MAX_BYTES) {
		vms_err("%s %s: not a regular file of at most %d bytes", what, path, PEM_MAX_BYTES);
		goto cleanup;
	}
	buf = vms_xcalloc(1, (size_t)sb.st_size + 1);
	size_t n = 0;
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			vms_err("%s %s: cannot read: %s", what, path,
			        r < 0 ? strerror(errno) : "file shrank");
			free(buf);
			buf = NULL;
			goto cleanup;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	if (!strstr(buf, "-----BEGIN ")) {
		vms_err("%s %s: not PEM (no -----BEGIN line)", what, path);
		explicit_bzero(buf, n);
		free(buf);
		buf = NULL;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return buf;
}

static void
http_free(struct vms_http *h)
{
	vms_http_guard_free(h->guard);
	vms_http_auth_free(h->auth);
	snapshot_unref(h->current);
	pthread_mutex_destroy(&h->lock);
	free(h->tls_cert);
	if (h->tls_key)
		explicit_bzero(h->tls_key,
		               h->tls_key_len); /* no private key left in freed memory */
	free(h->tls_key);
	free(h);
}

static unsigned
or_default(unsigned value, unsigned fallback)
{
	return value ? value : fallback;
}

/*
 * libmicrohttpd with our admission policy (http_guard.c) as its accept policy. Its own connection
 * limit is one above ours so that it never refuses (and logs) before the policy does.
 */
static struct MHD_Daemon *
start_mhd(struct vms_http *h, const struct vms_http_options *opt,
          const struct sockaddr_storage *addr)
{
	struct vms_http_guard_limits limits = {
	    .max_connections = or_default(opt->max_connections, VMS_HTTP_MAX_CONNECTIONS_DEFAULT),
	    .per_address = or_default(opt->per_address, VMS_HTTP_PER_ADDRESS_DEFAULT),
	    .header_timeout_s =
	        or_default(opt->header_timeout_s, VMS_HTTP_HEADER_TIMEOUT_S_DEFAULT),
	    .idle_timeout_s = or_default(opt->timeout_s, VMS_HTTP_TIMEOUT_S_DEFAULT),
	};
	h->guard = vms_http_guard_new(&limits);
	if (!h->guard)
		return NULL;
	bool tls = h->tls_cert != NULL;
	struct MHD_OptionItem tls_opts[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
	    {MHD_OPTION_END, 0, NULL},
	};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (tls)
		flags |= MHD_USE_TLS;
	/* In 0.9.x the accept policy is the third and fourth argument. */
	struct MHD_Daemon *mhd = MHD_start_daemon(
	    flags, 0, vms_http_guard_admit, h->guard, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_error, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
	    MHD_OPTION_CONNECTION_LIMIT, limits.max_connections + 1, MHD_OPTION_CONNECTION_TIMEOUT,
	    limits.idle_timeout_s, MHD_OPTION_NOTIFY_CONNECTION, vms_http_guard_notify, h->guard,
	    MHD_OPTION_NOTIFY_COMPLETED, vms_http_guard_completed, h->guard, MHD_OPTION_ARRAY,
	    tls ? tls_opts : &tls_opts[2], MHD_OPTION_END);
	if (mhd)
		atomic_store(&h->serving, true);
	return mhd;
}

struct vms_http *
vms_http_start(const struct vms_http_options *opt)
{
	struct sockaddr_storage addr;
	size_t addrlen, cert_len;
	char err[256];
	if (vms_sockaddr_parse(opt->listen, &addr, &addrlen, err, sizeof(err)) < 0) {
		vms_err("--listen: %s", err);
		return NULL;
	}
	const char *cert = opt->tls_cert, *key = opt->tls_key;
	if (opt->web && opt->web->tls_cert) {
		if (cert)
			vms_warn("web-config-file: its tls_server_config replaces tls-cert %s and "
			         "tls-key %s",
			         cert, key ? key : "(none)");
		cert = opt->web->tls_cert;
		key = opt->web->tls_key;
	}
	if (!cert != !key) {
		vms_err("TLS needs both a certificate and a key (got only the %s)",
		        cert ? "certificate" : "key");
		return NULL;
	}
	bool tls = cert != NULL;
	if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		vms_err("TLS asked for, but this libmicrohttpd was built without it");
		return NULL;
	}
	struct vms_http *h = vms_xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	unsigned interval_s = opt->interval_s ? opt->interval_s : VMS_HTTP_INTERVAL_S_DEFAULT;
	h->stale_ns = (uint64_t)HEALTH_STALE_INTERVALS * interval_s * NS_PER_S;
	h->auth = vms_http_auth_new();
	if (h->auth)
		vms_http_auth_set_users(h->auth, opt->web);
	if (tls) {
		h->tls_cert = read_pem("TLS certificate", cert, &cert_len);
		h->tls_key = h->tls_cert ? read_pem("TLS key", key, &h->tls_key_len) : NULL;
	}
	if (!h->auth || (tls && !h->tls_key)) {
		if (!h->auth)
			vms_err("http: cannot draw a random key for basic auth");
		http_free(h);
		return NULL;
	}
	errno = 0;
	h->mhd = start_mhd(h, opt, &addr);
	if (!h->mhd) {
		/* libmicrohttpd logged the details (GnuTLS' word on a bad certificate or key). */
		if (tls)
			vms_err("cannot serve HTTPS on %s with certificate %s and key %s: %s",
			        opt->listen, cert, key,
			        errno ? strerror(errno) : "libmicrohttpd refused");
		else
			vms_err("cannot listen on %s: %s", opt->listen,
			        errno ? strerror(errno) : "libmicrohttpd refused");
		http_free(h);
		return NULL;
	}
	return h;
}

void
vms_http_stop(struct vms_http *h)
{
	if (!h)
		return;
	vms_http_guard_stop(h->guard); /* no shutdown(2) on a socket libmicrohttpd closes */
	MHD_stop_daemon(h->mhd);
	http_free(h);
}

void
vms_http_publish(struct vms_http *h, char *metrics, size_t metrics_len, char *landing,
                 size_t landing_len)
{
	struct snapshot *s = vms_xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->derive_lock, NULL);
	s->metrics = metrics;
	s->metrics_len = metrics_len;
	s->landing = landing;
	s->landing_len = landing_len;
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&h->lock);
	struct snapshot *old = h->current;
	h->current = s;
	h->published_ns = now;
	pthread_mutex_unlock(&h->lock);
	snapshot_unref(old);
}

void
vms_http_confirm(struct vms_http *h)
{
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&h->lock);
	if (h->current)
		h->published_ns = now;
	pthread_mutex_unlock(&h->lock);
}

void
vms_http_get_refusals(const struct vms_http *h, struct vms_http_refusals *out)
{
	vms_http_guard_refusals(h->guard, out);
	vms_http_auth_counts(h->auth, &out->unauthorized);
}

void
vms_http_set_web(struct vms_http *h, const struct vms_webconfig *web)
{
	vms_http_auth_set_users(h->auth, web);
}

bool
vms_http_tls(const struct vms_http *h)
{
	return h->tls_cert != NULL;
}

/* The HTTP endpoint (see http.h). */
#include "daemon/http.h"
#include "daemon/http_auth.h"
#include "daemon/http_guard.h"
#include "daemon/http_snapshot.h"
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

#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define HEALTH_STALE_INTERVALS 3
#define DEMAND_WAIT_MS 2000         /* a request waits this long at most for a fresh snapshot */
#define PEM_MAX_BYTES (1024 * 1024) /* a certificate chain is a few KiB */
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

struct vms_http {
	struct MHD_Daemon *mhd;
	pthread_mutex_t lock; /* guards snap, stale, demand and published_ns; held briefly */
	pthread_cond_t fresh; /* broadcast by every publish (CLOCK_MONOTONIC for waits) */
	struct http_snapshot *snap[VMS_HTTP_PART_COUNT];
	bool stale[VMS_HTTP_PART_COUNT]; /* the loop has news for this part, to draw on demand */
	unsigned demand;                 /* parts requests wait for, 1 << part */
	int demand_pipe[2];              /* a byte in [1] when demand stops being 0 */
	uint64_t published_ns;           /* monotonic time the loop last published or confirmed */
	uint64_t stale_ns;               /* /healthz fails when the last publish is older */
	char *tls_cert, *tls_key;        /* PEM text, kept while libmicrohttpd may refer to it */
	size_t tls_key_len;
	struct vms_http_guard *guard;
	struct vms_http_auth *auth; /* basic auth of the web config; passes all without users */
	atomic_bool serving;        /* libmicrohttpd's complaints are rate-limited once set */
	struct vms_complaint mhd_complaint; /* touched by libmicrohttpd's thread only */
};

static void
snapshot_unref_cb(void *cls)
{
	http_snapshot_unref(cls);
}

/*
 * The part's snapshot, drawn again first if the event loop marked it stale: the request asks
 * the loop (through the demand pipe) and waits until it publishes, at most DEMAND_WAIT_MS
 * (a stuck loop: the stale snapshot is still an answer, and /healthz says why).
 */
static struct http_snapshot *
fresh_snapshot(struct vms_http *h, enum vms_http_part part)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += DEMAND_WAIT_MS / 1000;
	pthread_mutex_lock(&h->lock);
	if (h->stale[part]) {
		if (!h->demand && write(h->demand_pipe[1], "d", 1) < 0 && errno != EAGAIN)
			vms_complain(&h->mhd_complaint, LOG_WARNING, NULL,
			             "http: cannot ask for a fresh snapshot: %s", strerror(errno));
		h->demand |= 1u << part;
		while (h->stale[part] && pthread_cond_timedwait(&h->fresh, &h->lock, &until) == 0)
			;
	}
	struct http_snapshot *s = h->snap[part];
	if (s)
		http_snapshot_ref(s);
	pthread_mutex_unlock(&h->lock);
	return s;
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

	struct http_snapshot *s =
	    fresh_snapshot(h, want_metrics ? VMS_HTTP_METRICS : VMS_HTTP_LANDING);
	if (!s)
		return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "503 first collection not finished yet\n", NULL);
	size_t body_len;
	const char *body = http_snapshot_text(s, &body_len);
	bool gz = false, om = false;
	if (want_metrics) {
		om = header_accepts(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		    "application/openmetrics-text", NULL);
		gz = header_accepts(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                                MHD_HTTP_HEADER_ACCEPT_ENCODING),
		                    "gzip", "*");
		size_t len;
		const char *derived = http_snapshot_body(s, om, gz, &len);
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
		http_snapshot_unref(s);
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
	for (int part = 0; part < VMS_HTTP_PART_COUNT; part++)
		http_snapshot_unref(h->snap[part]);
	for (int end = 0; end < 2; end++)
		if (h->demand_pipe[end] >= 0)
			close(h->demand_pipe[end]);
	pthread_cond_destroy(&h->fresh);
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
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->fresh, &ca);
	pthread_condattr_destroy(&ca);
	if (pipe2(h->demand_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		vms_err("http: cannot make the demand pipe: %s", strerror(errno));
		h->demand_pipe[0] = h->demand_pipe[1] = -1;
		http_free(h);
		return NULL;
	}
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
vms_http_publish_part(struct vms_http *h, enum vms_http_part part, char *text, size_t len)
{
	struct http_snapshot *s = http_snapshot_new(text, len);
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&h->lock);
	struct http_snapshot *old = h->snap[part];
	h->snap[part] = s;
	h->stale[part] = false;
	h->published_ns = now;
	pthread_cond_broadcast(&h->fresh);
	pthread_mutex_unlock(&h->lock);
	http_snapshot_unref(old);
}

void
vms_http_publish(struct vms_http *h, char *metrics, size_t metrics_len, char *landing,
                 size_t landing_len)
{
	vms_http_publish_part(h, VMS_HTTP_METRICS, metrics, metrics_len);
	vms_http_publish_part(h, VMS_HTTP_LANDING, landing, landing_len);
}

/* The loop is alive: /healthz counts a confirmation or a stale mark as a publish. */
static void
loop_alive(struct vms_http *h, uint64_t now)
{
	if (h->snap[VMS_HTTP_METRICS])
		h->published_ns = now;
}

void
vms_http_confirm(struct vms_http *h)
{
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&h->lock);
	loop_alive(h, now);
	pthread_mutex_unlock(&h->lock);
}

void
vms_http_mark_stale(struct vms_http *h, enum vms_http_part part)
{
	uint64_t now = vms_monotonic_ns();
	pthread_mutex_lock(&h->lock);
	h->stale[part] = h->snap[part] != NULL;
	loop_alive(h, now);
	pthread_mutex_unlock(&h->lock);
}

int
vms_http_demand_fd(const struct vms_http *h)
{
	return h->demand_pipe[0];
}

unsigned
vms_http_take_demand(struct vms_http *h)
{
	char sink[16];
	pthread_mutex_lock(&h->lock);
	while (read(h->demand_pipe[0], sink, sizeof(sink)) > 0)
		;
	unsigned demand = h->demand;
	h->demand = 0;
	pthread_mutex_unlock(&h->lock);
	return demand;
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

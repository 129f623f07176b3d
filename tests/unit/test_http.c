/*
 * The HTTP endpoint: listen address parsing, snapshot serving, methods and paths, /healthz,
 * the connection limit and timeout, parts drawn on demand, and HTTPS with a certificate made at
 * test time, checked by a real client (curl --cacert).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/http.h"
#include "daemon/util/sockaddr.h"
#include "daemon/util/log.h"
#include "daemon/expo/openmetrics.h"
#include "check.h"

#include <zlib.h>

static void
test_parse_listen(void)
{
	struct sockaddr_storage ss;
	size_t len;
	char err[128];
	CHECK_INT(vms_sockaddr_parse("127.0.0.1:9477", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9477);
	CHECK_INT(vms_sockaddr_parse(":80", &ss, &len, err, sizeof(err)), 0);
	CHECK(((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY));
	CHECK_INT(vms_sockaddr_parse("[::1]:9477", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET6);
	const char *bad[] = {"",
	                     "9477",
	                     "127.0.0.1",
	                     "127.0.0.1:",
	                     "127.0.0.1:0",
	                     "127.0.0.1:65536",
	                     "127.0.0.1:12ab",
	                     "localhost:9477",
	                     "::1:9477",
	                     "[::1]9477",
	                     "[zz]:1",
	                     "1.2.3.4.5:80",
	                     "127.0.0.1:-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (!CHECK_INT(vms_sockaddr_parse(bad[i], &ss, &len, err, sizeof(err)), -1))
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		CHECK(err[0] != '\0');
	}
}

static size_t r_len; /* length of the last response, which may hold NUL bytes */

/* Sends one raw request and returns the whole response (malloc'd, NUL-terminated). */
static char *
request_full(int port, const char *req, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return strdup("");
	}
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return strdup("");
	}
	size_t n = 0;
	char *buf = calloc(1, cap);
	ssize_t r;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	r_len = n;
	return buf;
}

static char *
request(int port, const char *req)
{
	return request_full(port, req, 65536);
}

static int
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
test_serving(void)
{
	int port = free_port();
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h = vms_http_start(&(struct vms_http_options){.listen = spec});
	CHECK(h != NULL);
	if (!h)
		return;
	/* A second daemon on the same address fails cleanly. */
	CHECK(vms_http_start(&(struct vms_http_options){.listen = spec}) == NULL);

	char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strncmp(r, "HTTP/1.1 503", 12) == 0 || strncmp(r, "HTTP/1.0 503", 12) == 0);
	free(r);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 503 ") != NULL && strstr(r, "first collection not finished") != NULL);
	free(r);

	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>hi</p>"), 9);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL && strstr(r, "\r\n\r\nok\n") != NULL);
	CHECK(strstr(r, "Cache-Control: no-store") != NULL);
	free(r);
	r = request(port, "HEAD /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL && strstr(r, "\r\n\r\nok") == NULL);
	free(r);
	r = request(port, "POST /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 405 ") != NULL);
	free(r);
	vms_http_publish(h, strdup("vmscale_up 1\n"), 13, strdup("<p>landing</p>"), 14);
	r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL);
	CHECK(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8") != NULL);
	CHECK(strstr(r, "\r\n\r\nvmscale_up 1\n") != NULL);
	free(r);
	/* gzip when asked for, plain when refused (q=0), and the body inflates to the same. */
	size_t big_len = 200000;
	char *big = malloc(big_len + 1);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (i % 61 == 60) ? '\n' : (char)('a' + i % 26);
	big[big_len] = '\0';
	vms_http_publish(h, big, big_len, strdup("<p>landing</p>"), 14);
	static const struct {
		const char *accept;
		bool gzip;
	} enc[] = {{"gzip", true},
	           {"deflate, gzip;q=0.5", true},
	           {"gzip;q=0", false},
	           {"GZIP", true},
	           {"*", true},
	           {"identity", false},
	           {"br, deflate", false},
	           {"gzip ; q=0.0", false}};
	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		char req[256];
		snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nAccept-Encoding: %s\r\n\r\n",
		         enc[i].accept);
		r = request_full(port, req, 1 << 20);
		bool got_gzip = strstr(r, "Content-Encoding: gzip") != NULL;
		if (!CHECK(got_gzip == enc[i].gzip))
			fprintf(stderr, "  Accept-Encoding: %s\n", enc[i].accept);
		char *body = strstr(r, "\r\n\r\n");
		if (got_gzip && body) {
			body += 4;
			uLongf out_len = (uLongf)big_len + 16;
			char *out = malloc(out_len);
			z_stream z = {0};
			inflateInit2(&z, 15 + 16);
			z.next_in = (Bytef *)body;
			z.avail_in = (uInt)(r_len - (size_t)(body - r));
			z.next_out = (Bytef *)out;
			z.avail_out = (uInt)out_len;
			CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
			CHECK(z.total_out == big_len && memcmp(out, big, big_len) == 0);
			CHECK(z.total_in < big_len / 10); /* it did compress */
			inflateEnd(&z);
			free(out);
		} else if (body) {
			CHECK(strlen(body + 4) == big_len);
		}
		free(r);
	}

	/* OpenMetrics, plain and gzipped (converted slice by slice): both the converter's output.
	 */
	struct vms_buf text, want;
	vms_buf_init(&text);
	vms_buf_init(&want);
	for (int i = 0; i < 3000; i++)
		vms_buf_printf(&text,
		               "# HELP x_%d_total Things.\n# TYPE x_%d_total "
		               "counter\nx_%d_total{a=\"#\"} %d\n",
		               i, i, i, i);
	vms_openmetrics(&want, text.data, text.len);
	vms_http_publish(h, text.data, text.len, strdup("<p>landing</p>"), 14);
	for (int gz = 0; gz < 2; gz++) {
		char req[256];
		snprintf(req, sizeof(req),
		         "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text;"
		         "version=1.0.0\r\n%s\r\n",
		         gz ? "Accept-Encoding: gzip\r\n" : "");
		r = request_full(port, req, 1 << 20);
		CHECK(strstr(r, "Content-Type: application/openmetrics-text; version=1.0.0") !=
		      NULL);
		CHECK((strstr(r, "Content-Encoding: gzip") != NULL) == (gz == 1));
		char *body = strstr(r, "\r\n\r\n");
		size_t blen = body ? r_len - (size_t)(body + 4 - r) : 0;
		char *got = body ? body + 4 : NULL, *out = NULL;
		if (gz && body) {
			uLongf out_len = (uLongf)want.len + 16;
			out = malloc(out_len);
			z_stream z = {0};
			inflateInit2(&z, 15 + 16);
			z.next_in = (Bytef *)got;
			z.avail_in = (uInt)blen;
			z.next_out = (Bytef *)out;
			z.avail_out = (uInt)out_len;
			CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
			blen = z.total_out;
			inflateEnd(&z);
			got = out;
		}
		if (!CHECK(got && blen == want.len && memcmp(got, want.data, want.len) == 0))
			fprintf(stderr, "  OpenMetrics%s differs from the converter's output\n",
			        gz ? " (gzip)" : "");
		free(out);
		free(r);
	}
	vms_buf_free(&want);

	r = request(port, "GET / HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, "text/html") != NULL && strstr(r, "<p>landing</p>") != NULL);
	free(r);
	r = request(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL && strstr(r, "vmscale_up") == NULL);
	free(r);
	r = request(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
	CHECK(strstr(r, " 405 ") != NULL && strstr(r, "Allow: GET, HEAD") != NULL);
	free(r);
	r = request(port, "DELETE / HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 405 ") != NULL);
	free(r);
	r = request(port, "GET /nope HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 404 ") != NULL);
	free(r);
	r = request(port, "GET /metrics/../etc/passwd HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 404 ") != NULL || strstr(r, " 400 ") != NULL);
	free(r);
	r = request(port, "garbage\r\n\r\n");
	CHECK(strstr(r, " 200 ") == NULL);
	free(r);
	vms_http_stop(h);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
connect_idle(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Two connections at most, idle ones closed after 1 s, unhealthy after 3 silent intervals. */
static void
test_limits_and_staleness(void)
{
	int port = free_port();
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h = vms_http_start(&(struct vms_http_options){
	    .listen = spec, .max_connections = 2, .timeout_s = 1, .interval_s = 1});
	if (!CHECK(h != NULL))
		return;
	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>hi</p>"), 9);
	double t0 = now_s();
	int idle[2] = {connect_idle(port), connect_idle(port)};
	CHECK(idle[0] >= 0 && idle[1] >= 0);
	usleep(100000); /* let the server accept both */
	/* A third client is not served while both slots are taken: refused at once, or held
	 * back until the idle ones time out. */
	double t = now_s();
	char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	bool served = strstr(r, " 200 ") != NULL;
	if (!CHECK(!served || now_s() - t0 >= 0.9))
		fprintf(stderr, "  served after %.2f s with 2 idle connections\n", now_s() - t);
	free(r);
	/* The idle ones are closed by the server after the timeout. */
	char c;
	CHECK(read(idle[0], &c, 1) == 0 && read(idle[1], &c, 1) == 0);
	CHECK(now_s() - t0 >= 0.9 && now_s() - t0 < 5);
	close(idle[0]);
	close(idle[1]);
	/* Served again once the server has reaped them (it may take one more poll round). */
	bool again = false;
	for (int i = 0; i < 20 && !again; i++) {
		r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
		again = strstr(r, " 200 ") != NULL;
		free(r);
		if (!again)
			usleep(50000);
	}
	CHECK(again);
	/* No publish for more than 3 intervals of 1 s. */
	while (now_s() - t0 < 3.3)
		usleep(100000);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 503 ") != NULL && strstr(r, "collection is stuck") != NULL);
	free(r);
	/* /metrics still serves the last snapshot. */
	r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL);
	free(r);
	vms_http_publish(h, strdup("m 2\n"), 4, strdup("<p>hi</p>"), 9);
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL);
	free(r);
	vms_http_stop(h);
}

/* A connection from a loopback address other than 127.0.0.1, reads bounded to 3 s; -1 if
 * this host cannot bind it. */
static int
connect_from(int port, const char *from)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, from, &src.sin_addr);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One address holds at most its share; another is served; headers dribbled a byte at a time
 * are cut at their deadline although the connection is never idle for the idle timeout. */
static void
test_per_address_and_header_deadline(void)
{
	int port = free_port();
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h = vms_http_start(&(struct vms_http_options){.listen = spec,
	                                                               .max_connections = 4,
	                                                               .per_address = 2,
	                                                               .timeout_s = 10,
	                                                               .header_timeout_s = 1});
	if (!CHECK(h != NULL))
		return;
	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>hi</p>"), 9);
	int slow[2] = {connect_from(port, "127.0.0.2"), connect_from(port, "127.0.0.2")};
	if (slow[0] < 0 || slow[1] < 0) {
		fprintf(stderr, "  cannot connect from 127.0.0.2: skipped\n");
		vms_http_stop(h);
		return;
	}
	double t0 = now_s();
	usleep(100000); /* let the server accept both */
	char c;
	int third = connect_from(port, "127.0.0.2");
	CHECK(third >= 0 && read(third, &c, 1) == 0); /* closed at accept */
	close(third);
	char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL);
	free(r);
	/* A byte every 0.2 s until just before the deadline (none after: no SIGPIPE). */
	for (int i = 0; now_s() - t0 < 0.8; i++) {
		CHECK(send(slow[0], &"GET /metrics"[i % 12], 1, MSG_NOSIGNAL) == 1);
		usleep(200000);
	}
	CHECK(read(slow[0], &c, 1) == 0 && read(slow[1], &c, 1) == 0);
	double took = now_s() - t0;
	if (!CHECK(took >= 0.9 && took < 2.5))
		fprintf(stderr, "  slow headers cut after %.2f s, want about 1\n", took);
	close(slow[0]);
	close(slow[1]);
	struct vms_http_refusals ref;
	vms_http_get_refusals(h, &ref);
	CHECK_INT(ref.per_address_limit, 1);
	CHECK_INT(ref.total_limit, 0);
	CHECK_INT(ref.header_timeout, 2);
	vms_http_stop(h);
}

/* Runs a shell command; its exit status. */
static int
run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a command and returns its standard output (malloc'd). */
static char *
run_output(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = calloc(1, 65536);
	size_t n = 0;
	if (p) {
		size_t r;
		while (n < 65535 && (r = fread(out + n, 1, 65535 - n, p)) > 0)
			n += r;
		pclose(p);
	}
	return out;
}

/* A start that must fail, with a message on stderr containing want. */
static void
check_start_fails(const struct vms_http_options *o, const char *want)
{
	struct check_capture cap;
	check_capture_stderr(&cap);
	struct vms_http *h = vms_http_start(o);
	const char *log = check_capture_end(&cap);
	CHECK(h == NULL);
	vms_http_stop(h);
	if (!CHECK(strstr(log, want) != NULL))
		fprintf(stderr, "  wanted '%s' in: %s\n", want, log);
}

static void
test_tls(void)
{
	if (run("command -v openssl >/dev/null && command -v curl >/dev/null") != 0) {
		printf("SKIP: HTTPS part: openssl or curl missing (scripts/bootstrap.sh installs "
		       "them)\n");
		return;
	}
	char dir[] = "/tmp/vmscale-test-tls.XXXXXX";
	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	char cmd[1024], cert[64], key[64], key2[64], notpem[64], missing[64];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(key2, sizeof(key2), "%s/other-key.pem", dir);
	snprintf(notpem, sizeof(notpem), "%s/notpem", dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	/* A self-signed certificate for 127.0.0.1, and a key that does not match it. */
	snprintf(
	    cmd, sizeof(cmd),
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
	    "2>/dev/null "
	    "&& openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out %s "
	    "2>/dev/null "
	    "&& echo 'not a key' > %s",
	    key, cert, key2, notpem);
	if (!CHECK_INT(run(cmd), 0))
		goto cleanup;

	int port = free_port();
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h = vms_http_start(
	    &(struct vms_http_options){.listen = spec, .tls_cert = cert, .tls_key = key});
	if (!CHECK(h != NULL))
		goto cleanup;
	vms_http_publish(h, strdup("vmscale_up 1\n"), 13, strdup("<p>landing</p>"), 14);
	/* A real client that checks the certificate against our CA file. */
	snprintf(cmd, sizeof(cmd), "curl -sS --cacert %s https://127.0.0.1:%d/metrics 2>&1", cert,
	         port);
	char *out = run_output(cmd);
	CHECK_STR(out, "vmscale_up 1\n");
	free(out);
	snprintf(cmd, sizeof(cmd),
	         "curl -sS --cacert %s --compressed https://127.0.0.1:%d/healthz 2>&1", cert, port);
	out = run_output(cmd);
	CHECK_STR(out, "ok\n");
	free(out);
	/* Without the CA the client refuses the self-signed certificate: the handshake is real. */
	snprintf(cmd, sizeof(cmd), "curl -s https://127.0.0.1:%d/metrics >/dev/null 2>&1", port);
	CHECK(run(cmd) != 0);
	/* Plain HTTP on the TLS port gets no answer. */
	char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, "vmscale_up") == NULL);
	free(r);
	vms_http_stop(h);

	/* Errors name the file. */
	int port2 = free_port();
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port2);
	check_start_fails(
	    &(struct vms_http_options){.listen = spec, .tls_cert = missing, .tls_key = key},
	    "TLS certificate /tmp/vmscale-test-tls.");
	check_start_fails(
	    &(struct vms_http_options){.listen = spec, .tls_cert = cert, .tls_key = missing},
	    "missing.pem: cannot read: No such file or directory");
	check_start_fails(
	    &(struct vms_http_options){.listen = spec, .tls_cert = cert, .tls_key = notpem},
	    "notpem: not PEM");
	check_start_fails(&(struct vms_http_options){.listen = spec, .tls_cert = cert},
	                  "TLS needs both a certificate and a key");
	check_start_fails(
	    &(struct vms_http_options){.listen = spec, .tls_cert = dir, .tls_key = key},
	    "not a regular file");
	/* A key that does not belong to the certificate: libmicrohttpd (GnuTLS) refuses it. */
	check_start_fails(
	    &(struct vms_http_options){.listen = spec, .tls_cert = cert, .tls_key = key2},
	    "other-key.pem");
cleanup:
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
}

/* Basic auth from a web config: every path needs it; 401 names the scheme and realm. */
static void
test_basic_auth(void)
{
	static const char yml[] =
	    "basic_auth_users:\n" /* htpasswd -nbBC 10 prometheus s3cret */
	    "  prometheus: $2y$10$dVsrloMBCM/0tEjBn5f28OOtQfWru2JwDgUp5yc0QV3d4"
	    "jb83f/am\n";
	struct vms_webconfig web;
	char err[256], spec[32];
	CHECK_INT(vms_webconfig_parse(&web, "web.yml", yml, strlen(yml), err, sizeof(err)), 0);
	int port = free_port();
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h =
	    vms_http_start(&(struct vms_http_options){.listen = spec, .web = &web});
	vms_webconfig_fini(&web); /* the endpoint keeps its own copy */
	if (!CHECK(h != NULL))
		return;
	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>hi</p>"), 9);
	static const char *const refused[] = {
	    "GET /metrics HTTP/1.0\r\n\r\n",
	    "GET / HTTP/1.0\r\n\r\n",
	    "GET /healthz HTTP/1.0\r\n\r\n",
	    "POST /metrics HTTP/1.0\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nAuthorization: Basic cHJvbWV0aGV1czpzM2NyZXR4\r\n\r\n",
	    "GET /metrics HTTP/1.0\r\nAuthorization: Basic !!!!\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *r = request(port, refused[i]);
		CHECK(strstr(r, " 401 ") != NULL);
		CHECK(strstr(r, "WWW-Authenticate: Basic realm=\"vmscale\"\r\n") != NULL);
		CHECK(strstr(r, "m 1") == NULL && strstr(r, "<p>hi") == NULL);
		free(r);
	}
	char *r = request(port, "GET /metrics HTTP/1.0\r\n"
	                        "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL && strstr(r, "\r\n\r\nm 1\n") != NULL);
	free(r);
	struct vms_http_refusals ref;
	vms_http_get_refusals(h, &ref);
	CHECK_INT(ref.unauthorized.missing, 4);
	CHECK_INT(ref.unauthorized.wrong, 1);
	CHECK_INT(ref.unauthorized.malformed, 1);
	vms_http_set_web(h, NULL); /* a reload without users: open again */
	r = request(port, "GET /healthz HTTP/1.0\r\n\r\n");
	CHECK(strstr(r, " 200 ") != NULL);
	free(r);
	vms_http_stop(h);
}

/* A request in a thread of its own: it may wait for the event loop this test plays. */
struct pending {
	pthread_t thread;
	int port;
	const char *req;
	char *answer;
};

static void *
pending_main(void *arg)
{
	struct pending *p = arg;
	p->answer = request(p->port, p->req);
	return NULL;
}

static bool
demand_signalled(struct vms_http *h, int ms)
{
	struct pollfd pfd = {.fd = vms_http_demand_fd(h), .events = POLLIN};
	return poll(&pfd, 1, ms) == 1;
}

/*
 * Drawn on demand: a part marked stale is drawn only when a request asks for it. The request
 * wakes the loop through the demand fd and gets what the loop then publishes; a part not
 * stale is served at once without waking anyone; a loop that does not answer leaves the
 * request with the stale part after 2 s.
 */
static void
test_demand(void)
{
	int port = free_port();
	char spec[32];
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	struct vms_http *h = vms_http_start(&(struct vms_http_options){.listen = spec});
	CHECK(h != NULL);
	if (!h)
		return;
	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>1</p>"), 8);
	vms_http_mark_stale(h, VMS_HTTP_METRICS);
	CHECK(!demand_signalled(h, 0)); /* news alone wakes nobody */

	struct pending scrape = {.port = port, .req = "GET /metrics HTTP/1.0\r\n\r\n"};
	CHECK(pthread_create(&scrape.thread, NULL, pending_main, &scrape) == 0);
	CHECK(demand_signalled(h, 2000));
	CHECK_INT(vms_http_take_demand(h), 1u << VMS_HTTP_METRICS);
	CHECK(!demand_signalled(h, 0)); /* drained */
	vms_http_publish_part(h, VMS_HTTP_METRICS, strdup("m 2\n"), 4);
	pthread_join(scrape.thread, NULL);
	CHECK(strstr(scrape.answer, " 200 ") && strstr(scrape.answer, "\r\n\r\nm 2\n"));
	free(scrape.answer);

	char *r = request(port, "GET / HTTP/1.0\r\n\r\n"); /* the landing is not stale */
	CHECK(strstr(r, "\r\n\r\n<p>1</p>") != NULL);
	free(r);
	CHECK(!demand_signalled(h, 0));

	vms_http_mark_stale(h, VMS_HTTP_LANDING);
	double t0 = now_s();
	r = request(port, "GET / HTTP/1.0\r\n\r\n"); /* nobody draws: the stale page */
	double waited = now_s() - t0;
	CHECK(strstr(r, " 200 ") && strstr(r, "\r\n\r\n<p>1</p>"));
	if (!CHECK(waited > 1.9 && waited < 3.5))
		fprintf(stderr, "  waited %.2f s for a loop that never answered\n", waited);
	free(r);
	CHECK_INT(vms_http_take_demand(h), 1u << VMS_HTTP_LANDING);
	vms_http_stop(h);
}

int
main(void)
{
	vms_log_init("test_http", false);
	test_parse_listen();
	test_serving();
	test_limits_and_staleness();
	test_per_address_and_header_deadline();
	test_tls();
	test_basic_auth();
	test_demand();
	return check_done("test_http");
}

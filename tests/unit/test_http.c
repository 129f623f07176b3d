/* The HTTP endpoint: listen address parsing, snapshot serving, methods and paths. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../daemon/http.h"
#include "../../daemon/log.h"
#include "check.h"

#include <zlib.h>

static void
test_parse_listen(void)
{
	struct sockaddr_storage ss;
	size_t len;
	char err[128];
	CHECK_INT(vms_http_parse_listen("127.0.0.1:9477", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9477);
	CHECK_INT(vms_http_parse_listen(":80", &ss, &len, err, sizeof(err)), 0);
	CHECK(((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY));
	CHECK_INT(vms_http_parse_listen("[::1]:9477", &ss, &len, err, sizeof(err)), 0);
	CHECK(ss.ss_family == AF_INET6);
	const char *bad[] = {"", "9477", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
			     "127.0.0.1:12ab", "localhost:9477", "::1:9477", "[::1]9477", "[zz]:1",
			     "1.2.3.4.5:80", "127.0.0.1:-1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (!CHECK_INT(vms_http_parse_listen(bad[i], &ss, &len, err, sizeof(err)), -1))
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
	struct vms_http *h = vms_http_start(spec);
	CHECK(h != NULL);
	if (!h)
		return;
	/* A second daemon on the same address fails cleanly. */
	CHECK(vms_http_start(spec) == NULL);

	char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(strncmp(r, "HTTP/1.1 503", 12) == 0 || strncmp(r, "HTTP/1.0 503", 12) == 0);
	free(r);

	vms_http_publish(h, strdup("m 1\n"), 4, strdup("<p>hi</p>"), 9);
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
	} enc[] = {{"gzip", true},          {"deflate, gzip;q=0.5", true}, {"gzip;q=0", false},
		   {"GZIP", true},          {"*", true},                   {"identity", false},
		   {"br, deflate", false},  {"gzip ; q=0.0", false}};
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

int
main(void)
{
	vms_log_init("test_http", false);
	test_parse_listen();
	test_serving();
	return check_done("test_http");
}

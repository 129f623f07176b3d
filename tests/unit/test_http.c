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

/* Sends one raw request and returns the whole response (malloc'd). */
static char *
request(int port, const char *req)
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
	size_t cap = 65536, n = 0;
	char *buf = calloc(1, cap);
	ssize_t r;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	return buf;
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

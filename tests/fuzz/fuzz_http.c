/*
 * The HTTP request handling (daemon/http*.c): vmscaled's endpoint started as in the daemon, on
 * a loopback port, with basic auth (one user, a bcrypt hash of cost 4 so a wrong password is
 * cheap to check) and a published snapshot. Each input is what one client sends on one
 * connection before it stops writing; the answer, if any, must be an HTTP/1.x status line.
 * Every 64 inputs an honest scraper must still get 200 and the snapshot: no input may break
 * the endpoint for the next client. Input: the bytes of one connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/http.h"
#include "fuzz.h"
#include "vmscale/clock.h"

#define USER "prometheus"
#define HASH "$2b$04$abcdefghijklmnopqrstuuknLfvexuv1N5kbFddtXm6vCStFg3f6K" /* "fuzz-secret" */
#define CREDENTIALS "cHJvbWV0aGV1czpmdXp6LXNlY3JldA==" /* base64 of USER ":fuzz-secret" */
#define METRICS "# TYPE vmscale_fuzz gauge\nvmscale_fuzz 1\n"
#define LANDING "<!doctype html><title>vmscale</title>"
#define ANSWER_MAX (256 * 1024)
#define ANSWER_WAIT_MS 3000 /* within the endpoint's header timeout (5 s) */

static struct vms_http *http;
static struct sockaddr_in endpoint;
static unsigned long inputs;

/* A port the kernel just had free on loopback. */
static unsigned
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("free port");
		abort();
	}
	close(fd);
	return ntohs(a.sin_port);
}

static char *
dup_text(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	static char name[] = USER;
	static struct vms_webconfig_user user = {.name = name, .hash = HASH};
	static struct vms_webconfig web = {.users = &user, .nusers = 1};
	unsigned port = free_port();
	char listen[32];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	/* Room for connections the endpoint has not yet seen closed: the limits are not what
	 * this target tries (the e2e test http_starvation does). */
	struct vms_http_options opt = {
	    .listen = listen, .max_connections = 64, .per_address = 64, .web = &web};
	http = vms_http_start(&opt);
	if (!http) {
		fprintf(stderr, "fuzz_http: cannot serve on %s\n", listen);
		abort();
	}
	vms_http_publish(http, dup_text(METRICS), strlen(METRICS), dup_text(LANDING),
	                 strlen(LANDING));
	endpoint = (struct sockaddr_in){.sin_family = AF_INET,
	                                .sin_port = htons((uint16_t)port),
	                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return 0;
}

/* connect(), which a signal (libFuzzer's SIGALRM for -timeout) may interrupt: the connection
 * then completes on its own, and poll tells when; SO_ERROR tells how. */
static int
connect_through_signals(int fd)
{
	if (connect(fd, (struct sockaddr *)&endpoint, sizeof(endpoint)) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int rc;
	while ((rc = poll(&p, 1, 5000)) < 0 && errno == EINTR)
		;
	if (rc <= 0) {
		errno = rc == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	errno = err;
	return err ? -1 : 0;
}

/* Closed with a reset (linger 0): thousands of connections a second would otherwise use up
 * the loopback's ephemeral ports in TIME_WAIT. */
static int
connect_endpoint(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct linger reset = {.l_onoff = 1, .l_linger = 0};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) < 0 ||
	    connect_through_signals(fd) < 0) {
		char why[128];
		snprintf(why, sizeof(why), "connect to the endpoint: %s", strerror(errno));
		fuzz_fail(why, __FILE__, __LINE__); /* about this machine, not the input */
	}
	return fd;
}

/* Sends what the endpoint takes (it may answer and close before reading everything). */
static void
send_request(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t w = send(fd, data, size, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue; /* a signal, not the endpoint */
		if (w <= 0)
			return;
		data += w;
		size -= (size_t)w;
	}
}

/* The answer until the endpoint closes (or ANSWER_WAIT_MS), NUL-terminated; its length. */
static size_t
read_answer(int fd, char *out, size_t outsz)
{
	size_t len = 0;
	out[0] = '\0';
	uint64_t end = vms_monotonic_ns() + ANSWER_WAIT_MS * NS_PER_MS;
	for (uint64_t now; (now = vms_monotonic_ns()) < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ready = poll(&p, 1, (int)((end - now) / NS_PER_MS) + 1);
		if (ready < 0 && errno == EINTR)
			continue; /* a signal (libFuzzer's SIGALRM), not the endpoint */
		if (ready <= 0)
			break;
		char sink[4096];
		bool room = len < outsz - 1;
		ssize_t r =
		    recv(fd, room ? out + len : sink, room ? outsz - 1 - len : sizeof(sink), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (room) {
			len += (size_t)r;
			out[len] = '\0';
		}
	}
	return len;
}

/* One client's connection: it sends its bytes and stops writing. The endpoint answers a
 * complete request and then closes; it drops an incomplete one. */
static size_t
exchange(const uint8_t *data, size_t size, char *out, size_t outsz)
{
	int fd = connect_endpoint();
	send_request(fd, data, size);
	shutdown(fd, SHUT_WR);
	size_t len = read_answer(fd, out, outsz);
	close(fd);
	return len;
}

static bool
status_line(const char *answer, unsigned *status)
{
	char version[2];
	return sscanf(answer, "HTTP/1.%1[01] %3u ", version, status) == 2 && *status >= 100 &&
	       *status <= 599;
}

static void
check_scraper_served(char *answer)
{
	static const char scrape[] = "GET /metrics HTTP/1.1\r\nHost: fuzz\r\n"
	                             "Authorization: Basic " CREDENTIALS "\r\n"
	                             "Connection: close\r\n\r\n";
	exchange((const uint8_t *)scrape, sizeof(scrape) - 1, answer, ANSWER_MAX);
	unsigned status = 0;
	FUZZ_ASSERT(status_line(answer, &status) && status == 200);
	FUZZ_ASSERT(strstr(answer, "\r\n\r\n" METRICS) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char answer[ANSWER_MAX];
	size_t len = exchange(data, size, answer, sizeof(answer));
	unsigned status;
	FUZZ_ASSERT(len == 0 || status_line(answer, &status));
	FUZZ_ASSERT(len == 0 || status != 500);
	if (++inputs % 64 == 0)
		check_scraper_served(answer);
	return 0;
}

/*
 * The control socket over real unix sockets driven by libvirt's event loop: replies, handler
 * errors, hostile requests, slow and silent peers, the socket file's life cycle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/control.h"
#include "daemon/util/log.h"
#include "daemon/util/buf.h"
#include "check.h"
#include "check_loop.h"
#include "vmscale/clock.h"

static char dir[48];
static char sockpath[96];
static int handler_calls;

/* Echoes the words one a line; "fail" fails, "nonl" forgets the last LF, "big" is large. */
static int
echo_handler(void *opaque, int argc, char **argv, struct vms_buf *out, char *err, size_t errsz)
{
	CHECK(opaque == &handler_calls);
	CHECK(argv[argc] == NULL);
	handler_calls++;
	if (strcmp(argv[0], "fail") == 0) {
		vms_buf_printf(out, "dropped body\n");
		snprintf(err, errsz, "no such domain\n%s", argc > 1 ? argv[1] : "");
		return -1;
	}
	if (strcmp(argv[0], "nonl") == 0) {
		vms_buf_printf(out, "partial");
		return 0;
	}
	if (strcmp(argv[0], "big") == 0) {
		for (int i = 0; i < 200000; i++)
			vms_buf_printf(out, "line %d of a reply nobody reads\n", i);
		return 0;
	}
	for (int i = 0; i < argc; i++)
		vms_buf_printf(out, "%s\n", argv[i]);
	return 0;
}

struct client {
	int fd;
	size_t len;
	bool eof;
	char buf[16384];
};

static void
client_connect(struct client *cl)
{
	memset(cl, 0, sizeof(*cl));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(cl->fd >= 0);
	CHECK(connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
}

static void
client_send(struct client *cl, const char *data, size_t len)
{
	CHECK(send(cl->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len);
}

static bool
client_done(void *arg)
{
	struct client *cl = arg;
	for (;;) {
		if (cl->len + 1 >= sizeof(cl->buf))
			return true;
		ssize_t n =
		    recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, MSG_DONTWAIT);
		if (n > 0) {
			cl->len += (size_t)n;
			cl->buf[cl->len] = '\0';
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			cl->eof = true;
		return cl->eof;
	}
}

static void
client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
}

/* Sends data, runs the loop until the server closes, and compares the whole reply. */
static void
exchange(const char *data, size_t len, const char *want)
{
	struct client cl;
	client_connect(&cl);
	client_send(&cl, data, len);
	CHECK(run_until(client_done, &cl));
	cl.buf[cl.len] = '\0';
	if (!CHECK_STR(cl.buf, want))
		fprintf(stderr, "  request was: %.60s\n", data);
	client_close(&cl);
}

static void
expect_rejected(struct vms_control *c, const char *data, size_t len, const char *want)
{
	struct vms_control_stats before, after;
	vms_control_get_stats(c, &before);
	int calls = handler_calls;
	exchange(data, len, want);
	vms_control_get_stats(c, &after);
	CHECK_INT(after.rejected_total, before.rejected_total + 1);
	CHECK_INT(after.requests_total, before.requests_total);
	CHECK_INT(handler_calls, calls);
}

static void
test_requests(struct vms_control *c)
{
	struct vms_control_stats s0, s;
	vms_control_get_stats(c, &s0);
	exchange("baseline pin web1\n", 18, "baseline\npin\nweb1\nok\n");
	exchange("status\n", 7, "status\nok\n");
	exchange("fail web1\n", 10, "error: no such domain?web1\n");
	exchange("nonl\n", 5, "partial\nok\n");
	vms_control_get_stats(c, &s);
	CHECK_INT(s.requests_total, s0.requests_total + 4);
	CHECK_INT(s.errors_total, s0.errors_total + 1);
	CHECK_INT(s.rejected_total, s0.rejected_total);

	/* The limits themselves are fine: 8 words; 4 words of 255 bytes make 1024 with the LF. */
	exchange("1 2 3 4 5 6 7 8\n", 16, "1\n2\n3\n4\n5\n6\n7\n8\nok\n");
	char line[2048], want[2048];
	memset(line, 'w', 1023);
	line[255] = line[511] = line[767] = ' ';
	line[1023] = '\n';
	memcpy(want, line, 1024);
	want[255] = want[511] = want[767] = '\n';
	memcpy(want + 1024, "ok\n", 4);
	exchange(line, 1024, want);

	/* Hostile requests: answered, counted, never handed to the handler. */
	expect_rejected(c, "1 2 3 4 5 6 7 8 9\n", 18, "error: too many words (at most 8)\n");
	memset(line, 'x', sizeof(line));
	expect_rejected(c, line, 2000, "error: request line longer than 1024 bytes\n");
	memset(line, 'x', 1024);
	line[1024] = '\n';
	expect_rejected(c, line, 1025, "error: request line longer than 1024 bytes\n");
	memset(line, 'x', 256);
	line[256] = '\n';
	expect_rejected(c, line, 257, "error: a word is longer than 255 bytes\n");
	const char *np = "error: the request holds a byte that is not printable ASCII\n";
	const char *sp = "error: words must be separated by single spaces\n";
	expect_rejected(c, "status\r\n", 8, np);
	expect_rejected(c, "a\tb\n", 4, np);
	expect_rejected(c, "a\x80\n", 3, np);
	expect_rejected(c, "a\0b\n", 4, np);
	expect_rejected(c, "a  b\n", 5, sp);
	expect_rejected(c, " a\n", 3, sp);
	expect_rejected(c, "a \n", 3, sp);
	expect_rejected(c, "\n", 1, "error: empty request\n");
	expect_rejected(c, "status\nstatus\n", 14,
	                "error: bytes after the request line (one request per connection)\n");

	/* A line cut short by the peer. */
	struct client cl;
	client_connect(&cl);
	client_send(&cl, "stat", 4);
	CHECK(shutdown(cl.fd, SHUT_WR) == 0);
	CHECK(run_until(client_done, &cl));
	CHECK_STR(cl.buf, "error: incomplete request (no LF)\n");
	client_close(&cl);
	vms_control_get_stats(c, &s);
	CHECK_INT(s.rejected_total, s0.rejected_total + 14);
	CHECK_INT(s.timeouts_total, s0.timeouts_total);

	/* Connecting and leaving is not a complaint (a second daemon's liveness check). */
	client_connect(&cl);
	client_close(&cl);
	exchange("status\n", 7, "status\nok\n");
	vms_control_get_stats(c, &s);
	CHECK_INT(s.rejected_total, s0.rejected_total + 14);
}

static void
test_peer(struct vms_control *c)
{
	struct vms_control_stats before, after;
	vms_control_get_stats(c, &before);
	vms_control_set_peer_uids(c, 12345, 12346);
	exchange("status\n", 7, "error: permission denied\n");
	vms_control_set_peer_uids(c, 0, geteuid());
	vms_control_get_stats(c, &after);
	CHECK_INT(after.rejected_total, before.rejected_total + 1);
	CHECK_INT(after.requests_total, before.requests_total);
	exchange("status\n", 7, "status\nok\n");
}

static bool
stats_timeouts_at_least(void *arg)
{
	void **a = arg;
	struct vms_control_stats s;
	vms_control_get_stats(a[0], &s);
	return s.timeouts_total >= *(uint64_t *)a[1];
}

static void
test_slow_peers(struct vms_control *c)
{
	struct vms_control_stats s0, s;
	vms_control_get_stats(c, &s0);
	vms_control_set_timeout_ms(c, 300);

	/* A silent client does not hold up the next one, and is told off after the timeout. */
	struct client silent, other;
	client_connect(&silent);
	client_send(&silent, "sta", 3);
	client_connect(&other);
	client_send(&other, "status\n", 7);
	uint64_t t0 = vms_monotonic_ns();
	CHECK(run_until(client_done, &other));
	CHECK_STR(other.buf, "status\nok\n");
	CHECK(vms_monotonic_ns() - t0 < 250000000ull);
	CHECK(!client_done(&silent));
	CHECK(run_until(client_done, &silent));
	CHECK_STR(silent.buf, "error: timed out waiting for the request line\n");
	client_close(&silent);
	client_close(&other);
	vms_control_get_stats(c, &s);
	CHECK_INT(s.timeouts_total, s0.timeouts_total + 1);

	/* A ninth connection drops the oldest. */
	struct client many[VMS_CONTROL_MAX_PENDING + 1];
	for (int i = 0; i <= VMS_CONTROL_MAX_PENDING; i++) {
		client_connect(&many[i]);
		virEventRunDefaultImpl(); /* accepted before the next one comes */
	}
	CHECK(run_until(client_done, &many[0]));
	CHECK_INT(many[0].len, 0); /* dropped without a word */
	for (int i = 1; i <= VMS_CONTROL_MAX_PENDING; i++)
		CHECK(!client_done(&many[i]));
	vms_control_get_stats(c, &s);
	CHECK_INT(s.timeouts_total, s0.timeouts_total + 2);
	/* The newest is served. */
	client_send(&many[VMS_CONTROL_MAX_PENDING], "status\n", 7);
	CHECK(run_until(client_done, &many[VMS_CONTROL_MAX_PENDING]));
	CHECK_STR(many[VMS_CONTROL_MAX_PENDING].buf, "status\nok\n");
	for (int i = 0; i <= VMS_CONTROL_MAX_PENDING; i++)
		client_close(&many[i]);
	uint64_t want = 0;
	void *args[2] = {c, &want};

	/* A peer that never reads a large reply loses it; the loop goes on meanwhile. */
	struct client sink;
	client_connect(&sink);
	client_send(&sink, "big\n", 4);
	exchange("status\n", 7, "status\nok\n");
	vms_control_get_stats(c, &s);
	want = s.timeouts_total + 1;
	CHECK(run_until(stats_timeouts_at_least, args));
	/* What the peer gets is a prefix, then the end. */
	char tmp[65536];
	ssize_t n;
	size_t got = 0;
	while ((n = recv(sink.fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	CHECK(n == 0);
	CHECK(got > 0 && got < 200000 * 30);
	client_close(&sink);
	vms_control_set_timeout_ms(c, VMS_CONTROL_TIMEOUT_MS);
}

/* A socket file left behind by a process that is gone. */
static void
make_stale_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
}

static void
test_lifecycle(void)
{
	char err[512];
	struct stat sb;
	/* libvirt's loop makes its wakeup descriptor on first use: not ours to count. */
	int warm = virEventAddTimeout(0, check_loop_tick, NULL, NULL);
	virEventRunDefaultImpl();
	virEventRemoveTimeout(warm);
	int fds = check_count_fds();

	/* The parent folder is made 0755, the socket 0600. */
	struct vms_control *c =
	    vms_control_open(sockpath, echo_handler, &handler_calls, err, sizeof(err));
	if (!CHECK(c != NULL)) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK(lstat(sockpath, &sb) == 0 && S_ISSOCK(sb.st_mode));
	CHECK_INT(sb.st_mode & 0777, 0600);
	char parent[128];
	snprintf(parent, sizeof(parent), "%s/run", dir);
	CHECK(stat(parent, &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK_INT(sb.st_mode & 0777, 0755);

	/* A live socket is not taken over. */
	err[0] = '\0';
	CHECK(vms_control_open(sockpath, echo_handler, &handler_calls, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "is listening on") != NULL);
	CHECK(strstr(err, sockpath) != NULL);
	exchange("status\n", 7, "status\nok\n"); /* and the first one still serves */

	test_requests(c);
	test_peer(c);
	test_slow_peers(c);

	vms_control_close(c);
	CHECK(lstat(sockpath, &sb) < 0 && errno == ENOENT);
	vms_control_close(NULL);

	/* A stale socket is replaced. */
	make_stale_socket(sockpath);
	c = vms_control_open(sockpath, echo_handler, &handler_calls, err, sizeof(err));
	CHECK(c != NULL);
	if (c)
		exchange("status\n", 7, "status\nok\n");
	/* Something else put at the path meanwhile is not ours to unlink. */
	CHECK(unlink(sockpath) == 0);
	FILE *f = fopen(sockpath, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	vms_control_close(c);
	CHECK(lstat(sockpath, &sb) == 0 && S_ISREG(sb.st_mode));

	/* A regular file at the path is refused and left alone. */
	err[0] = '\0';
	CHECK(vms_control_open(sockpath, echo_handler, &handler_calls, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "is not a socket") != NULL);
	CHECK(lstat(sockpath, &sb) == 0 && S_ISREG(sb.st_mode));
	CHECK(unlink(sockpath) == 0);

	/* Paths that cannot be: too long, a parent that is a file. */
	char longpath[256];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK(vms_control_open(longpath, echo_handler, NULL, err, sizeof(err)) == NULL);
	CHECK(vms_control_open("", echo_handler, NULL, err, sizeof(err)) == NULL);
	char filepath[160];
	snprintf(filepath, sizeof(filepath), "%s/file", dir);
	f = fopen(filepath, "w");
	if (f)
		fclose(f);
	snprintf(filepath, sizeof(filepath), "%s/file/control.sock", dir);
	CHECK(vms_control_open(filepath, echo_handler, NULL, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a directory") != NULL);

	if (fds >= 0 && !CHECK_INT(check_count_fds(), fds))
		CHECK(system("ls -l /proc/$PPID/fd >&2") == 0);
}

int
main(void)
{
	vms_log_init("test_control", false);
	snprintf(dir, sizeof(dir), "/tmp/vmscale-test-control.XXXXXX");
	if (!CHECK(mkdtemp(dir) != NULL))
		return check_done("test_control");
	snprintf(sockpath, sizeof(sockpath), "%s/run/control.sock", dir);
	if (virEventRegisterDefaultImpl() < 0)
		CHECK(!"libvirt event loop");
	else
		test_lifecycle();
	check_remove_tree(dir);
	return check_done("test_control");
}

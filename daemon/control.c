/* The local control socket (see control.h for the protocol). */
#include "daemon/control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/log.h"
#include "daemon/util/buf.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/tick.h"

#define LISTEN_BACKLOG 16
#define ACCEPT_BURST 16

struct conn {
	struct vms_control *owner;
	int fd;
	int watch;
	bool writing;         /* the request is answered; the reply is going out */
	uint64_t started_ns;  /* accept time: the oldest is dropped when full */
	uint64_t deadline_ns; /* to finish the current phase (reading, then writing) */
	pid_t pid;
	uid_t uid;
	size_t len;
	char line[VMS_CONTROL_MAX_LINE + 1];
	struct vms_buf reply;
	size_t sent;
};

struct vms_control {
	vms_control_fn fn;
	void *opaque;
	char *path;
	dev_t dev; /* of the socket file we made: close unlinks only that one */
	ino_t ino;
	int fd, watch;
	struct vms_tick tick; /* the deadlines' sweep, while connections are open */
	unsigned timeout_ms;
	uid_t uid_a, uid_b;
	struct conn *conns[VMS_CONTROL_MAX_PENDING];
	size_t nconns;
	struct vms_control_stats stats;
	struct vms_complaint bad_complaint, busy_complaint;
};

static void
conn_end(struct conn *k)
{
	struct vms_control *c = k->owner;
	if (k->watch >= 0)
		virEventRemoveHandle(k->watch);
	close(k->fd);
	for (size_t i = 0; i < c->nconns; i++)
		if (c->conns[i] == k) {
			c->conns[i] = c->conns[--c->nconns];
			break;
		}
	vms_buf_free(&k->reply);
	free(k);
	vms_tick_arm(&c->tick, c->nconns > 0);
}

/* Sends what the socket takes now; ends the connection once all is out or the peer is gone. */
static void
conn_flush(struct conn *k)
{
	while (k->sent < k->reply.len) {
		ssize_t n = send(k->fd, k->reply.data + k->sent, k->reply.len - k->sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* on_conn gets it when the peer reads; on_tick if it never does */
		if (n <= 0)
			break;
		k->sent += (size_t)n;
	}
	conn_end(k);
}

/* Queues the reply that is in k->reply and starts writing it. */
static void
conn_reply(struct conn *k)
{
	struct vms_control *c = k->owner;
	k->writing = true;
	k->deadline_ns = vms_monotonic_ns() + (uint64_t)c->timeout_ms * NS_PER_MS;
	/* Nothing more is read: whatever else the peer sends is not a request. */
	if (k->watch >= 0)
		virEventUpdateHandle(k->watch, VIR_EVENT_HANDLE_WRITABLE);
	conn_flush(k);
}

/* Answers a protocol violation with "error: why", counted and logged at a bounded rate. */
static void
conn_reject(struct conn *k, const char *why)
{
	struct vms_control *c = k->owner;
	c->stats.rejected_total++;
	vms_complain(&c->bad_complaint, LOG_WARNING, NULL,
	             "control: rejected a request from pid %ld uid %lu: %s", (long)k->pid,
	             (unsigned long)k->uid, why);
	k->reply.len = 0;
	vms_buf_printf(&k->reply, "error: %s\n", why);
	conn_reply(k);
}

/* The reason goes on one line whatever the handler wrote. */
static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/*
 * Splits the line (LF removed) into words in place. Returns the number of words, or -1 with
 * why set: the grammar is strict so that the handler sees exactly what the client meant.
 */
static int
split_words(char *line, size_t len, char **argv, const char **why)
{
	int argc = 0;
	size_t start = 0;
	if (len == 0) {
		*why = "empty request";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)line[i] : ' ';
		if (ch != ' ' && (ch < 0x21 || ch > 0x7e)) {
			*why = "the request holds a byte that is not printable ASCII";
			return -1;
		}
		if (ch != ' ')
			continue;
		if (i == start) {
			*why = "words must be separated by single spaces";
			return -1;
		}
		if (i - start > VMS_CONTROL_MAX_WORD) {
			*why = "a word is longer than 255 bytes";
			return -1;
		}
		if (argc == VMS_CONTROL_MAX_WORDS) {
			*why = "too many words (at most 8)";
			return -1;
		}
		line[i] = '\0';
		argv[argc++] = line + start;
		start = i + 1;
	}
	return argc;
}

static void
conn_serve(struct conn *k, size_t len)
{
	struct vms_control *c = k->owner;
	char *argv[VMS_CONTROL_MAX_WORDS + 1];
	const char *why = NULL;
	int argc = split_words(k->line, len, argv, &why);
	if (argc < 0) {
		conn_reject(k, why);
		return;
	}
	argv[argc] = NULL;
	c->stats.requests_total++;
	char err[512] = "";
	k->reply.len = 0;
	if (c->fn(c->opaque, argc, argv, &k->reply, err, sizeof(err)) < 0) {
		c->stats.errors_total++;
		one_line(err);
		/* The body of a failed request is dropped: the reason is the answer. */
		k->reply.len = 0;
		vms_buf_printf(&k->reply, "error: %s\n", err[0] ? err : "request failed");
	} else {
		if (k->reply.len && k->reply.data[k->reply.len - 1] != '\n')
			vms_buf_append(&k->reply, "\n", 1);
		vms_buf_append(&k->reply, "ok\n", 3);
	}
	conn_reply(k);
}

static void
conn_read(struct conn *k)
{
	for (;;) {
		size_t room = VMS_CONTROL_MAX_LINE - k->len;
		ssize_t n = recv(k->fd, k->line + k->len, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_end(k);
			return;
		}
		if (n == 0) {
			/* Connecting and leaving says nothing (it is how a second vmscaled checks
			 * whether the socket is alive); leaving mid-line is a bad request. */
			if (k->len == 0)
				conn_end(k);
			else
				conn_reject(k, "incomplete request (no LF)");
			return;
		}
		size_t old = k->len;
		k->len += (size_t)n;
		char *lf = memchr(k->line + old, '\n', k->len - old);
		if (lf) {
			size_t len = (size_t)(lf - k->line);
			if (len + 1 != k->len)
				conn_reject(k, "bytes after the request line "
				               "(one request per connection)");
			else
				conn_serve(k, len);
			return;
		}
		if (k->len >= VMS_CONTROL_MAX_LINE) {
			conn_reject(k, "request line longer than 1024 bytes");
			return;
		}
	}
}

static void
on_conn(int watch, int fd, int events, void *opaque)
{
	struct conn *k = opaque;
	(void)watch;
	(void)fd;
	if (k->writing) {
		conn_flush(k);
		return;
	}
	if (events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR))
		conn_read(k);
}

/* Makes room for one more connection by dropping the oldest. */
static void
drop_oldest(struct vms_control *c)
{
	struct conn *old = c->conns[0];
	for (size_t i = 1; i < c->nconns; i++)
		if (c->conns[i]->started_ns < old->started_ns)
			old = c->conns[i];
	c->stats.timeouts_total++;
	vms_complain(&c->busy_complaint, LOG_WARNING, NULL,
	             "control: %d connections at once: dropped the oldest (pid %ld uid %lu)",
	             VMS_CONTROL_MAX_PENDING, (long)old->pid, (unsigned long)old->uid);
	conn_end(old);
}

static void
on_accept(int watch, int fd, int events, void *opaque)
{
	struct vms_control *c = opaque;
	(void)watch;
	(void)events;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0)
			return;
		if (c->nconns == VMS_CONTROL_MAX_PENDING)
			drop_oldest(c);
		struct conn *k = vms_xcalloc(1, sizeof(*k));
		k->owner = c;
		k->fd = s;
		k->pid = -1;
		k->uid = (uid_t)-1;
		k->started_ns = vms_monotonic_ns();
		k->deadline_ns = k->started_ns + (uint64_t)c->timeout_ms * NS_PER_MS;
		vms_buf_init(&k->reply);
		k->watch = virEventAddHandle(s, VIR_EVENT_HANDLE_READABLE, on_conn, k, NULL);
		if (k->watch < 0) {
			close(s);
			vms_buf_free(&k->reply);
			free(k);
			continue;
		}
		c->conns[c->nconns++] = k;
		vms_tick_arm(&c->tick, c->nconns > 0);
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cl != sizeof(cred)) {
			conn_reject(k, "permission denied");
			continue;
		}
		k->pid = cred.pid;
		k->uid = cred.uid;
		/* The socket's mode keeps others out already; this holds if it is ever loosened. */
		if (cred.uid != c->uid_a && cred.uid != c->uid_b)
			conn_reject(k, "permission denied");
	}
}

static void
on_tick(void *opaque)
{
	struct vms_control *c = opaque;
	uint64_t now = vms_monotonic_ns();
	for (size_t i = 0; i < c->nconns;) {
		struct conn *k = c->conns[i];
		if (now < k->deadline_ns) {
			i++;
			continue;
		}
		/* A reader that stalls loses its reply; a silent writer is told, if it listens. */
		c->stats.timeouts_total++;
		if (k->writing) {
			conn_end(k); /* moves the last one here */
			continue;
		}
		vms_complain(&c->bad_complaint, LOG_WARNING, NULL,
		             "control: no request line from pid %ld uid %lu within %u ms",
		             (long)k->pid, (unsigned long)k->uid, c->timeout_ms);
		k->reply.len = 0;
		vms_buf_printf(&k->reply, "error: timed out waiting for the request line\n");
		conn_reply(k); /* sends what fits now and ends, or waits up to timeout_ms more */
	}
}

/* Makes the socket's folder if missing; a folder the system provides (systemd's
 * RuntimeDirectory=) is used as it is. */
static int
ensure_parent(const char *path, char *err, size_t errsz)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		snprintf(err, errsz, "control socket: %s is not a directory", dir);
		return -1;
	}
	if (errno != ENOENT || (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		snprintf(err, errsz, "control socket: cannot make %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Clears the way for bind: 0 if path is free (a stale socket is removed), -1 if refused. */
static int
claim_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errsz)
{
	struct stat sb;
	if (lstat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "control socket: cannot check %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errsz,
		         "control socket: %s exists and is not a socket; not replacing it", path);
		return -1;
	}
	/* Non-blocking, so that a live daemon with a full backlog answers EAGAIN, not a hang. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errsz, "control socket: cannot create a socket: %s", strerror(errno));
		return -1;
	}
	int rc = connect(s, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(s);
	if (rc < 0 && e == ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(err, errsz, "control socket: cannot remove the stale %s: %s", path,
			         strerror(errno));
			return -1;
		}
		vms_info("control: removed the stale socket %s", path);
		return 0;
	}
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		snprintf(err, errsz,
		         "control socket: another process (a running vmscaled?) "
		         "is listening on %s",
		         path);
	else
		snprintf(err, errsz, "control socket: cannot check whether %s is in use: %s", path,
		         strerror(e));
	return -1;
}

struct vms_control *
vms_control_open(const char *path, vms_control_fn fn, void *opaque, char *err, size_t errsz)
{
	struct vms_control *c = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1;
	bool bound = false;
	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "control socket: path empty or longer than %zu bytes",
		         sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (ensure_parent(path, err, errsz) < 0 || claim_path(path, &sa, err, errsz) < 0)
		return NULL;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errsz, "control socket: cannot bind %s: %s", path, strerror(errno));
		goto cleanup;
	}
	bound = true;
	/* Before listen(): until then connecting is refused, so the umask's mode never lets anyone
	 * in, and the process-wide umask is left alone (the HTTP threads create files too). */
	struct stat sb;
	if (chmod(path, 0600) < 0 || lstat(path, &sb) < 0) {
		snprintf(err, errsz, "control socket: cannot make %s mode 0600: %s", path,
		         strerror(errno));
		goto cleanup;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errsz, "control socket: cannot listen on %s: %s", path,
		         strerror(errno));
		goto cleanup;
	}
	c = vms_xcalloc(1, sizeof(*c));
	c->fn = fn;
	c->opaque = opaque;
	c->path = vms_xstrdup(path);
	c->dev = sb.st_dev;
	c->ino = sb.st_ino;
	c->fd = fd;
	c->timeout_ms = VMS_CONTROL_TIMEOUT_MS;
	c->uid_a = 0;
	c->uid_b = geteuid();
	c->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_accept, c, NULL);
	int tick_rc = vms_tick_add(&c->tick, VMS_TICK_MS, on_tick, c);
	if (c->watch < 0 || tick_rc < 0) {
		snprintf(err, errsz, "control socket: cannot watch %s: no event loop registered?",
		         path);
		goto cleanup;
	}
	vms_info("control: listening on %s", path);
	return c;

cleanup:
	if (c) {
		if (c->watch >= 0)
			virEventRemoveHandle(c->watch);
		vms_tick_remove(&c->tick);
		free(c->path);
		free(c);
	}
	if (fd >= 0)
		close(fd);
	if (bound)
		unlink(path);
	return NULL;
}

void
vms_control_close(struct vms_control *c)
{
	if (!c)
		return;
	while (c->nconns)
		conn_end(c->conns[0]);
	if (c->watch >= 0)
		virEventRemoveHandle(c->watch);
	vms_tick_remove(&c->tick);
	close(c->fd);
	/* Only our own socket: never one a successor has put at the same path meanwhile. */
	struct stat sb;
	if (lstat(c->path, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_dev == c->dev &&
	    sb.st_ino == c->ino)
		unlink(c->path);
	free(c->path);
	free(c);
}

void
vms_control_get_stats(const struct vms_control *c, struct vms_control_stats *s)
{
	*s = c->stats;
}

void
vms_control_set_timeout_ms(struct vms_control *c, unsigned ms)
{
	c->timeout_ms = ms;
}

void
vms_control_set_peer_uids(struct vms_control *c, uid_t a, uid_t b)
{
	c->uid_a = a;
	c->uid_b = b;
}

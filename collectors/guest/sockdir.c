/* The container transport: a listening unix socket per container directory (see sockdir.h). */
#include "collectors/guest/sockdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "daemon/util/alloc.h"
#include "daemon/util/log.h"

#define LISTEN_BACKLOG 4
#define ACCEPTS_PER_WAKEUP 8

struct sd_entry {
	struct vms_sockdirs *owner;
	char key[VMS_DOMAIN_KEY_LEN + 1];
	char *path; /* DIR/VMS_PROTO_CONTAINER_SOCKET */
	int fd, watch;
	dev_t dev; /* of the socket file we made: removed only if it is still ours */
	ino_t ino;
	bool seen;
};

struct vms_sockdirs {
	struct vms_store *store;
	struct vms_channels *chans;
	struct sd_entry **e;
	size_t n, cap;
	struct vms_sockdir_stats stats;
	struct vms_complaint complaint;
};

struct vms_sockdirs *
vms_sockdirs_new(struct vms_store *st, struct vms_channels *chans)
{
	struct vms_sockdirs *s = vms_xcalloc(1, sizeof(*s));
	s->store = st;
	s->chans = chans;
	return s;
}

static void
on_accept(int watch, int fd, int events, void *opaque)
{
	struct sd_entry *e = opaque;
	(void)watch;
	(void)events;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		/* The newer connection wins, as on every transport. */
		if (vms_channels_attach(e->owner->chans, e->key, c, "unix") == 0)
			e->owner->stats.accepted++;
	}
}

/* Removes the socket file if it is still the one we bound (the container may have replaced
 * it with anything). */
static void
remove_ours(const struct sd_entry *e)
{
	struct stat sb;
	if (lstat(e->path, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_dev == e->dev &&
	    sb.st_ino == e->ino)
		unlink(e->path);
}

static void
entry_close(struct sd_entry *e)
{
	if (e->watch >= 0)
		virEventRemoveHandle(e->watch);
	if (e->fd >= 0) {
		close(e->fd);
		remove_ours(e);
		e->owner->stats.listening--;
	}
	e->watch = e->fd = -1;
}

/* Binds DIR/probe.sock: a stale socket there (ours from before a restart, or the
 * container's) is replaced; anything else is left alone and refused. -1 with err filled. */
static int
entry_listen(struct sd_entry *e, char *err, size_t errsz)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat sb;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->path) >= (int)sizeof(sa.sun_path)) {
		snprintf(err, errsz, "%s: path too long for a unix socket", e->path);
		return -1;
	}
	if (lstat(e->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errsz, "%s exists and is not a socket: left alone", e->path);
			return -1;
		}
		unlink(e->path); /* a link in its place now is removed, never followed */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 || lstat(e->path, &sb) < 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", e->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* The container's processes may run as any of its users. */
	chmod(e->path, 0666);
	e->dev = sb.st_dev;
	e->ino = sb.st_ino;
	e->fd = fd;
	e->watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_accept, e, NULL);
	e->owner->stats.listening++;
	e->owner->stats.on = true;
	return 0;
}

static struct sd_entry *
entry_find(const struct vms_sockdirs *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i]->key, key) == 0)
			return s->e[i];
	return NULL;
}

static struct sd_entry *
entry_add(struct vms_sockdirs *s, const struct vms_domain *d)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->e = vms_xrealloc(s->e, s->cap, sizeof(*s->e));
	}
	struct sd_entry *e = vms_xcalloc(1, sizeof(*e));
	e->owner = s;
	snprintf(e->key, sizeof(e->key), "%s", d->key);
	size_t len = strlen(d->socket_dir) + sizeof("/" VMS_PROTO_CONTAINER_SOCKET);
	e->path = vms_xcalloc(1, len);
	snprintf(e->path, len, "%s/%s", d->socket_dir, VMS_PROTO_CONTAINER_SOCKET);
	e->fd = e->watch = -1;
	s->e[s->n++] = e;
	return e;
}

static void
entry_free(struct sd_entry *e)
{
	entry_close(e);
	free(e->path);
	free(e);
}

/* Whether the entry's socket is in the directory the domain has now. */
static bool
entry_matches(const struct sd_entry *e, const struct vms_domain *d)
{
	size_t dl = strlen(d->socket_dir);
	return strncmp(e->path, d->socket_dir, dl) == 0 && e->path[dl] == '/' &&
	       strcmp(e->path + dl + 1, VMS_PROTO_CONTAINER_SOCKET) == 0;
}

static void
sync_domain(struct vms_sockdirs *s, const struct vms_domain *d)
{
	struct sd_entry *e = entry_find(s, d->key);
	if (e && !entry_matches(e, d)) {
		entry_close(e); /* the directory changed: a new socket below */
		e->seen = false;
		return;
	}
	if (!e)
		e = entry_add(s, d);
	e->seen = true;
	if (e->fd >= 0)
		return;
	char err[512];
	if (entry_listen(e, err, sizeof(err)) < 0) {
		s->stats.failures++;
		vms_complain(&s->complaint, LOG_WARNING, d->name, "no probe socket: %s", err);
	} else {
		vms_log(LOG_INFO, d->name, "listening for its probe on %s", e->path);
	}
}

void
vms_sockdirs_sync(struct vms_sockdirs *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->e[i]->seen = false;
	for (size_t i = 0; i < s->store->ndomains; i++) {
		const struct vms_domain *d = s->store->domains[i];
		/* probe-domains leaves it to another daemon: not ours to bind (the channels'
		 * sync, just before, says which). */
		if (d->socket_dir && !d->probe_excluded)
			sync_domain(s, d);
	}
	for (size_t i = 0; i < s->n;) {
		if (s->e[i]->seen) {
			i++;
			continue;
		}
		entry_free(s->e[i]);
		s->e[i] = s->e[--s->n];
	}
}

void
vms_sockdirs_get_stats(const struct vms_sockdirs *s, struct vms_sockdir_stats *out)
{
	*out = s->stats;
}

void
vms_sockdirs_free(struct vms_sockdirs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		entry_free(s->e[i]);
	free(s->e);
	free(s);
}

/* Probe listeners: vsock and tcp (see listeners.h). */
#include "collectors/guest/listeners.h"
#include "daemon/util/sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>
#include <netinet/in.h>

#include <libvirt/libvirt.h>

#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/atomicfile.h"
#include "daemon/util/tick.h"

#define LISTEN_BACKLOG 16

struct pending {
	struct vms_listeners *owner;
	int fd;
	int watch;
	struct sockaddr_storage addr; /* the peer's, for the per-peer limit */
	uint64_t deadline_ns;
	size_t len;
	char line[VMS_PROTO_MAX_RECORD + 2];
};

struct token_entry {
	char key[VMS_DOMAIN_KEY_LEN + 1];
	char token[VMS_TOKEN_LEN + 1];
};

struct vms_listeners {
	struct vms_store *store;
	struct vms_channels *chans;
	int (*socket_fn)(int, int, int);
	unsigned auth_timeout_ms;
	int vfd, vwatch;
	int tfd, twatch;
	unsigned tport;
	struct vms_tick tick; /* the auth deadlines' sweep */
	char *state_dir;
	struct token_entry *tokens;
	size_t ntokens, tokcap;
	struct pending *pend[VMS_AUTH_MAX_PENDING];
	size_t npend;
	struct vms_listener_stats stats;
	struct vms_sockdirs *sockdirs;
	struct vms_complaint cid_complaint, auth_complaint, token_complaint;
};

static const char *const fail_names[VMS_AUTH_FAIL_COUNT] = {
    "bad_token", "malformed", "oversized", "timeout", "closed", "busy", "excluded", "peer_busy",
};

const char *
vms_auth_fail_name(enum vms_auth_fail f)
{
	return (unsigned)f < VMS_AUTH_FAIL_COUNT ? fail_names[f] : "unknown";
}

struct vms_listeners *
vms_listeners_new(struct vms_store *st, struct vms_channels *chans)
{
	struct vms_listeners *l = vms_xcalloc(1, sizeof(*l));
	l->store = st;
	l->chans = chans;
	l->socket_fn = socket;
	l->auth_timeout_ms = VMS_AUTH_TIMEOUT_MS;
	l->vfd = l->vwatch = l->tfd = l->twatch = -1;
	l->sockdirs = vms_sockdirs_new(st, chans);
	return l;
}

void
vms_listeners_set_socket_fn(struct vms_listeners *l, int (*fn)(int, int, int))
{
	l->socket_fn = fn ? fn : socket;
}

void
vms_listeners_set_auth_timeout_ms(struct vms_listeners *l, unsigned ms)
{
	l->auth_timeout_ms = ms;
}

/* ---- tokens ---- */

static bool
safe_key(const char *key)
{
	if (!key[0] || key[0] == '.' || strlen(key) > VMS_DOMAIN_KEY_LEN)
		return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '@'))
			return false;
	return true;
}

static int
ensure_dir(const char *path, char *err, size_t errsz)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot make %.400s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errsz, "%.400s is not a directory", path);
		return -1;
	}
	return 0;
}

/* Reads an existing token: 1 usable, 0 absent or to be replaced (why in err), -1 refused. */
static int
token_read(const char *file, char token[VMS_TOKEN_LEN + 1], char *err, size_t errsz)
{
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "cannot open %.400s: %s", file,
		         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	struct stat sb;
	int rc = -1;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%.400s is not a regular file", file);
		goto out;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		snprintf(err, errsz,
		         "%.400s was readable by others (mode %03o) or not ours: replaced", file,
		         (unsigned)(sb.st_mode & 0777));
		rc = 0;
		goto out;
	}
	char buf[VMS_TOKEN_LEN + 3];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 || !vms_token_parse(buf, (size_t)n, token)) {
		snprintf(err, errsz, "%.400s does not hold a token: replaced", file);
		rc = 0;
		goto out;
	}
	rc = 1;
out:
	close(fd);
	return rc;
}

int
vms_token_provision(const char *state_dir, const char *key, char token[VMS_TOKEN_LEN + 1],
                    char *err, size_t errsz)
{
	char dir[4096], file[4096 + VMS_DOMAIN_KEY_LEN + 2];
	if (!safe_key(key)) {
		snprintf(err, errsz, "domain key '%.64s' cannot name a token file", key);
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/tokens", state_dir) >= sizeof(dir)) {
		snprintf(err, errsz, "state directory path too long");
		return -1;
	}
	if (ensure_dir(state_dir, err, errsz) < 0 || ensure_dir(dir, err, errsz) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, key);
	char why[512] = "";
	int rc = token_read(file, token, why, sizeof(why));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		snprintf(err, errsz, "%s", why);
		return -1;
	}
	if (why[0])
		vms_warn("%s", why);
	char hex[VMS_TOKEN_LEN + 2];
	if (vms_token_new(hex) < 0) {
		snprintf(err, errsz, "cannot get random bytes: %s", strerror(errno));
		return -1;
	}
	hex[VMS_TOKEN_LEN] = '\n';
	hex[VMS_TOKEN_LEN + 1] = '\0';
	if (vms_atomic_write(file, hex, VMS_TOKEN_LEN + 1, 0600, err, errsz) < 0)
		return -1;
	memcpy(token, hex, VMS_TOKEN_LEN);
	token[VMS_TOKEN_LEN] = '\0';
	vms_info("made the tcp probe token %s", file);
	return 0;
}

static struct token_entry *
token_find(struct vms_listeners *l, const char *key)
{
	for (size_t i = 0; i < l->ntokens; i++)
		if (strcmp(l->tokens[i].key, key) == 0)
			return &l->tokens[i];
	return NULL;
}

void
vms_listeners_sync(struct vms_listeners *l)
{
	vms_sockdirs_sync(l->sockdirs);
	if (l->tfd < 0)
		return;
	for (size_t i = 0; i < l->store->ndomains; i++) {
		const struct vms_domain *d = l->store->domains[i];
		if (token_find(l, d->key))
			continue;
		struct token_entry e = {0};
		char err[512];
		if (vms_token_provision(l->state_dir, d->key, e.token, err, sizeof(err)) < 0) {
			vms_complain(&l->token_complaint, LOG_WARNING, d->name,
			             "no tcp probe token: %s", err);
			continue;
		}
		snprintf(e.key, sizeof(e.key), "%s", d->key);
		if (l->ntokens == l->tokcap) {
			l->tokcap = l->tokcap ? 2 * l->tokcap : 16;
			l->tokens = vms_xrealloc(l->tokens, l->tokcap, sizeof(*l->tokens));
		}
		l->tokens[l->ntokens++] = e;
	}
}

/* The key whose token this is, comparing with every known token in constant time each. */
static const char *
token_owner(const struct vms_listeners *l, const char *token)
{
	const char *found = NULL;
	for (size_t i = 0; i < l->ntokens; i++)
		if (vms_token_equal(l->tokens[i].token, token) && !found)
			found = l->tokens[i].key;
	return found;
}

/* ---- vsock ---- */

const char *
vms_vsock_domain_for_cid(const struct vms_store *st, uint32_t cid)
{
	if (cid < 3 || cid == VMADDR_CID_ANY)
		return NULL;
	for (size_t i = 0; i < st->ndomains; i++)
		if (st->domains[i]->vsock_cid == cid)
			return st->domains[i]->key;
	return NULL;
}

static void
on_vsock(int watch, int fd, int events, void *opaque)
{
	struct vms_listeners *l = opaque;
	(void)watch;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_vm peer;
		socklen_t pl = sizeof(peer);
		int c = accept4(fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		const char *key = peer.svm_family == AF_VSOCK
		                      ? vms_vsock_domain_for_cid(l->store, peer.svm_cid)
		                      : NULL;
		if (!key) {
			l->stats.vsock_unknown_cid++;
			vms_complain(&l->cid_complaint, LOG_WARNING, NULL,
			             "vsock: refused a connection from CID %u: no running domain "
			             "has it",
			             (unsigned)peer.svm_cid);
			close(c);
			continue;
		}
		if (vms_channels_attach(l->chans, key, c, "vsock") == 0)
			l->stats.vsock_accepted++;
	}
}

int
vms_listeners_open_vsock(struct vms_listeners *l, uint32_t port, char *err, size_t errsz)
{
	int fd = l->socket_fn(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EAFNOSUPPORT)
			snprintf(err, errsz,
			         "vsock: this kernel has no AF_VSOCK support (%s); "
			         "load the vhost_vsock module or set vsock-port 0",
			         strerror(errno));
		else
			snprintf(err, errsz, "vsock: cannot create a socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errsz, "vsock: cannot listen on port %u: %s", (unsigned)port,
		         strerror(errno));
		close(fd);
		return -1;
	}
	l->vwatch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_vsock, l, NULL);
	if (l->vwatch < 0) {
		snprintf(err, errsz, "vsock: cannot watch the listener: no event loop registered?");
		close(fd);
		return -1;
	}
	l->vfd = fd;
	l->stats.vsock_on = true;
	vms_info("vsock: listening on port %u", (unsigned)port);
	return 0;
}

/* ---- tcp ---- */

/* Ends an unauthenticated connection; fd is closed unless keep_fd. */
static void
pending_end(struct vms_listeners *l, struct pending *p, bool keep_fd)
{
	if (p->watch >= 0)
		virEventRemoveHandle(p->watch);
	if (!keep_fd)
		close(p->fd);
	for (size_t i = 0; i < l->npend; i++)
		if (l->pend[i] == p) {
			l->pend[i] = l->pend[--l->npend];
			break;
		}
	free(p);
	vms_tick_arm(&l->tick, l->npend > 0);
}

static void
refuse(struct vms_listeners *l, struct pending *p, enum vms_auth_fail why)
{
	l->stats.tcp_refused[why]++;
	if (why != VMS_AUTH_CLOSED)
		vms_complain(&l->auth_complaint, LOG_WARNING, NULL,
		             "tcp: refused a probe connection: %s", vms_auth_fail_name(why));
	if (p)
		pending_end(l, p, false);
}

/* The first line: "auth proto=1 token=HEX". */
static void
authenticate(struct vms_listeners *l, struct pending *p)
{
	static struct vms_record rec;
	size_t len = p->len;
	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	uint64_t proto = 0;
	const char *tok;
	if (vms_record_parse(&rec, p->line, len) != VMS_PROTO_OK || strcmp(rec.type, "auth") != 0 ||
	    vms_record_get_u64(&rec, "proto", &proto) != VMS_PROTO_OK ||
	    proto != VMS_PROTO_VERSION || !(tok = vms_record_get(&rec, "token")) ||
	    !vms_token_valid(tok)) {
		refuse(l, p, VMS_AUTH_MALFORMED);
		return;
	}
	const char *key = token_owner(l, tok);
	if (!key) {
		refuse(l, p, VMS_AUTH_BAD_TOKEN);
		return;
	}
	int fd = p->fd;
	char k[VMS_DOMAIN_KEY_LEN + 1];
	snprintf(k, sizeof(k), "%s", key);
	pending_end(l, p, true);
	if (vms_channels_attach(l->chans, k, fd, "tcp") < 0) {
		refuse(l, NULL, errno == EPERM ? VMS_AUTH_EXCLUDED : VMS_AUTH_BAD_TOKEN);
		return;
	}
	l->stats.tcp_accepted++;
}

static void
on_pending(int watch, int fd, int events, void *opaque)
{
	struct pending *p = opaque;
	struct vms_listeners *l = p->owner;
	(void)watch;
	(void)events;
	/* A byte at a time, up to the LF: nothing after it is ours to read. Bounded by the
	 * record size, and only until the connection is identified. */
	while (p->len <= VMS_PROTO_MAX_RECORD) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			refuse(l, p, VMS_AUTH_CLOSED);
			return;
		}
		if (ch == '\n') {
			p->line[p->len] = '\0';
			authenticate(l, p);
			return;
		}
		p->line[p->len++] = ch;
	}
	refuse(l, p, VMS_AUTH_OVERSIZED);
}

static unsigned
peer_pending(const struct vms_listeners *l, const struct sockaddr_storage *ss)
{
	unsigned k = 0;
	for (size_t i = 0; i < l->npend; i++)
		if (vms_sockaddr_same_host(&l->pend[i]->addr, ss))
			k++;
	return k;
}

static void
on_tcp(int watch, int fd, int events, void *opaque)
{
	struct vms_listeners *l = opaque;
	(void)watch;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		/* The peer's own share first: its refusals name it, not the host as full. */
		if (peer_pending(l, &ss) >= VMS_AUTH_MAX_PENDING_PER_PEER) {
			close(c);
			refuse(l, NULL, VMS_AUTH_PEER_BUSY);
			continue;
		}
		if (l->npend == VMS_AUTH_MAX_PENDING) {
			close(c);
			refuse(l, NULL, VMS_AUTH_BUSY);
			continue;
		}
		struct pending *p = vms_xcalloc(1, sizeof(*p));
		p->owner = l;
		p->fd = c;
		p->addr = ss;
		p->deadline_ns = vms_monotonic_ns() + (uint64_t)l->auth_timeout_ms * NS_PER_MS;
		p->watch = virEventAddHandle(c, VIR_EVENT_HANDLE_READABLE, on_pending, p, NULL);
		if (p->watch < 0) {
			close(c);
			free(p);
			continue;
		}
		l->pend[l->npend++] = p;
		vms_tick_arm(&l->tick, l->npend > 0);
	}
}

static void
on_tick(void *opaque)
{
	struct vms_listeners *l = opaque;
	uint64_t now = vms_monotonic_ns();
	for (size_t i = 0; i < l->npend;) {
		struct pending *p = l->pend[i];
		if (now >= p->deadline_ns)
			refuse(l, p, VMS_AUTH_TIMEOUT); /* moves the last one here */
		else
			i++;
	}
}

int
vms_listeners_open_tcp(struct vms_listeners *l, const char *spec, const char *state_dir, char *err,
                       size_t errsz)
{
	struct sockaddr_storage ss;
	size_t sl;
	char why[256];
	if (vms_sockaddr_parse(spec, &ss, &sl, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "tcp-listen: %s", why);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errsz, "tcp-listen: cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
		l->tport =
		    ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                                      : ((struct sockaddr_in *)&bound)->sin_port);
	l->twatch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, on_tcp, l, NULL);
	int tick_rc = vms_tick_add(&l->tick, VMS_TICK_MS, on_tick, l);
	if (l->twatch < 0 || tick_rc < 0) {
		snprintf(err, errsz, "tcp-listen: cannot watch %s: no event loop registered?",
		         spec);
		if (l->twatch >= 0)
			virEventRemoveHandle(l->twatch);
		vms_tick_remove(&l->tick);
		l->twatch = -1;
		close(fd);
		return -1;
	}
	l->tfd = fd;
	l->state_dir = vms_xstrdup(state_dir);
	l->stats.tcp_on = true;
	vms_info("tcp: probe listener on %s (tokens in %s/tokens)", spec, state_dir);
	vms_listeners_sync(l);
	return 0;
}

unsigned
vms_listeners_tcp_port(const struct vms_listeners *l)
{
	return l->tfd >= 0 ? l->tport : 0;
}

void
vms_listeners_get_stats(const struct vms_listeners *l, struct vms_listener_stats *out)
{
	*out = l->stats;
	vms_sockdirs_get_stats(l->sockdirs, &out->unix_);
}

void
vms_listeners_free(struct vms_listeners *l)
{
	if (!l)
		return;
	while (l->npend)
		pending_end(l, l->pend[0], false);
	vms_sockdirs_free(l->sockdirs);
	if (l->vwatch >= 0)
		virEventRemoveHandle(l->vwatch);
	if (l->vfd >= 0)
		close(l->vfd);
	if (l->twatch >= 0)
		virEventRemoveHandle(l->twatch);
	vms_tick_remove(&l->tick);
	if (l->tfd >= 0)
		close(l->tfd);
	free(l->tokens);
	free(l->state_dir);
	free(l);
}

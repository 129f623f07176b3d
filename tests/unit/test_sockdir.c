/*
 * The container transport (collectors/guest/sockdir.c) over real unix sockets in scratch
 * directories, driven by libvirt's event loop: a socket per container directory, records
 * tied to that container, view=host kept, what the container may leave in its directory
 * (a file, a link, its own socket) never followed nor removed.
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

#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "daemon/util/buf.h"
#include "daemon/util/log.h"
#include "check.h"
#include "check_loop.h"

#define UUID_A "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11"
#define UUID_B "5c2d9a10-1111-4e38-9a8e-0d6c1b1c2a22"
#define UUID_C "7e3a1b20-2222-4e38-9a8e-0d6c1b1c2a33"
#define UUID_D "9f4b2c30-3333-4e38-9a8e-0d6c1b1c2a44"

static char root[64];

static void
subdir(char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "%s/%s", root, name);
	CHECK(mkdir(out, 0700) == 0);
}

static bool
is_socket(const char *dir)
{
	char p[100];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/probe.sock", dir);
	return lstat(p, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

static int
unix_connect(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/probe.sock", dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static bool
has_cpu(void *arg)
{
	return ((struct vms_domain *)arg)->probe.have_cpu;
}

static struct vms_sockdir_stats
stats_of(const struct vms_listeners *l)
{
	struct vms_listener_stats s;
	vms_listeners_get_stats(l, &s);
	return s.unix_;
}

#define RECORDS                                                                                    \
	"hello proto=1 probe=0.1.0 caps=cpu view=host\ncpu seq=0 mono_ns=5 real_ns=6 hz=100 "      \
	"ncpu=1 user=1 nice=0 system=2 idle=3\n"

static void
test_sockets(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	char da[80], db[80], dc[80], dd[80], de[80], p[100];
	subdir(de, sizeof(de), "e");
	subdir(da, sizeof(da), "a");
	subdir(db, sizeof(db), "b");
	subdir(dc, sizeof(dc), "c");
	subdir(dd, sizeof(dd), "d");
	struct vms_domain *a = vms_store_upsert(&st, UUID_A, "ct-a", 1);
	struct vms_domain *b = vms_store_upsert(&st, UUID_B, "ct-b", 2);
	struct vms_domain *c = vms_store_upsert(&st, UUID_C, "ct-c", 3);
	struct vms_domain *d = vms_store_upsert(&st, UUID_D, "ct-d", 4);
	CHECK(vms_store_upsert(&st, "1a2b3c4d-4444-4e38-9a8e-0d6c1b1c2a55", "vm", 5) != NULL);
	vms_store_set_socket_dir(a, da);
	vms_store_set_socket_dir(b, db);
	vms_store_set_socket_dir(c, dc);
	vms_store_set_socket_dir(d, dd);
	/* Another daemon's container (probe-domains leaves it out): its socket is not ours. */
	struct vms_domain *e =
	    vms_store_upsert(&st, "2b3c4d5e-5555-4e38-9a8e-0d6c1b1c2a66", "xe", 6);
	vms_store_set_socket_dir(e, de);
	/* c's directory holds a regular file, d's a link to one: both are left as they are. */
	snprintf(p, sizeof(p), "%s/probe.sock", dc);
	FILE *f = fopen(p, "w");
	CHECK(f && fputs("mine\n", f) >= 0);
	if (f)
		fclose(f);
	char target[256];
	snprintf(target, sizeof(target), "%s/target", root);
	f = fopen(target, "w");
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "%s/probe.sock", dd);
	CHECK(symlink(target, p) == 0);

	struct vms_channels *chans = vms_channels_new(&st);
	char ferr[128];
	CHECK_INT(vms_channels_set_filter(chans, "^ct-", ferr, sizeof(ferr)), 0);
	vms_channels_sync(chans);
	CHECK(e->probe_excluded && !a->probe_excluded);
	struct vms_listeners *l = vms_listeners_new(&st, chans);
	struct vms_buf out;
	vms_buf_init(&out);
	vms_listeners_render_stats(&(struct vms_listener_stats){0}, &out);
	CHECK_INT(out.len, 0); /* no container yet: no family */
	struct check_capture cap;
	check_capture_stderr(&cap);
	vms_listeners_sync(l);
	const char *log = check_capture_end(&cap);
	CHECK(strstr(log, "is not a socket: left alone") != NULL);
	CHECK(is_socket(da) && is_socket(db));
	CHECK(!is_socket(dc) && !is_socket(dd) && !is_socket(de));
	struct stat sb;
	CHECK(stat(target, &sb) == 0 && sb.st_size == 0); /* the link was not followed */
	CHECK(lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode));
	struct vms_sockdir_stats s = stats_of(l);
	CHECK(s.on);
	CHECK_INT(s.listening, 2);
	CHECK_INT(s.failures, 2);

	/* a's probe: its records are a's, its hello's view=host is kept. */
	int fa = unix_connect(da);
	CHECK(write(fa, RECORDS, strlen(RECORDS)) == (ssize_t)strlen(RECORDS));
	CHECK(run_until(has_cpu, a));
	CHECK(a->probe.info.view_host);
	CHECK(!b->probe.connected && !b->probe.have_cpu);
	CHECK_INT(stats_of(l).accepted, 1);
	struct vms_listener_stats ls;
	vms_listeners_get_stats(l, &ls);
	vms_listeners_render_stats(&ls, &out);
	CHECK(strstr(out.data,
	             "vmscale_probe_transport_connections_total{transport=\"unix\"} 1\n") != NULL);
	CHECK(strstr(out.data, "vmscale_probe_container_sockets 2\n") != NULL);
	CHECK(strstr(out.data, "vmscale_probe_container_socket_failures_total 2\n") != NULL);
	CHECK(strstr(out.data, "transport=\"tcp\"") == NULL);

	/* A sync again keeps the sockets (and a's connection). */
	vms_listeners_sync(l);
	CHECK_INT(stats_of(l).listening, 2);
	CHECK(a->probe.connected);

	/* b's container put its own socket in place of ours: when b goes, it is left there. */
	snprintf(p, sizeof(p), "%s/probe.sock", db);
	CHECK(unlink(p) == 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	CHECK(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	int own = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(own, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	vms_store_remove(&st, b);
	vms_store_remove(&st, a);
	vms_channels_sync(chans);
	vms_listeners_sync(l);
	CHECK(is_socket(db));
	CHECK(!is_socket(da)); /* ours: removed */
	CHECK_INT(stats_of(l).listening, 0);
	close(own);
	close(fa);
	vms_buf_free(&out);
	vms_listeners_free(l);
	vms_channels_free(chans);
	vms_store_fini(&st);
}

int
main(void)
{
	vms_log_init("test_sockdir", false);
	snprintf(root, sizeof(root), "/tmp/vmscale-sockdir.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	if (virEventRegisterDefaultImpl() < 0)
		CHECK(!"libvirt event loop");
	else
		test_sockets();
	check_remove_tree(root);
	return check_done("test_sockdir");
}

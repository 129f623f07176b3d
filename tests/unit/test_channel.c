/*
 * Probe channels: record validation and accounting, then a real unix socket standing in for
 * QEMU's end of the virtio-serial channel, driven by libvirt's event loop as in the daemon.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "../../collectors/channel.h"
#include "../../daemon/log.h"
#include "check.h"

#define UUID "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11"

static enum vms_proto_error
line(struct vms_channels *c, const char *text)
{
	return vms_channels_handle_line(c, UUID, text, strlen(text), vms_monotonic_ns());
}

static void
test_records(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, UUID, "dvm1", 1);
	vms_store_set_channel(d, "/nonexistent/vmscale-test/socket");
	struct vms_channels *c = vms_channels_new(&st);
	vms_channels_sync(c); /* connect fails: retried later, the domain keeps going */
	CHECK(!d->probe.connected);

	const char *cpu1 = "cpu seq=1 mono_ns=1 real_ns=1 hz=100 ncpu=1 user=10 nice=0 system=5 idle=100";
	CHECK_INT(line(c, cpu1), VMS_PROTO_E_SEQUENCE); /* before hello */
	CHECK_INT(line(c, "hello proto=1 probe=0.1.0 caps=cpu"), VMS_PROTO_OK);
	CHECK(d->probe.hello);
	CHECK_INT(line(c, cpu1), VMS_PROTO_OK);
	CHECK(d->probe.have_cpu);
	CHECK_INT(d->probe.reports_total, 1);
	CHECK_INT(line(c, cpu1), VMS_PROTO_E_SEQUENCE); /* replayed seq */
	CHECK_INT(line(c, "cpu seq=4 mono_ns=2 real_ns=2 hz=100 ncpu=1 user=9 nice=0 system=5 "
			  "idle=200"),
		  VMS_PROTO_E_SEQUENCE); /* counters went backwards */
	CHECK_INT(line(c, "cpu seq=4 mono_ns=2 real_ns=2 hz=100 ncpu=1 user=11 nice=0 system=5 "
			  "idle=200"),
		  VMS_PROTO_OK);
	CHECK_INT(d->probe.reports_lost_total, 2); /* seq 2 and 3 never came */
	CHECK_INT(d->probe.cpu.ticks[VMS_CPU_IDLE], 200);
	CHECK_INT(line(c, "cpu seq=5 garbage"), VMS_PROTO_E_SYNTAX);
	CHECK_INT(line(c, "disk seq=5"), VMS_PROTO_E_UNKNOWN);
	CHECK_INT(line(c, "hello proto=9 probe=x caps=y"), VMS_PROTO_E_VERSION);
	/* A restarted probe: new hello, seq from 0 again, and that is fine. */
	CHECK_INT(line(c, "hello proto=1 probe=0.1.1 caps=cpu"), VMS_PROTO_OK);
	CHECK_STR(d->probe.info.probe_version, "0.1.1");
	CHECK_INT(line(c, "cpu seq=0 mono_ns=3 real_ns=3 hz=100 ncpu=1 user=12 nice=0 system=5 "
			  "idle=300"),
		  VMS_PROTO_OK);
	CHECK_INT(d->probe.reports_total, 3);
	CHECK_INT(d->probe.rejected[VMS_PROTO_E_SEQUENCE], 3);
	CHECK_INT(d->probe.rejected[VMS_PROTO_E_SYNTAX], 1);
	CHECK_INT(d->probe.rejected[VMS_PROTO_E_UNKNOWN], 1);
	CHECK_INT(d->probe.rejected[VMS_PROTO_E_VERSION], 1);
	/* A line for a domain that has no channel is refused, not crashed on. */
	CHECK_INT(vms_channels_handle_line(c, "no-such-uuid", "x", 1, 0), VMS_PROTO_E_SEQUENCE);
	vms_channels_free(c);
	vms_store_fini(&st);
}

static void
test_clock_skew(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, UUID, "dvm1", 1);
	vms_store_set_channel(d, "/nonexistent/vmscale-test/socket");
	struct vms_channels *c = vms_channels_new(&st);
	vms_channels_sync(c);
#define AT(text, now) vms_channels_handle_line(c, UUID, text, strlen(text), now)
	CHECK_INT(AT("hello proto=1 probe=0.1.0 caps=cpu", 0), VMS_PROTO_OK);
	CHECK_INT(AT("cpu seq=1 mono_ns=10000000000 real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 "
		     "idle=1",
		     100000000000ull),
		  VMS_PROTO_OK);
	CHECK(isnan(d->probe.clock_skew_s)); /* one report: nothing to compare yet */
	/* The guest saw 5 s pass while the host saw 5.5 s: its clock ran 0.5 s slow. */
	CHECK_INT(AT("cpu seq=2 mono_ns=15000000000 real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 "
		     "idle=2",
		     105500000000ull),
		  VMS_PROTO_OK);
	CHECK(fabs(d->probe.clock_skew_s + 0.5) < 1e-9);
	/* A guest monotonic clock that runs backwards is rejected. */
	CHECK_INT(AT("cpu seq=3 mono_ns=14000000000 real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 "
		     "idle=3",
		     110500000000ull),
		  VMS_PROTO_E_SEQUENCE);
	/* A new hello starts over: no skew across a probe restart. */
	CHECK_INT(AT("hello proto=1 probe=0.1.0 caps=cpu", 111000000000ull), VMS_PROTO_OK);
	CHECK_INT(AT("cpu seq=0 mono_ns=1000 real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 idle=4",
		     112000000000ull),
		  VMS_PROTO_OK);
	CHECK(isnan(d->probe.clock_skew_s));
#undef AT
	vms_channels_free(c);
	vms_store_fini(&st);
}

static volatile int timer_fired;

static void
on_timeout(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
	timer_fired = 1;
}

/* Runs the event loop until cond() holds or about 3 s pass. */
static bool
run_until(bool (*cond)(void *), void *arg)
{
	int timer = virEventAddTimeout(50, on_timeout, NULL, NULL);
	bool ok = false;
	for (int i = 0; i < 60 && !(ok = cond(arg)); i++)
		virEventRunDefaultImpl();
	virEventRemoveTimeout(timer);
	return ok;
}

static bool
has_cpu(void *arg)
{
	return ((struct vms_domain *)arg)->probe.have_cpu;
}

static bool
disconnected(void *arg)
{
	return !((struct vms_domain *)arg)->probe.connected;
}

static bool
has_rejects(void *arg)
{
	struct vms_domain *d = arg;
	return d->probe.rejected[VMS_PROTO_E_OVERSIZED] > 0 && d->probe.rejected[VMS_PROTO_E_SYNTAX] > 0;
}

/* A listening unix socket standing in for QEMU's end of a channel, in a fresh folder. */
struct fake_qemu {
	char dir[40];
	char path[100];
	int fd;
};

static void
fake_qemu_listen(struct fake_qemu *q)
{
	snprintf(q->dir, sizeof(q->dir), "/tmp/vmscale-test-channel.XXXXXX");
	CHECK(mkdtemp(q->dir) != NULL);
	snprintf(q->path, sizeof(q->path), "%s/org.vmscale.probe.0", q->dir);
	q->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", q->path);
	CHECK(bind(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(q->fd, 4) == 0);
}

static void
fake_qemu_close(struct fake_qemu *q)
{
	close(q->fd);
	unlink(q->path);
	rmdir(q->dir);
}

static ssize_t
read_some(int fd, char *buf, size_t sz)
{
	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(fd, buf, sz - 1, MSG_DONTWAIT);
		if (r > 0) {
			buf[r] = '\0';
			return r;
		}
		virEventRunDefaultImpl();
	}
	return -1;
}

static void
test_socket(void)
{
	if (virEventRegisterDefaultImpl() < 0) {
		CHECK(!"libvirt event loop");
		return;
	}
	struct fake_qemu q;
	fake_qemu_listen(&q);

	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, UUID, "dvm1", 1);
	vms_store_set_channel(d, q.path);
	struct vms_channels *c = vms_channels_new(&st);
	vms_channels_sync(c);
	CHECK(d->probe.connected);
	int qfd = accept(q.fd, NULL, NULL); /* "QEMU" */
	CHECK(qfd >= 0);

	char buf[2048];
	CHECK(read_some(qfd, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "host proto=1\n");

	/* Records split at odd places, as a byte stream may deliver them. */
	const char *stream = "hello proto=1 probe=0.1.0 caps=cpu\ncpu seq=0 mono_ns=5 real_ns=6 "
			     "hz=100 ncpu=1 user=1 nice=0 system=2 idle=3 iowait=4\n";
	size_t half = strlen(stream) / 2;
	CHECK(write(qfd, stream, half) == (ssize_t)half);
	virEventRunDefaultImpl();
	CHECK(write(qfd, stream + half, strlen(stream) - half) == (ssize_t)(strlen(stream) - half));
	CHECK(run_until(has_cpu, d));
	CHECK_INT(d->probe.cpu.nmodes, 5);
	CHECK(read_some(qfd, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "schedule cpu_ms=5000\n");

	/* Hostile input: an overlong line and garbage are counted; the channel stays usable. */
	static char flood[8192];
	memset(flood, 'A', sizeof(flood));
	flood[sizeof(flood) - 1] = '\n';
	CHECK(write(qfd, flood, sizeof(flood)) == (ssize_t)sizeof(flood));
	CHECK(write(qfd, "\x01\x02\n", 3) == 3);
	CHECK(run_until(has_rejects, d));
	CHECK(d->probe.connected);

	/* QEMU goes away: the probe is marked disconnected and a reconnect is scheduled. */
	close(qfd);
	CHECK(run_until(disconnected, d));
	CHECK(!d->probe.hello);

	vms_channels_free(c);
	vms_store_fini(&st);
	fake_qemu_close(&q);
}

/* A channel whose socket never accepts us (another client holds QEMU's single slot). */
static void
test_silent_channel(void)
{
	struct fake_qemu q;
	fake_qemu_listen(&q);

	struct vms_store st;
	vms_store_init(&st, 1000); /* 1 s interval: the warning comes after 3 s */
	struct vms_domain *d = vms_store_upsert(&st, UUID, "silent1", 1);
	vms_store_set_channel(d, q.path);
	struct vms_channels *c = vms_channels_new(&st);

	struct check_capture cap;
	check_capture_stderr(&cap);
	vms_channels_sync(c);
	CHECK(d->probe.connected); /* connect() succeeded: we sit in the backlog */
	usleep(3200 * 1000);
	vms_channels_sync(c);
	vms_channels_sync(c); /* said once, not on every sync */
	const char *buf = check_capture_end(&cap);
	const char *w = strstr(buf, "domain silent1: no hello on probe channel");
	CHECK(w != NULL);
	CHECK(w && strstr(w + 30, "no hello on probe channel") == NULL);

	vms_channels_free(c);
	vms_store_fini(&st);
	fake_qemu_close(&q);
}

static void
test_filter(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *lab = vms_store_upsert(&st, "u-lab", "dvm12", 1);
	struct vms_domain *other = vms_store_upsert(&st, "u-other", "prod-db", 2);
	struct vms_domain *nochan = vms_store_upsert(&st, "u-none", "dvm3", 3);
	vms_store_set_channel(lab, "/nonexistent/vmscale-test/a");
	vms_store_set_channel(other, "/nonexistent/vmscale-test/b");
	struct vms_channels *c = vms_channels_new(&st);
	char err[256] = "";
	CHECK_INT(vms_channels_set_filter(c, "([", err, sizeof(err)), -1);
	CHECK(strstr(err, "not an extended regular expression") != NULL);
	CHECK_INT(vms_channels_set_filter(c, "^dvm[0-9]+$", err, sizeof(err)), 0);
	vms_channels_sync(c);
	CHECK(!lab->probe_excluded);
	CHECK(other->probe_excluded);
	CHECK(!nochan->probe_excluded); /* no channel: nothing to exclude */
	/* Lines for an excluded domain are not ours to take. */
	CHECK_INT(vms_channels_handle_line(c, "u-other", "hello proto=1 probe=x caps=cpu", 30, 0),
		  VMS_PROTO_E_SEQUENCE);
	CHECK_INT(vms_channels_handle_line(c, "u-lab", "hello proto=1 probe=x caps=cpu", 30, 0),
		  VMS_PROTO_OK);
	/* Lifting the filter takes the other domain in. */
	CHECK_INT(vms_channels_set_filter(c, NULL, err, sizeof(err)), 0);
	vms_channels_sync(c);
	CHECK(!other->probe_excluded);
	CHECK_INT(vms_channels_handle_line(c, "u-other", "hello proto=1 probe=x caps=cpu", 30, 0),
		  VMS_PROTO_OK);
	vms_channels_free(c);
	vms_store_fini(&st);
}

int
main(void)
{
	vms_log_init("test_channel", false);
	test_records();
	test_clock_skew();
	test_socket();
	test_silent_channel();
	test_filter();
	return check_done("test_channel");
}

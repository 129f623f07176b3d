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

#include "collectors/guest/channel.h"
#include "daemon/util/log.h"
#include "check.h"
#include "check_loop.h"
#include "vmscale/clock.h"

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

	const char *cpu1 =
	    "cpu seq=1 mono_ns=1 real_ns=1 hz=100 ncpu=1 user=10 nice=0 system=5 idle=100";
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
	CHECK_INT(line(c, "disk seq=5"), VMS_PROTO_E_MISSING);
	CHECK_INT(line(c, "gpu seq=5"), VMS_PROTO_E_UNKNOWN);
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
	CHECK_INT(d->probe.rejected[VMS_PROTO_E_MISSING], 1);
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
	return d->probe.rejected[VMS_PROTO_E_OVERSIZED] > 0 &&
	       d->probe.rejected[VMS_PROTO_E_SYNTAX] > 0;
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
	CHECK(strncmp(buf, "schedule cpu_ms=5000 disk_ms=5000 ", 34) == 0);

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

#define SEC 1000000000ull

/* What the daemon sent to "QEMU" since the last call, if anything (the daemon writes
 * synchronously, so no event loop is needed). */
static ssize_t
try_read(int fd, char *buf, size_t sz)
{
	ssize_t r = recv(fd, buf, sz - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
	return r;
}

static bool
next_record(int qfd, char *buf, size_t sz, const char *prefix)
{
	ssize_t n = try_read(qfd, buf, sz);
	return n > 0 && strncmp(buf, prefix, strlen(prefix)) == 0;
}

/*
 * Active runs end to end through the channel: the host sends "run" when the schedule says,
 * keeps the samples of a run whose clocks agree, flags those of a run whose guest clock
 * lied, gives up on a run that never finishes, and accounts cost and disk counters.
 * Guest records are fed with synthetic host times; host records are read from the socket.
 */
static void
test_active_runs(void)
{
	struct fake_qemu q;
	fake_qemu_listen(&q);
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, UUID, "dvm1", 1);
	vms_store_set_channel(d, q.path);
	struct vms_channels *c = vms_channels_new(&st);
	struct vms_probe_plan plan = {.skew_tolerance_ms = 50};
	vms_schedule_defaults(&plan.schedule);
	plan.runs.concurrency = 1;
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
		plan.runs.interval_ms[f] = 10000;
	vms_channels_set_plan(c, &plan);
	vms_channels_sync(c);
	int qfd = accept(q.fd, NULL, NULL);
	CHECK(qfd >= 0);
	char buf[2048];
	CHECK(next_record(qfd, buf, sizeof(buf), "host proto=1"));

	uint64_t t = 1000 * SEC, g = 50 * SEC; /* host and guest clocks, 950 s apart */
	char rec[512];
#define FEED(...)                                                                                  \
	(snprintf(rec, sizeof(rec), __VA_ARGS__),                                                  \
	 vms_channels_handle_line(c, UUID, rec, strlen(rec), t))
	/* The probe has no disk: disk_read is never asked for; network has no responder. */
	CHECK_INT(FEED("hello proto=1 probe=0.2.0 caps=cpu,disk,cpu_work,network,telepathy"),
	          VMS_PROTO_OK);
	CHECK(d->probe.caps == ((1u << VMS_FAM_CPU) | (1u << VMS_FAM_DISK) |
	                        (1u << VMS_FAM_CPU_WORK) | (1u << VMS_FAM_NETWORK)));
	CHECK(next_record(qfd, buf, sizeof(buf), "schedule cpu_ms=5000 disk_ms=5000"));
	unsigned seq = 0;
	CHECK_INT(FEED("cpu seq=%u mono_ns=%llu real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 "
	               "idle=1",
	               seq++, (unsigned long long)g),
	          VMS_PROTO_OK);

	/* Within one interval the host starts the cpu_work run, and only that. */
	uint64_t id = 0;
	for (int i = 0; i < 11 && !id; i++) {
		t += SEC;
		g += SEC;
		vms_channels_tick(c, t);
		if (try_read(qfd, buf, sizeof(buf)) > 0) {
			unsigned long long got;
			CHECK(sscanf(buf, "run id=%llu probe=cpu_work\n", &got) == 1);
			id = got;
		}
	}
	CHECK(id > 0);
	/* A sample of another run, or of another family, is out of sequence. */
	CHECK_INT(FEED("sample seq=%u id=%llu probe=cpu_work op=work start_ns=%llu end_ns=%llu "
	               "ops=4000 bytes=0",
	               seq++, (unsigned long long)id + 7, (unsigned long long)g + 1000,
	               (unsigned long long)g + 2000),
	          VMS_PROTO_E_SEQUENCE);
	CHECK_INT(FEED("sample seq=%u id=%llu probe=cpu_work op=work start_ns=%llu end_ns=%llu "
	               "ops=4000 bytes=0",
	               seq++, (unsigned long long)id, (unsigned long long)g + 1000000,
	               (unsigned long long)g + 11000000),
	          VMS_PROTO_OK);
	CHECK(!d->probe.ops[VMS_OP_CPU_WORK].have); /* not before done */
	t += 20000000;
	CHECK_INT(FEED("done seq=%u id=%llu probe=cpu_work start_ns=%llu end_ns=%llu mono_ns=%llu",
	               seq++, (unsigned long long)id, (unsigned long long)g + 500000,
	               (unsigned long long)g + 12000000, (unsigned long long)g + 20000000),
	          VMS_PROTO_OK);
	g += 20000000;
	CHECK(d->probe.ops[VMS_OP_CPU_WORK].have);
	CHECK(fabs(d->probe.ops[VMS_OP_CPU_WORK].value - 400000.0) < 1e-6); /* 4000 in 10 ms */
	CHECK_INT(d->probe.samples_total[VMS_FAM_CPU_WORK], 1);
	CHECK_INT(d->probe.runs_total[VMS_FAM_CPU_WORK][VMS_RUN_OK], 1);
	CHECK(!d->probe.run_flagged[VMS_FAM_CPU_WORK]);
	CHECK(d->probe.have_run_window[VMS_FAM_CPU_WORK]);
	CHECK(d->probe.run_end_unix[VMS_FAM_CPU_WORK] > d->probe.run_start_unix[VMS_FAM_CPU_WORK]);

	/* The next run: the guest clock claims 300 ms less than the host saw. Flagged. */
	CHECK_INT(FEED("cpu seq=%u mono_ns=%llu real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 "
	               "idle=2",
	               seq++, (unsigned long long)g),
	          VMS_PROTO_OK);
	id = 0;
	for (int i = 0; i < 12 && !id; i++) {
		t += SEC;
		g += SEC;
		vms_channels_tick(c, t);
		unsigned long long got;
		if (try_read(qfd, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "run id=%llu probe=cpu_work\n", &got) == 1)
			id = got;
	}
	CHECK(id > 0);
	CHECK_INT(FEED("sample seq=%u id=%llu probe=cpu_work op=work start_ns=%llu end_ns=%llu "
	               "ops=4000 bytes=0",
	               seq++, (unsigned long long)id, (unsigned long long)g + 1000000,
	               (unsigned long long)g + 2000000),
	          VMS_PROTO_OK);
	t += 400000000;
	CHECK_INT(FEED("done seq=%u id=%llu probe=cpu_work start_ns=%llu end_ns=%llu mono_ns=%llu",
	               seq++, (unsigned long long)id, (unsigned long long)g,
	               (unsigned long long)g + 3000000, (unsigned long long)g + 100000000),
	          VMS_PROTO_OK);
	g += 400000000;
	CHECK(d->probe.run_flagged[VMS_FAM_CPU_WORK]);
	CHECK_INT(d->probe.samples_flagged_total[VMS_FAM_CPU_WORK], 1);
	CHECK(fabs(d->probe.ops[VMS_OP_CPU_WORK].value - 400000.0) < 1e-6); /* kept the trusted */

	/* A run that never finishes is given up at its deadline; its late records are ignored. */
	id = 0;
	for (int i = 0; i < 12 && !id; i++) {
		t += SEC;
		g += SEC;
		vms_channels_tick(c, t);
		unsigned long long got;
		if (try_read(qfd, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "run id=%llu probe=cpu_work\n", &got) == 1)
			id = got;
	}
	CHECK(id > 0);
	t += 60 * SEC;
	vms_channels_tick(c, t);
	CHECK_INT(d->probe.runs_total[VMS_FAM_CPU_WORK][VMS_RUN_TIMEOUT], 1);
	uint64_t rejects = 0;
	for (int e = 0; e < VMS_PROTO_E_COUNT; e++)
		rejects += d->probe.rejected[e];
	CHECK_INT(FEED("done seq=%u id=%llu probe=cpu_work start_ns=1 end_ns=2 mono_ns=3", seq++,
	               (unsigned long long)id),
	          VMS_PROTO_OK);
	uint64_t rejects_after = 0;
	for (int e = 0; e < VMS_PROTO_E_COUNT; e++)
		rejects_after += d->probe.rejected[e];
	CHECK(rejects_after == rejects);
	CHECK_INT(d->probe.runs_total[VMS_FAM_CPU_WORK][VMS_RUN_OK], 2);

	/* Cost: cumulative per probe process; a restart's smaller value is all new cost. */
	CHECK_INT(FEED("cost seq=%u mono_ns=1 cpu=1000000000 cpu_work=500000000 other=0", seq++),
	          VMS_PROTO_OK);
	CHECK_INT(FEED("cost seq=%u mono_ns=2 cpu=1500000000 cpu_work=500000000 other=0", seq++),
	          VMS_PROTO_OK);
	CHECK(fabs(d->probe.cost_seconds[VMS_FAM_CPU] - 1.5) < 1e-9);
	CHECK_INT(FEED("cost seq=%u mono_ns=3 cpu=200000000", seq++), VMS_PROTO_OK);
	CHECK(fabs(d->probe.cost_seconds[VMS_FAM_CPU] - 1.7) < 1e-9);
	CHECK(fabs(d->probe.cost_seconds[VMS_FAM_CPU_WORK] - 0.5) < 1e-9);

	/* Disks: latest per device, counters never fall, the number of devices is bounded. */
#define DISK_FMT                                                                                   \
	"disk seq=%u mono_ns=1 dev=%s reads=%u read_merges=0 read_sectors=%u read_ms=1 writes=1 "  \
	"write_merges=0 write_sectors=8 write_ms=1 in_flight=0 io_ms=2 weighted_io_ms=2"
	CHECK_INT(FEED(DISK_FMT, seq++, "vda", 10u, 80u), VMS_PROTO_OK);
	CHECK_INT(FEED(DISK_FMT, seq++, "vda", 12u, 96u), VMS_PROTO_OK);
	CHECK_INT(FEED(DISK_FMT, seq++, "vda", 11u, 96u), VMS_PROTO_E_SEQUENCE);
	CHECK_INT(d->probe.ndisks, 1);
	CHECK(d->probe.disks[0].v[2] == 96);
	for (int i = 0; i < VMS_PROBE_MAX_DISKS + 3; i++) {
		char dev[16];
		snprintf(dev, sizeof(dev), "sd%c", 'a' + i);
		CHECK_INT(FEED(DISK_FMT, seq++, dev, 1u, 1u), VMS_PROTO_OK);
	}
	CHECK_INT(d->probe.ndisks, VMS_PROBE_MAX_DISKS);
	CHECK_INT(d->probe.disks_dropped_total, 4);
#undef FEED
#undef DISK_FMT
	close(qfd);
	vms_channels_free(c);
	vms_store_fini(&st);
	fake_qemu_close(&q);
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
	test_active_runs();
	return check_done("test_channel");
}

/*
 * Active probes on this machine: plausible figures, time bounds kept, sizes enforced, no
 * descriptor, mapping or child left behind, and clear errors where a probe cannot run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/bench.h"
#include "check.h"

#define MIB (1024u * 1024u)
/* Wall time allowed beyond a probe's max_ms: sanitizers and a loaded CI machine. */
#define SLACK_MS 1500.0
#define TMPFS_MAGIC_ 0x01021994

static char tmpdir[64];

static double
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
took_s(const struct vmsp_result *r)
{
	return (double)(r->end_ns - r->start_ns) / 1e9;
}

/* Mappings are the probes' only allocations: count them to see that none outlives a call. */
static int
count_maps(void)
{
	int n = 0, c;
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static bool
no_child_left(void)
{
	errno = 0;
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* A successful result: no error, at least one op, times in order. */
static bool
ok(const struct vmsp_result *r)
{
	if (r->err)
		fprintf(stderr, "  err=%d (%s): %s\n", r->err, strerror(r->err),
		        r->why ? r->why : "(no why)");
	return r->err == 0 && r->ops >= 1 && r->start_ns > 0 && r->end_ns >= r->start_ns;
}

static bool
failed_with(const struct vmsp_result *r, int err)
{
	if (r->err != err)
		fprintf(stderr, "  err=%d, want %d (why: %s)\n", r->err, err,
		        r->why ? r->why : "(null)");
	return r->err == err && r->why != NULL && r->why[0] != '\0';
}

static void
test_cpu_work(void)
{
	struct vmsp_result r;
	double t0 = wall_ms();
	vmsp_cpu_work(VMSP_CPU_WORK_UNITS_DEFAULT, &r);
	double wall = wall_ms() - t0;
	CHECK(ok(&r));
	CHECK(r.ops == VMSP_CPU_WORK_UNITS_DEFAULT && r.bytes == 0);
	double ms = took_s(&r) * 1e3;
	printf("cpu_work: %u units in %.2f ms (%.1f ns a unit)\n", VMSP_CPU_WORK_UNITS_DEFAULT, ms,
	       ms * 1e6 / VMSP_CPU_WORK_UNITS_DEFAULT);
	CHECK(ms >= 1 && ms <= 200);
	CHECK(wall >= ms - 1);

	/* The work is fixed: ten times the units, about ten times the time. */
	struct vmsp_result r10;
	vmsp_cpu_work(10 * (uint64_t)VMSP_CPU_WORK_UNITS_DEFAULT, &r10);
	CHECK(ok(&r10));
	double ratio = took_s(&r10) / took_s(&r);
	CHECK(ratio > 3 && ratio < 30);

	vmsp_cpu_work(0, &r);
	CHECK(failed_with(&r, EINVAL));
}

/* One buffer for the three ops: all plausible, copy over halves of at least 8 MiB. */
static void
test_mem_run(void)
{
	struct vmsp_result r[3];
	double t0 = wall_ms();
	vmsp_mem_run(8 * MIB, 20, r); /* raised to 16 MiB */
	for (unsigned op = 0; op < 3; op++) {
		CHECK_INT(r[op].err, 0);
		CHECK(r[op].end_ns > r[op].start_ns && r[op].bytes > 0);
		double bps = (double)r[op].bytes / ((double)(r[op].end_ns - r[op].start_ns) / 1e9);
		CHECK(bps > 1e8 && bps < 2e11);
	}
	CHECK(wall_ms() - t0 < 3 * 20 + 2000);
	vmsp_mem_run(VMSP_MEM_MAX_BYTES + 1, 10, r);
	CHECK_INT(r[0].err, EINVAL);
	CHECK_INT(r[2].err, EINVAL);
}

static void
test_mem_bandwidth(void)
{
	static const char *const names[] = {"copy", "read", "write"};
	struct vmsp_result r;

	for (int op = VMSP_MEM_COPY; op <= VMSP_MEM_WRITE; op++) {
		double t0 = wall_ms();
		vmsp_mem_bandwidth((enum vmsp_mem_op)op, 32 * MIB, 50, &r);
		double wall = wall_ms() - t0;
		CHECK(ok(&r));
		double bw = (double)r.bytes / took_s(&r);
		printf("memory %s: %.2f GB/s (%llu MiB in %.1f ms)\n", names[op], bw / 1e9,
		       (unsigned long long)(r.bytes / MIB), took_s(&r) * 1e3);
		CHECK(bw >= 100e6 && bw <= 200e9);
		CHECK(r.ops == r.bytes / MIB);
		/* Runs for max_ms (to within a MiB), and not much longer. */
		CHECK(took_s(&r) * 1e3 >= 50 && took_s(&r) * 1e3 < 50 + SLACK_MS);
		CHECK(wall < 50 + SLACK_MS + 300); /* + the untimed touching of 64 MiB */
	}

	/* max_ms 0: one pass; the buffer size is raised to 8 MiB, rounded up to a MiB. */
	vmsp_mem_bandwidth(VMSP_MEM_READ, 1024, 0, &r);
	CHECK(ok(&r));
	CHECK(r.bytes == VMSP_MEM_MIN_BYTES && r.ops == 8);
	vmsp_mem_bandwidth(VMSP_MEM_COPY, 0, 0, &r);
	CHECK(ok(&r) && r.bytes == VMSP_MEM_MIN_BYTES);
	vmsp_mem_bandwidth(VMSP_MEM_WRITE, VMSP_MEM_MIN_BYTES + 1, 0, &r);
	CHECK(ok(&r) && r.bytes == VMSP_MEM_MIN_BYTES + MIB);

	vmsp_mem_bandwidth(VMSP_MEM_COPY, VMSP_MEM_MAX_BYTES + 1, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	vmsp_mem_bandwidth((enum vmsp_mem_op)7, 8 * MIB, 10, &r);
	CHECK(failed_with(&r, EINVAL));
}

static void
make_file(const char *path, size_t size)
{
	static char block[64 * 1024];
	memset(block, 0x3c, sizeof(block));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "create %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(block) ? size - done : sizeof(block);
		ssize_t w = write(fd, block, n);
		if (w <= 0)
			exit(1);
		done += (size_t)w;
	}
	close(fd);
}

/* Returns false (and says why) if the filesystem refuses O_DIRECT: a valid outcome. */
static bool
direct_ok(const struct vmsp_result *r, const char *where)
{
	if (r->err == EINVAL) {
		CHECK(r->why != NULL && strstr(r->why, "O_DIRECT") != NULL);
		printf("disk_read: %s refuses O_DIRECT: %s\n", where, r->why ? r->why : "?");
		return false;
	}
	return CHECK(ok(r));
}

static void
test_disk_read(void)
{
	char path[128], big[128], empty[128];
	struct vmsp_result r;
	uint64_t off = 0;

	/* 2.5 MiB: 1 MiB requests hit the end in the middle of the third. */
	snprintf(path, sizeof(path), "%s/disk", tmpdir);
	make_file(path, 5 * MIB / 2);
	vmsp_disk_read(path, MIB, &off, 0, &r);
	if (!direct_ok(&r, tmpdir))
		goto errors;
	CHECK(r.bytes == MIB && r.ops == 1 && off == MIB);
	vmsp_disk_read(path, MIB, &off, 0, &r);
	CHECK(ok(&r) && r.bytes == MIB && r.ops == 1 && off == 2 * MIB);
	vmsp_disk_read(path, MIB, &off, 0, &r);
	CHECK(ok(&r) && r.bytes == MIB && r.ops == 2 && off == MIB / 2); /* wrapped */
	/* Unaligned offsets are aligned down, sizes rounded up to 4 KiB. */
	off = 5000;
	vmsp_disk_read(path, 1, &off, 0, &r);
	CHECK(ok(&r) && r.bytes == 4096 && off == 8192);
	/* Past the end: start over. */
	off = UINT64_C(10) << 30;
	vmsp_disk_read(path, 3 * MIB, &off, 0, &r);
	CHECK(ok(&r) && r.bytes == 3 * MIB && r.ops == 4 && off == MIB / 2);

	/* Time-bounded: 1 GiB asked, 30 ms allowed, on a file that wraps every 2.5 MiB. */
	off = 0;
	double t0 = wall_ms();
	vmsp_disk_read(path, VMSP_DISK_READ_MAX_BYTES, &off, 30, &r);
	double wall = wall_ms() - t0;
	CHECK(ok(&r));
	CHECK(r.bytes < VMSP_DISK_READ_MAX_BYTES && took_s(&r) * 1e3 >= 30);
	CHECK(wall < 30 + SLACK_MS);

	/* Bandwidth on a bigger file (the host's cache may well hold it: a sample figure). */
	snprintf(big, sizeof(big), "%s/disk-big", tmpdir);
	make_file(big, 64 * MIB);
	off = 0;
	vmsp_disk_read(big, 64 * MIB, &off, 2000, &r);
	if (CHECK(ok(&r))) {
		double bw = (double)r.bytes / took_s(&r);
		printf("disk_read (O_DIRECT file, %s): %.0f MB/s, %llu MiB in %llu requests\n",
		       tmpdir, bw / 1e6, (unsigned long long)(r.bytes / MIB),
		       (unsigned long long)r.ops);
		CHECK(bw > 1e6);
	}
	unlink(big);

errors:
	off = 0;
	vmsp_disk_read("/nonexistent/disk", MIB, &off, 10, &r);
	CHECK(failed_with(&r, ENOENT));
	vmsp_disk_read(path, 0, &off, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	vmsp_disk_read(path, VMSP_DISK_READ_MAX_BYTES + 1, &off, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	vmsp_disk_read(path, MIB, NULL, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	vmsp_disk_read(NULL, MIB, &off, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	make_file(empty, 0);
	vmsp_disk_read(empty, MIB, &off, 10, &r);
	CHECK(failed_with(&r, EINVAL));
	vmsp_disk_read("/dev/null", MIB, &off, 10, &r); /* a character device */
	CHECK(r.err != 0 && r.why != NULL);
	vmsp_disk_read(tmpdir, MIB, &off, 10, &r); /* a directory */
	CHECK(r.err != 0 && r.why != NULL);
	unlink(empty);
	unlink(path);

	/* tmpfs refused O_DIRECT before Linux 6.6: either outcome, but a clear one. */
	struct statfs sfs;
	if (statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_) {
		snprintf(path, sizeof(path), "/dev/shm/test_bench.%ld", (long)getpid());
		make_file(path, MIB);
		off = 0;
		vmsp_disk_read(path, MIB, &off, 10, &r);
		if (direct_ok(&r, "tmpfs"))
			printf("disk_read: tmpfs accepts O_DIRECT\n");
		unlink(path);
	}
}

/* The real guest disk, when this test may read it (root on a VM): read-only, 4 MiB. */
static void
test_disk_read_device(void)
{
	char dev[64];
	struct vmsp_result r;
	if (!vmsp_disk_pick("/sys/block", dev, sizeof(dev))) {
		printf("disk_read: no whole disk in /sys/block here\n");
		return;
	}
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("disk_read: %s not readable here (%s)\n", dev, strerror(errno));
		return;
	}
	close(fd);
	uint64_t off = 0;
	vmsp_disk_read(dev, 4 * MIB, &off, 1000, &r);
	if (CHECK(ok(&r)))
		printf("disk_read (%s): %.0f MB/s, %llu MiB\n", dev,
		       (double)r.bytes / took_s(&r) / 1e6, (unsigned long long)(r.bytes / MIB));
	CHECK(off == 4 * MIB || r.bytes < 4 * MIB);
}

static void
make_entry(const char *parent, const char *name, const char *size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", parent, name);
	if (mkdir(path, 0755) < 0)
		exit(1);
	if (size) {
		snprintf(path, sizeof(path), "%s/%s/size", parent, name);
		FILE *f = fopen(path, "w");
		if (!f)
			exit(1);
		fprintf(f, "%s\n", size);
		fclose(f);
	}
}

static void
remove_entry(const char *parent, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s/size", parent, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", parent, name);
	rmdir(path);
}

static void
test_disk_pick(void)
{
	char sys[128], dev[64];
	snprintf(sys, sizeof(sys), "%s/block", tmpdir);
	if (mkdir(sys, 0755) < 0)
		exit(1);

	CHECK(!vmsp_disk_pick(sys, dev, sizeof(dev))); /* empty */
	const char *never[] = {"loop0", "ram0", "zram0", "dm-0", "sr0", "md0", "fd0"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		make_entry(sys, never[i], "2048");
	make_entry(sys, "nbd0", "0");
	make_entry(sys, "sdb", "0");
	CHECK(!vmsp_disk_pick(sys, dev, sizeof(dev)));

	make_entry(sys, "nbd1", "2048"); /* a connected nbd is a disk */
	CHECK(vmsp_disk_pick(sys, dev, sizeof(dev)) && strcmp(dev, "/dev/nbd1") == 0);
	make_entry(sys, "vdaa", "100");
	make_entry(sys, "vdb", "100");
	CHECK(vmsp_disk_pick(sys, dev, sizeof(dev)) && strcmp(dev, "/dev/vdb") == 0);
	make_entry(sys, "vda", "8388608");
	CHECK(vmsp_disk_pick(sys, dev, sizeof(dev)) && strcmp(dev, "/dev/vda") == 0);
	CHECK(!vmsp_disk_pick(sys, dev, 8)); /* "/dev/vda" needs 9 */
	CHECK(vmsp_disk_pick(sys, dev, 9));

	const char *gone[] = {"vda", "vdb", "vdaa", "nbd1"};
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		remove_entry(sys, gone[i]);
	make_entry(sys, "cciss!c0d0", NULL); /* no size file: assumed usable */
	CHECK(vmsp_disk_pick(sys, dev, sizeof(dev)) && strcmp(dev, "/dev/cciss/c0d0") == 0);

	CHECK(!vmsp_disk_pick("/nonexistent/sys/block", dev, sizeof(dev)));

	if (vmsp_disk_pick(NULL, dev, sizeof(dev))) {
		printf("disk_pick: %s\n", dev);
		CHECK(strncmp(dev, "/dev/", 5) == 0 && strncmp(dev, "/dev/loop", 9) != 0 &&
		      strncmp(dev, "/dev/zram", 9) != 0);
	}
}

struct plausible {
	double lo_ns, hi_ns;
};

static void
test_micro(void)
{
	/* Latency bounds per op: generous, for a VM under a sanitizer. */
	static const struct plausible range[VMSP_MICRO_COUNT] = {
	    [VMSP_MICRO_FORK_EXIT] = {1e3, 100e6}, [VMSP_MICRO_FORK_EXEC] = {10e3, 200e6},
	    [VMSP_MICRO_CTXSW] = {100, 10e6},      [VMSP_MICRO_FILE_0K] = {100, 100e6},
	    [VMSP_MICRO_FILE_10K] = {100, 100e6},  [VMSP_MICRO_MEM_READ] = {0.3, 2e3},
	};
	struct vmsp_micro_opts o = {
	    .max_ms = 50, .dir = tmpdir, .exec_path = "/bin/true", .chase_bytes = 8 * MIB};
	struct vmsp_result r;

	for (int m = 0; m < VMSP_MICRO_COUNT; m++) {
		double t0 = wall_ms();
		vmsp_micro((enum vmsp_micro)m, &o, &r);
		double wall = wall_ms() - t0;
		if (!CHECK(ok(&r)))
			fprintf(stderr, "  (micro %s)\n", vmsp_micro_name((enum vmsp_micro)m));
		double lat = (double)(r.end_ns - r.start_ns) / (double)(r.ops ? r.ops : 1);
		printf("micro %s: %.1f ns (%llu ops in %.1f ms)\n",
		       vmsp_micro_name((enum vmsp_micro)m), lat, (unsigned long long)r.ops,
		       took_s(&r) * 1e3);
		CHECK(lat >= range[m].lo_ns && lat <= range[m].hi_ns);
		CHECK(took_s(&r) * 1e3 >= 50);
		CHECK(wall < 50 + SLACK_MS);
		CHECK(no_child_left());
	}

	/* The repetition bound is exact. */
	o.max_ms = 0;
	o.max_ops = 5;
	for (int m = 0; m < VMSP_MICRO_COUNT; m++) {
		vmsp_micro((enum vmsp_micro)m, &o, &r);
		CHECK(ok(&r) && r.ops == 5);
	}
	o.max_ms = 2000;
	o.max_ops = 3;
	vmsp_micro(VMSP_MICRO_FORK_EXIT, &o, &r);
	CHECK(ok(&r) && r.ops == 3);

	/* A DRAM-sized chase, for the record; then the clamp. */
	o.max_ms = 100;
	o.max_ops = 0;
	o.chase_bytes = 64 * MIB;
	vmsp_micro(VMSP_MICRO_MEM_READ, &o, &r);
	if (CHECK(ok(&r)))
		printf("micro mem_read 64 MiB: %.1f ns\n",
		       (double)(r.end_ns - r.start_ns) / (double)r.ops);
	o.chase_bytes = 1024;
	o.max_ms = 10;
	vmsp_micro(VMSP_MICRO_MEM_READ, &o, &r);
	CHECK(ok(&r));
	o.chase_bytes = VMSP_MEM_MAX_BYTES + 1;
	vmsp_micro(VMSP_MICRO_MEM_READ, &o, &r);
	CHECK(failed_with(&r, EINVAL));
	o.chase_bytes = 0;
	vmsp_micro(VMSP_MICRO_MEM_READ, &o, &r);
	CHECK(ok(&r));
}

static void
test_micro_errors(void)
{
	struct vmsp_micro_opts o = {.max_ms = 20, .dir = tmpdir, .exec_path = "/bin/true"};
	struct vmsp_result r;
	char path[160];

	vmsp_micro(VMSP_MICRO_FORK_EXIT, NULL, &r);
	CHECK(failed_with(&r, EINVAL));
	o.max_ms = 0;
	vmsp_micro(VMSP_MICRO_CTXSW, &o, &r);
	CHECK(failed_with(&r, EINVAL)); /* unbounded */
	o.max_ms = 20;
	vmsp_micro(VMSP_MICRO_COUNT, &o, &r);
	CHECK(failed_with(&r, EINVAL));

	o.exec_path = NULL;
	vmsp_micro(VMSP_MICRO_FORK_EXEC, &o, &r);
	CHECK(failed_with(&r, EINVAL));
	o.exec_path = "/nonexistent/vmscale-probe";
	vmsp_micro(VMSP_MICRO_FORK_EXEC, &o, &r);
	CHECK(failed_with(&r, ENOENT));
	o.exec_path = "/bin/false";
	vmsp_micro(VMSP_MICRO_FORK_EXEC, &o, &r);
	CHECK(failed_with(&r, ENOEXEC));
	CHECK(no_child_left());

	/* A program that ignores the no-op argument and runs on is killed after a second. */
	snprintf(path, sizeof(path), "%s/hang.sh", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	fputs("#!/bin/sh\nexec sleep 30\n", f);
	fclose(f);
	chmod(path, 0700);
	o.exec_path = path;
	double t0 = wall_ms();
	vmsp_micro(VMSP_MICRO_FORK_EXEC, &o, &r);
	double wall = wall_ms() - t0;
	CHECK(failed_with(&r, ETIMEDOUT));
	CHECK(wall >= 900 && wall < 1000 + SLACK_MS);
	CHECK(no_child_left());
	unlink(path);
	o.exec_path = "/bin/true";

	o.dir = NULL;
	vmsp_micro(VMSP_MICRO_FILE_0K, &o, &r);
	CHECK(failed_with(&r, EINVAL));
	o.dir = "/nonexistent/dir";
	vmsp_micro(VMSP_MICRO_FILE_10K, &o, &r);
	CHECK(failed_with(&r, ENOENT));
	o.dir = tmpdir;

	/* A leftover of an earlier probe with our pid does not stop the file probes. */
	snprintf(path, sizeof(path), "%s/.vmscale-probe.%ld.tmp", tmpdir, (long)getpid());
	f = fopen(path, "w");
	if (!f)
		exit(1);
	fclose(f);
	vmsp_micro(VMSP_MICRO_FILE_0K, &o, &r);
	CHECK(ok(&r));
	CHECK(access(path, F_OK) != 0);

	/* SIGPIPE is held only during ctxsw: the caller's mask is as it was. */
	sigset_t before, after;
	sigprocmask(SIG_SETMASK, NULL, &before);
	vmsp_micro(VMSP_MICRO_CTXSW, &o, &r);
	CHECK(ok(&r));
	sigprocmask(SIG_SETMASK, NULL, &after);
	CHECK(sigismember(&after, SIGPIPE) == sigismember(&before, SIGPIPE));
	CHECK(no_child_left());
}

static void
test_names(void)
{
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_FORK_EXIT), "fork_exit");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_FORK_EXEC), "fork_exec");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_CTXSW), "ctxsw");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_FILE_0K), "file_create_0k");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_FILE_10K), "file_create_10k");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_MEM_READ), "mem_read");
	CHECK_STR(vmsp_micro_name(VMSP_MICRO_COUNT), "invalid");
}

/* Nothing but what the test itself made is left in its directory. */
static int
count_entries(const char *path)
{
	int n = 0;
	struct dirent *e;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	/* /var/tmp: a real filesystem on most systems (O_DIRECT, file latencies), not tmpfs. */
	snprintf(tmpdir, sizeof(tmpdir), "/var/tmp/test_bench.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int fds = check_count_fds(), maps = count_maps();

	test_names();
	test_cpu_work();
	test_mem_bandwidth();
	test_mem_run();
	test_disk_read();
	test_disk_read_device();
	test_micro();
	test_micro_errors();
	CHECK_INT(count_entries(tmpdir), 0);
	test_disk_pick();

	CHECK_INT(check_count_fds(), fds);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator maps memory of its own as it goes */
	CHECK_INT(count_maps(), maps);
#else
	(void)maps;
#endif
	CHECK(no_child_left());
	check_remove_tree(tmpdir);
	return check_done("test_bench");
}

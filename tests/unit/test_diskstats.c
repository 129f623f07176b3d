/* /proc/diskstats parser on fixtures of Linux 2.6.18, 3.10, 4.18 and 6.1, and hostile input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/diskstats.h"
#include "check.h"

#define FIXTURE(name) VMSCALE_TEST_DATA "/fixtures/diskstats/" name
#define MAXDEV 64

static char tmpdir[64];

/* One line per device, as the .expect files: name major minor nfields v0 .. v16. */
static void
dump(const struct vmsp_disk *d, int n, char *out, size_t outsz)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < n && len < outsz; i++) {
		len += (size_t)snprintf(out + len, outsz - len, "%s %u %u %u", d[i].name,
		                        d[i].major, d[i].minor, d[i].nfields);
		for (int f = 0; f < VMSP_DISK_FIELD_COUNT && len < outsz; f++)
			len += (size_t)snprintf(out + len, outsz - len, " %llu",
			                        (unsigned long long)d[i].v[f]);
		if (len < outsz)
			len += (size_t)snprintf(out + len, outsz - len, "\n");
	}
}

/* Reads a fixture with the default filter and compares it with its .expect file. */
static int
check_fixture(const char *path, struct vmsp_disk *d, unsigned *skipped)
{
	char expect_path[512], got[8192];
	int n = vmsp_diskstats_read(path, NULL, d, MAXDEV, skipped);
	if (!CHECK(n >= 0))
		return n;
	snprintf(expect_path, sizeof(expect_path), "%s.expect", path);
	char *expect = check_read_file(expect_path, NULL);
	dump(d, n, got, sizeof(got));
	if (!CHECK_STR(got, expect))
		fprintf(stderr, "  (fixture %s)\n", path);
	free(expect);
	return n;
}

static int
find(const struct vmsp_disk *d, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			return i;
	return -1;
}

/* The names read, space-separated, for compact checks of filtering. */
static const char *
names(const struct vmsp_disk *d, int n)
{
	static char buf[1024];
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "", d[i].name);
	return buf;
}

static const char *
read_names(const char *path, const struct vmsp_disk_filter *f, unsigned *skipped)
{
	struct vmsp_disk d[MAXDEV];
	int n = vmsp_diskstats_read(path, f, d, MAXDEV, skipped);
	return n < 0 ? "(error)" : names(d, n);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

static void
test_kernels(void)
{
	struct vmsp_disk d[MAXDEV];
	unsigned skipped = 99;
	int n, i;

	/* 2.6.18: 4-column partition lines are dropped, not counted; hdc is an IDE disk. */
	n = check_fixture(FIXTURE("diskstats-linux2.6.18"), d, &skipped);
	CHECK_INT(n, 2);
	CHECK_INT(skipped, 0);
	CHECK_INT(d[0].nfields, 11);
	CHECK(d[0].v[VMSP_DISK_WEIGHTED_IO_MS] == 10368 && d[0].v[VMSP_DISK_DISCARDS] == 0);

	n = check_fixture(FIXTURE("diskstats-linux3.10-14col"), d, &skipped);
	CHECK_INT(n, 2);
	CHECK_INT(skipped, 0);
	CHECK_STR(names(d, n), "vda vdb");
	CHECK_INT(d[0].major, 253);
	CHECK_INT(d[1].minor, 16);
	CHECK_INT(d[0].nfields, 11);
	CHECK(d[0].v[VMSP_DISK_READ_SECTORS] == 3311790 && d[0].v[VMSP_DISK_IO_MS] == 27813);

	n = check_fixture(FIXTURE("diskstats-linux4.18-18col"), d, &skipped);
	CHECK_INT(n, 2);
	CHECK_INT(skipped, 0);
	CHECK_STR(names(d, n), "sda nvme0n1");
	CHECK_INT(d[1].nfields, 15);
	CHECK(d[1].v[VMSP_DISK_IN_FLIGHT] == 2 && d[1].v[VMSP_DISK_DISCARD_SECTORS] == 10485760);
	CHECK(d[1].v[VMSP_DISK_DISCARD_MS] == 44 && d[1].v[VMSP_DISK_FLUSHES] == 0);

	n = check_fixture(FIXTURE("diskstats-linux6.1-20col"), d, &skipped);
	CHECK_INT(n, 4);
	CHECK_INT(skipped, 0);
	CHECK_STR(names(d, n), "vda vdb nvme0n1 mmcblk0");
	i = find(d, n, "vda");
	CHECK(i == 0 && d[i].nfields == 17);
	CHECK(i == 0 && d[i].v[VMSP_DISK_READS] == 190742 && d[i].v[VMSP_DISK_FLUSHES] == 41802 &&
	      d[i].v[VMSP_DISK_FLUSH_MS] == 66282);
}

static void
test_hostile(void)
{
	struct vmsp_disk d[MAXDEV];
	unsigned skipped = 0;
	/* 16 malformed lines: 32-character name, garbage, negative, 8 and 12 columns, 2^64,
	 * '=', "..", bad and 33-bit majors, trailing junk, no name, a control character,
	 * UTF-8, a 6 KB line, CR. Blank lines are not counted. */
	int n = check_fixture(FIXTURE("diskstats-hostile"), d, &skipped);
	CHECK_INT(n, 7);
	CHECK_INT(skipped, 16);
	int i = find(d, n, "vdf");
	CHECK(i >= 0 && d[i].v[VMSP_DISK_READS] == UINT64_MAX &&
	      d[i].v[VMSP_DISK_WEIGHTED_IO_MS] == UINT64_MAX);
	i = find(d, n, "vdn"); /* 18 columns: a future kernel, the 18th ignored */
	CHECK(i >= 0 && d[i].nfields == 17 && d[i].v[VMSP_DISK_FLUSH_MS] == 17);
	CHECK(find(d, n, "vdp") == n - 1); /* the last line had no newline */
	CHECK(strlen(d[1].name) == VMSP_DISK_NAME_MAX);

	/* An overlong line at the end of the file, without newline, counts once. */
	char path[128], line[12000];
	snprintf(path, sizeof(path), "%s/overlong", tmpdir);
	size_t len = (size_t)snprintf(line, sizeof(line), " 253 0 vda");
	while (len + 2 < sizeof(line)) {
		line[len++] = ' ';
		line[len++] = '1';
	}
	write_file(path, line, len);
	CHECK_INT(vmsp_diskstats_read(path, NULL, d, MAXDEV, &skipped), 0);
	CHECK_INT(skipped, 1);

	/* A file without end: EFBIG instead of reading forever. */
	errno = 0;
	CHECK_INT(vmsp_diskstats_read("/dev/zero", NULL, d, MAXDEV, &skipped), -1);
	CHECK_INT(errno, EFBIG);

	errno = 0;
	CHECK_INT(vmsp_diskstats_read("/nonexistent/diskstats", NULL, d, MAXDEV, &skipped), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(vmsp_diskstats_read(FIXTURE("diskstats-hostile"), NULL, d, MAXDEV, NULL), 7);
}

static void
test_filters(void)
{
	const char *f61 = FIXTURE("diskstats-linux6.1-20col");
	unsigned skipped;
	struct vmsp_disk_filter f = {0};

	f.include_prefixes = "loop,dm-";
	CHECK_STR(read_names(f61, &f, &skipped), "loop0 loop1 vda vdb dm-0 nvme0n1 mmcblk0");
	f.include_prefixes = ",md,,";
	CHECK_STR(read_names(f61, &f, &skipped), "vda vdb md127 nvme0n1 mmcblk0");
	f.include_prefixes = "";
	f.exclude_prefixes = "nvme,vdb";
	CHECK_STR(read_names(f61, &f, &skipped), "vda mmcblk0");
	/* Exclusion wins over inclusion. */
	f.include_prefixes = "zram";
	f.exclude_prefixes = "zram0";
	CHECK_STR(read_names(f61, &f, &skipped), "vda vdb nvme0n1 mmcblk0");
	f.exclude_prefixes = NULL;
	CHECK_STR(read_names(f61, &f, &skipped), "vda vdb nvme0n1 mmcblk0 zram0");

	struct vmsp_disk_filter parts = {.keep_partitions = 1};
	CHECK_STR(read_names(f61, &parts, &skipped),
	          "vda vda1 vda14 vda15 vdb nvme0n1 nvme0n1p1 mmcblk0 mmcblk0p1");
	CHECK_INT(skipped, 0);
	CHECK_STR(read_names(FIXTURE("diskstats-linux4.18-18col"), &parts, &skipped),
	          "sda sda1 sda2 nvme0n1 nvme0n1p1");
	/* Pre-2.6.25 partition lines stay dropped: too few columns to report. */
	CHECK_STR(read_names(FIXTURE("diskstats-linux2.6.18"), &parts, &skipped), "sda hdc");
	CHECK_INT(skipped, 0);

	/* max: the devices that do not fit are counted. */
	struct vmsp_disk one;
	CHECK_INT(vmsp_diskstats_read(f61, NULL, &one, 1, &skipped), 1);
	CHECK_STR(one.name, "vda");
	CHECK_INT(skipped, 3);
	CHECK_INT(vmsp_diskstats_read(f61, NULL, NULL, 0, &skipped), 0);
	CHECK_INT(skipped, 4);
}

static void
make_dir(const char *parent, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", parent, name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
test_sysfs(void)
{
	const char *f61 = FIXTURE("diskstats-linux6.1-20col");
	char sys[128], path[128];
	unsigned skipped;

	/* A fake /sys/block: whole disks are entries, partitions are not; vdb is missing, so
	 * it is not a whole disk here, and the name rule is not used. */
	snprintf(sys, sizeof(sys), "%s/block", tmpdir);
	make_dir(tmpdir, "block");
	const char *disks[] = {"vda", "nvme0n1", "mmcblk0", "loop0", "sr0", "cciss!c0d0"};
	for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++)
		make_dir(sys, disks[i]);
	struct vmsp_disk_filter f = {.sysfs_block = sys};
	CHECK_STR(read_names(f61, &f, &skipped), "vda nvme0n1 mmcblk0");
	CHECK_INT(skipped, 0);

	/* '/' in a kernel name is '!' in sysfs. */
	snprintf(path, sizeof(path), "%s/cciss", tmpdir);
	const char *cciss = " 104 0 cciss/c0d0 1 2 3 4 5 6 7 8 9 10 11\n"
	                    " 104 1 cciss/c0d0p1 1 2 3 4 5 6 7 8 9 10 11\n"
	                    " 104 16 cciss/c0d1 1 2 3 4 5 6 7 8 9 10 11\n";
	write_file(path, cciss, strlen(cciss));
	CHECK_STR(read_names(path, &f, &skipped), "cciss/c0d0");

	/* No sysfs at all (a bare initramfs): names decide. */
	f.sysfs_block = "/nonexistent/sys/block";
	CHECK_STR(read_names(f61, &f, &skipped), "vda vdb nvme0n1 mmcblk0");
	CHECK_STR(read_names(path, &f, &skipped), "cciss/c0d0 cciss/c0d1");
}

/* Partition names by rule: every kernel naming scheme a guest meets. */
static void
test_name_rule(void)
{
	char path[128], text[4096];
	size_t len = 0;
	const char *all[] = {"vda",       "vda1", "vdz15", "sdaa",     "sdaa3",       "xvda",
	                     "xvda1",     "hdb",  "hdb2",  "nvme10n2", "nvme10n2p12", "mmcblk1",
	                     "mmcblk1p2", "sr1",  "nbd3",  "nbd3p1",   "fd0",         "md0p1",
	                     "dm-12",     "vd",   "pmem0", "pmem0p1"};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        " 1 %zu %s 0 0 0 0 0 0 0 0 0 0 0\n", i, all[i]);
	snprintf(path, sizeof(path), "%s/names", tmpdir);
	write_file(path, text, len);
	unsigned skipped;
	CHECK_STR(read_names(path, NULL, &skipped), "vda sdaa xvda hdb nvme10n2 mmcblk1 vd pmem0");
	CHECK_INT(skipped, 0);
}

/* No fixed line count: 5000 devices, lines straddling every read. */
static void
test_many(void)
{
	static struct vmsp_disk d[6000];
	char path[128];
	snprintf(path, sizeof(path), "%s/many", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		exit(1);
	for (unsigned i = 0; i < 5000; i++)
		fprintf(f, " 8 %u sd%c%c%c %u 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i, 'a' + i / 676,
		        'a' + i / 26 % 26, 'a' + i % 26, i);
	fclose(f);
	unsigned skipped = 99;
	CHECK_INT(vmsp_diskstats_read(path, NULL, d, 6000, &skipped), 5000);
	CHECK_INT(skipped, 0);
	CHECK(strcmp(d[4999].name, "sdhkh") == 0 && d[4999].v[VMSP_DISK_READS] == 4999);
	CHECK_INT(d[4999].nfields, 17);
	CHECK_INT(vmsp_diskstats_read(path, NULL, d, 100, &skipped), 100);
	CHECK_INT(skipped, 4900);
}

static void
test_names(void)
{
	CHECK_STR(vmsp_disk_field_name(VMSP_DISK_READS), "reads");
	CHECK_STR(vmsp_disk_field_name(VMSP_DISK_WEIGHTED_IO_MS), "weighted_io_ms");
	CHECK_STR(vmsp_disk_field_name(VMSP_DISK_FLUSH_MS), "flush_ms");
	CHECK_STR(vmsp_disk_field_name(VMSP_DISK_FIELD_COUNT), "invalid");
	/* Protocol keys: [a-z0-9_]{1,31}, all different. */
	for (int i = 0; i < VMSP_DISK_FIELD_COUNT; i++) {
		const char *a = vmsp_disk_field_name(i);
		CHECK(strlen(a) >= 1 && strlen(a) <= 31 &&
		      strspn(a, "abcdefghijklmnopqrstuvwxyz_") == strlen(a));
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a, vmsp_disk_field_name(j)) != 0);
	}
}

static void
test_live(void)
{
	struct vmsp_disk d[MAXDEV];
	unsigned skipped = 99;
	struct vmsp_disk_filter f = {.sysfs_block = "/sys/block"};
	int n = vmsp_diskstats_read("/proc/diskstats", &f, d, MAXDEV, &skipped);
	if (n < 0 && errno == ENOENT)
		return; /* no /proc/diskstats in this sandbox */
	CHECK(n >= 0);
	CHECK_INT(skipped, 0);
	for (int i = 0; i < n; i++) {
		CHECK(d[i].nfields == 11 || d[i].nfields == 15 || d[i].nfields == 17);
		CHECK(strncmp(d[i].name, "loop", 4) != 0 && strncmp(d[i].name, "zram", 4) != 0);
		printf("live: %s reads=%llu read_sectors=%llu nfields=%u\n", d[i].name,
		       (unsigned long long)d[i].v[VMSP_DISK_READS],
		       (unsigned long long)d[i].v[VMSP_DISK_READ_SECTORS], d[i].nfields);
	}
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_diskstats.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int fds = check_count_fds();
	test_kernels();
	test_hostile();
	test_filters();
	test_sysfs();
	test_name_rule();
	test_many();
	test_names();
	test_live();
	CHECK_INT(check_count_fds(), fds);
	check_remove_tree(tmpdir);
	return check_done("test_diskstats");
}

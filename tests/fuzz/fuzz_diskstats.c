/*
 * The probe's /proc/diskstats reader (probes/diskstats.c), from an in-memory file, with the
 * default filter, a filter with prefix lists and partitions, and one with a sysfs folder.
 * Every device it stores must be fit to send: its name is a protocol value and a label.
 * Input: the file's text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "probes/diskstats.h"

#define MAX_DISKS 8

static char sysfs[64];

static void
remove_sysfs(void)
{
	char disk[96];
	snprintf(disk, sizeof(disk), "%s/vda", sysfs);
	rmdir(disk);
	rmdir(sysfs);
}

/* A sysfs stand-in that knows one whole disk, vda. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(sysfs, sizeof(sysfs), "/tmp/vmscale-fuzz-sysfs.XXXXXX");
	char disk[96];
	if (!mkdtemp(sysfs) || snprintf(disk, sizeof(disk), "%s/vda", sysfs) < 0 ||
	    mkdir(disk, 0700) < 0) {
		perror("sysfs stand-in");
		abort();
	}
	atexit(remove_sysfs);
	return 0;
}

static void
check_disk(const struct vmsp_disk *d)
{
	size_t len = strlen(d->name);
	FUZZ_ASSERT(len > 0 && len <= VMSP_DISK_NAME_MAX);
	for (const char *p = d->name; *p; p++)
		FUZZ_ASSERT(*p > ' ' && *p < 0x7f && *p != '=');
	FUZZ_ASSERT(d->nfields == 11 || d->nfields == 15 || d->nfields == 17);
	for (unsigned i = d->nfields; i < VMSP_DISK_FIELD_COUNT; i++)
		FUZZ_ASSERT(d->v[i] == 0);
}

static void
read_with(const char *path, const struct vmsp_disk_filter *filter)
{
	struct vmsp_disk out[MAX_DISKS];
	unsigned skipped;
	int n = vmsp_diskstats_read(path, filter, out, MAX_DISKS, &skipped);
	FUZZ_ASSERT(n >= -1 && n <= MAX_DISKS);
	for (int i = 0; i < n; i++)
		check_disk(&out[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	const struct vmsp_disk_filter prefixes = {
	    .include_prefixes = "loop,dm-", .exclude_prefixes = "sdb,xvd", .keep_partitions = 1};
	const struct vmsp_disk_filter with_sysfs = {.sysfs_block = sysfs};
	read_with(path, NULL);
	read_with(path, &prefixes);
	read_with(path, &with_sysfs);
	close(fd);
	return 0;
}

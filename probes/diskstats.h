/*
 * /proc/diskstats: cumulative I/O counters of the guest's block devices. Kernels print 14
 * fields (< 4.18), 18 (discards, 4.18+) or 20 (flushes, 5.5+); absent fields read as 0 and
 * nfields says how many the kernel gave.
 */
#ifndef VMSCALE_PROBE_DISKSTATS_H
#define VMSCALE_PROBE_DISKSTATS_H

#include <stddef.h>
#include <stdint.h>

#define VMSP_DISK_NAME_MAX 31 /* fits a protocol value and a metric label */

/* Counter columns after major, minor and name, in the kernel's order. */
enum vmsp_disk_field {
	VMSP_DISK_READS,
	VMSP_DISK_READ_MERGES,
	VMSP_DISK_READ_SECTORS,
	VMSP_DISK_READ_MS,
	VMSP_DISK_WRITES,
	VMSP_DISK_WRITE_MERGES,
	VMSP_DISK_WRITE_SECTORS,
	VMSP_DISK_WRITE_MS,
	VMSP_DISK_IN_FLIGHT,
	VMSP_DISK_IO_MS,
	VMSP_DISK_WEIGHTED_IO_MS,
	VMSP_DISK_DISCARDS,
	VMSP_DISK_DISCARD_MERGES,
	VMSP_DISK_DISCARD_SECTORS,
	VMSP_DISK_DISCARD_MS,
	VMSP_DISK_FLUSHES,
	VMSP_DISK_FLUSH_MS,
	VMSP_DISK_FIELD_COUNT
};

/* Stable short names, used as protocol keys: "reads", "read_merges", ... "flush_ms". */
const char *vmsp_disk_field_name(enum vmsp_disk_field f);

struct vmsp_disk {
	char name[VMSP_DISK_NAME_MAX + 1];
	unsigned major, minor;
	unsigned nfields; /* counter columns the kernel gave: 11, 15 or 17; v[nfields..] = 0 */
	uint64_t v[VMSP_DISK_FIELD_COUNT];
};

/*
 * Which devices count. Whole disks only by default: partitions double-count their disk;
 * dm-*, md* stack on the real disks (their I/O would be counted twice), loop*, ram*, zram*,
 * nbd* are not the hypervisor's disks, sr*, fd* carry no workload.
 * Decided in this order: a name matching exclude_prefixes is skipped; one of the default
 * skips above is skipped unless it matches include_prefixes; a partition is skipped unless
 * keep_partitions. Prefix lists are comma-separated ("loop,dm-"), NULL or "" = none.
 */
struct vmsp_disk_filter {
	const char *include_prefixes; /* kept although skipped by default */
	const char *exclude_prefixes; /* skipped besides the defaults */
	int keep_partitions;          /* 0 = skip partitions */
	/*
	 * "/sys/block" normally: a name is a whole disk iff sysfs_block/<name> exists ('/' in a
	 * name is '!' there). NULL, or a directory that cannot be opened (no sysfs in the guest):
	 * a partition is a known disk name followed by digits (vda1, sdb2, xvda3, hda1) or
	 * "<digit>p<digits>" (nvme0n1p1, mmcblk0p1).
	 */
	const char *sysfs_block;
};

/*
 * Reads path (normally "/proc/diskstats") and stores up to max wanted devices into out, in
 * file order; filter NULL = the defaults with sysfs_block NULL. Returns how many, or -1 with
 * errno (file unreadable, or EFBIG past 16 MiB). *skipped (may be NULL) counts lines that
 * were not stored and should have been: malformed ones (bad syntax, a number over 64 bits,
 * a name over VMSP_DISK_NAME_MAX, outside printable ASCII, with '=' or not starting with a
 * letter or digit, a column count other than 11, 15 or >= 17) and wanted devices beyond
 * max. Filtered devices, blank lines and the 4-column partition lines of kernels before
 * 2.6.25 are dropped without counting. Columns past 17 (a future kernel) are ignored.
 * Streams the file through a stack buffer: no allocation, no state.
 */
int vmsp_diskstats_read(const char *path, const struct vmsp_disk_filter *filter,
                        struct vmsp_disk *out, size_t max, unsigned *skipped);

#endif

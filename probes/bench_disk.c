/*
 * The active disk read (bench.h): O_DIRECT reads of the guest's disk from a moving offset,
 * and the choice of that disk in sysfs.
 */
#include "probes/bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h> /* BLKGETSIZE64, BLKSSZGET */
#include <sys/stat.h>
#include <unistd.h>

#include "probes/bench_internal.h"
#include "vmscale/clock.h"

#define DISK_BLOCK VMSP_MIB /* largest single O_DIRECT read */
#define DISK_ALIGN 4096u    /* covers 512 and 4096-byte logical sectors */

/* A device opened for O_DIRECT reads: its usable size and the alignment of every request. */
struct disk_target {
	int fd;
	uint64_t size;  /* bytes, a multiple of align, > 0 */
	uint64_t align; /* the logical sector size, at least DISK_ALIGN, a power of two */
};

/* Opens device and learns its size and alignment; 0, or -1 with r failed (nothing left open). */
static int
disk_open(const char *device, struct disk_target *t, struct vmsp_result *r)
{
	struct stat st;
	t->size = 0;
	t->align = DISK_ALIGN;
	t->fd = open(device, O_RDONLY | O_DIRECT | O_CLOEXEC | O_NOCTTY);
	if (t->fd < 0) {
		if (errno == EINVAL)
			vmsp_bench_fail(r, EINVAL,
			                "disk_read: O_DIRECT refused by the filesystem or device");
		else
			vmsp_bench_fail(r, errno, "disk_read: cannot open device");
		return -1;
	}
	if (fstat(t->fd, &st) < 0) {
		vmsp_bench_fail(r, errno, "disk_read: fstat failed");
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;
		if (ioctl(t->fd, BLKGETSIZE64, &t->size) < 0) {
			vmsp_bench_fail(r, errno, "disk_read: BLKGETSIZE64 failed");
			goto fail;
		}
		if (ioctl(t->fd, BLKSSZGET, &ssz) == 0 && ssz > (int)t->align)
			t->align = (uint64_t)ssz;
	} else if (S_ISREG(st.st_mode)) {
		t->size = (uint64_t)st.st_size;
	} else {
		vmsp_bench_fail(r, EINVAL, "disk_read: not a block device or regular file");
		goto fail;
	}
	if (t->align > DISK_BLOCK || (t->align & (t->align - 1)) != 0) {
		vmsp_bench_fail(r, EINVAL, "disk_read: unusual logical sector size");
		goto fail;
	}
	t->size -= t->size % t->align;
	if (t->size == 0) {
		vmsp_bench_fail(r, EINVAL, "disk_read: device smaller than one sector");
		goto fail;
	}
	return 0;

fail:
	close(t->fd);
	return -1;
}

/* The timed part: requests of at most block bytes into buf from *offset on, wrapping at the
 * end, until bytes are read or max_ms has passed; *offset is where the next sample starts. */
static void
disk_timed_reads(const struct disk_target *t, char *buf, size_t block, uint64_t bytes,
                 uint64_t *offset, unsigned max_ms, struct vmsp_result *r)
{
	uint64_t align = t->align, size = t->size;
	uint64_t off = *offset - *offset % align;
	if (off >= size)
		off = 0;
	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = vmsp_bench_deadline_after(now, max_ms);
	r->start_ns = now;
	while (r->bytes < bytes) {
		uint64_t len = bytes - r->bytes;
		if (len > block)
			len = block;
		if (len > size - off)
			len = size - off; /* never across the end: wrap instead */
		ssize_t n = pread(t->fd, buf, (size_t)len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL)
				vmsp_bench_fail(r, EINVAL,
				                "disk_read: O_DIRECT read refused (EINVAL)");
			else
				vmsp_bench_fail(r, errno, "disk_read: read failed");
			break;
		}
		if (n == 0) {
			/* The file shrank under us: start over, unless nothing is left at all. */
			if (off == 0) {
				vmsp_bench_fail(r, EIO, "disk_read: device returned no data");
				break;
			}
			off = 0;
			continue;
		}
		r->bytes += (uint64_t)n;
		r->ops++;
		off += ((uint64_t)n + align - 1) / align * align;
		if (off >= size)
			off = 0;
		now = vms_monotonic_ns();
		if (now >= deadline)
			break;
	}
	r->end_ns = now;
	*offset = off;
}

void
vmsp_disk_read(const char *device, uint64_t bytes, uint64_t *offset, unsigned max_ms,
               struct vmsp_result *r)
{
	struct disk_target t;

	memset(r, 0, sizeof(*r));
	if (!device || !offset) {
		vmsp_bench_fail(r, EINVAL, "disk_read: no device");
		return;
	}
	if (bytes == 0 || bytes > VMSP_DISK_READ_MAX_BYTES) {
		vmsp_bench_fail(r, EINVAL, "disk_read: size 0 or over 1 GiB");
		return;
	}
	if (disk_open(device, &t, r) < 0)
		return;
	bytes = (bytes + t.align - 1) / t.align * t.align;
	size_t block = bytes < DISK_BLOCK ? (size_t)bytes : DISK_BLOCK;
	/* O_DIRECT wants the buffer aligned like the offsets: a page may not be enough. */
	size_t map_len = block + (size_t)t.align;
	char *map = vmsp_bench_map_buffer(map_len);
	if (!map) {
		vmsp_bench_fail(r, errno, "disk_read: mmap failed");
		close(t.fd);
		return;
	}
	char *buf = (char *)(((uintptr_t)map + (uintptr_t)t.align - 1) & ~((uintptr_t)t.align - 1));
	disk_timed_reads(&t, buf, block, bytes, offset, max_ms, r);
	munmap(map, map_len);
	close(t.fd);
}

/* Devices never picked: not the hypervisor's disks, or no disks at all. */
static bool
pick_skipped(const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "sr", "fd"};
	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(name, skip[i], strlen(skip[i])) == 0)
			return true;
	return false;
}

/* An unconnected nbd, an empty drive: sysfs says 0 sectors. No size file: assume usable. */
static bool
size_zero(int dfd, const char *name)
{
	char path[NAME_MAX + 8], text[32];
	if (snprintf(path, sizeof(path), "%s/size", name) >= (int)sizeof(path))
		return true;
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return text[0] == '0' && (text[1] == '\n' || text[1] == '\0');
}

/* Shorter names first, then alphabetical: vda before vdb before vdaa, sda before nvme0n1. */
static bool
name_before(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la != lb ? la < lb : strcmp(a, b) < 0;
}

bool
vmsp_disk_pick(const char *sysfs_block, char *dev, size_t devsz)
{
	char best[NAME_MAX + 1] = "";
	struct dirent *e;

	DIR *d = opendir(sysfs_block ? sysfs_block : "/sys/block");
	if (!d)
		return false;
	while ((e = readdir(d)) != NULL) {
		if (pick_skipped(e->d_name) || size_zero(dirfd(d), e->d_name))
			continue;
		if (!best[0] || name_before(e->d_name, best))
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0] || !dev)
		return false;
	int n = snprintf(dev, devsz, "/dev/%s", best);
	if (n < 0 || (size_t)n >= devsz)
		return false;
	for (char *p = dev; *p; p++)
		if (*p == '!')
			*p = '/'; /* sysfs spells cciss/c0d0 as cciss!c0d0 */
	return true;
}

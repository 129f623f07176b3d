/*
 * Parser of Linux /proc/diskstats (Documentation/admin-guide/iostats.rst). Streams the file
 * through a stack buffer: no allocation, no static state, any number of lines.
 */
#include "probes/diskstats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A kernel line is under 400 bytes; anything longer than the buffer is not one. */
#define LINE_MAX_BYTES 4096
/* /proc/diskstats of 10 000 devices is ~2 MiB; stop rather than read a runaway file. */
#define FILE_MAX_BYTES (16u * 1024 * 1024)

/*
 * Skipped unless include_prefixes names them: virtual devices that stack on (dm-, md) or
 * stand in for (loop, ram, zram, nbd) the hypervisor's disks, whose I/O would be counted
 * twice or is not disk I/O at all, and removable media (sr, fd) that carry no workload.
 */
static const char *const default_skip[] = {"loop", "ram", "zram", "dm-", "md", "nbd", "sr", "fd"};

/* Whole-disk names whose partitions are the name followed by digits (vda1, sdb12). */
static const char *const letter_disks[] = {"sd", "vd", "hd", "xvd"};

static const char *const field_names[VMSP_DISK_FIELD_COUNT] = {
    "reads",          "read_merges",   "read_sectors",   "read_ms",         "writes",
    "write_merges",   "write_sectors", "write_ms",       "in_flight",       "io_ms",
    "weighted_io_ms", "discards",      "discard_merges", "discard_sectors", "discard_ms",
    "flushes",        "flush_ms",
};

const char *
vmsp_disk_field_name(enum vmsp_disk_field f)
{
	if ((unsigned)f >= VMSP_DISK_FIELD_COUNT)
		return "invalid";
	return field_names[f];
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses one unsigned decimal token at *pp; false on no digits, overflow or a bad end. */
static bool
parse_u64(const char **pp, const char *eol, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (p == eol || !is_digit(*p))
		return false;
	while (p < eol && is_digit(*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	if (p < eol && !is_space(*p))
		return false;
	*pp = p;
	*out = v;
	return true;
}

static const char *
skip_space(const char *p, const char *eol)
{
	while (p < eol && is_space(*p))
		p++;
	return p;
}

/* Does name start with one of the comma-separated prefixes in list? */
static bool
match_list(const char *name, const char *list)
{
	if (!list)
		return false;
	while (*list) {
		const char *comma = strchr(list, ',');
		size_t n = comma ? (size_t)(comma - list) : strlen(list);
		if (n > 0 && strncmp(name, list, n) == 0)
			return true;
		if (!comma)
			break;
		list = comma + 1;
	}
	return false;
}

static bool
skipped_by_default(const char *name)
{
	for (size_t i = 0; i < sizeof(default_skip) / sizeof(default_skip[0]); i++)
		if (strncmp(name, default_skip[i], strlen(default_skip[i])) == 0)
			return true;
	return false;
}

/* True if s is one or more digits and nothing else. */
static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/*
 * Partition by name alone, for guests without sysfs: sdXN/vdXN/hdXN/xvdXN, and the
 * "<digit>pN" form of nvme0n1p1, mmcblk0p1, loop0p1, nbd0p1, md127p1.
 */
static bool
partition_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(letter_disks) / sizeof(letter_disks[0]); i++) {
		size_t n = strlen(letter_disks[i]);
		if (strncmp(name, letter_disks[i], n) != 0)
			continue;
		const char *p = name + n;
		if (!(*p >= 'a' && *p <= 'z'))
			continue;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (all_digits(p))
			return true;
	}
	const char *p = strrchr(name, 'p');
	return p && p > name && is_digit(p[-1]) && all_digits(p + 1);
}

/* /sys/block lists whole disks only; the kernel writes '/' in names as '!' there. */
static bool
partition_by_sysfs(int dfd, const char *name)
{
	char entry[VMSP_DISK_NAME_MAX + 1];
	struct stat st;
	size_t i;
	for (i = 0; name[i]; i++)
		entry[i] = name[i] == '/' ? '!' : name[i];
	entry[i] = '\0';
	return fstatat(dfd, entry, &st, 0) != 0;
}

struct parse_ctx {
	const struct vmsp_disk_filter *filter;
	int sysfs_fd; /* -1: decide partitions by name */
	struct vmsp_disk *out;
	size_t max, n;
	unsigned skipped;
};

static bool
wanted(const struct parse_ctx *c, const char *name)
{
	const struct vmsp_disk_filter *f = c->filter;
	if (match_list(name, f->exclude_prefixes))
		return false;
	if (skipped_by_default(name) && !match_list(name, f->include_prefixes))
		return false;
	if (f->keep_partitions)
		return true;
	return c->sysfs_fd >= 0 ? !partition_by_sysfs(c->sysfs_fd, name) : !partition_by_name(name);
}

/* Returns false if the line is malformed. */
static bool
parse_line(struct parse_ctx *c, const char *p, const char *eol)
{
	struct vmsp_disk d;
	uint64_t major, minor, v;
	unsigned ncols = 0;

	memset(&d, 0, sizeof(d));
	p = skip_space(p, eol);
	if (!parse_u64(&p, eol, &major) || major > UINT_MAX)
		return false;
	p = skip_space(p, eol);
	if (!parse_u64(&p, eol, &minor) || minor > UINT_MAX)
		return false;
	p = skip_space(p, eol);

	/* The name becomes a protocol value and a metric label: printable ASCII, no '=', and
	 * it starts like a kernel device name (so "." or ".." never reach the sysfs lookup). */
	const char *name = p;
	while (p < eol && !is_space(*p)) {
		if (*p < 0x21 || *p > 0x7e || *p == '=')
			return false;
		p++;
	}
	size_t len = (size_t)(p - name);
	if (len == 0 || len > VMSP_DISK_NAME_MAX || !is_alnum(name[0]))
		return false;
	memcpy(d.name, name, len);
	d.name[len] = '\0';

	/* Every column must be a number, even those past the 17 we know (future kernels). */
	for (;;) {
		p = skip_space(p, eol);
		if (p == eol)
			break;
		if (!parse_u64(&p, eol, &v))
			return false;
		if (ncols < VMSP_DISK_FIELD_COUNT)
			d.v[ncols] = v;
		ncols++;
	}

	/*
	 * 11 (< 4.18), 15 (discards, 4.18+), 17 (flushes, 5.5+) or more. Kernels before 2.6.25
	 * printed partitions with 4 columns: well formed but too little to report, so they
	 * go the way of filtered lines, uncounted.
	 */
	if (ncols == 4)
		return true;
	if (ncols != 11 && ncols != 15 && ncols < 17)
		return false;
	if (!wanted(c, d.name))
		return true;
	if (c->n >= c->max) {
		c->skipped++; /* out of room: lost, so say so */
		return true;
	}
	d.major = (unsigned)major;
	d.minor = (unsigned)minor;
	d.nfields = ncols < VMSP_DISK_FIELD_COUNT ? ncols : VMSP_DISK_FIELD_COUNT;
	c->out[c->n++] = d;
	return true;
}

static void
handle_line(struct parse_ctx *c, const char *p, size_t len)
{
	const char *eol = p + len;
	if (skip_space(p, eol) == eol)
		return; /* a blank line is no device */
	if (!parse_line(c, p, eol))
		c->skipped++;
}

int
vmsp_diskstats_read(const char *path, const struct vmsp_disk_filter *filter, struct vmsp_disk *out,
                    size_t max, unsigned *skipped)
{
	static const struct vmsp_disk_filter defaults = {.sysfs_block = NULL};
	struct parse_ctx c = {.filter = filter ? filter : &defaults,
	                      .sysfs_fd = -1,
	                      .out = out,
	                      .max = out ? max : 0};
	char buf[LINE_MAX_BYTES];
	size_t len = 0, total = 0;
	bool discarding = false; /* inside a line longer than buf */
	int rc = -1, saved = 0;

	if (skipped)
		*skipped = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Without a usable sysfs (a minimal initramfs), fall back to names. */
	if (c.filter->sysfs_block && !c.filter->keep_partitions)
		c.sysfs_fd = open(c.filter->sysfs_block, O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > FILE_MAX_BYTES) {
			saved = EFBIG;
			goto cleanup;
		}
		len += (size_t)r;

		char *p = buf, *end = buf + len, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (discarding) {
				discarding = false;
				c.skipped++;
			} else {
				handle_line(&c, p, (size_t)(nl - p));
			}
			p = nl + 1;
		}
		len = (size_t)(end - p);
		memmove(buf, p, len);
		if (len == sizeof(buf)) {
			discarding = true;
			len = 0;
		}
	}
	/* The last line may lack its newline. */
	if (discarding)
		c.skipped++;
	else if (len > 0)
		handle_line(&c, buf, len);
	rc = (int)(c.n > INT_MAX ? INT_MAX : c.n);

cleanup:
	if (c.sysfs_fd >= 0)
		close(c.sysfs_fd);
	close(fd);
	if (skipped)
		*skipped = c.skipped;
	if (rc < 0)
		errno = saved;
	return rc;
}

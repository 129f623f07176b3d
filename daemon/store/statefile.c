/* State files (see statefile.h). */
#include "daemon/store/statefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon/util/log.h"
#include "daemon/util/alloc.h"
#include "daemon/util/atomicfile.h"

#define MAGIC "vmscale-state "
#define MAGIC_LEN (sizeof(MAGIC) - 1)
#define MAX_QUARANTINE_SUFFIX 1000

/* zlib's crc32 takes uInt lengths: feed it in chunks so any size_t works. */
static unsigned long
crc_update(unsigned long crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

static bool
kind_valid(const char *kind, size_t n)
{
	if (n == 0 || n > VMS_STATEFILE_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kind[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* "16 MiB" rather than 16777216 in messages an operator reads. */
static void
size_text(size_t n, char *buf, size_t bufsz)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, bufsz, "%zu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, bufsz, "%zu KiB", n >> 10);
	else
		snprintf(buf, bufsz, "%zu-byte", n);
}

/* Reads until len bytes or end of file; returns the count or -1. */
static ssize_t
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
vms_statefile_write(const char *path, const char *kind, unsigned version, const void *payload,
                    size_t len, char *err, size_t errsz)
{
	char hdr[VMS_STATEFILE_HEADER_MAX], limit[32];
	int hlen;
	unsigned long crc;

	if (!kind_valid(kind, strlen(kind))) {
		snprintf(err, errsz, "cannot write %s: invalid state kind '%.40s'", path, kind);
		return -1;
	}
	if (len > VMS_STATEFILE_MAX_LEN) {
		size_text(VMS_STATEFILE_MAX_LEN, limit, sizeof(limit));
		snprintf(err, errsz,
		         "cannot write %s: payload of %zu bytes is larger than the %s limit", path,
		         len, limit);
		return -1;
	}

	hlen = snprintf(hdr, sizeof(hdr), MAGIC "%s %u %zu ", kind, version, len);
	crc = crc_update(crc32(0L, Z_NULL, 0), hdr, (size_t)hlen);
	crc = crc_update(crc, payload, len);
	hlen += snprintf(hdr + hlen, sizeof(hdr) - (size_t)hlen, "%08lx\n", crc & 0xffffffffUL);

	struct iovec iov[2] = {{.iov_base = hdr, .iov_len = (size_t)hlen},
	                       {.iov_base = (void *)(uintptr_t)payload, .iov_len = len}};
	return vms_atomic_writev(path, iov, 2, 0600, err, errsz);
}

/* A decimal without sign or leading zeros, ending at sep; saturates at UINT64_MAX. */
static bool
parse_dec(const char **p, char sep, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	if (*s != sep)
		return false;
	*out = v;
	*p = s + 1;
	return true;
}

static bool
parse_crc(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') /* lowercase only: one spelling per value */
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return false;
	}
	if (s[8] != '\n')
		return false;
	*out = v;
	return true;
}

int
vms_statefile_read(const char *path, const char *kind, unsigned version, size_t max_len,
                   char **payload, size_t *len, unsigned *file_version, char *err, size_t errsz)
{
	char hdr[VMS_STATEFILE_HEADER_MAX + 1], limit[32], extra;
	const char *p, *nl, *k;
	char *buf = NULL;
	int fd, ret = -1;
	ssize_t got, n;
	size_t hlen, have, klen;
	uint64_t fversion, plen, fsize;
	uint32_t want_crc;
	unsigned long crc;
	struct stat st;

	*payload = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO planted at path must not hang the daemon's startup. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsz, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "not a regular file");
		goto cleanup;
	}
	fsize = (uint64_t)st.st_size;

	got = read_full(fd, hdr, VMS_STATEFILE_HEADER_MAX);
	if (got < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto cleanup;
	}
	hdr[got] = '\0';
	if (fsize < (uint64_t)got)
		fsize = (uint64_t)got; /* it grew since fstat: the checks below still hold */
	if (got == 0) {
		snprintf(err, errsz, "empty file");
		goto cleanup;
	}
	if (memcmp(hdr, MAGIC, (size_t)got < MAGIC_LEN ? (size_t)got : MAGIC_LEN) != 0) {
		snprintf(err, errsz, "not a vmscale state file");
		goto cleanup;
	}
	nl = memchr(hdr, '\n', (size_t)got);
	if (!nl) {
		if (got < VMS_STATEFILE_HEADER_MAX)
			snprintf(err, errsz, "truncated header (%zd bytes, no end of line)", got);
		else
			snprintf(err, errsz, "header line longer than %d bytes",
			         VMS_STATEFILE_HEADER_MAX);
		goto cleanup;
	}
	hlen = (size_t)(nl - hdr) + 1;
	if (memchr(hdr, '\0', hlen)) {
		snprintf(err, errsz, "malformed header");
		goto cleanup;
	}

	k = hdr + MAGIC_LEN;
	p = strchr(k, ' ');
	klen = p ? (size_t)(p - k) : 0;
	if (!p || p > nl || !kind_valid(k, klen)) {
		snprintf(err, errsz, "malformed header");
		goto cleanup;
	}
	if (klen != strlen(kind) || memcmp(k, kind, klen) != 0) {
		snprintf(err, errsz, "kind '%.*s', expected '%s'", (int)klen, k, kind);
		goto cleanup;
	}
	p++;
	if (!parse_dec(&p, ' ', &fversion)) {
		snprintf(err, errsz, "malformed header");
		goto cleanup;
	}
	if (fversion > version) {
		if (fversion > UINT_MAX)
			snprintf(err, errsz, "format version out of range");
		else
			snprintf(err, errsz, "format version %u is newer than this vmscaled (%u)",
			         (unsigned)fversion, version);
		goto cleanup;
	}
	if (!parse_dec(&p, ' ', &plen)) {
		snprintf(err, errsz, "malformed header");
		goto cleanup;
	}
	/* Checked before anything is allocated: the length is the file's word, not ours. */
	if (plen > max_len) {
		size_text(max_len, limit, sizeof(limit));
		snprintf(err, errsz, "header says %llu bytes, larger than the %s limit",
		         (unsigned long long)plen, limit);
		goto cleanup;
	}
	if (!parse_crc(p, &want_crc) || p + 8 != nl) {
		snprintf(err, errsz, "malformed header");
		goto cleanup;
	}
	/* The size says truncation or garbage before a payload-sized allocation happens. */
	if (fsize - hlen < plen) {
		snprintf(err, errsz, "truncated: header says %llu bytes, file has %llu",
		         (unsigned long long)plen, (unsigned long long)(fsize - hlen));
		goto cleanup;
	}
	if (fsize - hlen > plen) {
		snprintf(err, errsz, "trailing garbage: %llu bytes after the %llu-byte payload",
		         (unsigned long long)(fsize - hlen - plen), (unsigned long long)plen);
		goto cleanup;
	}

	buf = vms_xcalloc((size_t)plen + 1, 1);
	have = (size_t)got - hlen;
	if (have > plen)
		have = (size_t)plen; /* only if the file grew since fstat: caught below */
	memcpy(buf, hdr + hlen, have);
	n = read_full(fd, buf + have, (size_t)plen - have);
	if (n < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto cleanup;
	}
	have += (size_t)n;
	/* Re-checked on the bytes themselves: the file may change between fstat and read. */
	if (have < plen) {
		snprintf(err, errsz, "truncated: header says %llu bytes, file has %zu",
		         (unsigned long long)plen, have);
		goto cleanup;
	}
	if ((size_t)got - hlen > plen || read_full(fd, &extra, 1) != 0) {
		snprintf(err, errsz, "trailing garbage after the %llu-byte payload",
		         (unsigned long long)plen);
		goto cleanup;
	}
	crc = crc_update(crc32(0L, Z_NULL, 0), hdr, (size_t)(p - hdr));
	crc = crc_update(crc, buf, (size_t)plen);
	if ((crc & 0xffffffffUL) != want_crc) {
		snprintf(err, errsz, "checksum mismatch");
		goto cleanup;
	}

	*payload = buf;
	*len = (size_t)plen;
	if (file_version)
		*file_version = (unsigned)fversion;
	buf = NULL;
	ret = 0;
cleanup:
	free(buf);
	close(fd);
	return ret;
}

int
vms_statefile_clean_temps(const char *path)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 8];
	const char *base = strrchr(path, '/');
	struct dirent *e;
	size_t plen;
	int removed = 0;
	DIR *d;

	base = base ? base + 1 : path;
	if (vms_folder_of(path, dir, sizeof(dir)) < 0)
		return -1;
	if (snprintf(prefix, sizeof(prefix), "%s" VMS_ATOMIC_TMP_INFIX, base) >=
	    (int)sizeof(prefix)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	plen = strlen(prefix);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		if (strncmp(s, prefix, plen) != 0 || s[plen] == '\0')
			continue;
		/* Exactly our names (".tmp." and a PID), not files an operator made. */
		if (strspn(s + plen, "0123456789") != strlen(s + plen))
			continue;
		if (unlinkat(dirfd(d), s, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int
vms_statefile_quarantine_at(const char *path, time_t now, char *moved_to, size_t moved_to_sz)
{
	char stamp[32];
	struct tm tm;
	int n;

	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0) {
		errno = EOVERFLOW;
		return -1;
	}
	for (int i = 0; i < MAX_QUARANTINE_SUFFIX; i++) {
		if (i == 0)
			n = snprintf(moved_to, moved_to_sz, "%s.bad-%s", path, stamp);
		else
			n = snprintf(moved_to, moved_to_sz, "%s.bad-%s-%d", path, stamp, i);
		if (n < 0 || (size_t)n >= moved_to_sz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		/* NOREPLACE: an earlier quarantined file is evidence too, never overwritten. */
		if (renameat2(AT_FDCWD, path, AT_FDCWD, moved_to, RENAME_NOREPLACE) == 0)
			goto moved;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* A filesystem without RENAME_NOREPLACE: check, then rename (one writer here). */
		struct stat st;
		if (lstat(moved_to, &st) == 0)
			continue;
		if (rename(path, moved_to) == 0)
			goto moved;
		return -1;
	}
	errno = EEXIST;
	return -1;
moved:
	/* Best effort: if the move is lost in a crash, the next start simply quarantines again. */
	vms_fsync_folder(path);
	return 0;
}

int
vms_statefile_quarantine(const char *path, char *moved_to, size_t moved_to_sz)
{
	return vms_statefile_quarantine_at(path, time(NULL), moved_to, moved_to_sz);
}

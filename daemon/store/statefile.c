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

/* What the header line says, and where in it the checksummed part ends. */
struct header {
	size_t len;     /* of the line, its newline included */
	size_t crc_len; /* the bytes the checksum covers: all before the checksum itself */
	uint64_t version, plen;
	uint32_t crc;
};

/* 1 if there is no file, 0 with *fd open on a regular file of *fsize bytes, -1 refused. */
static int
open_state(const char *path, int *fd, uint64_t *fsize, char *err, size_t errsz)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO planted at path must not hang the daemon's startup. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errsz, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "not a regular file");
		goto fail;
	}
	*fsize = (uint64_t)st.st_size;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return -1;
}

/* Checks the first got bytes of the file (NUL-terminated in hdr) as a header of this kind. */
static int
parse_header(const char *hdr, size_t got, const char *kind, unsigned version, size_t max_len,
             struct header *h, char *err, size_t errsz)
{
	char limit[32];
	const char *p, *nl, *k;
	size_t klen;

	if (got == 0) {
		snprintf(err, errsz, "empty file");
		return -1;
	}
	if (memcmp(hdr, MAGIC, got < MAGIC_LEN ? got : MAGIC_LEN) != 0) {
		snprintf(err, errsz, "not a vmscale state file");
		return -1;
	}
	nl = memchr(hdr, '\n', got);
	if (!nl) {
		if (got < VMS_STATEFILE_HEADER_MAX)
			snprintf(err, errsz, "truncated header (%zu bytes, no end of line)", got);
		else
			snprintf(err, errsz, "header line longer than %d bytes",
			         VMS_STATEFILE_HEADER_MAX);
		return -1;
	}
	h->len = (size_t)(nl - hdr) + 1;
	if (memchr(hdr, '\0', h->len))
		goto malformed;

	k = hdr + MAGIC_LEN;
	p = strchr(k, ' ');
	klen = p ? (size_t)(p - k) : 0;
	if (!p || p > nl || !kind_valid(k, klen))
		goto malformed;
	if (klen != strlen(kind) || memcmp(k, kind, klen) != 0) {
		snprintf(err, errsz, "kind '%.*s', expected '%s'", (int)klen, k, kind);
		return -1;
	}
	p++;
	if (!parse_dec(&p, ' ', &h->version))
		goto malformed;
	if (h->version > version) {
		if (h->version > UINT_MAX)
			snprintf(err, errsz, "format version out of range");
		else
			snprintf(err, errsz, "format version %u is newer than this vmscaled (%u)",
			         (unsigned)h->version, version);
		return -1;
	}
	if (!parse_dec(&p, ' ', &h->plen))
		goto malformed;
	/* Checked before anything is allocated: the length is the file's word, not ours. */
	if (h->plen > max_len) {
		size_text(max_len, limit, sizeof(limit));
		snprintf(err, errsz, "header says %llu bytes, larger than the %s limit",
		         (unsigned long long)h->plen, limit);
		return -1;
	}
	if (!parse_crc(p, &h->crc) || p + 8 != nl)
		goto malformed;
	h->crc_len = (size_t)(p - hdr);
	return 0;
malformed:
	snprintf(err, errsz, "malformed header");
	return -1;
}

/*
 * The payload after the header: got bytes of the file are in hdr already, the rest comes from
 * fd. The file's size (fsize) is checked before the allocation, the bytes themselves after.
 * Returns the payload (NUL-terminated, h->plen bytes) or NULL with a message in err.
 */
static char *
read_payload(int fd, const char *hdr, size_t got, uint64_t fsize, const struct header *h, char *err,
             size_t errsz)
{
	uint64_t plen = h->plen;
	size_t have;
	ssize_t n;
	char extra, *buf;
	unsigned long crc;

	/* The size says truncation or garbage before a payload-sized allocation happens. */
	if (fsize - h->len < plen) {
		snprintf(err, errsz, "truncated: header says %llu bytes, file has %llu",
		         (unsigned long long)plen, (unsigned long long)(fsize - h->len));
		return NULL;
	}
	if (fsize - h->len > plen) {
		snprintf(err, errsz, "trailing garbage: %llu bytes after the %llu-byte payload",
		         (unsigned long long)(fsize - h->len - plen), (unsigned long long)plen);
		return NULL;
	}

	buf = vms_xcalloc((size_t)plen + 1, 1);
	have = got - h->len;
	if (have > plen)
		have = (size_t)plen; /* only if the file grew since fstat: caught below */
	memcpy(buf, hdr + h->len, have);
	n = read_full(fd, buf + have, (size_t)plen - have);
	if (n < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto fail;
	}
	have += (size_t)n;
	/* Re-checked on the bytes themselves: the file may change between fstat and read. */
	if (have < plen) {
		snprintf(err, errsz, "truncated: header says %llu bytes, file has %zu",
		         (unsigned long long)plen, have);
		goto fail;
	}
	if (got - h->len > plen || read_full(fd, &extra, 1) != 0) {
		snprintf(err, errsz, "trailing garbage after the %llu-byte payload",
		         (unsigned long long)plen);
		goto fail;
	}
	crc = crc_update(crc32(0L, Z_NULL, 0), hdr, h->crc_len);
	crc = crc_update(crc, buf, (size_t)plen);
	if ((crc & 0xffffffffUL) != h->crc) {
		snprintf(err, errsz, "checksum mismatch");
		goto fail;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

int
vms_statefile_read(const char *path, const char *kind, unsigned version, size_t max_len,
                   char **payload, size_t *len, unsigned *file_version, char *err, size_t errsz)
{
	char hdr[VMS_STATEFILE_HEADER_MAX + 1];
	char *buf = NULL;
	int fd, rc;
	ssize_t got;
	uint64_t fsize;
	struct header h;

	*payload = NULL;
	*len = 0;
	rc = open_state(path, &fd, &fsize, err, errsz);
	if (rc != 0)
		return rc;
	got = read_full(fd, hdr, VMS_STATEFILE_HEADER_MAX);
	if (got < 0) {
		snprintf(err, errsz, "cannot read: %s", strerror(errno));
		goto cleanup;
	}
	hdr[got] = '\0';
	if (fsize < (uint64_t)got)
		fsize = (uint64_t)got; /* it grew since fstat: the checks below still hold */
	if (parse_header(hdr, (size_t)got, kind, version, max_len, &h, err, errsz) < 0)
		goto cleanup;
	buf = read_payload(fd, hdr, (size_t)got, fsize, &h, err, errsz);
	if (!buf)
		goto cleanup;

	*payload = buf;
	*len = (size_t)h.plen;
	if (file_version)
		*file_version = (unsigned)h.version;
cleanup:
	close(fd);
	return buf ? 0 : -1;
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

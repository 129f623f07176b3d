/* Atomic file replacement (see atomicfile.h). */
#include "daemon/util/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
vms_folder_of(const char *path, char *buf, size_t bufsz)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	if (!slash) {
		snprintf(buf, bufsz, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= bufsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n);
	buf[n] = '\0';
	return 0;
}

int
vms_fsync_folder(const char *path)
{
	char dir[PATH_MAX];
	int fd, ret = -1, saved;
	if (vms_folder_of(path, dir, sizeof(dir)) < 0)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0)
		goto cleanup;
	ret = 0;
cleanup:
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* O_EXCL never follows a symlink at tmp: it fails with EEXIST, and unlink removes the link. */
static int
create_tmp(const char *tmp, mode_t mode)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, flags, mode);
	return fd;
}

/* Fills tmp with the buffers and closes it; -1 with errno on any failure (fd closed). */
static int
fill_tmp(int fd, const struct iovec *iov, size_t niov, mode_t mode)
{
	/* fchmod: the umask may have taken bits from the mode open() was given. */
	bool ok = fchmod(fd, mode) == 0;
	for (size_t i = 0; ok && i < niov; i++)
		ok = write_all(fd, iov[i].iov_base, iov[i].iov_len) == 0;
	ok = ok && fsync(fd) == 0;
	int saved = errno;
	/* close() can report a deferred write error (NFS): the data must be known good. */
	if (close(fd) < 0 && ok)
		return -1;
	errno = saved;
	return ok ? 0 : -1;
}

int
vms_atomic_writev(const char *path, const struct iovec *iov, size_t niov, mode_t mode, char *err,
                  size_t errsz)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s" VMS_ATOMIC_TMP_INFIX "%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	int fd = create_tmp(tmp, mode);
	if (fd < 0) {
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fill_tmp(fd, iov, niov, mode) < 0) {
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errsz, "cannot write %s: rename from %s: %s", path, tmp,
		         strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (vms_fsync_folder(path) < 0) {
		snprintf(err, errsz, "cannot write %s: fsync of its folder: %s", path,
		         strerror(errno));
		return -1;
	}
	return 0;
}

int
vms_atomic_write(const char *path, const void *data, size_t len, mode_t mode, char *err,
                 size_t errsz)
{
	struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
	return vms_atomic_writev(path, &iov, 1, mode, err, errsz);
}

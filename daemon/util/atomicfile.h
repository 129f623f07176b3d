/*
 * Replacing a file so that readers and a crash see either the old content or the new, never
 * a mix: write a private temp file next to it, fsync, rename over, fsync the folder.
 */
#ifndef VMSCALE_UTIL_ATOMICFILE_H
#define VMSCALE_UTIL_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The temp file is PATH VMS_ATOMIC_TMP_INFIX PID: one writer per process and path. */
#define VMS_ATOMIC_TMP_INFIX ".tmp."

/*
 * Writes the buffers, in order, as the new content of path with exactly this mode. The temp
 * file is made with O_EXCL | O_NOFOLLOW | O_CLOEXEC (a stale one, or a symlink planted in its
 * place, is unlinked once, never followed), written in full, fsync'd, closed with its error
 * checked, renamed over path; then path's folder is fsync'd so that the rename survives a
 * crash. 0, or -1 with "cannot write PATH: why" in err; on failure no temp is left behind and
 * path is untouched (unless only the folder's fsync failed: then path is new, not yet durable).
 */
int vms_atomic_writev(const char *path, const struct iovec *iov, size_t niov, mode_t mode,
                      char *err, size_t errsz);
/* The same for one buffer. */
int vms_atomic_write(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errsz);

/* The folder of path ("." for a bare name); -1 with errno ENAMETOOLONG if bufsz is short. */
int vms_folder_of(const char *path, char *buf, size_t bufsz);
/* fsync of path's folder: makes a rename into it durable. 0, or -1 with errno set. */
int vms_fsync_folder(const char *path);

#endif

/*
 * State files: the container in which the daemon keeps state across restarts (the degradation
 * analysis' baselines and statistics under /var/lib/vmscale). The payload is opaque here; this
 * module only makes sure that what is read back is exactly what one complete write stored.
 *
 * Format: one header line, then exactly LENGTH payload bytes and nothing else:
 *
 *	vmscale-state KIND VERSION LENGTH CRC32\n
 *
 * KIND is a short word ([a-z0-9_-], at most VMS_STATEFILE_KIND_MAX characters), VERSION and
 * LENGTH are decimal without leading zeros, CRC32 is 8 lowercase hex digits of the CRC-32/IEEE
 * (zlib's) of the header text up to and including the space before it, followed by the
 * payload. Covering the header too means that a flipped bit in VERSION cannot turn a current
 * file into an "older" one that a caller would migrate.
 *
 * Writes are atomic (temp file in the same folder, fsync, rename, fsync of the folder): a
 * kill -9 or a power cut at any moment leaves either the previous file or the new one.
 *
 * Expected use at startup:
 *
 *	vms_statefile_clean_temps(path);                 (no writer exists yet)
 *	r = vms_statefile_read(path, "analysis", 1, VMS_STATEFILE_MAX_LEN, &p, &n, &fv, err, sz);
 *	if (r < 0 && vms_statefile_quarantine(path, bad, sizeof(bad)) == 0)
 *		vms_warn("state file %s unusable (%s): moved to %s, starting fresh",
 *			 path, err, bad);
 *
 * and vms_statefile_write() once per interval.
 */
#ifndef VMSCALE_STATEFILE_H
#define VMSCALE_STATEFILE_H

#include <stddef.h>
#include <time.h>

#define VMS_STATEFILE_MAX_LEN                                                                      \
	(64u << 20) /* the largest payload written (1 000 domains with every bucket full take      \
	               about 30 MiB); a sane read limit */
#define VMS_STATEFILE_KIND_MAX 32
#define VMS_STATEFILE_HEADER_MAX 128 /* bytes, newline included; real headers are < 90 */

/*
 * Writes payload atomically to path: the header then the payload into "path.tmp.PID"
 * (O_CREAT|O_EXCL|O_CLOEXEC, mode 0600), fsync, rename over path, fsync of the folder. A
 * leftover "path.tmp.PID" with our own PID can only come from a killed earlier instance that
 * had the same PID (containers), so it is replaced. Returns 0, or -1 with err naming the path
 * ("cannot write /var/lib/vmscale/analysis.state: No space left on device"); on failure before
 * the rename the old file is untouched and the temp file removed. If only the final fsync of
 * the folder fails, the new file is in place but may not survive a power cut: -1 as well.
 * kind must be a valid KIND, len at most VMS_STATEFILE_MAX_LEN.
 */
int vms_statefile_write(const char *path, const char *kind, unsigned version, const void *payload,
                        size_t len, char *err, size_t errsz);

/*
 * Reads and checks path. Returns 0 with *payload (malloc'd, NUL-terminated for convenience,
 * the caller frees), *len and, when file_version is not NULL, *file_version: the file's
 * format version, which may be lower than version (the caller migrates or discards).
 * Returns 1 when the file does not exist. Returns -1 when it cannot be used, with err saying
 * why without naming the file (the caller's log line does): "not a vmscale state file",
 * "kind 'x', expected 'analysis'", "format version 7 is newer than this vmscaled (1)",
 * "truncated: header says 1234 bytes, file has 1000", "checksum mismatch", "...larger than
 * the 16 MiB limit", "trailing garbage...", "not a regular file", "cannot read: ...".
 * Never allocates more than max_len + 1 bytes (nor more than the file holds), never reads
 * more than VMS_STATEFILE_HEADER_MAX header bytes, never blocks on a FIFO. Leaves temp files
 * alone: see vms_statefile_clean_temps().
 */
int vms_statefile_read(const char *path, const char *kind, unsigned version, size_t max_len,
                       char **payload, size_t *len, unsigned *file_version, char *err,
                       size_t errsz);

/*
 * Removes the "path.tmp.PID" files that writes interrupted by kill -9 or a crash left in
 * path's folder. Call it at startup, before the first write: any such file then belongs to
 * a dead writer. Returns how many were removed, or -1 with errno if the folder cannot be
 * listed (a file that cannot be removed is skipped).
 */
int vms_statefile_clean_temps(const char *path);

/*
 * Moves an unusable file aside to "path.bad-YYYYmmddTHHMMSS" (UTC; "-N" appended if that
 * exists, never replacing anything) so an operator can inspect it; fills moved_to. Returns 0,
 * or -1 with errno (ENAMETOOLONG when moved_to is too small).
 */
int vms_statefile_quarantine(const char *path, char *moved_to, size_t moved_to_sz);

/* The same at a given time (tests; callers with their own clock). */
int vms_statefile_quarantine_at(const char *path, time_t now, char *moved_to, size_t moved_to_sz);

#endif

/*
 * Atomic file replacement: the content lands with exactly the mode asked for whatever the umask,
 * a symlink planted at the temp path is not followed, no temp is left behind, and a failed
 * write leaves the old file as it was.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/util/atomicfile.h"
#include "check.h"

static char dir[64];
static char path[128];
static char tmp[192]; /* where the writer makes its temp file */

static void
put_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

static bool
has_content(const char *p, const char *want)
{
	size_t len;
	char *got = check_read_file(p, &len);
	bool ok = len == strlen(want) && memcmp(got, want, len) == 0;
	if (!ok)
		fprintf(stderr, "  %s holds '%s', want '%s'\n", p, got, want);
	free(got);
	return ok;
}

static bool
absent(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) < 0 && errno == ENOENT;
}

static void
test_content_and_mode(void)
{
	char err[256] = "";
	CHECK_INT(vms_atomic_write(path, "first\n", 6, 0600, err, sizeof(err)), 0);
	CHECK(has_content(path, "first\n"));
	/* A umask that takes the owner's write bit: the mode is still exactly 0600. */
	mode_t saved = umask(0277);
	CHECK_INT(vms_atomic_write(path, "second\n", 7, 0600, err, sizeof(err)), 0);
	umask(saved);
	struct stat sb;
	CHECK(stat(path, &sb) == 0);
	CHECK_INT(sb.st_mode & 07777, 0600);
	CHECK(has_content(path, "second\n"));
	CHECK(absent(tmp));

	/* Several buffers, in order; an empty one among them. */
	char head[] = "head ", none[] = "", tail[] = "tail";
	struct iovec iov[3] = {{.iov_base = head, .iov_len = 5},
	                       {.iov_base = none, .iov_len = 0},
	                       {.iov_base = tail, .iov_len = 4}};
	CHECK_INT(vms_atomic_writev(path, iov, 3, 0600, err, sizeof(err)), 0);
	CHECK(has_content(path, "head tail"));
	CHECK(absent(tmp));
}

static void
test_symlink_not_followed(void)
{
	char err[256] = "", victim[160];
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	put_file(victim, "precious");
	CHECK(symlink(victim, tmp) == 0);
	CHECK_INT(vms_atomic_write(path, "new", 3, 0600, err, sizeof(err)), 0);
	CHECK(has_content(victim, "precious"));
	CHECK(has_content(path, "new"));
	struct stat sb;
	CHECK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode));
	CHECK(absent(tmp));
	/* A dangling one, whose target open() would otherwise create: not created. */
	char nowhere[160];
	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", dir);
	CHECK(symlink(nowhere, tmp) == 0);
	CHECK_INT(vms_atomic_write(path, "newer", 5, 0600, err, sizeof(err)), 0);
	CHECK(absent(nowhere));
	CHECK(has_content(path, "newer"));
	CHECK(absent(tmp));
	unlink(victim);
}

static void
test_failures_leave_old_file(void)
{
	char err[512], want[512];
	CHECK_INT(vms_atomic_write(path, "old", 3, 0600, err, sizeof(err)), 0);

	/* The temp name taken by something that cannot be removed (a non-empty folder). */
	char inner[256];
	snprintf(inner, sizeof(inner), "%s/x", tmp);
	CHECK(mkdir(tmp, 0700) == 0);
	put_file(inner, "x");
	CHECK_INT(vms_atomic_write(path, "new", 3, 0600, err, sizeof(err)), -1);
	CHECK(strncmp(err, "cannot write ", 13) == 0);
	CHECK(has_content(path, "old"));
	unlink(inner);
	rmdir(tmp);

	/* Out of space mid-write (the file size limit stands in for a full disk). */
	static char large[4096];
	memset(large, 'L', sizeof(large));
	struct rlimit saved, lim;
	getrlimit(RLIMIT_FSIZE, &saved);
	lim = saved;
	lim.rlim_cur = 100;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	int r = vms_atomic_write(path, large, sizeof(large), 0600, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &saved);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_INT(r, -1);
	snprintf(want, sizeof(want), "cannot write %s: File too large", path);
	CHECK_STR(err, want);
	CHECK(has_content(path, "old"));
	CHECK(absent(tmp));

	/* The rename fails (a non-empty folder in the way): the temp goes too. */
	char blocked[160], btmp[192];
	snprintf(blocked, sizeof(blocked), "%s/blocked", dir);
	snprintf(inner, sizeof(inner), "%s/x", blocked);
	snprintf(btmp, sizeof(btmp), "%s" VMS_ATOMIC_TMP_INFIX "%ld", blocked, (long)getpid());
	CHECK(mkdir(blocked, 0700) == 0);
	put_file(inner, "x");
	CHECK_INT(vms_atomic_write(blocked, "new", 3, 0600, err, sizeof(err)), -1);
	CHECK(strstr(err, "rename") != NULL);
	CHECK(has_content(inner, "x"));
	CHECK(absent(btmp));
	unlink(inner);
	rmdir(blocked);

	/* A folder that does not exist. */
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/missing/file", dir);
	CHECK_INT(vms_atomic_write(missing, "new", 3, 0600, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot write %s: No such file or directory", missing);
	CHECK_STR(err, want);
}

static void
test_folder_of(void)
{
	char buf[16];
	CHECK_INT(vms_folder_of("a/b/c", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "a/b");
	CHECK_INT(vms_folder_of("/top", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/");
	CHECK_INT(vms_folder_of("bare", buf, sizeof(buf)), 0);
	CHECK_STR(buf, ".");
	errno = 0;
	CHECK_INT(vms_folder_of("a-long-folder-name/x", buf, sizeof(buf)), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_INT(vms_fsync_folder(path), 0);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_atomicfile.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(tmp, sizeof(tmp), "%s" VMS_ATOMIC_TMP_INFIX "%ld", path, (long)getpid());
	int fds = check_count_fds();

	test_content_and_mode();
	test_symlink_not_followed();
	test_failures_leave_old_file();
	test_folder_of();

	CHECK_INT(check_count_fds(), fds);
	check_remove_tree(dir);
	return check_done("test_atomicfile");
}

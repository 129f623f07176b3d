/*
 * State files: round trips, every truncation and every flipped bit refused, foreign, other-kind,
 * newer and oversize files refused without big allocations, quarantine names, failed writes
 * that leave the old file alone, and a writer killed with SIGKILL at random moments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/store/statefile.h"
#include "check.h"

static char dir[64];
static char path[128];

/* Deterministic pseudo-random numbers, so a failure replays (xorshift64). */
static unsigned long long rng_state = 88172645463325252ull;

static unsigned long long
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
put_file(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

/* Reads path as kind "analysis" version 1 with the default limit; returns read's result. */
static int
rd(char **payload, size_t *len, char *err, size_t errsz)
{
	return vms_statefile_read(path, "analysis", 1, VMS_STATEFILE_MAX_LEN, payload, len, NULL,
	                          err, errsz);
}

static int
count_temps(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void
test_round_trip(void)
{
	char err[256] = "", *p = NULL;
	size_t n = 99;
	unsigned fv = 0;
	unsigned char bin[512];
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i; /* NULs, newlines, high bytes */

	CHECK_INT(vms_statefile_write(path, "analysis", 1, bin, sizeof(bin), err, sizeof(err)), 0);
	CHECK_INT(vms_statefile_read(path, "analysis", 1, VMS_STATEFILE_MAX_LEN, &p, &n, &fv, err,
	                             sizeof(err)),
	          0);
	CHECK_INT(n, sizeof(bin));
	CHECK_INT(fv, 1);
	CHECK(p && memcmp(p, bin, sizeof(bin)) == 0 && p[n] == '\0');
	free(p);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* The header is the documented text line. */
	size_t flen;
	char *raw = check_read_file(path, &flen);
	CHECK(strncmp(raw, "vmscale-state analysis 1 512 ", 29) == 0);
	CHECK(flen == 29 + 9 + 512 && raw[29 + 8] == '\n');
	free(raw);

	/* Empty payload. */
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "", 0, err, sizeof(err)), 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	CHECK(p && p[0] == '\0');
	free(p);

	/* Text payload, NUL-terminated for the parser. */
	const char *text = "baseline cpu 0.93\nbaseline disk 1.2e6\n";
	CHECK_INT(vms_statefile_write(path, "analysis", 1, text, strlen(text), err, sizeof(err)),
	          0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), 0);
	CHECK_STR(p, text);
	free(p);

	/* An older version is accepted and told; the caller decides. */
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "old", 3, err, sizeof(err)), 0);
	CHECK_INT(vms_statefile_read(path, "analysis", 3, 1000, &p, &n, &fv, err, sizeof(err)), 0);
	CHECK_INT(fv, 1);
	CHECK_STR(p, "old");
	free(p);

	/* Invalid kinds are refused at write time. */
	CHECK_INT(vms_statefile_write(path, "Bad Kind", 1, "x", 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "invalid state kind") != NULL);
	CHECK_INT(vms_statefile_write(path, "", 1, "x", 1, err, sizeof(err)), -1);
	CHECK_INT(count_temps(), 0);
}

static void
test_absent(void)
{
	static char marker[] = "x";
	char err[256] = "", *p = marker;
	size_t n = 5;
	unlink(path);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), 1);
	CHECK(p == NULL && n == 0);
}

/* Every prefix of a good file is refused, and so is every single flipped bit. */
static void
test_truncation_and_bit_flips(void)
{
	char err[256], *p, payload[200];
	size_t n, flen;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)('a' + i % 26);
	CHECK_INT(
	    vms_statefile_write(path, "analysis", 1, payload, sizeof(payload), err, sizeof(err)),
	    0);
	char *good = check_read_file(path, &flen);
	int accepted = 0, bad_msg = 0;
	for (size_t cut = 0; cut < flen; cut++) {
		put_file(path, good, cut);
		err[0] = '\0';
		p = NULL;
		if (rd(&p, &n, err, sizeof(err)) != -1 || p != NULL)
			accepted++;
		if (err[0] == '\0')
			bad_msg++;
		free(p);
	}
	CHECK_INT(accepted, 0);
	CHECK_INT(bad_msg, 0);
	put_file(path, good, flen - 50);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "truncated: header says 200 bytes, file has 150");

	char *bad = malloc(flen);
	accepted = 0;
	int checksum = 0;
	for (size_t i = 0; i < flen; i++) {
		for (int b = 0; b < 8; b++) {
			memcpy(bad, good, flen);
			bad[i] ^= (char)(1 << b);
			put_file(path, bad, flen);
			p = NULL;
			if (rd(&p, &n, err, sizeof(err)) != -1 || p != NULL)
				accepted++;
			checksum += strcmp(err, "checksum mismatch") == 0;
			free(p);
		}
	}
	CHECK_INT(accepted, 0);
	CHECK(checksum >= 200 * 8); /* every payload flip at least */

	/* The version digit lowered (1 -> 0) would pass as an old file without the header CRC. */
	memcpy(bad, good, flen);
	CHECK(bad[23] == '1');
	bad[23] = '0';
	put_file(path, bad, flen);
	CHECK_INT(vms_statefile_read(path, "analysis", 1, 1000, &p, &n, NULL, err, sizeof(err)),
	          -1);
	CHECK_STR(err, "checksum mismatch");

	/* Trailing garbage after a good payload. */
	memcpy(bad, good, flen);
	put_file(path, good, flen);
	FILE *f = fopen(path, "ab");
	fputs("\nextra", f);
	fclose(f);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "trailing garbage") != NULL);
	free(bad);
	free(good);
}

static void
test_foreign_files(void)
{
	char err[256], *p = NULL, buf[256];
	size_t n;

	put_file(path, "hello world\n", 12);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "not a vmscale state file");
	put_file(path, "", 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "empty file");
	/* A long line without a newline: the header read is bounded. */
	char big[4096];
	memset(big, 'x', sizeof(big));
	memcpy(big, "vmscale-state ", 14);
	put_file(path, big, sizeof(big));
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "header line longer than") != NULL);

	char e2[256];
	CHECK_INT(vms_statefile_write(path, "baselines", 1, "x", 1, e2, sizeof(e2)), 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "kind 'baselines', expected 'analysis'");

	CHECK_INT(vms_statefile_write(path, "analysis", 7, "x", 1, e2, sizeof(e2)), 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "format version 7 is newer than this vmscaled (1)");

	/* A hostile length: refused before any allocation (10^15 bytes would abort the test). */
	snprintf(buf, sizeof(buf), "vmscale-state analysis 1 1000000000000000 00000000\nabc");
	put_file(path, buf, strlen(buf));
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "header says 1000000000000000 bytes, larger than the 64 MiB limit");
	snprintf(buf, sizeof(buf), "vmscale-state analysis 1 99999999999999999999999 00000000\n");
	put_file(path, buf, strlen(buf));
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK(strstr(err, "larger than the 64 MiB limit") != NULL);
	/* A caller's smaller limit. */
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "0123456789", 10, e2, sizeof(e2)), 0);
	CHECK_INT(vms_statefile_read(path, "analysis", 1, 9, &p, &n, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, "header says 10 bytes, larger than the 9-byte limit");
	/* A length claim larger than the file but within the limit: no payload-sized buffer. */
	snprintf(buf, sizeof(buf), "vmscale-state analysis 1 16000000 00000000\nabc");
	put_file(path, buf, strlen(buf));
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "truncated: header says 16000000 bytes, file has 3");

	/* Malformed headers: leading zeros, uppercase hex, signs, missing fields. */
	const char *malformed[] = {
	    "vmscale-state analysis 01 1 00000000\nx", "vmscale-state analysis 1 01 00000000\nx",
	    "vmscale-state analysis 1 1 0000000A\nx",  "vmscale-state analysis 1 +1 00000000\nx",
	    "vmscale-state analysis 1 1 0000000\nx",   "vmscale-state analysis 1 1 000000000\nx",
	    "vmscale-state analysis 1 1\nx",           "vmscale-state analysis\nx",
	    "vmscale-state  analysis 1 1 00000000\nx", "vmscale-state ANALYSIS 1 1 00000000\nx",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		put_file(path, malformed[i], strlen(malformed[i]));
		if (!CHECK_INT(rd(&p, &n, err, sizeof(err)), -1))
			fprintf(stderr, "  case %zu\n", i);
		else if (!CHECK_STR(err, "malformed header"))
			fprintf(stderr, "  case %zu\n", i);
	}

	/* Not a regular file: a FIFO must not block, a folder must not confuse. */
	unlink(path);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "not a regular file");
	unlink(path);
	CHECK(mkdir(path, 0700) == 0);
	CHECK_INT(rd(&p, &n, err, sizeof(err)), -1);
	CHECK_STR(err, "not a regular file");
	rmdir(path);
}

static void
test_quarantine(void)
{
	char to[256], to2[256], to3[256], want[256];
	time_t t = 1700000000; /* 2023-11-14T22:13:20Z */

	put_file(path, "hello", 5);
	CHECK_INT(vms_statefile_quarantine_at(path, t, to, sizeof(to)), 0);
	snprintf(want, sizeof(want), "%s.bad-20231114T221320", path);
	CHECK_STR(to, want);
	CHECK(access(path, F_OK) != 0 && access(to, F_OK) == 0);
	size_t n;
	char *c = check_read_file(to, &n);
	CHECK_STR(c, "hello");
	free(c);

	put_file(path, "again", 5);
	CHECK_INT(vms_statefile_quarantine_at(path, t, to2, sizeof(to2)), 0);
	snprintf(want, sizeof(want), "%s.bad-20231114T221320-1", path);
	CHECK_STR(to2, want);
	put_file(path, "third", 5);
	CHECK_INT(vms_statefile_quarantine_at(path, t, to3, sizeof(to3)), 0);
	snprintf(want, sizeof(want), "%s.bad-20231114T221320-2", path);
	CHECK_STR(to3, want);
	c = check_read_file(to, &n); /* never overwritten */
	CHECK_STR(c, "hello");
	free(c);

	/* Nothing to move; a too-small buffer. */
	CHECK_INT(vms_statefile_quarantine(path, to, sizeof(to)), -1);
	CHECK_INT(errno, ENOENT);
	put_file(path, "x", 1);
	CHECK_INT(vms_statefile_quarantine(path, to, 10), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	CHECK_INT(vms_statefile_quarantine(path, to, sizeof(to)), 0);
	CHECK(strncmp(to, path, strlen(path)) == 0 && strlen(to) == strlen(path) + 5 + 15);
	unlink(to);
	unlink(to2);
	unlink(to3);
}

static void
check_old_intact(const char *what)
{
	char err[256], *p = NULL;
	size_t n;
	if (!CHECK_INT(rd(&p, &n, err, sizeof(err)), 0) || !CHECK_STR(p, "old state"))
		fprintf(stderr, "  after %s\n", what);
	free(p);
}

static void
test_write_failures(void)
{
	char err[512], other[256], tmp[512];
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "old state", 9, err, sizeof(err)), 0);

	/* A folder that does not exist. */
	snprintf(other, sizeof(other), "%s/missing/analysis.state", dir);
	CHECK_INT(vms_statefile_write(other, "analysis", 1, "new", 3, err, sizeof(err)), -1);
	snprintf(tmp, sizeof(tmp), "cannot write %s: No such file or directory", other);
	CHECK_STR(err, tmp);

	/* The temp name taken by something that cannot be replaced (a folder). */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	CHECK(mkdir(tmp, 0700) == 0);
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "new", 3, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot write") != NULL);
	check_old_intact("temp name taken");
	rmdir(tmp);
	/* A stale temp file with our PID (a killed instance that had it) is replaced. */
	put_file(tmp, "stale", 5);
	CHECK_INT(vms_statefile_write(path, "analysis", 1, "old state", 9, err, sizeof(err)), 0);
	CHECK_INT(count_temps(), 0);

	/* Running out of space mid-payload (the file size limit stands in for a full disk). */
	struct rlimit saved, lim;
	getrlimit(RLIMIT_FSIZE, &saved);
	lim = saved;
	lim.rlim_cur = 100;
	signal(SIGXFSZ, SIG_IGN);
	static char large[4096];
	memset(large, 'L', sizeof(large));
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	int r = vms_statefile_write(path, "analysis", 1, large, sizeof(large), err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &saved);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_INT(r, -1);
	snprintf(tmp, sizeof(tmp), "cannot write %s: File too large", path);
	CHECK_STR(err, tmp);
	check_old_intact("a failed write");
	CHECK_INT(count_temps(), 0);

	/* The rename fails (a non-empty folder in the way): the temp file goes too. */
	snprintf(other, sizeof(other), "%s/blocked", dir);
	snprintf(tmp, sizeof(tmp), "%s/blocked/x", dir);
	CHECK(mkdir(other, 0700) == 0);
	put_file(tmp, "x", 1);
	CHECK_INT(vms_statefile_write(other, "analysis", 1, "new", 3, err, sizeof(err)), -1);
	CHECK(strstr(err, "rename") != NULL);
	CHECK_INT(count_temps(), 0);
	check_remove_tree(other);

	/* Too large to be read back by a default reader: refused at write time. */
	CHECK_INT(vms_statefile_write(path, "analysis", 1, large, VMS_STATEFILE_MAX_LEN + 1, err,
	                              sizeof(err)),
	          -1);
	CHECK(strstr(err, "larger than the 64 MiB limit") != NULL);
	check_old_intact("an oversize write");
}

static void
test_clean_temps(void)
{
	char t[256];
	snprintf(t, sizeof(t), "%s.tmp.12345", path);
	put_file(t, "x", 1);
	snprintf(t, sizeof(t), "%s.tmp.1", path);
	put_file(t, "x", 1);
	/* Not ours: another file's temps, an operator's notes. */
	snprintf(t, sizeof(t), "%s/other.state.tmp.12", dir);
	put_file(t, "x", 1);
	snprintf(t, sizeof(t), "%s.tmp.notes", path);
	put_file(t, "x", 1);
	CHECK_INT(vms_statefile_clean_temps(path), 2);
	CHECK_INT(count_temps(), 2);
	unlink(t);
	snprintf(t, sizeof(t), "%s/other.state.tmp.12", dir);
	unlink(t);
	CHECK_INT(vms_statefile_clean_temps(path), 0);
	CHECK_INT(vms_statefile_clean_temps("/nonexistent-vmscale/x.state"), -1);
}

/* A writer killed at random moments leaves exactly one complete version, never a mix. */
static void
test_kill_loop(void)
{
	static char a[3000], b[700];
	char err[256], *p;
	size_t n;
	bool ever = false;
	int wrong = 0, absent_after = 0, stale = 0, complete = 0;
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	unlink(path);

	for (int iter = 0; iter < 200; iter++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			exit(1);
		}
		if (pid == 0) {
			char e[256];
			for (unsigned i = (unsigned)iter;; i++) {
				if (i % 2)
					vms_statefile_write(path, "analysis", 1, a, sizeof(a), e,
					                    sizeof(e));
				else
					vms_statefile_write(path, "analysis", 1, b, sizeof(b), e,
					                    sizeof(e));
			}
		}
		struct timespec ts = {0, (long)(rng() % 5000000)};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);

		p = NULL;
		int r = rd(&p, &n, err, sizeof(err));
		if (r == 1) {
			absent_after += ever;
		} else if (r == 0 && ((n == sizeof(a) && memcmp(p, a, n) == 0) ||
		                      (n == sizeof(b) && memcmp(p, b, n) == 0))) {
			ever = true;
			complete++;
		} else {
			if (wrong++ == 0)
				fprintf(stderr, "  iteration %d: %d %s\n", iter, r, err);
		}
		free(p);
		int t = count_temps();
		stale += t > 0;
		CHECK(vms_statefile_clean_temps(path) == t);
		CHECK_INT(count_temps(), 0);
	}
	CHECK_INT(wrong, 0);
	CHECK_INT(absent_after, 0);
	CHECK(complete > 0);
	printf("  kill loop: %d of 200 reads found a complete file, %d left a stale temp\n",
	       complete, stale);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_statefile.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/analysis.state", dir);
	int fds = check_count_fds();

	test_round_trip();
	test_absent();
	test_truncation_and_bit_flips();
	test_foreign_files();
	test_quarantine();
	test_write_failures();
	test_clean_temps();
	test_kill_loop();

	CHECK_INT(check_count_fds(), fds);
	check_remove_tree(dir);
	return check_done("test_statefile");
}

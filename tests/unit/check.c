#include <dirent.h>
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int check_failures;
int check_count;

bool
check_result(bool ok, const char *what, const char *file, int line)
{
	check_count++;
	if (!ok) {
		check_failures++;
		fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
	}
	return ok;
}

bool
check_str(const char *got, const char *want, const char *what, const char *file, int line)
{
	bool ok = got && want && strcmp(got, want) == 0;
	if (!check_result(ok, what, file, line))
		fprintf(stderr, "  got:  \"%s\"\n  want: \"%s\"\n", got ? got : "(null)",
		        want ? want : "(null)");
	return ok;
}

bool
check_int(long long got, long long want, const char *what, const char *file, int line)
{
	bool ok = got == want;
	if (!check_result(ok, what, file, line))
		fprintf(stderr, "  got %lld, want %lld\n", got, want);
	return ok;
}

char *
check_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		exit(1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

void
check_capture_stderr(struct check_capture *cap)
{
	FILE *f = tmpfile();
	if (!f)
		exit(1);
	fflush(stderr);
	cap->file = f;
	cap->saved_fd = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
}

const char *
check_capture_end(struct check_capture *cap)
{
	FILE *f = cap->file;
	fflush(stderr);
	dup2(cap->saved_fd, STDERR_FILENO);
	close(cap->saved_fd);
	rewind(f);
	size_t n = fread(cap->text, 1, sizeof(cap->text) - 1, f);
	cap->text[n] = '\0';
	fclose(f);
	return cap->text;
}

int
check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

void
check_remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[512];
	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		check_remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

int
check_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

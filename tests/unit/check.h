/* A minimal test harness: CHECK records a failure and goes on; the exit code says the rest. */
#ifndef VMSCALE_CHECK_H
#define VMSCALE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

extern int check_failures;
extern int check_count;

#define CHECK(cond) check_result((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str((a), (b), #a, __FILE__, __LINE__)
#define CHECK_INT(a, b) check_int((long long)(a), (long long)(b), #a, __FILE__, __LINE__)

bool check_result(bool ok, const char *what, const char *file, int line);
bool check_str(const char *got, const char *want, const char *what, const char *file, int line);
bool check_int(long long got, long long want, const char *what, const char *file, int line);
/* Reads a whole file into a malloc'd NUL-terminated buffer; aborts the test if it cannot. */
char *check_read_file(const char *path, size_t *len);
/* Captures what the code under test writes to stderr (the logger's output). */
struct check_capture {
	void *file;
	int saved_fd;
	char text[16384];
};
void check_capture_stderr(struct check_capture *cap);
/* Restores stderr and returns what was written meanwhile (NUL-terminated, truncated). */
const char *check_capture_end(struct check_capture *cap);

/* Open file descriptors of this process (to show that code under test leaks none); -1 if
 * /proc cannot tell. */
int check_count_fds(void);

/* Removes a file or a folder with everything in it (test scratch space); best effort. */
void check_remove_tree(const char *path);

/* Prints the summary; returns the process exit code. */
int check_done(const char *name);

#endif

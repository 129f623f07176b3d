/* Helpers of the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Through the sanitizers' report stream: under -close_fd_mask=2 stderr is gone, that is not. */
void
fuzz_fail(const char *what, const char *file, int line)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "invariant broken at %s:%d: %s", file, line, what);
	__sanitizer_report_error_summary(msg);
	abort();
}

int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathsz)
{
	int fd = memfd_create("vmscale-fuzz", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	for (size_t done = 0; done < size;) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0) {
			perror("memfd write");
			abort();
		}
		done += (size_t)w;
	}
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

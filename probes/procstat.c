/* Parser of Linux /proc/stat (see proc(5)); no allocation, bounded input. */
#include "probes/procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* /proc/stat grows with the CPU count (one line per CPU, ~100 bytes); 1 MiB covers 8k CPUs. */
#define PROCSTAT_MAX_BYTES (1024 * 1024)

static const char *
line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Parses up to VMS_CPU_MODE_COUNT unsigned columns after the label; returns how many. */
static int
parse_columns(const char *p, const char *eol, uint64_t *ticks)
{
	int n = 0;
	while (p < eol && n < VMS_CPU_MODE_COUNT) {
		while (p < eol && *p == ' ')
			p++;
		if (p == eol)
			break;
		uint64_t v = 0;
		const char *start = p;
		while (p < eol && *p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			if (v > (UINT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
			p++;
		}
		if (p == start || (p < eol && *p != ' '))
			return -1;
		ticks[n++] = v;
	}
	return n;
}

int
vmsp_procstat_parse(const char *text, size_t len, struct vms_cpu_report *report)
{
	const char *p = text, *end = text + len;
	bool have_total = false;
	uint32_t ncpu = 0;

	while (p < end) {
		const char *eol = line_end(p, end);
		size_t l = (size_t)(eol - p);
		if (l > 4 && memcmp(p, "cpu ", 4) == 0) {
			uint64_t ticks[VMS_CPU_MODE_COUNT] = {0};
			int n = parse_columns(p + 4, eol, ticks);
			if (n < VMS_CPU_REQUIRED_MODES)
				return -1;
			memcpy(report->ticks, ticks, sizeof(ticks));
			report->nmodes = (unsigned)n;
			have_total = true;
		} else if (l > 3 && memcmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
			ncpu++;
		}
		p = eol < end ? eol + 1 : end;
	}
	if (!have_total)
		return -1;
	/* A kernel always lists at least one cpuN line; tolerate a truncated fixture. */
	report->ncpu = ncpu ? ncpu : 1;
	return 0;
}

int
vmsp_procstat_read(const char *path, struct vms_cpu_report *report)
{
	static char buf[PROCSTAT_MAX_BYTES];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf)) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (vmsp_procstat_parse(buf, len, report) < 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

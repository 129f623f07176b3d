/* Whose /proc counters these are (see procview.h). */
#include "probes/procview.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOUNTINFO_MAX (1024 * 1024) /* read at most this much; a container has few mounts */
#define ENVIRON_MAX (64 * 1024)

/* The n-th space-separated field of line [p, end), 0-based; its length in *flen. */
static const char *
field(const char *p, const char *end, unsigned n, size_t *flen)
{
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		const char *f = p;
		while (p < end && *p != ' ')
			p++;
		if (f == p)
			return NULL;
		if (n-- == 0) {
			*flen = (size_t)(p - f);
			return f;
		}
	}
}

static bool
field_is(const char *f, size_t flen, const char *s)
{
	return f && flen == strlen(s) && memcmp(f, s, flen) == 0;
}

/* One mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE
 * SUPEROPTS. */
static bool
line_is_lxcfs(const char *p, const char *end, const char *mountpoint)
{
	size_t flen = 0;
	const char *mp = field(p, end, 4, &flen);
	if (!field_is(mp, flen, mountpoint))
		return false;
	for (unsigned i = 6;; i++) {
		const char *f = field(p, end, i, &flen);
		if (!f)
			return false;
		if (!field_is(f, flen, "-"))
			continue;
		size_t tlen = 0, slen = 0;
		const char *type = field(p, end, i + 1, &tlen);
		const char *src = field(p, end, i + 2, &slen);
		return field_is(type, tlen, "fuse.lxcfs") ||
		       (field_is(type, tlen, "fuse") && field_is(src, slen, "lxcfs"));
	}
}

bool
vmsp_procview_lxcfs(const char *mountinfo, size_t len, const char *mountpoint)
{
	const char *p = mountinfo, *end = mountinfo + len;
	bool found = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t fl = 0;
		const char *mp = field(p, le, 4, &fl);
		/* The last mount at a point is the one seen: a later one covers lxcfs's. */
		if (field_is(mp, fl, mountpoint))
			found = line_is_lxcfs(p, le, mountpoint);
		p = le + 1;
	}
	return found;
}

bool
vmsp_procview_container_env(const char *env, size_t len)
{
	const char *p = env, *end = env + len;
	while (p < end) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		const char *e = z ? z : end;
		if ((size_t)(e - p) > sizeof("container=") - 1 &&
		    memcmp(p, "container=", sizeof("container=") - 1) == 0)
			return true;
		p = e + 1;
	}
	return false;
}

/* Up to max bytes of path into a new buffer; NULL if it cannot be read. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	char *buf = malloc(max);
	size_t n = 0;
	ssize_t r;
	while (buf && n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += (size_t)r;
	close(fd);
	*len = n;
	return buf;
}

bool
vmsp_procview_is_host(const struct vmsp_procview_paths *paths, bool in_container, char *why,
                      size_t whysz)
{
	size_t len = 0;
	char *text = slurp(paths->mountinfo, MOUNTINFO_MAX, &len);
	bool lxcfs = text && vmsp_procview_lxcfs(text, len, paths->procstat);
	free(text);
	if (lxcfs) {
		snprintf(why, whysz, "lxcfs is mounted at %s: the container's own counters",
		         paths->procstat);
		return false;
	}
	const char *env = getenv("container");
	bool container = in_container || (env && env[0]);
	if (!container && (text = slurp(paths->pid1_environ, ENVIRON_MAX, &len)) != NULL) {
		container = vmsp_procview_container_env(text, len);
		free(text);
	}
	if (container)
		snprintf(why, whysz, "a container without lxcfs at %s: the host's counters",
		         paths->procstat);
	else
		snprintf(why, whysz, "not a container: this kernel's own counters");
	return container;
}

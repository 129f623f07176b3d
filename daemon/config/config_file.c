/* Reading the configuration file: bounded, checked for encoding, "key value" line by line. */
#include "daemon/config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/util/alloc.h"

#define MAX_KEY 40

/* One line (NUL-terminated, checked for encoding). first_line: per key, where the file set it. */
static int
parse_line(struct vms_config *c, const char *path, int lineno, char *line, int *first_line,
           char *err, size_t errsz)
{
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '#')
		return 0;
	char *key = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	size_t keylen = (size_t)(s - key);
	if (*s)
		*s++ = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	char *value = s;
	size_t vlen = strlen(value);
	while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		value[--vlen] = '\0';

	bool well_formed = keylen <= MAX_KEY;
	for (const char *p = key; *p && well_formed; p++)
		well_formed = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
	if (!well_formed) {
		snprintf(err, errsz,
		         "%s:%d: malformed key: lines are 'key value', keys are lower-case "
		         "letters, digits and '-'%s",
		         path, lineno,
		         strchr(key, '=') || strchr(key, ':') ? " (no '=' or ':' after the key)"
		                                              : "");
		return -1;
	}
	int k = cfg_key_index(key);
	if (k < 0) {
		snprintf(err, errsz, "%s:%d: unknown key '%s'", path, lineno, key);
		return -1;
	}
	if (first_line[k] && cfg_keys[k].kind != K_URIS) {
		snprintf(err, errsz, "%s:%d: duplicate key '%s' (first set on line %d)", path,
		         lineno, key, first_line[k]);
		return -1;
	}
	char why[512];
	if (cfg_set_key(c, (size_t)k, value, lineno, first_line[k] == 0, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s:%d: %s", path, lineno, why);
		return -1;
	}
	if (!first_line[k])
		first_line[k] = lineno;
	return 0;
}

static int
parse_buffer(struct vms_config *c, const char *path, const char *buf, size_t len, char *err,
             size_t errsz)
{
	int first_line[VMS_CONFIG_MAX_KEYS] = {0};
	char line[VMS_CONFIG_MAX_LINE + 1];
	int lineno = 0;
	for (const char *p = buf, *end = buf + len; p < end;) {
		lineno++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t at;
		const char *bad = cfg_text_error((const unsigned char *)p, l, &at);
		if (bad) {
			snprintf(err, errsz, "%s:%d: %s at byte %zu", path, lineno, bad, at + 1);
			return -1;
		}
		if (l > VMS_CONFIG_MAX_LINE) {
			snprintf(err, errsz, "%s:%d: line longer than %d bytes", path, lineno,
			         VMS_CONFIG_MAX_LINE);
			return -1;
		}
		memcpy(line, p, l);
		line[l] = '\0';
		if (parse_line(c, path, lineno, line, first_line, err, errsz) < 0)
			return -1;
		p += l + (nl ? 1 : 0);
	}
	return 0;
}

int
vms_config_load(struct vms_config *c, const char *path, bool must_exist, char *err, size_t errsz)
{
	/* O_NONBLOCK: opening a FIFO someone put there must not hang the daemon. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && !must_exist)
			return 1;
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	char *buf = NULL;
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto cleanup;
	}
	/* Read one byte more than allowed: the size may have changed since fstat. */
	buf = vms_xcalloc(VMS_CONFIG_MAX_FILE + 1, 1);
	size_t len = 0;
	while (len <= VMS_CONFIG_MAX_FILE) {
		ssize_t r = read(fd, buf + len, VMS_CONFIG_MAX_FILE + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > VMS_CONFIG_MAX_FILE) {
		snprintf(err, errsz, "%s: larger than %d bytes", path, VMS_CONFIG_MAX_FILE);
		goto cleanup;
	}
	free(c->path);
	c->path = vms_xstrdup(path);
	rc = parse_buffer(c, path, buf, len, err, errsz);
cleanup:
	free(buf);
	close(fd);
	return rc;
}

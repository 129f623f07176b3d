/* How the configuration's messages name keys, file lines, values, sizes and durations. */
#include "daemon/config/config_internal.h"

#include <stdio.h>
#include <string.h>

/* How a message names a key: as the flag when the command line set it, else quoted. */
const char *
cfg_keyref(const struct vms_config *c, size_t k, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, c->origin[k] < 0 ? "--%s" : "'%s'", cfg_keys[k].pub.name);
	return buf;
}

/* The same, in the style of another key's origin: "--a needs --b", "'a' needs 'b'". */
const char *
cfg_keyref_like(const struct vms_config *c, size_t k, size_t like, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, c->origin[like] < 0 ? "--%s" : "'%s'", cfg_keys[k].pub.name);
	return buf;
}

/* "FILE:LINE: " when the key came from the file, else "". */
const char *
cfg_where(const struct vms_config *c, size_t k, char *buf, size_t bufsz)
{
	if (c->origin[k] > 0 && c->path)
		snprintf(buf, bufsz, "%s:%d: ", c->path, c->origin[k]);
	else
		buf[0] = '\0';
	return buf;
}

/* A value repeated in a message: at most CFG_MAX_QUOTED bytes, cut on a UTF-8 boundary. */
const char *
cfg_quoted(const char *v, char *buf, size_t bufsz)
{
	size_t n = strlen(v);
	if (n <= CFG_MAX_QUOTED && n < bufsz) {
		memcpy(buf, v, n + 1);
		return buf;
	}
	n = CFG_MAX_QUOTED < bufsz - 4 ? CFG_MAX_QUOTED : bufsz - 4;
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, v, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

const char *
cfg_fmt_size(uint64_t b, char *buf, size_t bufsz)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	unsigned u = 0;
	while (u < 3 && b >= 1024 && b % 1024 == 0) {
		b /= 1024;
		u++;
	}
	snprintf(buf, bufsz, "%llu %s", (unsigned long long)b, units[u]);
	return buf;
}

const char *
cfg_fmt_ms(uint64_t ms, char *buf, size_t bufsz)
{
	if (ms % 1000 == 0)
		snprintf(buf, bufsz, "%llu s", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, bufsz, "%llu ms", (unsigned long long)ms);
	return buf;
}

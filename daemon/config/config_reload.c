/*
 * What a SIGHUP may change. The key table's `live` column is the only list: a reload is
 * refused when any key whose row is not live has a different value, compared by its kind.
 */
#include "daemon/config/config_internal.h"

#include <string.h>

#include "daemon/http_webconfig.h"

static bool
same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same URIs, in any order: each opens its own connection. */
static bool
same_uris(const struct cfg_key *k, const struct vms_config *a, const struct vms_config *b)
{
	char *const *ua = (char *const *)(const void *)((const char *)a + k->off);
	char *const *ub = (char *const *)(const void *)((const char *)b + k->off);
	unsigned na, nb;
	memcpy(&na, (const char *)a + k->count_off, sizeof(na));
	memcpy(&nb, (const char *)b + k->count_off, sizeof(nb));
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++) {
		bool found = false;
		for (unsigned j = 0; j < nb && !found; j++)
			found = strcmp(ua[i], ub[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Whether key k has the same value in a and b. */
static bool
same_value(const struct cfg_key *k, const struct vms_config *a, const struct vms_config *b)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
	switch (k->kind) {
	case K_URIS:
		return same_uris(k, a, b);
	case K_LISTEN:
	case K_REGEX:
	case K_PATH:
	case K_HOST:
	case K_URI: {
		const char *sa, *sb;
		memcpy(&sa, fa, sizeof(sa));
		memcpy(&sb, fb, sizeof(sb));
		return same_string(sa, sb);
	}
	default:
		/* Numbers, flags and arrays of them; a list of sizes is zero past its count. */
		return memcmp(fa, fb, k->size) == 0;
	}
}

const char *
vms_config_restart_needed(const struct vms_config *old, const struct vms_config *new_)
{
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (!k->pub.live && !same_value(k, old, new_))
			return k->pub.name;
	}
	/* libmicrohttpd keeps the certificate it started with; the users may change live. */
	if (!vms_webconfig_same_tls(old->web, new_->web))
		return "tls_server_config of web-config-file";
	return NULL;
}

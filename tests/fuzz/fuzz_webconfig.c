/*
 * The exporter-toolkit web config parser (daemon/http_webconfig.c): text parsed, then copied;
 * a parsed config is within the header's bounds and its copy equals it. Input: the file.
 */
#include <string.h>

#include "daemon/http_webconfig.h"
#include "fuzz.h"

static void
check_bounds(const struct vms_webconfig *wc)
{
	FUZZ_ASSERT(wc->nusers <= VMS_WEBCONFIG_MAX_USERS);
	FUZZ_ASSERT((wc->tls_cert == NULL) == (wc->tls_key == NULL));
	for (size_t i = 0; i < wc->nusers; i++) {
		FUZZ_ASSERT(strlen(wc->users[i].name) <= VMS_WEBCONFIG_MAX_USER);
		FUZZ_ASSERT(strlen(wc->users[i].hash) == VMS_WEBCONFIG_BCRYPT_LEN);
	}
}

static void
check_copy(const struct vms_webconfig *wc, const struct vms_webconfig *copy)
{
	FUZZ_ASSERT(copy->nusers == wc->nusers);
	FUZZ_ASSERT(vms_webconfig_same_tls(wc, copy));
	for (size_t i = 0; i < wc->nusers; i++) {
		FUZZ_ASSERT(strcmp(copy->users[i].name, wc->users[i].name) == 0);
		FUZZ_ASSERT(strcmp(copy->users[i].hash, wc->users[i].hash) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vms_webconfig wc;
	char err[1024];
	if (vms_webconfig_parse(&wc, "/etc/vmscale/web-config.yml", (const char *)data, size, err,
	                        sizeof(err)) == 0) {
		check_bounds(&wc);
		struct vms_webconfig *copy = vms_webconfig_dup(&wc);
		check_copy(&wc, copy);
		vms_webconfig_free(copy);
	} else {
		FUZZ_ASSERT(err[0] != '\0');
	}
	vms_webconfig_fini(&wc);
	return 0;
}

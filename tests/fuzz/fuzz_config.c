/*
 * The configuration file parser (daemon/config): a file loaded, validated, copied; a copy
 * needs no restart. Input: the file's text (read from an in-memory file, as from disk).
 */
#include <unistd.h>

#include "daemon/config/config.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	struct vms_config c;
	vms_config_defaults(&c);
	if (vms_config_load(&c, path, true, err, sizeof(err)) == 0 &&
	    vms_config_validate(&c, err, sizeof(err)) == 0) {
		struct vms_config copy;
		vms_config_copy(&copy, &c);
		FUZZ_ASSERT(vms_config_restart_needed(&c, &copy) == NULL);
		struct vms_analysis_config an;
		vms_config_analysis(&c, &an);
		vms_config_fini(&copy);
	}
	vms_config_fini(&c);
	close(fd);
	return 0;
}

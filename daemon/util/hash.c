/* The string hash (see hash.h). */
#include "daemon/util/hash.h"

uint32_t
vms_hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

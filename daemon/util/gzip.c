/* gzip of a whole buffer (see gzip.h). */
#include "daemon/util/gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "daemon/util/alloc.h"

/*
 * Fastest level: on 1 000 domains (5 MB) it takes 15 ms instead of 50 at the default level, for a
 * body 20 % larger (345 KB instead of 287): the scrape's latency matters more than those bytes.
 */
char *
vms_gzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, (uLong)len);
	char *out = vms_xcalloc(1, cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

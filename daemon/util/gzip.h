/*
 * gzip compression of a whole buffer, as /metrics serves it to clients that accept it.
 */
#ifndef VMSCALE_UTIL_GZIP_H
#define VMSCALE_UTIL_GZIP_H

#include <stddef.h>

/* A gzip member (not a zlib stream) of the len bytes at in, malloc'd, its size in *outlen;
 * NULL if zlib fails. */
char *vms_gzip(const char *in, size_t len, size_t *outlen);

#endif

/* Allocation that aborts on exhaustion: a daemon that runs out of memory cannot recover sanely. */
#ifndef VMSCALE_UTIL_ALLOC_H
#define VMSCALE_UTIL_ALLOC_H

#include <stddef.h>

void *vms_xcalloc(size_t n, size_t size);
void *vms_xrealloc(void *p, size_t n, size_t size);
char *vms_xstrdup(const char *s);

#endif

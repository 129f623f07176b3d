/* Allocation that aborts on exhaustion (see alloc.h). */
#include "daemon/util/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
check_alloc(void *p)
{
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
		abort();
	}
	return p;
}

void *
vms_xcalloc(size_t n, size_t size)
{
	return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

void *
vms_xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		check_alloc(NULL);
	size_t bytes = n * size;
	return check_alloc(realloc(p, bytes ? bytes : 1));
}

char *
vms_xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

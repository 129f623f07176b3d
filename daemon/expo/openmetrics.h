/* OpenMetrics 1.0 from the text exposition format 0.0.4 that the registry assembles. */
#ifndef VMSCALE_EXPO_OPENMETRICS_H
#define VMSCALE_EXPO_OPENMETRICS_H

#include <stddef.h>

#include "daemon/util/buf.h"

/*
 * Converts a whole text exposition: counter families are named without their _total suffix
 * in HELP and TYPE, a gauge name_info becomes an info family, and the result ends with "# EOF".
 */
void vms_openmetrics(struct vms_buf *out, const char *text, size_t len);
/* The same for whole lines of it, without "# EOF": converts a large exposition piece by piece
 * (the HTTP thread compresses OpenMetrics without keeping an uncompressed copy). */
void vms_openmetrics_lines(struct vms_buf *out, const char *text, size_t len);

#endif

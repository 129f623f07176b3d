/* Parser of Linux /proc/stat: the aggregate "cpu" line and the number of CPUs. */
#ifndef VMSCALE_PROCSTAT_H
#define VMSCALE_PROCSTAT_H

#include <stddef.h>
#include "vmscale/protocol.h"

/*
 * Fills report->ticks, ->nmodes and ->ncpu from the text of /proc/stat.
 * Returns 0, or -1 if the text has no well-formed aggregate "cpu" line.
 */
int vmsp_procstat_parse(const char *text, size_t len, struct vms_cpu_report *report);

/* Reads and parses path (normally "/proc/stat"); -1 with errno on I/O failure. */
int vmsp_procstat_read(const char *path, struct vms_cpu_report *report);

#endif

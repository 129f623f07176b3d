/* The host collector: CPU split, memory and load through libstatgrab. */
#ifndef VMSCALE_HOST_H
#define VMSCALE_HOST_H

#include "../daemon/store.h"

int vms_host_init(void);
/* Refreshes st->host; 0, or -1 (logged, rate-limited) leaving the last values marked invalid. */
int vms_host_read(struct vms_store *st);
void vms_host_fini(void);

#endif

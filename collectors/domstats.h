/*
 * Host-side per-domain statistics: the typed parameters of virConnectGetAllDomainStats
 * mapped into the store's struct vms_domstats. Pure: no connection needed, so it is tested
 * with parameters built by hand as well as against the test driver.
 */
#ifndef VMSCALE_DOMSTATS_H
#define VMSCALE_DOMSTATS_H

#include <libvirt/libvirt.h>

#include "daemon/store/store.h"

/* Fills st from one domain's record; returns 0, or -1 if it held no CPU statistics
 * (NOWAIT skipped a domain busy in a job, or the driver has none). */
int vms_domstats_parse(const virTypedParameter *params, int nparams, struct vms_domstats *st);

/* The same, into *scratch (arrays the caller keeps between calls), with what libvirt leaves
 * out as it is in *cur; the result replaces *cur (the two swap) only if it differs, and
 * *changed says so. A stopped counter then costs no rendering. */
int vms_domstats_update(const virTypedParameter *params, int nparams, struct vms_domstats *cur,
                        struct vms_domstats *scratch, bool *changed);

#endif

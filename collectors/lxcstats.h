/*
 * Host-side statistics for drivers without virConnectGetAllDomainStats: libvirt's LXC driver
 * answers it with VIR_ERR_NO_SUPPORT ("this function is not supported by the connection
 * driver: virDomainListGetStats"). The running domains are listed with
 * virConnectListAllDomains and each one's statistics read with the per-domain calls the
 * driver has (virDomainGetInfo, virDomainGetCPUStats, virDomainMemoryStats), then put into
 * the typed parameters virConnectGetAllDomainStats would have given, under the same names
 * (cpu.time, cpu.user, cpu.system, balloon.current, balloon.maximum, balloon.rss), so that
 * domstats.c reads both alike. A call the driver lacks leaves its parameters out.
 */
#ifndef VMSCALE_LXCSTATS_H
#define VMSCALE_LXCSTATS_H

#include <libvirt/libvirt.h>

/* One domain's record; 0, or -1 if the domain is gone (no virDomainGetInfo). rec->dom is
 * not touched; rec->params is the caller's to free with virTypedParamsFree. */
int vms_lxcstats_domain(virDomainPtr dom, virDomainStatsRecord *rec);

/* Every running domain's record, as virConnectGetAllDomainStats would return them: the
 * count, or -1 if the domains cannot be listed. Free with vms_lxcstats_free. */
int vms_lxcstats_collect(virConnectPtr conn, virDomainStatsRecordPtr **out);
void vms_lxcstats_free(virDomainStatsRecordPtr *recs, int n);

#endif

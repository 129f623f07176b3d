/* Per-domain statistics calls for drivers without the bulk one (see lxcstats.h). */
#include "collectors/lxcstats.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/util/alloc.h"

#define CPU_PARAMS_MAX 8 /* virDomainGetCPUStats gives 3 for LXC, 4 for QEMU */

/* cpu_time, user_time and system_time of the whole domain (start_cpu -1), in ns. */
static void
add_cpu(virDomainPtr dom, virTypedParameterPtr *params, int *n, int *max)
{
	virTypedParameter cpu[CPU_PARAMS_MAX];
	memset(cpu, 0, sizeof(cpu));
	int got = virDomainGetCPUStats(dom, cpu, CPU_PARAMS_MAX, -1, 1, 0);
	if (got <= 0 || got > CPU_PARAMS_MAX)
		return;
	static const char *const map[][2] = {
	    {VIR_DOMAIN_CPU_STATS_CPUTIME, "cpu.time"},
	    {VIR_DOMAIN_CPU_STATS_USERTIME, "cpu.user"},
	    {VIR_DOMAIN_CPU_STATS_SYSTEMTIME, "cpu.system"},
	};
	for (int i = 0; i < got; i++)
		for (size_t m = 0; m < sizeof(map) / sizeof(map[0]); m++)
			if (strcmp(cpu[i].field, map[m][0]) == 0 &&
			    cpu[i].type == VIR_TYPED_PARAM_ULLONG)
				virTypedParamsAddULLong(params, n, max, map[m][1], cpu[i].value.ul);
	virTypedParamsClear(cpu, got);
}

/* The resident set (the container's cgroup memory use, for LXC). */
static void
add_memory(virDomainPtr dom, virTypedParameterPtr *params, int *n, int *max)
{
	virDomainMemoryStatStruct ms[VIR_DOMAIN_MEMORY_STAT_NR];
	int got = virDomainMemoryStats(dom, ms, VIR_DOMAIN_MEMORY_STAT_NR, 0);
	for (int i = 0; i < got; i++)
		if (ms[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS)
			virTypedParamsAddULLong(params, n, max, "balloon.rss", ms[i].val);
}

int
vms_lxcstats_domain(virDomainPtr dom, virDomainStatsRecord *rec)
{
	virDomainInfo info;
	rec->params = NULL;
	rec->nparams = 0;
	if (virDomainGetInfo(dom, &info) < 0)
		return -1;
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0;
	virTypedParamsAddInt(&params, &n, &max, "state.state", info.state);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.current", info.memory);
	virTypedParamsAddULLong(&params, &n, &max, "balloon.maximum", info.maxMem);
	int before = n;
	add_cpu(dom, &params, &n, &max);
	if (n == before) /* no per-domain CPU split: the total virDomainGetInfo has */
		virTypedParamsAddULLong(&params, &n, &max, "cpu.time", info.cpuTime);
	add_memory(dom, &params, &n, &max);
	rec->params = params;
	rec->nparams = n;
	return 0;
}

void
vms_lxcstats_free(virDomainStatsRecordPtr *recs, int n)
{
	if (!recs)
		return;
	for (int i = 0; i < n; i++) {
		if (!recs[i])
			continue;
		virTypedParamsFree(recs[i]->params, recs[i]->nparams);
		if (recs[i]->dom)
			virDomainFree(recs[i]->dom);
		free(recs[i]);
	}
	free(recs);
}

int
vms_lxcstats_collect(virConnectPtr conn, virDomainStatsRecordPtr **out)
{
	virDomainPtr *doms = NULL;
	*out = NULL;
	int nd = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (nd < 0)
		return -1;
	virDomainStatsRecordPtr *recs = vms_xcalloc((size_t)nd + 1, sizeof(*recs));
	int n = 0;
	for (int i = 0; i < nd; i++) {
		virDomainStatsRecord r = {.dom = doms[i]};
		if (vms_lxcstats_domain(doms[i], &r) < 0) {
			virDomainFree(doms[i]); /* stopped since the listing */
			continue;
		}
		recs[n] = vms_xcalloc(1, sizeof(*recs[n]));
		*recs[n++] = r;
	}
	free(doms);
	*out = recs;
	return n;
}

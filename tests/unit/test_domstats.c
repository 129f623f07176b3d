/* Mapping of libvirt bulk stats (typed parameters built by hand, as QEMU 7.2 reports them). */
#include <stdio.h>
#include <string.h>

#include "collectors/domstats.h"
#include "check.h"

static virTypedParameter
ull(const char *field, unsigned long long v)
{
	virTypedParameter p = {.type = VIR_TYPED_PARAM_ULLONG};
	snprintf(p.field, sizeof(p.field), "%s", field);
	p.value.ul = v;
	return p;
}

static virTypedParameter
str(const char *field, char *v)
{
	virTypedParameter p = {.type = VIR_TYPED_PARAM_STRING};
	snprintf(p.field, sizeof(p.field), "%s", field);
	p.value.s = v;
	return p;
}

static virTypedParameter
llong(const char *field, long long v)
{
	virTypedParameter p = {.type = VIR_TYPED_PARAM_LLONG};
	snprintf(p.field, sizeof(p.field), "%s", field);
	p.value.l = v;
	return p;
}

static void
test_full_record(void)
{
	char vda[] = "vda", vnet[] = "vnet0", noise[] = "noise";
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	virTypedParameter params[] = {
	    ull("state.state", 1),
	    ull("cpu.time", 6544078000ull),
	    ull("cpu.user", 5906851000ull),
	    ull("cpu.system", 637226000ull),
	    ull("balloon.current", 131072),
	    ull("balloon.rss", 220836),
	    ull("vcpu.current", 2),
	    ull("vcpu.maximum", 2),
	    ull("vcpu.0.state", 1),
	    ull("vcpu.0.time", 6070000000ull),
	    ull("vcpu.0.wait", 0),
	    ull("vcpu.0.delay", 64871075),
	    ull("vcpu.1.time", 10),
	    ull("vcpu.99999.time", 1), /* beyond the bound: ignored */
	    ull("block.count", 2),
	    str("block.0.name", vda),
	    str("block.0.path", noise),
	    ull("block.0.rd.reqs", 4),
	    ull("block.0.rd.bytes", 12800),
	    ull("block.0.rd.times", 2299825),
	    ull("block.0.wr.reqs", 1),
	    ull("block.0.wr.bytes", 512),
	    ull("block.0.wr.times", 7),
	    str("block.1.name", longname),
	    llong("block.1.rd.bytes", -5), /* negative: not a counter, ignored */
	    ull("net.count", 1),
	    str("net.0.name", vnet),
	    ull("net.0.rx.bytes", 1000),
	    ull("net.0.tx.bytes", 2000),
	    ull("net.0.rx.drop", 3),
	    str("net.0.tx.pkts", noise), /* wrong type: ignored */
	};
	struct vms_domstats st = {0};
	CHECK_INT(vms_domstats_parse(params, (int)(sizeof(params) / sizeof(params[0])), &st), 0);
	CHECK(st.have_cpu && st.cpu_time_ns == 6544078000ull && st.cpu_user_ns == 5906851000ull);
	CHECK(st.cpu_system_ns == 637226000ull);
	CHECK(st.have_balloon_current && st.balloon_current_kib == 131072);
	CHECK(st.have_balloon_rss && st.balloon_rss_kib == 220836);
	CHECK_INT(st.nvcpu, 2);
	CHECK(st.vcpu[0].time_ns == 6070000000ull && st.vcpu[0].has_delay &&
	      st.vcpu[0].delay_ns == 64871075);
	CHECK(st.vcpu[0].has_wait);
	CHECK(!st.vcpu[1].has_delay && st.vcpu[1].time_ns == 10);
	CHECK_INT(st.nblock, 2);
	CHECK_STR(st.block[0].name, "vda");
	CHECK(st.block[0].rd_bytes == 12800 && st.block[0].rd_reqs == 4 &&
	      st.block[0].rd_times_ns == 2299825);
	CHECK(st.block[0].wr_bytes == 512 && st.block[0].wr_reqs == 1 &&
	      st.block[0].wr_times_ns == 7);
	CHECK_INT(strlen(st.block[1].name), VMS_DEVICE_NAME_MAX); /* truncated, not overflowed */
	CHECK(st.block[1].rd_bytes == 0);
	CHECK_INT(st.nnet, 1);
	CHECK_STR(st.net[0].name, "vnet0");
	CHECK(st.net[0].rx_bytes == 1000 && st.net[0].tx_bytes == 2000 && st.net[0].rx_drop == 3);
	CHECK(st.net[0].tx_pkts == 0);

	/* The next round is smaller: counts shrink, old values do not linger. */
	virTypedParameter again[] = {ull("cpu.time", 1), ull("vcpu.0.time", 5),
	                             ull("block.0.rd.bytes", 9)};
	CHECK_INT(vms_domstats_parse(again, 3, &st), 0);
	CHECK_INT(st.nvcpu, 1);
	CHECK(!st.vcpu[0].has_delay);
	CHECK_INT(st.nblock, 1);
	CHECK_STR(st.block[0].name, "#0"); /* unnamed device gets its index */
	CHECK_INT(st.nnet, 0);
	CHECK(!st.have_balloon_rss);
	vms_domstats_free(&st);
}

static void
test_incomplete(void)
{
	/* What NOWAIT returns for a domain busy in a job, and what the test driver returns. */
	virTypedParameter params[] = {ull("state.state", 1), ull("state.reason", 0)};
	struct vms_domstats st = {0};
	CHECK_INT(vms_domstats_parse(params, 2, &st), -1);
	CHECK(!st.have_cpu);
	CHECK_INT(vms_domstats_parse(NULL, 0, &st), -1);
	/* Malformed indices are ignored. */
	virTypedParameter odd[] = {ull("cpu.time", 1), ull("vcpu.x.time", 1), ull("vcpu.1", 1),
	                           ull("block..rd.bytes", 1), ull("net.-1.rx.bytes", 1)};
	CHECK_INT(vms_domstats_parse(odd, 5, &st), 0);
	CHECK_INT(st.nvcpu + st.nblock + st.nnet, 0);
	vms_domstats_free(&st);
}

/* vms_domstats_update keeps the stored record when the new one is the same. */
static void
test_update(void)
{
	char vda[] = "vda";
	virTypedParameter a[] = {ull("cpu.time", 10), ull("cpu.user", 4), ull("vcpu.0.time", 7),
	                         str("block.0.name", vda), ull("block.0.rd.bytes", 512)};
	struct vms_domstats cur = {0}, scratch = {0};
	bool changed = false;
	CHECK_INT(vms_domstats_update(a, 5, &cur, &scratch, &changed), 0);
	CHECK(changed && cur.have_cpu && cur.cpu_time_ns == 10 && cur.nvcpu == 1);
	CHECK_INT(vms_domstats_update(a, 5, &cur, &scratch, &changed), 0);
	CHECK(!changed && cur.cpu_time_ns == 10 && cur.nblock == 1);
	CHECK_STR(cur.block[0].name, "vda");
	/* A moved counter is a change; what libvirt leaves out keeps its value, as with parse. */
	virTypedParameter b[] = {ull("cpu.time", 11), ull("vcpu.0.time", 7),
	                         str("block.0.name", vda), ull("block.0.rd.bytes", 1024)};
	CHECK_INT(vms_domstats_update(b, 4, &cur, &scratch, &changed), 0);
	CHECK(changed && cur.cpu_time_ns == 11 && cur.cpu_user_ns == 4);
	CHECK(cur.nblock == 1 && cur.block[0].rd_bytes == 1024);
	CHECK_INT(vms_domstats_update(b, 4, &cur, &scratch, &changed), 0);
	CHECK(!changed);
	/* The test driver's state-only records: incomplete, and no change. */
	virTypedParameter state[] = {ull("state.state", 1)};
	CHECK_INT(vms_domstats_update(state, 1, &cur, &scratch, &changed), -1);
	CHECK(changed && !cur.have_cpu && cur.nblock == 0);
	CHECK_INT(vms_domstats_update(state, 1, &cur, &scratch, &changed), -1);
	CHECK(!changed);
	vms_domstats_free(&cur);
	vms_domstats_free(&scratch);
}

/* perf.* as libvirt 9.0 returns them for `virsh perf DOMAIN --enable ...`: every value a
 * ULLONG. The software events were seen on our lab hosts; the hardware ones (cpu_cycles,
 * instructions, ...) need a host PMU, which these machines lack: their record is built the
 * way libvirt builds it, not recorded from a host. */
static void
test_perf(void)
{
	virTypedParameter params[] = {
	    ull("cpu.time", 100),
	    ull("perf.cpu_cycles", 9876543210ull),
	    ull("perf.instructions", 7654321098ull),
	    ull("perf.cache_misses", 1234),
	    ull("perf.cpu_clock", 6543210987ull),
	    ull("perf.task_clock", 6543000000ull),
	    ull("perf.page_faults", 45678),
	    ull("perf.context_switches", 123456),
	    ull("perf.cpu_migrations", 789),
	    ull("perf.cmt", 4505600),                 /* not kept: resctrl's now */
	    ull("perf.no_such_event", 1),             /* unknown: left out, no label made */
	    ull("perf.", 1),                          /* no name */
	    llong("perf.page_faults_maj", -1),        /* negative: not a count */
	    ull("perf.alignment_faults", 1ull << 63), /* absurd: left out */
	};
	struct vms_domstats st = {0};
	CHECK_INT(vms_domstats_parse(params, (int)(sizeof(params) / sizeof(params[0])), &st), 0);
	CHECK(st.perf[VMS_PERF_CPU_CYCLES] == 9876543210ull);
	CHECK(st.perf[VMS_PERF_INSTRUCTIONS] == 7654321098ull);
	CHECK(st.perf[VMS_PERF_CPU_CLOCK] == 6543210987ull &&
	      st.perf[VMS_PERF_PAGE_FAULTS] == 45678);
	CHECK(st.perf[VMS_PERF_CONTEXT_SWITCHES] == 123456 &&
	      st.perf[VMS_PERF_CPU_MIGRATIONS] == 789);
	uint32_t want = 0;
	const enum vms_perf_event seen[] = {VMS_PERF_CPU_CYCLES,       VMS_PERF_INSTRUCTIONS,
	                                    VMS_PERF_CACHE_MISSES,     VMS_PERF_CPU_CLOCK,
	                                    VMS_PERF_TASK_CLOCK,       VMS_PERF_PAGE_FAULTS,
	                                    VMS_PERF_CONTEXT_SWITCHES, VMS_PERF_CPU_MIGRATIONS};
	for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		want |= UINT32_C(1) << seen[i];
	CHECK(st.perf_have == want);
	CHECK(st.perf[VMS_PERF_PAGE_FAULTS_MAJ] == 0 && st.perf[VMS_PERF_ALIGNMENT_FAULTS] == 0);

	/* Names round trip, and the table is the libvirt header's. */
	CHECK_STR(vms_perf_event_name(VMS_PERF_INSTRUCTIONS), VIR_PERF_PARAM_INSTRUCTIONS);
	CHECK_STR(vms_perf_event_name(VMS_PERF_EMULATION_FAULTS), VIR_PERF_PARAM_EMULATION_FAULTS);
	CHECK(vms_perf_event_name(VMS_PERF_COUNT) == NULL);
	for (unsigned e = 0; e < VMS_PERF_COUNT; e++)
		CHECK_INT(vms_perf_event_find(vms_perf_event_name((enum vms_perf_event)e)), e);
	CHECK(vms_perf_event_is_clock(VMS_PERF_TASK_CLOCK) &&
	      !vms_perf_event_is_clock(VMS_PERF_CPU_CYCLES));

	/* The operator disables all but context_switches, then enables page_faults again: the
	 * others drop out, and page_faults begins anew from a lower count (a counter reset). */
	virTypedParameter later[] = {ull("cpu.time", 200), ull("perf.context_switches", 123999),
	                             ull("perf.page_faults", 3)};
	bool changed = false;
	struct vms_domstats scratch = {0};
	CHECK_INT(vms_domstats_update(later, 3, &st, &scratch, &changed), 0);
	CHECK(changed);
	CHECK(st.perf_have ==
	      ((UINT32_C(1) << VMS_PERF_CONTEXT_SWITCHES) | (UINT32_C(1) << VMS_PERF_PAGE_FAULTS)));
	CHECK(st.perf[VMS_PERF_CONTEXT_SWITCHES] == 123999 && st.perf[VMS_PERF_PAGE_FAULTS] == 3);
	/* The same counts again are no change; a moved perf count alone is one. */
	CHECK_INT(vms_domstats_update(later, 3, &st, &scratch, &changed), 0);
	CHECK(!changed);
	later[1].value.ul++;
	CHECK_INT(vms_domstats_update(later, 3, &st, &scratch, &changed), 0);
	CHECK(changed && st.perf[VMS_PERF_CONTEXT_SWITCHES] == 124000);
	/* Disabling every event is a change too, with nothing left to show. */
	CHECK_INT(vms_domstats_update(later, 1, &st, &scratch, &changed), 0);
	CHECK(changed && st.perf_have == 0);
	vms_domstats_free(&st);
	vms_domstats_free(&scratch);
}

int
main(void)
{
	test_full_record();
	test_incomplete();
	test_update();
	test_perf();
	return check_done("test_domstats");
}

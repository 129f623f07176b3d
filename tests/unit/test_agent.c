/*
 * The guest agent collector: its reply parser on qemu-ga's real shapes and on hostile ones,
 * and its worker against libvirt's test driver (which has no agent: every read is an error,
 * counted on the domain, never a hang of the caller).
 */
#include "collectors/agent.h"
#include "collectors/agent_parse.h"
#include "collectors/agent_plaus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "check.h"
#include "vmscale/clock.h"

static struct vms_agent_scratch scratch;

/* qemu-ga 7.2 on a 2-CPU Debian 12 guest (milliseconds; guestnice absent on cpu1 here). */
static const char cpustats[] =
    "{\"return\": [{\"user\": 1230, \"idle\": 100000, \"softirq\": 10, \"steal\": 0, "
    "\"irq\": 0, \"guestnice\": 0, \"system\": 450, \"guest\": 0, \"nice\": 0, \"cpu\": 0, "
    "\"iowait\": 70, \"type\": \"linux\"}, {\"user\": 770, \"idle\": 99000, \"softirq\": 20, "
    "\"steal\": 5, \"irq\": 0, \"system\": 550, \"guest\": 0, \"nice\": 3, \"cpu\": 1, "
    "\"iowait\": 30, \"type\": \"linux\"}]}";

static const char diskstats[] =
    "{\"return\": [{\"name\": \"vda\", \"major\": 254, \"minor\": 0, \"stats\": "
    "{\"read-ios\": 100, \"read-merges\": 2, \"read-sectors\": 4000, \"read-ticks\": 50, "
    "\"write-ios\": 20, \"write-merges\": 1, \"write-sectors\": 800, \"write-ticks\": 30, "
    "\"ios-pgr\": 0, \"total-ticks\": 90, \"weight-ticks\": 80, \"discard-ios\": 0, "
    "\"discard-merges\": 0, \"discard-sectors\": 0, \"discard-ticks\": 0, \"flush-ios\": 4, "
    "\"flush-ticks\": 6}}, {\"name\": \"vda1\", \"major\": 254, \"minor\": 1, \"stats\": "
    "{\"read-ios\": 90, \"read-merges\": 2, \"read-sectors\": 3000, \"read-ticks\": 40, "
    "\"write-ios\": 20, \"write-merges\": 1, \"write-sectors\": 800, \"write-ticks\": 30, "
    "\"ios-pgr\": 0, \"total-ticks\": 80, \"weight-ticks\": 70}}, {\"name\": \"loop0\", "
    "\"major\": 7, \"minor\": 0, \"stats\": {}}, {\"name\": \"sr0\", \"major\": 11, \"minor\": "
    "0, \"stats\": {\"read-ios\": 1, \"read-merges\": 0, \"read-sectors\": 8, \"read-ticks\": "
    "0, \"write-ios\": 0, \"write-merges\": 0, \"write-sectors\": 0, \"write-ticks\": 0, "
    "\"ios-pgr\": 0, \"total-ticks\": 0, \"weight-ticks\": 0}}]}";

static int
cpu(const char *reply, struct vms_cpu_report *r, char *err, size_t errsz)
{
	return vms_agent_parse_cpustats(&scratch, reply, strlen(reply), r, err, errsz);
}

static void
test_cpustats(void)
{
	struct vms_cpu_report r;
	char err[160] = "";
	CHECK_INT(cpu(cpustats, &r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(r.hz, 1000);
	CHECK_INT(r.ncpu, 2);
	CHECK_INT(r.nmodes, VMS_CPU_GUEST + 1); /* cpu1 has no guestnice: guest is the last */
	CHECK_INT(r.ticks[VMS_CPU_USER], 2000);
	CHECK_INT(r.ticks[VMS_CPU_NICE], 3);
	CHECK_INT(r.ticks[VMS_CPU_SYSTEM], 1000);
	CHECK_INT(r.ticks[VMS_CPU_IDLE], 199000);
	CHECK_INT(r.ticks[VMS_CPU_IOWAIT], 100);
	CHECK_INT(r.ticks[VMS_CPU_SOFTIRQ], 30);
	CHECK_INT(r.ticks[VMS_CPU_STEAL], 5);
	CHECK_INT(r.ticks[VMS_CPU_GUEST_NICE], 0);
}

static void
test_cpustats_hostile(void)
{
	struct vms_cpu_report r;
	char err[160];
	static const struct {
		const char *reply, *why;
	} bad[] = {
	    {"{\"return\": []}", "0 CPUs (1..1024)"},
	    {"{\"return\": {}}", "no \"return\" array"},
	    {"{\"error\": {\"class\": \"CommandNotFound\"}}", "no \"return\" array"},
	    {"[1]", "no \"return\" array"},
	    {"{\"return\": [5]}", "a CPU entry is not an object"},
	    {"{\"return\": [{\"type\": \"windows\", \"user\": 1}]}",
	     "a CPU entry is not of type \"linux\""},
	    {"{\"return\": [{\"type\": \"linux\", \"user\": 1, \"nice\": 1, \"system\": 1}]}",
	     "a CPU entry lacks idle"},
	    {"{\"return\": [{\"type\": \"linux\", \"user\": -1, \"nice\": 1, \"system\": 1, "
	     "\"idle\": 1}]}",
	     "CPU user is not a whole number of ms up to 2^53"},
	    {"{\"return\": [{\"type\": \"linux\", \"user\": 9007199254740993, \"nice\": 1, "
	     "\"system\": 1, \"idle\": 1}]}",
	     "CPU user is not a whole number of ms up to 2^53"},
	    {"{\"return\": [{\"type\": \"linux\", \"user\": 1.5, \"nice\": 1, \"system\": 1, "
	     "\"idle\": 1}]}",
	     "CPU user is not a whole number of ms up to 2^53"},
	    {"{\"return\": [{\"type\": \"linux\", \"user\": \"1\", \"nice\": 1, \"system\": 1, "
	     "\"idle\": 1}]}",
	     "CPU user is not a whole number of ms up to 2^53"},
	    {"{\"return\": [[[[[[[1]]]]]]]}",
	     "not JSON within bounds: nested too deep at offset 16"},
	    {"{\"return\": [", "not JSON within bounds: unexpected end at offset 12"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (!CHECK_INT(cpu(bad[i].reply, &r, err, sizeof(err)), -1) ||
		    !CHECK_STR(err, bad[i].why))
			fprintf(stderr, "  reply: %s\n", bad[i].reply);
	}
	/* Over the CPU count, and over the size: both refused before anything is summed. */
	size_t cap = VMS_AGENT_REPLY_MAX + 64, len = 0;
	char *big = malloc(cap);
	len += (size_t)snprintf(big, cap, "{\"return\": [");
	for (unsigned i = 0; i <= VMS_AGENT_MAX_CPUS; i++)
		len += (size_t)snprintf(big + len, cap - len, "%s{}", i ? "," : "");
	snprintf(big + len, cap - len, "]}");
	CHECK_INT(cpu(big, &r, err, sizeof(err)), -1);
	CHECK_STR(err, "1025 CPUs (1..1024)");
	memset(big, ' ', cap - 1);
	big[cap - 1] = '\0';
	CHECK_INT(cpu(big, &r, err, sizeof(err)), -1);
	CHECK_STR(err, "reply of 524351 bytes (at most 524288)");
	/* More values than the node budget. */
	len = (size_t)snprintf(big, cap, "{\"return\": [");
	for (unsigned i = 0; i <= VMS_AGENT_NODES_MAX && len + 8 < cap; i++)
		len += (size_t)snprintf(big + len, cap - len, "%s0", i ? "," : "");
	snprintf(big + len, cap - len, "]}");
	CHECK_INT(cpu(big, &r, err, sizeof(err)), -1);
	CHECK(strncmp(err, "not JSON within bounds: too many values", 39) == 0);
	free(big);
}

static int
disks(const char *reply, struct vms_disk_report *out, unsigned max, unsigned *n, unsigned *dropped,
      char *err, size_t errsz)
{
	return vms_agent_parse_diskstats(&scratch, reply, strlen(reply), out, max, n, dropped, err,
	                                 errsz);
}

static void
test_diskstats(void)
{
	struct vms_disk_report out[4];
	unsigned n, dropped;
	char err[160] = "";
	CHECK_INT(disks(diskstats, out, 4, &n, &dropped, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(n, 1); /* vda; not vda1, loop0 or sr0 */
	CHECK_INT(dropped, 0);
	CHECK_STR(out[0].dev, "vda");
	CHECK_INT(out[0].nfields, 17);
	CHECK_INT(out[0].v[0], 100);  /* reads completed */
	CHECK_INT(out[0].v[2], 4000); /* sectors read */
	CHECK_INT(out[0].v[6], 800);  /* sectors written */
	CHECK_INT(out[0].v[10], 80);  /* weighted ms */
	CHECK_INT(out[0].v[16], 6);   /* flush ms */
	/* Kept up to max, the rest counted. */
	const char *two = "{\"return\": [{\"name\": \"vda\", \"stats\": {\"read-ios\": 1, "
	                  "\"read-merges\": 0, \"read-sectors\": 0, \"read-ticks\": 0, "
	                  "\"write-ios\": 0, \"write-merges\": 0, \"write-sectors\": 0, "
	                  "\"write-ticks\": 0, \"ios-pgr\": 0, \"total-ticks\": 0, "
	                  "\"weight-ticks\": 0, \"discard-ios\": 1, \"discard-merges\": 0, "
	                  "\"discard-sectors\": 0, \"discard-ticks\": 0}}, {\"name\": \"vdb\", "
	                  "\"stats\": {\"read-ios\": 1, \"read-merges\": 0, \"read-sectors\": 0, "
	                  "\"read-ticks\": 0, \"write-ios\": 0, \"write-merges\": 0, "
	                  "\"write-sectors\": 0, \"write-ticks\": 0, \"ios-pgr\": 0, "
	                  "\"total-ticks\": 0, \"weight-ticks\": 0}}]}";
	CHECK_INT(disks(two, out, 1, &n, &dropped, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	CHECK_INT(dropped, 1);
	CHECK_INT(out[0].nfields, 15);
	CHECK_INT(disks("{\"return\": []}", out, 4, &n, &dropped, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
}

static void
test_diskstats_hostile(void)
{
	struct vms_disk_report out[4];
	unsigned n, dropped;
	char err[160];
	static const struct {
		const char *reply, *why;
	} bad[] = {
	    {"{\"return\": [{\"stats\": {}}]}",
	     "a disk without a name of 1..31 of [A-Za-z0-9-_.:]"},
	    {"{\"return\": [{\"name\": \"v\\\"da\", \"stats\": {}}]}",
	     "a disk without a name of 1..31 of [A-Za-z0-9-_.:]"},
	    {"{\"return\": [{\"name\": \"\", \"stats\": {}}]}",
	     "a disk without a name of 1..31 of [A-Za-z0-9-_.:]"},
	    {"{\"return\": [{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"stats\": {}}]}",
	     "a disk without a name of 1..31 of [A-Za-z0-9-_.:]"},
	    {"{\"return\": [{\"name\": \"vda\"}]}", "disk vda without a stats object"},
	    {"{\"return\": [{\"name\": \"vda\", \"stats\": {\"read-ios\": 9007199254740993}}]}",
	     "disk vda: read-ios is not a whole number up to 2^53"},
	    {"{\"return\": [{\"name\": \"vda\", \"stats\": {\"read-ios\": 1, \"read-merges\": 0, "
	     "\"read-sectors\": 0, \"read-ticks\": 0, \"write-ios\": 0, \"write-merges\": 0, "
	     "\"write-sectors\": 0, \"write-ticks\": 0, \"ios-pgr\": 0, \"total-ticks\": 0, "
	     "\"weight-ticks\": 0}}, {\"name\": \"vda\", \"stats\": {\"read-ios\": 1, "
	     "\"read-merges\": 0, \"read-sectors\": 0, \"read-ticks\": 0, \"write-ios\": 0, "
	     "\"write-merges\": 0, \"write-sectors\": 0, \"write-ticks\": 0, \"ios-pgr\": 0, "
	     "\"total-ticks\": 0, \"weight-ticks\": 0}}]}",
	     "disk vda listed twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (!CHECK_INT(disks(bad[i].reply, out, 4, &n, &dropped, err, sizeof(err)), -1) ||
		    !CHECK_STR(err, bad[i].why))
			fprintf(stderr, "  reply: %s\n", bad[i].reply);
	}
	char big[8192];
	size_t len = (size_t)snprintf(big, sizeof(big), "{\"return\": [");
	for (unsigned i = 0; i <= VMS_AGENT_MAX_DISK_ENTRIES; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%s1", i ? "," : "");
	snprintf(big + len, sizeof(big) - len, "]}");
	CHECK_INT(disks(big, out, 4, &n, &dropped, err, sizeof(err)), -1);
	CHECK_STR(err, "257 devices (at most 256)");
}

static void
test_whole_disk(void)
{
	static const char *const whole[] = {"vda",     "sda", "xvdb", "nvme0n1",
	                                    "mmcblk0", "hdc", "vdz"};
	static const char *const not_whole[] = {"vda1",  "sdb12", "xvda3", "nvme0n1p1", "mmcblk0p2",
	                                        "loop0", "ram1",  "zram0", "dm-0",      "md127",
	                                        "nbd0",  "sr0",   "fd0",   "hda1"};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (!CHECK(vms_agent_whole_disk(whole[i])))
			fprintf(stderr, "  %s\n", whole[i]);
	for (size_t i = 0; i < sizeof(not_whole) / sizeof(not_whole[0]); i++)
		if (!CHECK(!vms_agent_whole_disk(not_whole[i])))
			fprintf(stderr, "  %s\n", not_whole[i]);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The test driver's domain "test" has no guest agent: the worker's reads fail, and the event
 * loop's side counts that on the store's domain of the same UUID within a few seconds. */
static void
test_worker_test_driver(void)
{
	char uuid[VIR_UUID_STRING_BUFLEN], err[256];
	virConnectPtr conn = virConnectOpenReadOnly("test:///default");
	virDomainPtr dom = conn ? virDomainLookupByName(conn, "test") : NULL;
	if (!CHECK(dom && virDomainGetUUIDString(dom, uuid) == 0))
		return;
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d = vms_store_upsert(&st, uuid, "test", 1);
	CHECK(vms_agent_new("test:///default", "a(", 1, 1, err, sizeof(err)) == NULL);
	struct vms_agent *a = vms_agent_new("test:///default", "^test$", 2, 1, err, sizeof(err));
	if (!CHECK(a != NULL))
		return;
	uint64_t deadline = vms_monotonic_ns() + 10 * NS_PER_S;
	while (d->agent.reads_total[VMS_AGENT_DISKSTATS][VMS_AGENT_ERROR] == 0 &&
	       vms_monotonic_ns() < deadline) {
		vms_agent_collect(a, &st, vms_monotonic_ns());
		sleep_ms(20);
	}
	CHECK_INT(d->agent.reads_total[VMS_AGENT_CPUSTATS][VMS_AGENT_ERROR], 1);
	CHECK_INT(d->agent.reads_total[VMS_AGENT_DISKSTATS][VMS_AGENT_ERROR], 1);
	CHECK_INT(d->agent.reads_total[VMS_AGENT_CPUSTATS][VMS_AGENT_OK], 0);
	CHECK(!d->agent.have_cpu);
	struct vms_passive p = vms_domain_passive(d);
	CHECK_INT(p.source, VMS_SOURCE_NONE);
	/* Stopping does not wait for the next round. */
	uint64_t t0 = vms_monotonic_ns();
	vms_agent_free(a);
	CHECK(vms_monotonic_ns() - t0 < NS_PER_S);
	vms_store_fini(&st);
	virDomainFree(dom);
	virConnectClose(conn);
}

/* The probe's figures win over the agent's; the agent's show when the probe has none. */
static void
test_passive_source(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *d =
	    vms_store_upsert(&st, "00000000-0000-0000-0000-000000000001", "a", 1);
	CHECK_INT(vms_domain_passive(d).source, VMS_SOURCE_NONE);
	d->agent.have_cpu = true;
	d->agent.cpu.ncpu = 2;
	struct vms_passive p = vms_domain_passive(d);
	CHECK_INT(p.source, VMS_SOURCE_AGENT);
	CHECK(p.cpu == &d->agent.cpu);
	CHECK_STR(vms_guest_source_name(p.source), "qemu_agent");
	d->probe.ndisks = 1;
	p = vms_domain_passive(d);
	CHECK_INT(p.source, VMS_SOURCE_PROBE);
	CHECK(!p.have_cpu); /* the probe's own state: no CPU from it yet, none from the agent */
	CHECK_STR(vms_guest_source_name(p.source), "probe");
	vms_store_fini(&st);
}

static void
quiet(void *cls, virErrorPtr e)
{
	(void)cls;
	(void)e;
}

/* The agent's figures judged before they are shown (the security review's M1): no more CPUs
 * than libvirt gives, no counter that falls but for one believed restart per six intervals,
 * CPU time no faster than the CPUs run, and a fixed set of disks. */
static void
test_plausibility(void)
{
	struct vms_domain d;
	memset(&d, 0, sizeof(d));
	d.stats.nvcpu = 2;
	struct vms_agent_state s;
	memset(&s, 0, sizeof(s));
	uint64_t t = 1000 * NS_PER_S, iv = 10 * NS_PER_S;
	bool reset;
	struct vms_cpu_report c = {.hz = 1000, .ncpu = 2, .nmodes = 8};
	c.ticks[VMS_CPU_USER] = 5000;
	c.ticks[VMS_CPU_IDLE] = 100000;
	CHECK(vms_agent_judge_cpu(&s, &d, &c, t, iv, &reset) == NULL && !reset);
	s.have_cpu = true;
	s.cpu = c;
	s.cpu.mono_ns = t;
	/* 10 s later: 2 CPUs ran 20 000 ms at most (30 000 with the slack, and 3 000 more). */
	struct vms_cpu_report c2 = c;
	c2.ticks[VMS_CPU_IDLE] += 20000;
	CHECK(vms_agent_judge_cpu(&s, &d, &c2, t + iv, iv, &reset) == NULL && !reset);
	c2.ticks[VMS_CPU_IDLE] = c.ticks[VMS_CPU_IDLE] + 40000;
	CHECK(vms_agent_judge_cpu(&s, &d, &c2, t + iv, iv, &reset) != NULL);
	c2.ticks[VMS_CPU_IDLE] = c.ticks[VMS_CPU_IDLE] + (1ull << 52);
	CHECK(vms_agent_judge_cpu(&s, &d, &c2, t + iv, iv, &reset) != NULL);
	struct vms_cpu_report many = c;
	many.ncpu = 1024;
	CHECK(vms_agent_judge_cpu(&s, &d, &many, t + iv, iv, &reset) != NULL);
	/* Back to 0: a guest restart, believed once... */
	struct vms_cpu_report zero = {.hz = 1000, .ncpu = 2, .nmodes = 8};
	CHECK(vms_agent_judge_cpu(&s, &d, &zero, t + iv, iv, &reset) == NULL && reset);
	s.reset_ns = t + iv;
	/* ...but not again within six intervals: a counter that alternates is a lie. */
	CHECK(vms_agent_judge_cpu(&s, &d, &zero, t + 3 * iv, iv, &reset) != NULL);
	CHECK(vms_agent_judge_cpu(&s, &d, &zero, t + 7 * iv, iv, &reset) == NULL && reset);

	/* Disks: the first read's set stays; a newcomer is dropped, an absent one keeps its
	 * last figures, a fall is a believed restart once. */
	struct vms_disk_report in[3] = {{.dev = "vda", .nfields = 11},
	                                {.dev = "vdb", .nfields = 11}};
	in[0].v[2] = 100;
	in[1].v[2] = 200;
	struct vms_disk_report out[VMS_PROBE_MAX_DISKS];
	unsigned nout, dropped;
	CHECK(vms_agent_judge_disks(&s, in, 2, t, iv, out, &nout, &dropped, &reset) == NULL);
	CHECK_INT(nout, 2);
	memcpy(s.disks, out, nout * sizeof(out[0]));
	s.ndisks = nout;
	s.reset_ns = 0;
	struct vms_disk_report next[2] = {{.dev = "vda", .nfields = 11},
	                                  {.dev = "sdz", .nfields = 11}};
	next[0].v[2] = 150;
	CHECK(vms_agent_judge_disks(&s, next, 2, t + iv, iv, out, &nout, &dropped, &reset) == NULL);
	CHECK_INT(nout, 2);
	CHECK_INT(dropped, 1); /* sdz */
	CHECK(strcmp(out[0].dev, "vda") == 0 && out[0].v[2] == 150);
	CHECK(strcmp(out[1].dev, "vdb") == 0 && out[1].v[2] == 200); /* absent: as it was */
	next[0].v[2] = 1;                                            /* fell */
	CHECK(vms_agent_judge_disks(&s, next, 2, t + iv, iv, out, &nout, &dropped, &reset) == NULL);
	CHECK(reset && nout == 2 && strcmp(out[1].dev, "sdz") == 0); /* the read's set now */
	s.reset_ns = t + iv;
	CHECK(vms_agent_judge_disks(&s, next, 2, t + 2 * iv, iv, out, &nout, &dropped, &reset) !=
	      NULL);
}

int
main(void)
{
	virSetErrorFunc(NULL, quiet);
	vms_agent_scratch_init(&scratch);
	test_cpustats();
	test_cpustats_hostile();
	test_diskstats();
	test_diskstats_hostile();
	test_whole_disk();
	test_passive_source();
	test_plausibility();
	test_worker_test_driver();
	vms_agent_scratch_fini(&scratch);
	return check_done("test_agent");
}

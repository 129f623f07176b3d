/* /proc/stat parser on fixtures from several kernel generations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes/procstat.h"
#include "check.h"

#define FIXTURE(name) VMSCALE_TEST_DATA "/fixtures/proc/" name

static int
parse_fixture(const char *path, struct vms_cpu_report *r)
{
	size_t len;
	char *text = check_read_file(path, &len);
	memset(r, 0, sizeof(*r));
	int rc = vmsp_procstat_parse(text, len, r);
	free(text);
	return rc;
}

static void
test_modern(void)
{
	struct vms_cpu_report r;
	CHECK_INT(parse_fixture(FIXTURE("stat-linux6.1-2cpu"), &r), 0);
	CHECK_INT(r.ncpu, 2);
	CHECK_INT(r.nmodes, VMS_CPU_MODE_COUNT);
	CHECK(r.ticks[VMS_CPU_IDLE] > 0);
}

static void
test_many_cpus(void)
{
	struct vms_cpu_report r;
	CHECK_INT(parse_fixture(FIXTURE("stat-64cpu"), &r), 0);
	char *expect = check_read_file(FIXTURE("stat-64cpu.expect"), NULL);
	char got[512];
	size_t n = (size_t)snprintf(got, sizeof(got), "ncpu=%u nmodes=%u", r.ncpu, r.nmodes);
	for (unsigned m = 0; m < r.nmodes; m++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, " %llu",
		                      (unsigned long long)r.ticks[m]);
	snprintf(got + n, sizeof(got) - n, "\n");
	CHECK_STR(got, expect);
	free(expect);
}

static void
test_old_kernels(void)
{
	struct vms_cpu_report r;
	CHECK_INT(parse_fixture(FIXTURE("stat-linux2.4-4col"), &r), 0);
	CHECK_INT(r.nmodes, 4);
	CHECK_INT(r.ncpu, 1);
	CHECK(r.ticks[VMS_CPU_USER] == 1383 && r.ticks[VMS_CPU_IDLE] == 98573);
	CHECK(r.ticks[VMS_CPU_IOWAIT] == 0);

	CHECK_INT(parse_fixture(FIXTURE("stat-linux2.6.18-8col"), &r), 0);
	CHECK_INT(r.nmodes, 8);
	CHECK_INT(r.ncpu, 2);
	CHECK(r.ticks[VMS_CPU_SOFTIRQ] == 456 && r.ticks[VMS_CPU_STEAL] == 0);
	CHECK(r.ticks[VMS_CPU_GUEST] == 0);
}

static void
test_broken(void)
{
	struct vms_cpu_report r;
	CHECK_INT(parse_fixture(FIXTURE("stat-broken-nototal"), &r), -1);
	CHECK_INT(parse_fixture(FIXTURE("stat-broken-3col"), &r), -1);
	CHECK_INT(parse_fixture(FIXTURE("stat-broken-garbage"), &r), -1);
	CHECK_INT(vmsp_procstat_parse("", 0, &r), -1);
	const char *overflow = "cpu  99999999999999999999999 1 2 3\n";
	CHECK_INT(vmsp_procstat_parse(overflow, strlen(overflow), &r), -1);
	/* No trailing newline, extra columns beyond the ten we know are ignored. */
	const char *future = "cpu  1 2 3 4 5 6 7 8 9 10 11 12\ncpu0 1 2 3 4 5 6 7 8 9 10 11 12";
	CHECK_INT(vmsp_procstat_parse(future, strlen(future), &r), 0);
	CHECK_INT(r.nmodes, VMS_CPU_MODE_COUNT);
	CHECK(r.ticks[VMS_CPU_GUEST_NICE] == 10);
}

static void
test_live(void)
{
	/* The machine running the test has a /proc/stat; two reads never go backwards. */
	struct vms_cpu_report a, b;
	CHECK_INT(vmsp_procstat_read("/proc/stat", &a), 0);
	CHECK_INT(vmsp_procstat_read("/proc/stat", &b), 0);
	for (unsigned m = 0; m < a.nmodes; m++)
		CHECK(b.ticks[m] >= a.ticks[m]);
	CHECK_INT(vmsp_procstat_read("/nonexistent/stat", &a), -1);
}

int
main(void)
{
	test_modern();
	test_many_cpus();
	test_old_kernels();
	test_broken();
	test_live();
	return check_done("test_procstat");
}

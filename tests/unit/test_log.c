/* Logging: one line per event, and complaints rate-limited with one line on recovery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/util/log.h"
#include "check.h"

static int
count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

int
main(void)
{
	unsetenv("JOURNAL_STREAM"); /* stderr, whatever runs the test */
	vms_log_init("test_log", false);
	struct check_capture cap;
	check_capture_stderr(&cap);

	vms_log(LOG_ERR, "dvm\n1", "first\nsecond");
	vms_debug("hidden unless verbose");
	struct vms_complaint c = {0};
	vms_complain_recovered(&c, NULL, "recovered before any failure");
	for (int i = 0; i < 100; i++)
		vms_complain(&c, LOG_WARNING, "dvm2", "cannot connect %d", i);
	vms_complain_recovered(&c, "dvm2", "connected again");
	vms_complain_recovered(&c, "dvm2", "connected again twice");
	vms_complain(&c, LOG_WARNING, "dvm2", "cannot connect later");
	const char *out = check_capture_end(&cap);

	CHECK(strstr(out, "test_log: error: domain dvm 1: first second\n") != NULL);
	CHECK(strstr(out, "hidden") == NULL);
	CHECK(strstr(out, "recovered before") == NULL);
	CHECK_INT(count(out, "cannot connect"),
	          2); /* the first failure, then the one after recovery */
	CHECK(strstr(out, "cannot connect 0\n") != NULL);
	CHECK_INT(count(out, "connected again"), 1);
	CHECK(strstr(out, "domain dvm2: connected again\n") != NULL);
	CHECK(strstr(out, "cannot connect later\n") != NULL);

	/* After the interval, a repeat is logged with how many were suppressed. */
	c.next_ns = 0;
	c.suppressed = 41;
	check_capture_stderr(&cap);
	vms_complain(&c, LOG_WARNING, NULL, "still failing");
	out = check_capture_end(&cap);
	CHECK(strstr(out, "still failing (41 similar messages suppressed)") != NULL);
	CHECK(c.interval_ns == 2 * 60ull * 1000000000ull); /* doubled */
	return check_done("test_log");
}

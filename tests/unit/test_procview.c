/* Whose /proc counters the probe sees: lxcfs in mountinfo, container= in init's environment,
 * on fixture /proc trees (tests/fixtures/procview/CASE/{mountinfo,environ}). */
#include "probes/procview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define FIX VMSCALE_TEST_DATA "/fixtures/procview/"

static bool
is_host(const char *dir, bool in_container, char *why, size_t whysz)
{
	char mi[512], env[512];
	snprintf(mi, sizeof(mi), FIX "%s/mountinfo", dir);
	snprintf(env, sizeof(env), FIX "%s/environ", dir);
	const struct vmsp_procview_paths p = {mi, env, "/proc/stat"};
	return vmsp_procview_is_host(&p, in_container, why, whysz);
}

static void
test_trees(void)
{
	char why[256];
	/* A container without lxcfs: the host's counters, known from init's container=. */
	CHECK(is_host("container-host", false, why, sizeof(why)));
	CHECK(strstr(why, "without lxcfs") != NULL);
	/* lxcfs over /proc/stat: the container's own, whichever way fuse names it. */
	CHECK(!is_host("container-lxcfs", false, why, sizeof(why)));
	CHECK(strstr(why, "lxcfs is mounted") != NULL);
	CHECK(!is_host("container-lxcfs", true, why, sizeof(why)));
	CHECK(!is_host("fuse-lxcfs", false, why, sizeof(why)));
	/* Something mounted over lxcfs's /proc/stat: the host's again. */
	CHECK(is_host("lxcfs-covered", false, why, sizeof(why)));
	/* A VM: its own kernel's, unless it reached vmscaled through a container's socket. */
	CHECK(!is_host("vm", false, why, sizeof(why)));
	CHECK(strstr(why, "not a container") != NULL);
	CHECK(is_host("vm", true, why, sizeof(why)));
	/* Nothing readable: not a container as far as can be told. */
	CHECK(!is_host("absent", false, why, sizeof(why)));
}

static void
test_parsers(void)
{
	static const char lx[] = "5 1 0:65 /proc/stat /proc/stat rw - fuse.lxcfs lxcfs rw\n";
	CHECK(vmsp_procview_lxcfs(lx, strlen(lx), "/proc/stat"));
	CHECK(!vmsp_procview_lxcfs(lx, strlen(lx), "/proc/meminfo"));
	/* Optional fields before the separator; no trailing LF. */
	static const char opt[] =
	    "5 1 0:65 / /proc/stat rw shared:3 master:2 - fuse.lxcfs lxcfs rw";
	CHECK(vmsp_procview_lxcfs(opt, strlen(opt), "/proc/stat"));
	/* Not well-formed: no separator, too few fields, a fuse of another source, empty. */
	static const char *const bad[] = {
	    "5 1 0:65 / /proc/stat rw fuse.lxcfs lxcfs rw\n",
	    "5 1 0:65 /\n",
	    "5 1 0:65 / /proc/stat rw - fuse sshfs rw\n",
	    "5 1 0:65 / /proc/stat rw -\n",
	    "",
	    "\n\n   \n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!vmsp_procview_lxcfs(bad[i], strlen(bad[i]), "/proc/stat"));
	/* The length bounds the text: a line cut before its fstype is not lxcfs. */
	CHECK(!vmsp_procview_lxcfs(lx, 40, "/proc/stat"));

	static const char env[] = "A=1\0container=lxc-libvirt\0B=2";
	CHECK(vmsp_procview_container_env(env, sizeof(env)));
	static const char empty[] = "A=1\0container=\0containerx=1\0";
	CHECK(!vmsp_procview_container_env(empty, sizeof(empty)));
	/* Cut inside the name: not found. */
	CHECK(!vmsp_procview_container_env(env, 10));
}

int
main(void)
{
	unsetenv("container"); /* the fixtures decide, not where the test runs */
	test_trees();
	test_parsers();
	return check_done("test_procview");
}

/* Domain XML: finding the probe channel, and refusing hostile or broken documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/domxml.h"
#include "check.h"
#include "vmscale/protocol.h"

static int
find(const char *xml, char *path, size_t pathsz)
{
	char err[256] = "";
	path[0] = '\0';
	int rc =
	    vms_domxml_channel_path(xml, VMS_PROTO_CHANNEL_NAME, path, pathsz, err, sizeof(err));
	if (rc < 0)
		CHECK(err[0] != '\0');
	return rc;
}

static void
test_live_xml(void)
{
	size_t len;
	char *xml = check_read_file(VMSCALE_TEST_DATA "/fixtures/libvirt/live-dvm1.xml", &len);
	char path[256];
	CHECK_INT(find(xml, path, sizeof(path)), 1);
	CHECK_STR(path, "/var/lib/libvirt/qemu/channel/target/domain-1-dvm1/org.vmscale.probe.0");
	free(xml);
}

static void
test_cases(void)
{
	char path[256];
	/* No devices at all, and a channel with another name: both mean "no probe". */
	CHECK_INT(find("<domain type='qemu'><name>a</name></domain>", path, sizeof(path)), 0);
	CHECK_INT(find("<domain><devices><channel type='unix'><source mode='bind' path='/x'/>"
	               "<target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices>"
	               "</domain>",
	               path, sizeof(path)),
	          0);
	/* The right name on a pty channel is not ours to connect to. */
	CHECK_INT(find("<domain><devices><channel type='pty'><target type='virtio' "
	               "name='org.vmscale.probe.0'/></channel></devices></domain>",
	               path, sizeof(path)),
	          0);
	/* Second of two channels. */
	CHECK_INT(
	    find("<domain><devices><channel type='unix'><source path='/a'/><target type='virtio' "
	         "name='other'/></channel><channel type='unix'><source mode='bind' path='/b/c'/>"
	         "<target type='virtio' name='org.vmscale.probe.0'/></channel></devices></domain>",
	         path, sizeof(path)),
	    1);
	CHECK_STR(path, "/b/c");
	/* Errors: a channel without a path, a relative path, a path too long for sun_path. */
	CHECK_INT(find("<domain><devices><channel type='unix'><target type='virtio' "
	               "name='org.vmscale.probe.0'/></channel></devices></domain>",
	               path, sizeof(path)),
	          -1);
	CHECK_INT(find("<domain><devices><channel type='unix'><source path='rel/x'/><target "
	               "type='virtio' name='org.vmscale.probe.0'/></channel></devices></domain>",
	               path, sizeof(path)),
	          -1);
	char longxml[1024];
	char longpath[200];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(longxml, sizeof(longxml),
	         "<domain><devices><channel type='unix'><source path='%s'/><target type='virtio' "
	         "name='org.vmscale.probe.0'/></channel></devices></domain>",
	         longpath);
	CHECK_INT(find(longxml, path, sizeof(path)), -1);
	/* Not XML, not a domain, truncated. */
	CHECK_INT(find("", path, sizeof(path)), -1);
	CHECK_INT(find("<domain><devices>", path, sizeof(path)), -1);
	CHECK_INT(find("<network><devices/></network>", path, sizeof(path)), -1);
	/* Entity expansion and external entities are not followed. */
	const char *laughs =
	    "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'>"
	    "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c "
	    "'&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
	    "<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
	    "<domain><devices><channel type='unix'><source path='/&c;&e;'/><target type='virtio' "
	    "name='org.vmscale.probe.0'/></channel></devices></domain>";
	int rc = find(laughs, path, sizeof(path));
	CHECK(rc == -1 || (rc == 1 && strstr(path, "root:") == NULL && strlen(path) < 108));
}

static int
cid_of(const char *xml, uint32_t *cid)
{
	char err[256] = "";
	*cid = 0;
	int rc = vms_domxml_vsock_cid(xml, cid, err, sizeof(err));
	if (rc < 0)
		CHECK(err[0] != '\0');
	return rc;
}

#define VSOCK(model, cid) "<domain><devices>" model cid "</vsock></devices></domain>"

static void
test_vsock_cid(void)
{
	uint32_t cid;
	CHECK_INT(cid_of(VSOCK("<vsock model='virtio'>", "<cid auto='yes' address='3'/>"), &cid),
	          1);
	CHECK_INT(cid, 3);
	CHECK_INT(cid_of(VSOCK("<vsock>", "<cid address='4294967294'/>"), &cid), 1);
	CHECK(cid == 4294967294u);
	/* The live domain XML of the fixture has no vsock device. */
	size_t len;
	char *xml = check_read_file(VMSCALE_TEST_DATA "/fixtures/libvirt/live-dvm1.xml", &len);
	CHECK_INT(cid_of(xml, &cid), 0);
	free(xml);
	/* No device, no CID yet (an inactive domain with auto='yes'), another model. */
	CHECK_INT(cid_of("<domain><devices/></domain>", &cid), 0);
	CHECK_INT(cid_of("<domain/>", &cid), 0);
	CHECK_INT(cid_of(VSOCK("<vsock model='virtio'>", "<cid auto='yes'/>"), &cid), 0);
	CHECK_INT(cid_of(VSOCK("<vsock model='virtio'>", ""), &cid), 0);
	CHECK_INT(cid_of(VSOCK("<vsock model='other'>", "<cid address='5'/>"), &cid), 0);
	/* Reserved, out of range, not decimal, empty, oversized: refused, never truncated. */
	const char *bad[] = {"0",          "1",          "2",
	                     "4294967295", "4294967296", "99999999999999999999",
	                     "-3",         "+3",         " 3",
	                     "3 ",         "0x10",       "3x",
	                     "",           "1e3",        "3333333333333333333333333333333333333"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[512];
		snprintf(doc, sizeof(doc),
		         "<domain><devices><vsock model='virtio'><cid address='%s'/></vsock>"
		         "</devices></domain>",
		         bad[i]);
		CHECK_INT(cid_of(doc, &cid), -1);
		CHECK_INT(cid, 0);
	}
	/* Broken documents, not a domain, entities not expanded into the CID. */
	CHECK_INT(cid_of("", &cid), -1);
	CHECK_INT(cid_of("<domain><devices><vsock>", &cid), -1);
	CHECK_INT(
	    cid_of("<network><devices><vsock><cid address='3'/></vsock></devices></network>", &cid),
	    -1);
	int rc = cid_of("<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a '7'>"
	                "<!ENTITY e SYSTEM 'file:///etc/hostname'>]>"
	                "<domain><devices><vsock><cid address='&e;'/></vsock></devices></domain>",
	                &cid);
	CHECK(rc <= 0);
	/* Only the first vsock device counts (libvirt allows one). */
	CHECK_INT(cid_of("<domain><devices><vsock model='virtio'><cid address='9'/></vsock>"
	                 "<vsock model='virtio'><cid address='10'/></vsock></devices></domain>",
	                 &cid),
	          1);
	CHECK_INT(cid, 9);
}

static int
sockdir_of(const char *xml, char *dir, size_t dirsz)
{
	char err[256] = "";
	dir[0] = '\0';
	int rc =
	    vms_domxml_socket_dir(xml, "/run/vmscale", "probe.sock", dir, dirsz, err, sizeof(err));
	if (rc < 0)
		CHECK(err[0] != '\0');
	return rc;
}

#define FS(src, tgt)                                                                               \
	"<filesystem type='mount'><source dir='" src "'/><target dir='" tgt "'/></filesystem>"
#define LXC(devs) "<domain type='lxc'><devices>" devs "</devices></domain>"

static void
test_socket_dir(void)
{
	char dir[256];
	CHECK_INT(sockdir_of(LXC(FS("/", "/") FS("/var/lib/vmscale/ct1", "/run/vmscale")), dir,
	                     sizeof(dir)),
	          1);
	CHECK_STR(dir, "/var/lib/vmscale/ct1");
	/* type='mount' is the default. */
	CHECK_INT(sockdir_of(LXC("<filesystem><source dir='/d'/><target dir='/run/vmscale'/>"
	                         "</filesystem>"),
	                     dir, sizeof(dir)),
	          1);
	CHECK_STR(dir, "/d");
	/* None: another target, another type, no devices, a VM's virtiofs tag. */
	CHECK_INT(sockdir_of(LXC(FS("/d", "/run/other")), dir, sizeof(dir)), 0);
	CHECK_INT(sockdir_of(LXC("<filesystem type='ram'><source usage='1024'/>"
	                         "<target dir='/run/vmscale'/></filesystem>"),
	                     dir, sizeof(dir)),
	          0);
	CHECK_INT(sockdir_of("<domain type='lxc'/>", dir, sizeof(dir)), 0);
	CHECK_INT(sockdir_of("<domain type='qemu'><devices>" FS(
	                         "/d", "/run/vmscale") "</devices></domain>",
	                     dir, sizeof(dir)),
	          0);
	/* Unusable: relative, absent, too long for DIR/probe.sock in a sockaddr_un. */
	CHECK_INT(sockdir_of(LXC(FS("d", "/run/vmscale")), dir, sizeof(dir)), -1);
	CHECK_INT(sockdir_of(LXC("<filesystem type='mount'><target dir='/run/vmscale'/>"
	                         "</filesystem>"),
	                     dir, sizeof(dir)),
	          -1);
	CHECK_INT(sockdir_of(LXC(FS("/0123456789012345678901234567890123456789012345678901234567"
	                            "89012345678901234567890123456789012345",
	                            "/run/vmscale")),
	                     dir, sizeof(dir)),
	          -1);
	/* 96 bytes + "/probe.sock" = 107: fits in 108 with the NUL. */
	CHECK_INT(sockdir_of(LXC(FS("/012345678901234567890123456789012345678901234567890123456"
	                            "78901234567890123456789012345678901234",
	                            "/run/vmscale")),
	                     dir, sizeof(dir)),
	          1);
	CHECK_INT(sockdir_of("<domain type='lxc'><devices>", dir, sizeof(dir)), -1);
	CHECK_INT(sockdir_of("<notdomain type='lxc'/>", dir, sizeof(dir)), -1);
}

int
main(void)
{
	test_live_xml();
	test_cases();
	test_vsock_cid();
	test_socket_dir();
	return check_done("test_domxml");
}

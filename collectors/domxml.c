/* Domain XML parsing (see domxml.h), with libxml2 and no network, no entities, no DTDs. */
#include "collectors/domxml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

static int
name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

static const xmlNode *
child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *c = parent->children; c; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

/* Copies an attribute into buf; returns 1 if present and it fits, 0 otherwise. */
static int
attr(const xmlNode *n, const char *name, char *buf, size_t bufsz)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (!v)
		return 0;
	int ok = snprintf(buf, bufsz, "%s", (const char *)v) < (int)bufsz;
	xmlFree(v);
	return ok;
}

int
vms_domxml_channel_path(const char *xml, const char *channel_name, char *path, size_t pathsz,
                        char *err, size_t errsz)
{
	size_t len = strnlen(xml, VMS_DOMXML_MAX_BYTES + 1);
	if (len > VMS_DOMXML_MAX_BYTES) {
		snprintf(err, errsz, "domain XML larger than %d bytes", VMS_DOMXML_MAX_BYTES);
		return -1;
	}
	xmlDoc *doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		snprintf(err, errsz, "domain XML is not well-formed");
		return -1;
	}
	int rc = 0;
	const xmlNode *root = xmlDocGetRootElement(doc);
	const xmlNode *devices = root && name_is(root, "domain") ? child(root, "devices") : NULL;
	if (!root || !name_is(root, "domain")) {
		snprintf(err, errsz, "root element is not <domain>");
		rc = -1;
		goto cleanup;
	}
	if (!devices)
		goto cleanup;
	for (const xmlNode *c = devices->children; c; c = c->next) {
		char type[16], target_type[16], name[128];
		if (!name_is(c, "channel") || !attr(c, "type", type, sizeof(type)) ||
		    strcmp(type, "unix") != 0)
			continue;
		const xmlNode *target = child(c, "target");
		const xmlNode *source = child(c, "source");
		if (!target || !attr(target, "type", target_type, sizeof(target_type)) ||
		    strcmp(target_type, "virtio") != 0 ||
		    !attr(target, "name", name, sizeof(name)) || strcmp(name, channel_name) != 0)
			continue;
		char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (!source || !attr(source, "path", p, sizeof(p))) {
			snprintf(err, errsz,
			         "channel %s has no usable source path (absent or longer "
			         "than %zu bytes)",
			         channel_name, sizeof(p) - 1);
			rc = -1;
			goto cleanup;
		}
		if (p[0] != '/' || strlen(p) >= pathsz) {
			snprintf(err, errsz, "channel %s source path is not absolute",
			         channel_name);
			rc = -1;
			goto cleanup;
		}
		snprintf(path, pathsz, "%s", p);
		rc = 1;
		break;
	}
cleanup:
	xmlFreeDoc(doc);
	return rc;
}

/* The parsed document, after the checks every query shares; NULL with err filled on error. */
static xmlDoc *
read_domain(const char *xml, const xmlNode **devices, char *err, size_t errsz)
{
	size_t len = strnlen(xml, VMS_DOMXML_MAX_BYTES + 1);
	if (len > VMS_DOMXML_MAX_BYTES) {
		snprintf(err, errsz, "domain XML larger than %d bytes", VMS_DOMXML_MAX_BYTES);
		return NULL;
	}
	xmlDoc *doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
	                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		snprintf(err, errsz, "domain XML is not well-formed");
		return NULL;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || !name_is(root, "domain")) {
		snprintf(err, errsz, "root element is not <domain>");
		xmlFreeDoc(doc);
		return NULL;
	}
	*devices = child(root, "devices");
	return doc;
}

int
vms_domxml_vsock_cid(const char *xml, uint32_t *cid, char *err, size_t errsz)
{
	const xmlNode *devices = NULL;
	xmlDoc *doc = read_domain(xml, &devices, err, errsz);
	if (!doc)
		return -1;
	int rc = 0;
	const xmlNode *vsock = devices ? child(devices, "vsock") : NULL;
	const xmlNode *c = vsock ? child(vsock, "cid") : NULL;
	char model[16], addr[16];
	if (vsock && attr(vsock, "model", model, sizeof(model)) && strcmp(model, "virtio") != 0)
		goto cleanup; /* another device model: not ours to reach */
	if (!c || !xmlHasProp(c, (const xmlChar *)"address"))
		goto cleanup; /* no device, or not started yet (auto CID not assigned) */
	if (!attr(c, "address", addr, sizeof(addr)))
		addr[0] = '\0'; /* too long to be a CID */
	/* Decimal only, as libvirt writes it; 0..2 are the hypervisor, local and host CIDs, and
	 * 0xffffffff is "any": none of them names a guest. */
	char *end = NULL;
	unsigned long long v = 0;
	bool digits = addr[0] >= '0' && addr[0] <= '9';
	if (digits) {
		errno = 0;
		v = strtoull(addr, &end, 10);
	}
	if (!digits || errno || !end || *end || v < 3 || v >= UINT32_MAX) {
		snprintf(err, errsz, "vsock cid address '%.15s' is not a guest CID (3..4294967294)",
		         addr);
		rc = -1;
		goto cleanup;
	}
	*cid = (uint32_t)v;
	rc = 1;
cleanup:
	xmlFreeDoc(doc);
	return rc;
}

/* The <source dir> of mount, which must be absolute and leave room for "/" + socket_name in a
 * sockaddr_un; -1 with err filled otherwise. */
static int
mount_source(const xmlNode *fs, const char *target_dir, const char *socket_name, char *dir,
             size_t dirsz, char *err, size_t errsz)
{
	const xmlNode *source = child(fs, "source");
	size_t room = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - strlen(socket_name) - 1;
	char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!source || !attr(source, "dir", p, sizeof(p)) || p[0] != '/' || strlen(p) > room ||
	    strlen(p) >= dirsz) {
		snprintf(err, errsz,
		         "the filesystem mounted at %s has no usable source dir (absent, not "
		         "absolute, or longer than %zu bytes)",
		         target_dir, room);
		return -1;
	}
	snprintf(dir, dirsz, "%s", p);
	return 1;
}

int
vms_domxml_socket_dir(const char *xml, const char *target_dir, const char *socket_name, char *dir,
                      size_t dirsz, char *err, size_t errsz)
{
	const xmlNode *devices = NULL;
	xmlDoc *doc = read_domain(xml, &devices, err, errsz);
	if (!doc)
		return -1;
	int rc = 0;
	char type[16];
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!devices || !attr(root, "type", type, sizeof(type)) || strcmp(type, "lxc") != 0)
		goto cleanup; /* a VM's filesystems are mount tags, not paths it sees */
	for (const xmlNode *c = devices->children; c; c = c->next) {
		char fstype[16], tdir[256];
		if (!name_is(c, "filesystem"))
			continue;
		if (attr(c, "type", fstype, sizeof(fstype)) && strcmp(fstype, "mount") != 0)
			continue; /* type='mount' is the default */
		const xmlNode *target = child(c, "target");
		if (!target || !attr(target, "dir", tdir, sizeof(tdir)) ||
		    strcmp(tdir, target_dir) != 0)
			continue;
		rc = mount_source(c, target_dir, socket_name, dir, dirsz, err, errsz);
		break;
	}
cleanup:
	xmlFreeDoc(doc);
	return rc;
}

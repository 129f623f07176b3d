/* Domain XML parsing (see domxml.h), with libxml2 and no network, no entities, no DTDs. */
#include "domxml.h"

#include <stdio.h>
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
		    strcmp(target_type, "virtio") != 0 || !attr(target, "name", name, sizeof(name)) ||
		    strcmp(name, channel_name) != 0)
			continue;
		char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
		if (!source || !attr(source, "path", p, sizeof(p))) {
			snprintf(err, errsz, "channel %s has no usable source path (absent or longer "
				 "than %zu bytes)", channel_name, sizeof(p) - 1);
			rc = -1;
			goto cleanup;
		}
		if (p[0] != '/' || strlen(p) >= pathsz) {
			snprintf(err, errsz, "channel %s source path is not absolute", channel_name);
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

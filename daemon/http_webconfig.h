/*
 * The web config file of the Prometheus exporter-toolkit (web-config.yml), the subset vmscaled
 * serves: tls_server_config {cert_file, key_file} and basic_auth_users {user: bcrypt hash}.
 * Any other key, and YAML beyond flat "key: value" mappings (flow style, anchors, lists, block
 * scalars), is an error naming file and line. The file is untrusted input: bounded in size, line
 * length and users; a hash must be a bcrypt hash ($2y$, $2b$ or $2a$, 60 characters).
 */
#ifndef VMSCALE_HTTP_WEBCONFIG_H
#define VMSCALE_HTTP_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define VMS_WEBCONFIG_MAX_FILE (64 * 1024) /* bytes */
#define VMS_WEBCONFIG_MAX_LINE 1024        /* bytes, without the LF */
#define VMS_WEBCONFIG_MAX_USERS 64
#define VMS_WEBCONFIG_MAX_USER 128  /* bytes of a user name */
#define VMS_WEBCONFIG_BCRYPT_LEN 60 /* "$2y$10$" + 22 of salt + 31 of hash */

struct vms_webconfig_user {
	char *name;
	char hash[VMS_WEBCONFIG_BCRYPT_LEN + 1];
};

struct vms_webconfig {
	/* tls_server_config: both or neither; a relative path is taken from the file's folder,
	 * as the exporter-toolkit does. */
	char *tls_cert, *tls_key;
	struct vms_webconfig_user *users; /* basic_auth_users; none: no authentication */
	size_t nusers;
};

/* Reads and parses path into wc (zeroed first). 0, or -1 with "PATH:LINE: why" in err. */
int vms_webconfig_load(struct vms_webconfig *wc, const char *path, char *err, size_t errsz);
/* The same on text (len bytes, NUL bytes are errors); path names it in errors and anchors
 * relative TLS paths. */
int vms_webconfig_parse(struct vms_webconfig *wc, const char *path, const char *text, size_t len,
                        char *err, size_t errsz);
void vms_webconfig_fini(struct vms_webconfig *wc);
/* A deep copy, malloc'd; NULL for NULL. */
struct vms_webconfig *vms_webconfig_dup(const struct vms_webconfig *src);
/* vms_webconfig_fini, then free. NULL is fine. */
void vms_webconfig_free(struct vms_webconfig *wc);
/* True if both use the same certificate and key files (or neither uses TLS). */
bool vms_webconfig_same_tls(const struct vms_webconfig *a, const struct vms_webconfig *b);

#endif

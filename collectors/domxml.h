/* Reading what vmscaled needs from a domain's live XML, treated as untrusted input. */
#ifndef VMSCALE_DOMXML_H
#define VMSCALE_DOMXML_H

#include <stddef.h>
#include <stdint.h>

#define VMS_DOMXML_MAX_BYTES (4 * 1024 * 1024)

/*
 * Finds the host socket path of the unix channel whose virtio target is named channel_name.
 * Returns 1 and fills path when found, 0 when the domain has no such channel, -1 when the XML
 * is not well-formed, too large, or the path is unusable (not absolute, too long for
 * sockaddr_un); err then says why.
 */
int vms_domxml_channel_path(const char *xml, const char *channel_name, char *path, size_t pathsz,
                            char *err, size_t errsz);

/*
 * Finds the guest CID of the domain's virtio vsock device (<devices><vsock model='virtio'>
 * <cid address='N'/>): returns 1 and fills cid, 0 when the domain has no vsock device or no
 * CID assigned yet, -1 when the XML is broken or the CID is not a guest's (0..2, -1, not a
 * decimal number); err then says why.
 */
int vms_domxml_vsock_cid(const char *xml, uint32_t *cid, char *err, size_t errsz);

/*
 * A container's probe socket directory: the host directory (<source dir>) of the
 * <filesystem type='mount'> whose <target dir> is target_dir, in a <domain type='lxc'>; the
 * daemon listens on DIR/socket_name there. Returns 1 and fills dir, 0 when there is none (or
 * the domain is not a container), -1 when the XML is broken or the source dir unusable (not
 * absolute, too long for DIR/socket_name in a sockaddr_un); err then says why.
 */
int vms_domxml_socket_dir(const char *xml, const char *target_dir, const char *socket_name,
                          char *dir, size_t dirsz, char *err, size_t errsz);

#endif

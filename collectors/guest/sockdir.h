/*
 * The container transport: for every running container (libvirt LXC) whose XML bind-mounts a
 * host directory at VMS_PROTO_CONTAINER_DIR (the store's socket_dir), a unix socket
 * DIR/VMS_PROTO_CONTAINER_SOCKET that vmscaled listens on and the probe inside connects to.
 * The identity is the directory: only that container sees it, so whatever connects to its
 * socket speaks for that container and no other. The directory's contents are the
 * container's to change: vmscaled replaces only a socket there, never follows a link, and
 * removes the socket it made (the same inode) when the container goes.
 */
#ifndef VMSCALE_SOCKDIR_H
#define VMSCALE_SOCKDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/guest/channel.h"
#include "daemon/store/store.h"

struct vms_sockdir_stats {
	bool on;            /* a container's socket was listened on since the start */
	uint64_t accepted;  /* connections handed to the channels */
	unsigned listening; /* containers whose socket is open now */
	uint64_t failures;  /* sockets that could not be made (bind, a non-socket in the way) */
};

struct vms_sockdirs;

struct vms_sockdirs *vms_sockdirs_new(struct vms_store *st, struct vms_channels *chans);
void vms_sockdirs_free(struct vms_sockdirs *s);

/* After a listing: listens for new containers (and retries failed ones), closes the sockets
 * of containers gone or whose directory changed. */
void vms_sockdirs_sync(struct vms_sockdirs *s);

void vms_sockdirs_get_stats(const struct vms_sockdirs *s, struct vms_sockdir_stats *out);

#endif

/*
 * The probe channels: one unix-socket connection per running domain that has the
 * org.vmscale.probe.0 channel. Reads the guest's records, validates every one, and writes
 * what it accepts into the store; rejects are counted per domain and reason.
 * The identity of the sender is the socket itself: a guest cannot speak for another.
 */
#ifndef VMSCALE_CHANNEL_H
#define VMSCALE_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "../daemon/store.h"

struct vms_channels;

struct vms_channels *vms_channels_new(struct vms_store *st);
void vms_channels_free(struct vms_channels *c);

/*
 * Connects only to the channels of domains whose name matches this POSIX extended regular
 * expression (NULL: all). Returns 0, or -1 with the reason in err if it does not compile.
 * Excluded domains still count in N_up; their probe_channel says "excluded".
 */
int vms_channels_set_filter(struct vms_channels *c, const char *regex, char *err, size_t errsz);

/* Opens channels of new domains (or retries after backoff), closes those of vanished ones. */
void vms_channels_sync(struct vms_channels *c);

/*
 * Handles one line received from the probe of the domain with this uuid, as if read from its
 * channel; used by the event loop and by tests. Returns the verdict.
 */
enum vms_proto_error vms_channels_handle_line(struct vms_channels *c, const char *uuid,
					      const char *line, size_t len, uint64_t now_ns);

#endif

/*
 * vmscale wire protocol, version 1: shared by vmscale-probe (guest) and vmscaled (host).
 *
 * The transport is a byte stream (a virtio-serial port named org.vmscale.probe.0).
 * The stream carries records, one per line (the codec: vmscale/record.h):
 *
 *   record = type *( SP key "=" value ) LF
 *
 * Unknown keys in a known record are ignored (forward compatibility within a version);
 * unknown record types are rejected and counted.
 *
 * Guest -> host: hello, cpu, disk, cost, sample, done (vmscale/reports.h).
 * Host -> guest: host, schedule, run (vmscale/schedule.h).
 * Their vocabulary, the probe families and ops and the CPU modes: vmscale/families.h.
 *
 * This header includes them all. See probes/PROTOCOL.md for the rationale and examples.
 */
#ifndef VMSCALE_PROTOCOL_H
#define VMSCALE_PROTOCOL_H

#include "vmscale/families.h"
#include "vmscale/record.h"
#include "vmscale/reports.h"
#include "vmscale/schedule.h"
#include "vmscale/token.h"

#define VMS_PROTO_VERSION 1
#define VMS_PROTO_CHANNEL_NAME "org.vmscale.probe.0"
/* The vsock port the probe connects to unless told otherwise (vmscaled's vsock-port). */
#define VMS_PROTO_VSOCK_PORT 18768u
/* A container (libvirt LXC) has a host directory bind-mounted here; vmscaled listens on the
 * socket in it, and the probe connects to VMS_PROTO_CONTAINER_DIR "/" VMS_PROTO_CONTAINER_SOCKET.
 */
#define VMS_PROTO_CONTAINER_DIR "/run/vmscale"
#define VMS_PROTO_CONTAINER_SOCKET "probe.sock"

#endif

/*
 * The probe channels: one connection per running domain: the unix socket of its
 * org.vmscale.probe.0 virtio-serial channel, which we connect to, or a connection that a
 * listener (collectors/listeners.h: vsock, tcp) accepted and identified. Reads the guest's records,
 * validates every one, and writes what it accepts into the store; rejects are counted per domain
 * and reason. The identity of the sender is the socket itself: a guest cannot speak for another.
 */
#ifndef VMSCALE_CHANNEL_H
#define VMSCALE_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/guest/probesched.h"
#include "daemon/store/store.h"
#include "daemon/util/metrics_source.h"

/*
 * Each domain's fair share of the host's time: a token bucket for records and one for bytes
 * per second. An honest probe sends a cpu, a cost and a few disk reports every 5 s and at
 * most VMS_MAX_RUN_SAMPLES samples per run, all short: a few records a second. Over the
 * limit its channel is not read until the bucket refills (back-pressure: the kernel buffer
 * fills and the guest's writes block; nothing is lost, the host's cost is bounded).
 */
#define VMS_CHAN_RECORDS_PER_S 50
#define VMS_CHAN_RECORDS_BURST 500
#define VMS_CHAN_BYTES_PER_S (64 * 1024)
#define VMS_CHAN_BYTES_BURST (256 * 1024)

struct vms_channels;
struct vms_netio;

/* What the host asks of every probe: the schedule it sends, the active runs it starts. */
struct vms_probe_plan {
	struct vms_schedule schedule;  /* sent after every hello and when the plan changes */
	struct vms_psched_config runs; /* active families' intervals, concurrency, quiet gap */
	uint32_t skew_tolerance_ms;    /* a run whose guest clock drifts more is flagged */
	struct vms_netio *netio;       /* the network responder; NULL turns the family off */
	char netio_addr[64];           /* where guests reach it */
	unsigned netio_port;
	uint64_t netio_udp_rate; /* the responder's UDP pace (netio-udp-rate), 0 = off */
};

struct vms_channels *vms_channels_new(struct vms_store *st);
void vms_channels_free(struct vms_channels *c);

/*
 * Connects only to the channels of domains whose name matches this POSIX extended regular
 * expression (NULL: all). Returns 0, or -1 with the reason in err if it does not compile.
 * Excluded domains still count in N_up; their probe_channel says "excluded".
 */
int vms_channels_set_filter(struct vms_channels *c, const char *regex, char *err, size_t errsz);

/* Sets (or changes, on reload) the plan; the new schedule is pushed to connected probes. */
void vms_channels_set_plan(struct vms_channels *c, const struct vms_probe_plan *plan);

/* Starts the active runs that are due and ends those that overran their deadline. */
void vms_channels_tick(struct vms_channels *c, uint64_t now_ns);
/* Active runs that started late: the schedule is more than the host can serve. */
uint64_t vms_channels_runs_delayed(const struct vms_channels *c);

/* Opens channels of new domains (or retries after backoff), closes those of vanished ones. */
void vms_channels_sync(struct vms_channels *c);
/* Only retries, after backoff, the channels it knows already: what a sync does between two
 * listings, without visiting every domain of the store. */
void vms_channels_retry(struct vms_channels *c);

/*
 * Hands the channels a connection that a listener (vsock, tcp) accepted and already tied to
 * the domain with this store key; the record handling is the same as on a unix channel.
 * The chan owns fd from now on, even on failure. A domain that already has a connection
 * (any transport) loses it: the newer connection wins. Returns 0, or -1 (fd closed) with
 * errno ENOENT (no such domain), EPERM (excluded by probe-domains) or EIO.
 */
int vms_channels_attach(struct vms_channels *c, const char *key, int fd, const char *transport);

/* Whether the domain's probe has a connection now, whatever the transport. */
bool vms_channels_connected(const struct vms_channels *c, const char *key);

/*
 * Handles one line received from the probe of the domain with this store key (its UUID when
 * there is one connection), as if read from its channel; used by the event loop and by tests.
 * Returns the verdict.
 */
enum vms_proto_error vms_channels_handle_line(struct vms_channels *c, const char *uuid,
                                              const char *line, size_t len, uint64_t now_ns);

/* The channels' family: active runs that started late. */
struct vms_metrics_source vms_channels_metrics_source(const struct vms_channels *c);

#endif

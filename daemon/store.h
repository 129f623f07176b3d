/*
 * The store: everything vmscaled knows, kept once. Collectors write it from the event loop;
 * the renderer reads it in the same thread and publishes an immutable snapshot for HTTP.
 */
#ifndef VMSCALE_STORE_H
#define VMSCALE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmscale/protocol.h"

#define VMS_UUID_LEN 36

struct vms_probe_state {
	bool connected;     /* the channel socket is open */
	bool hello;         /* a valid hello arrived on this connection */
	struct vms_hello info;
	bool have_cpu;
	struct vms_cpu_report cpu;
	uint64_t last_report_ns; /* host monotonic receive time of the last accepted report */
	/* Guest clocks lie under contention (seed 001): guest elapsed minus host elapsed between
	 * the last two consecutive reports; NaN until there are two. */
	double clock_skew_s;
	uint64_t reports_total;
	uint64_t reports_lost_total; /* gaps in seq */
	uint64_t rejected[VMS_PROTO_E_COUNT];
};

#define VMS_MAX_VCPUS 1024   /* bounds of what we keep per domain from libvirt */
#define VMS_MAX_DEVICES 64
#define VMS_DEVICE_NAME_MAX 64

struct vms_vcpu_stats {
	uint64_t time_ns;
	uint64_t wait_ns;  /* waiting on I/O, seen from the host */
	uint64_t delay_ns; /* runnable but not running: steal seen from the host */
	bool has_wait, has_delay;
};

struct vms_block_stats {
	char name[VMS_DEVICE_NAME_MAX + 1];
	uint64_t rd_bytes, rd_reqs, rd_times_ns, wr_bytes, wr_reqs, wr_times_ns;
};

struct vms_net_stats {
	char name[VMS_DEVICE_NAME_MAX + 1];
	uint64_t rx_bytes, rx_pkts, rx_errs, rx_drop, tx_bytes, tx_pkts, tx_errs, tx_drop;
};

/* Host-side statistics of one domain (libvirt's bulk stats). */
struct vms_domstats {
	bool have_cpu;
	uint64_t cpu_time_ns, cpu_user_ns, cpu_system_ns;
	unsigned nvcpu, nblock, nnet;
	struct vms_vcpu_stats *vcpu; /* arrays owned by the store, grown as needed */
	struct vms_block_stats *block;
	struct vms_net_stats *net;
	bool have_balloon_current, have_balloon_rss;
	uint64_t balloon_current_kib, balloon_rss_kib;
	unsigned vcpu_cap, block_cap, net_cap;
};

struct vms_domain {
	char uuid[VMS_UUID_LEN + 1]; /* the key: names are reused, UUIDs are not */
	char *name;
	int id;                      /* libvirt's runtime id; changes when the domain restarts */
	char *channel_path;          /* host end of the probe channel, NULL if the domain has none */
	bool probe_excluded;         /* has a channel, but --probe-domains leaves it alone */
	bool seen;                   /* mark for the sweep after a listing */
	double vcpu_utilization;     /* share of its vCPUs used over the last interval; NaN until known */
	uint64_t util_prev_vcpu_ns, util_prev_at_ns;
	struct vms_domstats stats;
	struct vms_probe_state probe;
};

struct vms_host_stats {
	bool valid;
	uint64_t cpu_ticks_user, cpu_ticks_nice, cpu_ticks_system, cpu_ticks_idle, cpu_ticks_iowait;
	uint64_t ticks_per_second;
	uint64_t mem_total, mem_free, mem_used, mem_cache;
	double load1, load5, load15;
};

struct vms_store {
	struct vms_domain **domains;
	size_t ndomains, cap;
	bool libvirt_up;
	struct vms_host_stats host;
	uint32_t probe_interval_ms;
	uint64_t stats_incomplete_total; /* domain records without CPU statistics */
	double busy_threshold;           /* vCPU utilization above which a domain counts as busy */
	uint64_t generation; /* bumped on every change, so the renderer knows when to run */
};

#define VMS_BUSY_THRESHOLD_DEFAULT 0.2

void vms_store_init(struct vms_store *st, uint32_t probe_interval_ms);
void vms_store_fini(struct vms_store *st);

struct vms_domain *vms_store_find(struct vms_store *st, const char *uuid);
/* Returns the domain with this uuid, created if new; name and id are updated. */
struct vms_domain *vms_store_upsert(struct vms_store *st, const char *uuid, const char *name,
				    int id);
void vms_store_set_channel(struct vms_domain *d, const char *path);
void vms_domstats_free(struct vms_domstats *ds);
void vms_store_remove(struct vms_store *st, struct vms_domain *d);
void vms_store_changed(struct vms_store *st);

/* A probe is up when its channel is open, it said hello and it reported within 3 intervals. */
bool vms_probe_is_up(const struct vms_store *st, const struct vms_domain *d, uint64_t now_ns);
size_t vms_store_probes_up(const struct vms_store *st, uint64_t now_ns);

/* Updates d->vcpu_utilization from its latest host-side vCPU time, sampled at now_ns. */
void vms_domain_update_utilization(struct vms_domain *d, uint64_t now_ns);
/* Running domains whose vCPU utilization exceeds st->busy_threshold. */
size_t vms_store_domains_busy(const struct vms_store *st);

#endif

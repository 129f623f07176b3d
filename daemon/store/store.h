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
#include "daemon/util/keyindex.h"
#include "daemon/util/log.h"

#define VMS_UUID_LEN 36
#define VMS_DOMAIN_KEY_LEN (VMS_UUID_LEN + 4) /* UUID "@" connection index */

/* The latest trusted measurement of one operation, in the unit its kind implies. */
struct vms_probe_value {
	bool have;
	double value;   /* ops/s (rate), bytes/s (throughput) or s/op (latency) */
	uint64_t at_ns; /* host monotonic time it was accepted */
};

#define VMS_PROBE_MAX_DISKS 16 /* devices kept per domain; more are counted, not stored */

enum vms_run_result { VMS_RUN_OK, VMS_RUN_TIMEOUT, VMS_RUN_RESULT_COUNT };

/* What a valid hello did to the counter baselines. */
enum vms_hello_result { VMS_HELLO_RESET, VMS_HELLO_DEFERRED, VMS_HELLO_RESULT_COUNT };
#define VMS_PROBE_RESET_INTERVALS 6 /* probe intervals between two honoured resets */

/* Why a probe channel's reading was paused: over its records or bytes per second. */
enum vms_throttle { VMS_THROTTLE_RECORDS, VMS_THROTTLE_BYTES, VMS_THROTTLE_COUNT };
/* "records", "bytes": a stable metric label. */
const char *vms_throttle_name(enum vms_throttle why);

struct vms_probe_state {
	bool connected;       /* the channel socket is open */
	bool hello;           /* a valid hello arrived on this connection */
	uint64_t hello_at_ns; /* host monotonic time of the latest hello (startup time) */
	struct vms_hello info;
	unsigned caps; /* bit (1 << enum vms_family) per family the probe announced */
	bool have_cpu;
	struct vms_cpu_report cpu;
	/* Passive disk counters, latest per device. */
	struct vms_disk_report disks[VMS_PROBE_MAX_DISKS];
	uint64_t disks_at_ns[VMS_PROBE_MAX_DISKS]; /* host monotonic time each was accepted */
	unsigned ndisks;
	uint64_t disks_dropped_total;
	/* Active measurements: one value per op; network per (block, direction). */
	struct vms_probe_value ops[VMS_OP_COUNT];
	struct vms_probe_value net[VMS_MAX_NET_BLOCKS][2]; /* [block][0 send, 1 receive] */
	/* UDP receive by block (the same net_blocks): [block][0 bytes/s, 1 loss ratio]. */
	struct vms_probe_value udp[VMS_MAX_NET_BLOCKS][2];
	uint32_t net_blocks[VMS_MAX_NET_BLOCKS];
	unsigned net_nblocks;
	uint64_t samples_total[VMS_FAM_COUNT];
	uint64_t samples_flagged_total[VMS_FAM_COUNT]; /* the guest clock disagreed with ours */
	uint64_t sample_errors_total[VMS_FAM_COUNT];
	uint64_t runs_total[VMS_FAM_COUNT][VMS_RUN_RESULT_COUNT];
	bool run_flagged[VMS_FAM_COUNT]; /* the latest finished run of the family was flagged */
	bool have_run_window[VMS_FAM_COUNT];
	double run_start_unix[VMS_FAM_COUNT]; /* latest run, guest times mapped to host time */
	double run_end_unix[VMS_FAM_COUNT];
	/* CPU time the probe spent per family (+ other), accumulated across probe restarts. */
	double cost_seconds[VMS_FAM_COUNT + 1];
	bool have_cost;
	struct vms_cost_report last_cost;
	uint64_t last_cost_at_ns; /* host monotonic time last_cost was accepted */
	uint64_t last_report_ns;  /* host monotonic receive time of the last accepted report */
	/* Guest clocks lie under contention (seed 001): guest elapsed minus host elapsed between
	 * the last two consecutive reports; NaN until there are two. */
	double clock_skew_s;
	uint64_t reports_total;
	uint64_t reports_lost_total; /* gaps in seq */
	uint64_t rejected[VMS_PROTO_E_COUNT];
	uint64_t throttled[VMS_THROTTLE_COUNT]; /* times reading paused, by limit */
	/* A hello drops the baselines of the guest's cumulative counters (a rebooted guest, a
	 * restarted probe), at most once per VMS_PROBE_RESET_INTERVALS probe intervals: a later
	 * hello waits (reset_pending) and is counted as deferred. */
	uint64_t hellos_total[VMS_HELLO_RESULT_COUNT];
	bool have_reset;
	uint64_t reset_at_ns; /* host monotonic time of the latest reset of the baselines */
	bool reset_pending;
	bool cpu_rebase;  /* the next cpu report sets the baseline: its ticks may be lower */
	bool cost_rebase; /* one smaller cost may still be a probe restart (once per reset) */
};

/* What the QEMU guest agent gave for a guest without the probe (collectors/agent.c): the same
 * passive figures as the probe's, read on the host's schedule. */
enum vms_agent_command { VMS_AGENT_CPUSTATS, VMS_AGENT_DISKSTATS, VMS_AGENT_COMMAND_COUNT };
/* ok; error: libvirt or the agent failed (not running, timeout, command unknown before qemu-ga
 * 7.1); rejected: the reply broke a bound or the expected shape (it comes from the guest). */
enum vms_agent_result { VMS_AGENT_OK, VMS_AGENT_ERROR, VMS_AGENT_REJECTED, VMS_AGENT_RESULT_COUNT };
/* "cpustats", "diskstats"; "ok", "error", "rejected": stable metric labels. */
const char *vms_agent_command_name(enum vms_agent_command c);
const char *vms_agent_result_name(enum vms_agent_result r);

struct vms_agent_state {
	bool have_cpu;
	struct vms_cpu_report cpu; /* ticks in ms (hz 1000), summed over the guest's CPUs */
	struct vms_disk_report disks[VMS_PROBE_MAX_DISKS];
	unsigned ndisks;
	uint64_t disks_dropped_total;
	uint64_t reads_total[VMS_AGENT_COMMAND_COUNT][VMS_AGENT_RESULT_COUNT];
	uint64_t cpu_ok_ns,
	    disks_ok_ns;   /* host monotonic time of each command's latest accepted reply */
	uint64_t reset_ns; /* when counters that fell were last believed a guest restart */
	/* Its own rate limits: one guest's failures do not silence another's first. */
	struct vms_complaint read_complaint, reject_complaint;
};

/* Whose passive figures a domain's guest series show: the probe's whenever it has any (it
 * measures on the guest's own timer and costs nothing extra), else the guest agent's. */
enum vms_guest_source { VMS_SOURCE_NONE, VMS_SOURCE_PROBE, VMS_SOURCE_AGENT };
struct vms_passive {
	enum vms_guest_source source;
	bool have_cpu;
	const struct vms_cpu_report *cpu;
	const struct vms_disk_report *disks;
	unsigned ndisks;
	uint64_t disks_dropped_total;
};

#define VMS_MAX_VCPUS 1024 /* bounds of what we keep per domain from libvirt */
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

/* libvirt's perf events (VIR_PERF_PARAM_*, "perf.NAME" in the bulk stats). cmt, mbmt and
 * mbml are left out: Linux 4.14 dropped the perf side of Intel CMT/MBM for resctrl. */
enum vms_perf_event {
	VMS_PERF_CPU_CYCLES,
	VMS_PERF_INSTRUCTIONS,
	VMS_PERF_CACHE_REFERENCES,
	VMS_PERF_CACHE_MISSES,
	VMS_PERF_BRANCH_INSTRUCTIONS,
	VMS_PERF_BRANCH_MISSES,
	VMS_PERF_BUS_CYCLES,
	VMS_PERF_STALLED_CYCLES_FRONTEND,
	VMS_PERF_STALLED_CYCLES_BACKEND,
	VMS_PERF_REF_CPU_CYCLES,
	VMS_PERF_CPU_CLOCK,  /* nanoseconds */
	VMS_PERF_TASK_CLOCK, /* nanoseconds */
	VMS_PERF_PAGE_FAULTS,
	VMS_PERF_CONTEXT_SWITCHES,
	VMS_PERF_CPU_MIGRATIONS,
	VMS_PERF_PAGE_FAULTS_MIN,
	VMS_PERF_PAGE_FAULTS_MAJ,
	VMS_PERF_ALIGNMENT_FAULTS,
	VMS_PERF_EMULATION_FAULTS,
	VMS_PERF_COUNT
};
_Static_assert(VMS_PERF_COUNT <= 32, "vms_domstats.perf_have holds one bit per event");
/* libvirt's name of the event ("cpu_cycles"), also its metric label; NULL if out of range. */
const char *vms_perf_event_name(enum vms_perf_event e);
/* The event that libvirt calls name, or VMS_PERF_COUNT. */
enum vms_perf_event vms_perf_event_find(const char *name);
/* cpu_clock and task_clock count nanoseconds; the others count events. */
bool vms_perf_event_is_clock(enum vms_perf_event e);
/* A perf count at or above this is not believed (at 10^10 events a second it takes 29 years
 * to get there; a clock, 292 years of CPU time): the event is left out of that round. */
#define VMS_PERF_COUNT_MAX (UINT64_C(1) << 63)

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
	/* The perf events the operator enabled on the domain: bit (1 << event) per event libvirt
	 * reported this round, and their counts. */
	uint32_t perf_have;
	uint64_t perf[VMS_PERF_COUNT];
	unsigned vcpu_cap, block_cap, net_cap;
};

/* One libvirt connection: a configured URI, in the order of the configuration. */
struct vms_conn {
	char *uri;
	unsigned index;
	bool up; /* open and answering */
};

struct vms_domain {
	/* The key: names are reused, UUIDs are not, but two connections (drivers) may report
	 * the same UUID. So the UUID, qualified by the connection's index unless it is the
	 * first: "UUID" or "UUID@2". The probe channels, their runs and grants use it too. */
	char key[VMS_DOMAIN_KEY_LEN + 1];
	char uuid[VMS_UUID_LEN + 1];
	const struct vms_conn *conn; /* where it runs; NULL only for domains made by tests */
	char *name;
	int id;              /* libvirt's runtime id; changes when the domain restarts */
	char *channel_path;  /* host end of the probe channel, NULL if the domain has none */
	uint32_t vsock_cid;  /* guest CID of its virtio vsock device, 0 if none */
	char *socket_dir;    /* a container's host directory for the probe's socket, NULL if none */
	bool probe_excluded; /* has a channel, but --probe-domains leaves it alone */
	bool seen;           /* mark for the sweep after a listing */
	bool devices_changed; /* a device was hot-plugged or unplugged: read its XML again */
	double
	    vcpu_utilization; /* share of its vCPUs used over the last interval; NaN until known */
	uint64_t util_prev_vcpu_ns, util_prev_at_ns;
	struct vms_domstats stats;
	struct vms_probe_state probe;
	struct vms_agent_state agent;
};

#define VMS_HOST_MAX_DISKS 64 /* per-device series kept; the rest are counted as dropped */
#define VMS_HOST_MAX_IFACES 64

struct vms_host_disk {
	char name[VMS_DEVICE_NAME_MAX + 1];
	uint64_t read_bytes, write_bytes;
};

struct vms_host_iface {
	char name[VMS_DEVICE_NAME_MAX + 1];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, rx_errors, tx_errors, collisions;
};

struct vms_host_stats {
	bool valid; /* CPU, memory and load; each group below has its own flag */
	uint64_t cpu_ticks_user, cpu_ticks_nice, cpu_ticks_system, cpu_ticks_idle, cpu_ticks_iowait;
	uint64_t ticks_per_second;
	uint64_t mem_total, mem_free, mem_used, mem_cache;
	double load1, load5, load15;
	bool have_shared; /* /proc/meminfo Buffers and Shmem (tmpfs, memfd: inside mem_cache) */
	uint64_t mem_buffers, mem_shared;
	bool have_swap;
	uint64_t swap_total, swap_used, swap_free;
	bool have_disks;
	unsigned ndisks, disks_dropped;
	struct vms_host_disk disks[VMS_HOST_MAX_DISKS];
	bool have_ifaces;
	unsigned nifaces, ifaces_dropped;
	struct vms_host_iface ifaces[VMS_HOST_MAX_IFACES];
	bool have_procs;
	uint64_t procs_running, procs_sleeping, procs_stopped, procs_zombie, procs_other;
	/* Seed 000's M_tool, computed when the host is read (vms_store_virtualization_memory). */
	bool have_virt_mem;
	uint64_t virt_mem;
	uint64_t virt_mem_clamped_total; /* reads where the domains' RSS exceeded used memory */
};

/* The parts of the store, by writer: each has its own generation, so that a family is
 * rendered again only when a part it shows changed. */
enum vms_store_part {
	VMS_STORE_HOST,     /* host: collectors/host.c */
	VMS_STORE_DOMAINS,  /* connections, which domains run, names, channels: libvirt.c */
	VMS_STORE_DOMSTATS, /* libvirt's per-domain statistics, vCPU utilization: libvirt.c */
	VMS_STORE_PROBES,   /* what the probes report and their channels' state: guest/ */
	VMS_STORE_PART_COUNT
};

struct vms_store {
	struct vms_domain **domains; /* in arrival order, which is the order of /metrics */
	size_t ndomains, cap;
	struct vms_keyindex index; /* the domains by key, O(1) at thousands of them */
	bool libvirt_up;           /* every connection is up (vms_store_set_conn_up) */
	struct vms_conn **conns;   /* one per configured URI */
	size_t nconns;
	struct vms_host_stats host;
	uint32_t probe_interval_ms;
	uint64_t stats_incomplete_total; /* domain records without CPU statistics */
	double busy_threshold;           /* vCPU utilization above which a domain counts as busy */
	uint64_t generation; /* bumped on every change, so the analysis knows when to run */
	uint64_t part_generation[VMS_STORE_PART_COUNT]; /* bumped when that part changes */
	struct vms_probes_up_memo *probes_up_memo;      /* vms_store_probes_up's last count */
};

#define VMS_BUSY_THRESHOLD_DEFAULT 0.2

void vms_store_init(struct vms_store *st, uint32_t probe_interval_ms);
void vms_store_fini(struct vms_store *st);

/* Adds a connection (libvirt URI); the same URI twice gives the same connection. */
struct vms_conn *vms_store_add_conn(struct vms_store *st, const char *uri);
/* Records whether a connection answers; libvirt_up follows (all of them up). */
void vms_store_set_conn_up(struct vms_store *st, struct vms_conn *conn, bool up);

/* Domains are found by their key (struct vms_domain.key; daemon/util/keyindex.h). */
struct vms_domain *vms_store_find(struct vms_store *st, const char *key);
/* The key of the domain with this uuid on conn (NULL: a domain without connection). */
void vms_domain_key(char key[VMS_DOMAIN_KEY_LEN + 1], const struct vms_conn *conn,
                    const char *uuid);
/* Returns the domain with this uuid on conn, created if new; name and id are updated. */
struct vms_domain *vms_store_upsert_in(struct vms_store *st, const struct vms_conn *conn,
                                       const char *uuid, const char *name, int id);
/* The same without a connection (tests): the key is the uuid. */
struct vms_domain *vms_store_upsert(struct vms_store *st, const char *uuid, const char *name,
                                    int id);
void vms_store_set_channel(struct vms_domain *d, const char *path);
void vms_store_set_socket_dir(struct vms_domain *d, const char *dir); /* NULL: none */
void vms_domstats_free(struct vms_domstats *ds);
/* Frees d; the others keep their order (O(n): removals are rare, lookups are not). */
void vms_store_remove(struct vms_store *st, struct vms_domain *d);
/* A part changed: bumps its generation and the store's. */
void vms_store_part_changed(struct vms_store *st, enum vms_store_part part);
/* Something changed, the writer does not say where: bumps every part. */
void vms_store_changed(struct vms_store *st);

/* A probe is up when its channel is open, it said hello and it reported within 3 intervals. */
bool vms_probe_is_up(const struct vms_store *st, const struct vms_domain *d, uint64_t now_ns);
/* How many are up. Remembered until the domains or probes part changes or the first up probe
 * goes stale: it is asked several times a second, and a walk over every domain costs a cache
 * miss or two each (a fifth of the idle CPU with 1 000 domains). */
size_t vms_store_probes_up(const struct vms_store *st, uint64_t now_ns);

/* The passive figures d's guest series show, and their source (see enum vms_guest_source): the
 * probe's, unless it reads the host's /proc (a container without lxcfs, hello view=host), else
 * the QEMU agent's. */
struct vms_passive vms_domain_passive(const struct vms_domain *d);
/* "probe", "qemu_agent": the source label. */
const char *vms_guest_source_name(enum vms_guest_source s);

/* Updates d->vcpu_utilization from its latest host-side vCPU time, sampled at now_ns. */
void vms_domain_update_utilization(struct vms_domain *d, uint64_t now_ns);
/* Running domains whose vCPU utilization exceeds st->busy_threshold. */
size_t vms_store_domains_busy(const struct vms_store *st);

/*
 * Seed 000: M_used(n) = sum(M_VM_i) + M_tool, so M_tool = M_used - sum(M_VM_i), with M_used
 * the host memory in use without the reclaimable page cache and buffers (mem_used - buffers
 * + shared) and M_VM_i each running domain's RSS. Returns 0 with *bytes set; 1 when the RSS
 * sum exceeded M_used (pages shared between QEMU processes count in every RSS) and *bytes was
 * clamped to 0; -1 when unknown: host memory unknown, libvirt down (stale RSS) or a running
 * domain without RSS.
 */
int vms_store_virtualization_memory(const struct vms_store *st, uint64_t *bytes);

#endif

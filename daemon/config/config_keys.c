/*
 * The key table: one row per key, in --help's order. A row gives the key's name (also its long
 * flag), short flag, metavar, whether a SIGHUP may change it (LIVE) or not (RESTART: the only
 * list of those, see config_reload.c), its kind, the field that holds it, its bounds, and its
 * help line with the default.
 */
#include "daemon/config/config_internal.h"

#include <string.h>

#include "vmscale/protocol.h"
#include "daemon/control.h"
#include "collectors/guest/netio.h"

#define MAX_CPU_WORK_UNITS 20000000u /* over 100 times the default: about a second */
#define MAX_CONCURRENCY 64u

_Static_assert(VMS_CONFIG_MAX_NET_BLOCKS == VMS_MAX_NET_BLOCKS, "one limit for the wire and us");

#define ROW(name, opt, metavar, live, kind, field, bounds, why, help)                              \
	{                                                                                          \
		{name, opt, metavar, help, live}, kind, field, bounds, why                         \
	}
#define LIVE true
#define RESTART false
#define FIELD(field) offsetof(struct vms_config, field), sizeof(((struct vms_config *)0)->field)
#define F(field) FIELD(field), 0
#define LIST(field, count) FIELD(field), offsetof(struct vms_config, count)
#define P(field) F(probe.field)
#define A(field) F(analysis.field)
#define RANGE(min, max) min, max
#define NO_BOUNDS 0, 0
#define SCHED VMS_SCHEDULE_MIN_MS, VMS_SCHEDULE_MAX_MS
#define BOUND 1, VMS_MAX_BOUND_MS
#define NET_BLOCK_MAX                                                                              \
	(VMS_MAX_NET_BLOCK < VMS_NETIO_MAX_BLOCK ? VMS_MAX_NET_BLOCK : VMS_NETIO_MAX_BLOCK)

const struct cfg_key cfg_keys[] = {
    ROW("connect", 'c', "URI", RESTART, K_URIS, LIST(uris, nuris), NO_BOUNDS, NULL,
        "libvirt URI, opened read-only; repeat for several (default " CFG_DEFAULT_URI ")"),
    ROW("listen", 'l', "ADDR:PORT", RESTART, K_LISTEN, F(listen), NO_BOUNDS, NULL,
        "HTTP endpoint for /metrics and /; IPv6 as [ADDR]:PORT (default " CFG_DEFAULT_LISTEN ")"),
    ROW("interval", 'i', "SEC", LIVE, K_SECONDS, F(interval_s),
        RANGE(VMS_SCHEDULE_MIN_MS / 1000, VMS_SCHEDULE_MAX_MS / 1000), NULL,
        "libvirt and host collection interval (default 5 s)"),
    ROW("busy-threshold", 'b', "RATIO", LIVE, K_RATIO, F(busy_threshold), NO_BOUNDS, NULL,
        "vCPU utilization (0..1) above which a domain counts as busy (default 0.2)"),
    ROW("probe-domains", 'p', "REGEX", LIVE, K_REGEX, F(probe_domains), NO_BOUNDS, NULL,
        "claim only the probe channels of domains whose name matches this extended regex (default: "
        "all)"),
    ROW("verbose", 'v', NULL, LIVE, K_BOOL, F(verbose), NO_BOUNDS, NULL, "log debug messages too"),
    ROW("tls-cert", 0, "FILE", RESTART, K_PATH, F(tls_cert), NO_BOUNDS, NULL,
        "serve HTTPS with this PEM certificate (needs --tls-key)"),
    ROW("tls-key", 0, "FILE", RESTART, K_PATH, F(tls_key), NO_BOUNDS, NULL,
        "PEM private key of --tls-cert"),
    ROW("web-config-file", 0, "FILE", RESTART, K_PATH, F(web_config_file), NO_BOUNDS, NULL,
        "Prometheus exporter-toolkit web config: tls_server_config (replaces --tls-cert) and "
        "basic_auth_users with bcrypt hashes, reread on SIGHUP (default: none)"),
    ROW("http-max-connections", 0, "N", RESTART, K_COUNT, F(http_max_connections), RANGE(1, 1024),
        NULL, "HTTP connections at once, 1..1024 (default 16)"),
    ROW("http-timeout", 0, "DURATION", RESTART, K_SECONDS, F(http_timeout_s), RANGE(1, 300), NULL,
        "an HTTP connection's time limit (default 10s)"),
    ROW("http-max-connections-per-address", 0, "N", RESTART, K_COUNT, F(http_per_address),
        RANGE(1, 1024), NULL,
        "HTTP connections at once from one client address, 1..1024; below "
        "--http-max-connections, another address always gets through (default 4)"),
    ROW("http-header-timeout", 0, "DURATION", RESTART, K_SECONDS, F(http_header_timeout_s),
        RANGE(1, 300), NULL,
        "time a client has from connecting to the end of its request's headers (default 5s)"),
    ROW("netio-listen", 0, "ADDR:PORT", RESTART, K_LISTEN, F(netio_listen), NO_BOUNDS, NULL,
        "TCP responder of the network probe (default: off)"),
    ROW("netio-guest-address", 0, "HOST", LIVE, K_HOST, F(netio_guest_address), NO_BOUNDS, NULL,
        "where guests reach --netio-listen (default: its address)"),
    ROW("netio-udp-rate", 0, "SIZE", RESTART, K_SIZE, F(netio_udp_rate),
        RANGE(0, VMS_NETIO_UDP_MAX_RATE), NULL,
        "UDP receive bursts paced at SIZE bytes/s per guest: 0 = off (default), or 64K..1G"),
    ROW("state-dir", 0, "DIR", RESTART, K_PATH, F(state_dir), NO_BOUNDS, NULL,
        "persistent state (default " CFG_DEFAULT_STATE_DIR ")"),
    ROW("vsock-port", 0, "PORT", RESTART, K_COUNT, F(vsock_port), RANGE(0, 4294967294u), NULL,
        "AF_VSOCK port for probes without a virtio-serial channel, or 0 for off (default 0; the "
        "probe's default is 18768)"),
    ROW("tcp-listen", 0, "ADDR:PORT", RESTART, K_LISTEN, F(tcp_listen), NO_BOUNDS, NULL,
        "TCP listener for probes with a token from STATE-DIR/tokens (default: off)"),
    ROW("probe-cpu-interval", 0, "DURATION", LIVE, K_MS, P(cpu_interval_ms), SCHED, NULL,
        "guest CPU split report interval (default: --interval)"),
    ROW("probe-disk-interval", 0, "DURATION", LIVE, K_MS, P(disk_interval_ms), SCHED, NULL,
        "guest diskstats report interval (default: --interval)"),
    ROW("probe-cpu-work-interval", 0, "DURATION", LIVE, K_MS_OR_OFF, P(cpu_work_interval_ms), SCHED,
        NULL, "fixed-work CPU timing, or off (default 60s)"),
    ROW("probe-memory-interval", 0, "DURATION", LIVE, K_MS_OR_OFF, P(memory_interval_ms), SCHED,
        NULL, "memory bandwidth, or off (default 5m)"),
    ROW("probe-disk-read-interval", 0, "DURATION", LIVE, K_MS_OR_OFF, P(disk_read_interval_ms),
        SCHED, NULL, "direct disk read, or off (default 60s)"),
    ROW("probe-network-interval", 0, "DURATION", LIVE, K_MS_OR_OFF, P(network_interval_ms), SCHED,
        NULL, "TCP throughput, or off (default 5m)"),
    ROW("probe-micro-interval", 0, "DURATION", LIVE, K_MS_OR_OFF, P(micro_interval_ms), SCHED, NULL,
        "micro latencies, or off (default 5m)"),
    ROW("probe-cpu-work-units", 0, "N", LIVE, K_COUNT, P(cpu_work_units),
        RANGE(1, MAX_CPU_WORK_UNITS), NULL,
        "work of one CPU timing, 1..20000000 (default: about 10 ms of work)"),
    ROW("probe-memory-buffer", 0, "SIZE", LIVE, K_SIZE, P(memory_buffer_bytes),
        RANGE(VMS_MIN_MEM_BYTES, CFG_MAX_MEM_BUFFER), "below 8 MiB one measures caches",
        "memory bandwidth buffer, 8M..128M, within the probe unit's MemoryMax (default 32M)"),
    ROW("probe-memory-max", 0, "DURATION", LIVE, K_MS, P(memory_max_ms), BOUND, NULL,
        "time bound of one memory operation (default 30ms)"),
    ROW("probe-disk-read-bytes", 0, "SIZE", LIVE, K_SIZE, P(disk_read_bytes),
        RANGE(CFG_DISK_READ_ALIGN, VMS_MAX_DISK_READ_BYTES), NULL,
        "bytes of one disk read, 4K..1G (default 8M)"),
    ROW("probe-disk-read-max", 0, "DURATION", LIVE, K_MS, P(disk_read_max_ms), BOUND, NULL,
        "time bound of one disk read (default 1s)"),
    ROW("probe-network-bytes", 0, "SIZE", LIVE, K_SIZE, P(network_bytes),
        RANGE(VMS_MIN_NET_BLOCK, VMS_MAX_NET_BYTES), NULL,
        "bytes per direction and block size (default 2M)"),
    ROW("probe-network-max", 0, "DURATION", LIVE, K_MS, P(network_max_ms), BOUND, NULL,
        "time bound per direction and block size (default 1s)"),
    ROW("probe-network-block-sizes", 0, "SIZE,...", LIVE, K_SIZES,
        LIST(probe.network_blocks, probe.network_nblocks), RANGE(VMS_MIN_NET_BLOCK, NET_BLOCK_MAX),
        NULL, "TCP block sizes, 64..1M, up to 6 (default 1024,32768)"),
    ROW("probe-micro-max", 0, "DURATION", LIVE, K_MS, P(micro_max_ms), BOUND, NULL,
        "time bound of one micro latency (default 20ms)"),
    ROW("probe-active-concurrency", 0, "N", LIVE, K_COUNT, P(active_concurrency),
        RANGE(1, MAX_CONCURRENCY), NULL,
        "guests running an active probe at once, 1..64 (default 1)"),
    ROW("probe-skew-tolerance", 0, "DURATION", LIVE, K_MS, P(skew_tolerance_ms), BOUND, NULL,
        "flag samples whose guest clock disagrees more (default 50ms)"),
    ROW("slowdown-window", 0, "DURATION", LIVE, K_SECONDS, A(window_s), RANGE(10, 86400), NULL,
        "the current value of a probe is the median over this window (default 300s)"),
    ROW("slowdown-min-samples", 0, "N", LIVE, K_COUNT, A(window_min), RANGE(1, 32), NULL,
        "...and over at least this many newest values, 1..32 (default 3)"),
    ROW("baseline-min-samples", 0, "N", LIVE, K_COUNT, A(min_samples), RANGE(1, 1000), NULL,
        "samples an N_up level needs to be a baseline, 1..1000 (default 5)"),
    ROW("analysis-buckets", 0, "N", LIVE, K_COUNT, A(buckets), RANGE(2, VMS_AN_MAX_BUCKETS), NULL,
        "N_up levels kept per domain and probe, 2..32 (default 8)"),
    ROW("slowdown-warning", 0, "RATIO[,PROBE=RATIO...]", LIVE, K_THRESHOLDS, A(warning), NO_BOUNDS,
        NULL, "slowdown that raises a warning, for every probe then per probe (default 1.5)"),
    ROW("slowdown-critical", 0, "RATIO[,PROBE=RATIO...]", LIVE, K_THRESHOLDS, A(critical),
        NO_BOUNDS, NULL, "slowdown that raises a critical alert (default 2)"),
    ROW("slowdown-clear", 0, "RATIO[,PROBE=RATIO...]", LIVE, K_THRESHOLDS, A(clear), NO_BOUNDS,
        NULL, "a warning ends only below this slowdown (default 1.2)"),
    ROW("alert-for", 0, "DURATION", LIVE, K_SECONDS, A(alert_for_s), RANGE(0, 86400), NULL,
        "how long a slowdown must last to fire an alert (default 60s)"),
    ROW("capacity-min-levels", 0, "N", LIVE, K_COUNT, A(capacity_min_levels),
        RANGE(2, VMS_AN_MAX_BUCKETS), NULL,
        "N_up levels a capacity prediction needs, 2..32 (default 3)"),
    ROW("capacity-min-r-squared", 0, "RATIO", LIVE, K_RATIO, A(capacity_min_r2), NO_BOUNDS, NULL,
        "R^2 a capacity fit needs, 0..1 (default 0.8)"),
    ROW("state-save-interval", 0, "DURATION", LIVE, K_SECONDS, A(save_interval_s), RANGE(1, 86400),
        NULL, "how often the analysis state is written to STATE-DIR/analysis.state (default 60s)"),
    ROW("analysis-retention", 0, "DURATION", LIVE, K_SECONDS, A(retention_s),
        RANGE(60, 3650u * 86400), NULL,
        "forget the baselines of a domain not running for this long (default 720h, 30 days)"),
    ROW("qemu-agent-connect", 0, "URI", RESTART, K_URI, F(agent_uri), NO_BOUNDS, NULL,
        "libvirt URI opened READ-WRITE, only for QEMU guest agent reads of --qemu-agent-domains "
        "(default: none; docs/security.md)"),
    ROW("qemu-agent-domains", 0, "REGEX", RESTART, K_REGEX, F(agent_domains), NO_BOUNDS, NULL,
        "read the CPU split and disks of running domains whose name matches this extended regex "
        "through their QEMU guest agent, for guests without vmscale-probe (default: none)"),
    ROW("qemu-agent-interval", 0, "DURATION", RESTART, K_SECONDS, F(agent_interval_s),
        RANGE(1, 3600), NULL,
        "how often each --qemu-agent-domains guest is read, 1s..1h (default 10s)"),
    ROW("qemu-agent-timeout", 0, "DURATION", RESTART, K_SECONDS, F(agent_timeout_s), RANGE(1, 30),
        NULL, "time limit of one guest agent command, 1s..30s (default 2s)"),
    ROW("control-socket", 0, "PATH", RESTART, K_PATH, F(control_socket), NO_BOUNDS, NULL,
        "unix socket of vmscalectl (default " VMS_CONTROL_DEFAULT_PATH ")"),
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);
_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= VMS_CONFIG_MAX_KEYS,
               "raise VMS_CONFIG_MAX_KEYS");

size_t
vms_config_nkeys(void)
{
	return cfg_nkeys;
}

const struct vms_config_key *
vms_config_key_at(size_t i)
{
	return i < cfg_nkeys ? &cfg_keys[i].pub : NULL;
}

int
cfg_key_index(const char *name)
{
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (strcmp(cfg_keys[i].pub.name, name) == 0)
			return (int)i;
	return -1;
}

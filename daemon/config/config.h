/*
 * vmscaled configuration: one struct, filled from defaults, then the config file, then the
 * command line (flags win). Every flag has a config key of the same name. See the
 * CONFIGURATION section of man/vmscaled.8 and the example systemd/vmscaled.conf.
 *
 * The file is untrusted input: bounded in size and line length, UTF-8 without control
 * characters, every key known, every value within its bounds; every error names file and line.
 */
#ifndef VMSCALE_CONFIG_H
#define VMSCALE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/analysis/analysis.h"

#ifdef VMSCALE_SYSCONFDIR /* CMake's: /etc for a /usr install */
#define VMS_CONFIG_DEFAULT_PATH VMSCALE_SYSCONFDIR "/vmscale/vmscaled.conf"
#else
#define VMS_CONFIG_DEFAULT_PATH "/etc/vmscale/vmscaled.conf"
#endif
#define VMS_CONFIG_MAX_URIS 8
#define VMS_CONFIG_MAX_NET_BLOCKS 6
#define VMS_CONFIG_MAX_FILE (64 * 1024) /* bytes */
#define VMS_CONFIG_MAX_LINE 1024        /* bytes, without the LF */
#define VMS_CONFIG_MAX_KEYS 64          /* room in origin[] for every key of config_keys.c */

/* Probe schedule and sizes: the host owns them and pushes them to every guest. */
struct vms_probe_config {
	uint32_t cpu_interval_ms;      /* passive CPU split, default: interval */
	uint32_t disk_interval_ms;     /* passive /proc/diskstats, default: interval */
	uint32_t cpu_work_interval_ms; /* active families, default 60000 each; 0 = off */
	uint32_t memory_interval_ms;
	uint32_t disk_read_interval_ms;
	uint32_t network_interval_ms;
	uint32_t micro_interval_ms;
	uint64_t cpu_work_units;      /* fixed work per sample, VMS_DEFAULT_CPU_WORK_UNITS */
	uint64_t memory_buffer_bytes; /* >= 8 MiB, default 32 MiB */
	uint32_t memory_max_ms;       /* per op, default 30 */
	uint64_t disk_read_bytes;     /* default 8 MiB */
	uint32_t disk_read_max_ms;    /* default 1000 */
	uint64_t network_bytes;       /* per direction and block size, default 2 MiB */
	uint32_t network_max_ms;      /* per direction and block size, default 1000 */
	uint32_t network_blocks[VMS_CONFIG_MAX_NET_BLOCKS]; /* bytes, default {1024, 32768} */
	unsigned network_nblocks;
	uint32_t micro_max_ms;       /* per micro op, default 20 */
	unsigned active_concurrency; /* guests running active probes at once host-wide, 1 */
	uint32_t skew_tolerance_ms;  /* samples whose window skews more are flagged, 50 */
};

/* The degradation analysis' keys (see analysis.h for what each means). */
struct vms_analysis_keys {
	uint32_t window_s;            /* "slowdown-window", default 300 s */
	uint32_t window_min;          /* "slowdown-min-samples", default 3 */
	uint32_t min_samples;         /* "baseline-min-samples", default 5 */
	uint32_t buckets;             /* "analysis-buckets", default 8 */
	uint32_t alert_for_s;         /* "alert-for", default 60 s */
	uint32_t save_interval_s;     /* "state-save-interval", default 60 s */
	uint32_t retention_s;         /* "analysis-retention", default 30 days */
	uint32_t capacity_min_levels; /* "capacity-min-levels", default 3 */
	double capacity_min_r2;       /* "capacity-min-r-squared", default 0.8 */
	/* "slowdown-warning", "slowdown-critical", "slowdown-clear": per probe. */
	double warning[VMS_AN_PROBE_COUNT], critical[VMS_AN_PROBE_COUNT], clear[VMS_AN_PROBE_COUNT];
};

struct vms_config {
	char *uris[VMS_CONFIG_MAX_URIS]; /* "connect", repeatable; default qemu:///system */
	unsigned nuris;
	char *listen;                  /* "listen" ADDR:PORT, default 127.0.0.1:9477 */
	unsigned interval_s;           /* "interval": libvirt + host collection, default 5 */
	double busy_threshold;         /* "busy-threshold", share of vCPUs, default 0.2 */
	char *probe_domains;           /* "probe-domains" regex, NULL = all */
	bool verbose;                  /* "verbose" yes|no */
	char *tls_cert, *tls_key;      /* "tls-cert", "tls-key": PEM paths, both or neither */
	char *web_config_file;         /* "web-config-file": exporter-toolkit web config, or NULL */
	struct vms_webconfig *web;     /* that file as validation parsed it, NULL without one */
	unsigned http_max_connections; /* "http-max-connections", default 16 */
	unsigned http_timeout_s;       /* "http-timeout", default 10 */
	unsigned http_per_address;     /* "http-max-connections-per-address", default 4 */
	unsigned http_header_timeout_s; /* "http-header-timeout", default 5 */
	char *netio_listen;             /* "netio-listen" ADDR:PORT, NULL = network probe off */
	char *netio_guest_address;      /* "netio-guest-address": where guests reach netio-listen;
	                                   after validation, netio-listen's address if not given */
	uint64_t netio_udp_rate; /* "netio-udp-rate": UDP bursts' bytes/s per guest, 0 = off */
	char *state_dir;         /* "state-dir", default /var/lib/vmscale */
	unsigned vsock_port;     /* "vsock-port": AF_VSOCK listener, 0 = off (the default) */
	char *tcp_listen; /* "tcp-listen" ADDR:PORT: token-authenticated probes, NULL = off */
	struct vms_probe_config probe; /* "probe-*" keys */
	struct vms_analysis_keys analysis;
	char *control_socket; /* "control-socket", default /run/vmscale/control.sock */
	/* Agentless guests (collectors/agent.c): a read-write URI the operator gives on purpose,
	 * the domains to read, how often and how long one agent command may take. */
	char *agent_uri;           /* "qemu-agent-connect", NULL = no agent reads */
	char *agent_domains;       /* "qemu-agent-domains" regex, NULL = none */
	unsigned agent_interval_s; /* "qemu-agent-interval", default 10 */
	unsigned agent_timeout_s;  /* "qemu-agent-timeout", default 2 */

	/* Where each key was set, for error messages: 0 = default, -1 = command line, else the
	 * line of path. Indexed like vms_config_key_at(). */
	char *path;
	int origin[VMS_CONFIG_MAX_KEYS];
};

void vms_config_defaults(struct vms_config *c);
void vms_config_fini(struct vms_config *c);
/* Deep copy (for reload: parse into a new struct, compare, swap). dst is overwritten. */
void vms_config_copy(struct vms_config *dst, const struct vms_config *src);

/*
 * Applies one key/value as a file line would (without the file and line). Returns 0, or -1
 * with a message in err ("unknown key 'foo'", "'interval' must be 1..3600 seconds, got '0'").
 * "connect" appends to the list.
 */
int vms_config_set(struct vms_config *c, const char *key, const char *value, char *err,
                   size_t errsz);

/*
 * Reads a file: "key value" lines, '#' comments, blank lines. Errors name file and line:
 * "/etc/vmscale/vmscaled.conf:12: unknown key 'intervall'". The first "connect" of the file
 * replaces the default URI. Returns 0 when loaded, 1 when the file does not exist and
 * !must_exist (c unchanged), -1 on error (err filled).
 */
int vms_config_load(struct vms_config *c, const char *path, bool must_exist, char *err,
                    size_t errsz);

/* One command-line flag: the key (long option name) and its value ("yes" for --verbose). */
struct vms_config_arg {
	const char *key;
	const char *value;
};

/*
 * Applies command-line flags over whatever the file set; kept by the caller so that a reload
 * applies them again. The first --connect replaces the file's URIs; other repeated flags: the
 * last wins. Errors name the flag ("--interval must be 1..3600 seconds, got '0'").
 */
int vms_config_apply_args(struct vms_config *c, const struct vms_config_arg *args, size_t n,
                          char *err, size_t errsz);

/*
 * After everything is applied: fills the defaults that follow other keys (the passive probe
 * intervals follow "interval", netio-guest-address follows netio-listen), then the checks
 * across keys (tls-cert without tls-key, an active run longer than its interval...).
 * Errors name the file and line of the key at fault when it came from the file.
 */
int vms_config_validate(struct vms_config *c, char *err, size_t errsz);

/* For SIGHUP: NULL if new can replace old live, else the name of the first key whose change
 * needs a restart: a key whose `live` (vms_config_key_at) is false. */
const char *vms_config_restart_needed(const struct vms_config *old, const struct vms_config *new_);

/* The keys, for --help and getopt: the long flag is "--" + name. */
struct vms_config_key {
	const char *name;
	char short_opt;      /* 0: none */
	const char *metavar; /* NULL: a flag without argument ("verbose": --verbose means yes) */
	const char *help;    /* one line, default included */
	bool live;           /* a SIGHUP applies a change without a restart */
};
size_t vms_config_nkeys(void);
const struct vms_config_key *vms_config_key_at(size_t i);

/* The analysis' settings from a validated configuration. */
void vms_config_analysis(const struct vms_config *c, struct vms_analysis_config *out);

#endif

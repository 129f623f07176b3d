/*
 * The probe executable's own parts, shared between its files (not a library interface):
 * probe.c wires them, probe_opts.c reads the command line, probe_transport.c reaches
 * vmscaled, probe_report.c queues the records and runs the active families, probe_serve.c
 * serves one connection, probe_human.c writes the --stdout forms.
 */
#ifndef VMSCALE_PROBE_INTERNAL_H
#define VMSCALE_PROBE_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "probes/diskstats.h"
#include "vmscale/protocol.h"

#define PROBE_MAX_DISKS                                                                            \
	16 /* devices reported per interval; a guest with more reports the first                   \
	    */
#define PROBE_OUTBUF_SIZE (24 * VMS_PROTO_MAX_RECORD) /* a full diskstats round plus a run */
#define PROBE_RETRY_MS 1000

struct probe_opts {
	const char *port; /* explicit device path, or NULL to discover */
	const char *procstat;
	const char *diskstats;
	const char *sysfs_block;
	const char *scratch_dir; /* a real filesystem for the file-create latencies */
	const char *self_path;   /* this program, exec'd by the fork_exec latency */
	struct vmsp_disk_filter disk_filter;
	unsigned interval_ms;
	bool once;
	bool to_stdout;
	const char *net_addr; /* --once only: a responder and its token */
	unsigned net_port;
	const char *net_token;
	unsigned vsock_port;   /* tried when there is no virtio-serial port; 0 = never */
	const char *tcp;       /* HOST:PORT of vmscaled's tcp-listen, with token */
	const char *unix_path; /* a container's socket, tried when there is no port; NULL never */
	const char *mountinfo; /* /proc/self/mountinfo: lxcfs over procstat? (procview.h) */
	const char *pid1_environ; /* /proc/1/environ: container=? */
	char token[VMS_TOKEN_LEN + 1];
};

struct probe_state {
	int fd;
	bool host_connected;
	bool need_hello;
	uint64_t seq; /* one counter over every record but hello */
	uint64_t next_cpu_ns, next_disk_ns;
	struct vms_schedule sched;
	char out[PROBE_OUTBUF_SIZE];
	size_t outlen;
	struct vms_linebuf in;
	uint64_t dropped;
	bool run_pending;
	struct vms_run run;
	char disk_dev[64]; /* the disk the active read samples, "" if none */
	uint64_t disk_offset;
	uint64_t cost_ns[VMS_FAM_COUNT];
	char caps[VMS_PROTO_MAX_VALUE + 1];
	bool view_host; /* /proc shows the host's counters (procview.h): said in the hello */
};

/* probe.c: set by SIGTERM and SIGINT; every loop ends when it is. */
extern volatile sig_atomic_t probe_stop_requested;
/* Rate-limited complaint: the same message at most once a minute, so a lost port cannot fill
 * the guest's console. */
void probe_complain(uint64_t *last_ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* probe_opts.c: fills o from argv; -1 to go on, else the exit status (help, version, error). */
int probe_opts_parse(struct probe_opts *o, int argc, char **argv);

/* probe_transport.c: each returns -1 with errno on failure. */
int probe_find_port(char *path, size_t pathsz); /* the virtio-serial port's /dev path */
int probe_connect_vsock(unsigned port);
/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric addresses only (the probe has no resolver). */
int probe_parse_hostport(const char *spec, struct sockaddr_storage *ss, socklen_t *sl);
int probe_connect_unix(const char *path);
int probe_connect_tcp(const struct probe_opts *o); /* connected and authenticated */

/* probe_report.c: the records, queued in s->out. A sink takes one measurement of a run: as
 * a record, or as a human line with --once --stdout. */
typedef void (*probe_sample_sink)(struct probe_state *s, const struct vms_sample *sm);
uint64_t probe_cpu_used_ns(void); /* this process and its reaped children */
void probe_build_caps(const struct probe_opts *o, struct probe_state *s);
int probe_take_cpu_report(const struct probe_opts *o, struct probe_state *s,
                          struct vms_cpu_report *r);
int probe_read_disks(const struct probe_opts *o, struct vmsp_disk *disks, unsigned *skipped);
void probe_queue_hello(struct probe_state *s);
int probe_queue_cpu(const struct probe_opts *o, struct probe_state *s); /* and the cost */
int probe_queue_disks(const struct probe_opts *o, struct probe_state *s);
/* Runs one active family; its samples go to sink. Returns the run's guest start time. */
uint64_t probe_run_family(const struct probe_opts *o, struct probe_state *s,
                          const struct vms_run *run, probe_sample_sink sink);
void probe_run_and_report(const struct probe_opts *o, struct probe_state *s,
                          const struct vms_run *run);

/* probe_serve.c */
int probe_flush_out(struct probe_state *s); /* 0 (also when the port is full), -1 on error */
int probe_serve_port(const struct probe_opts *o, struct probe_state *s, const char *path, int fd);

/* probe_human.c: --stdout, with --once (a human report) or without (the wire stream). */
int probe_run_once_stdout(const struct probe_opts *o);
int probe_run_stdout_stream(const struct probe_opts *o);

#endif

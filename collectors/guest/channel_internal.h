/*
 * The probe channels' insides, shared by their files: channel.c (connecting, reconnecting,
 * accepted connections, reading lines), channel_reports.c (the records a probe sends) and
 * channel_runs.c (active runs: starting them, their samples, the verdict). Not for other
 * modules: they use channel.h.
 */
#ifndef VMSCALE_CHANNEL_INTERNAL_H
#define VMSCALE_CHANNEL_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/guest/channel.h"
#include "daemon/util/bucket.h"
#include "daemon/util/log.h"
#include "daemon/util/tick.h"
#include "vmscale/protocol.h"

struct chan {
	struct vms_channels *owner;
	char uuid[VMS_DOMAIN_KEY_LEN + 1]; /* the domain's store key (its UUID on one URI) */
	char *name;                        /* for log lines */
	char *path;            /* the unix socket we connect to; NULL for a listener's chan */
	const char *transport; /* "virtio-serial", "vsock" or "tcp": where fd came from */
	bool accepted;         /* fd came from a listener (vms_channels_attach), not connect() */
	int fd;
	int watch;
	struct vms_linebuf lines;
	uint64_t retry_at_ns;
	uint64_t backoff_ns;
	bool seq_valid;
	uint64_t last_seq;
	uint64_t last_seq_ns; /* host time the record numbered last_seq arrived */
	bool cpu_seen;        /* a cpu report arrived since the last hello */
	/* The active run in progress: its samples wait here until "done" judges them. */
	struct {
		bool active;
		uint64_t id;
		enum vms_family family;
		uint64_t sent_ns, deadline_ns;
		bool have_ref; /* the last cpu report before the run: clocks to compare */
		uint64_t ref_guest_ns, ref_host_ns;
		unsigned nsamples;
		struct vms_sample samples[VMS_MAX_RUN_SAMPLES];
	} run;
	uint64_t abandoned_run_id; /* a run we gave up on: its late records are ignored */
	struct vms_complaint run_complaint;
	uint64_t connected_at_ns;
	bool silence_reported;
	struct vms_complaint connect_complaint;
	struct vms_complaint reject_complaint;
	struct vms_complaint plaus_complaint;
	struct vms_complaint hello_complaint;
	/* Connection lines (connected, closed, replaced, hello): a guest makes them at will by
	 * reconnecting, so past a restart's worth they are rate-limited (chan_log_conn). */
	struct vms_complaint conn_complaint;
	unsigned conn_lines;    /* connection lines since the connection was last steady */
	uint64_t conn_burst_ns; /* when the first of them was written */
	/* The domain's share (channel.h): kept across its connections, so that reconnecting
	 * does not refill it. While throttled the watch is off until resume_ns. */
	struct vms_bucket records, bytes;
	bool throttled;
	uint64_t resume_ns;
	struct vms_complaint throttle_complaint;
};

struct vms_channels {
	struct vms_store *store;
	struct vms_probe_plan plan;
	struct vms_psched *psched;
	uint64_t next_run_id;
	regex_t filter;
	bool has_filter;
	struct chan **chans;
	size_t n, cap;
	struct vms_tick resume_tick; /* runs while a chan is throttled */
};

/* channel.c */
const char *chan_where(const struct chan *ch);
int chan_send(struct chan *ch, const char *rec, size_t len);
struct chan *chan_find(const struct vms_channels *c, const char *uuid);
/* An info line about the connection coming or going, rate-limited per domain. */
void chan_log_conn(struct chan *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* channel_reports.c */
void chan_count_reject(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                       enum vms_proto_error err);
enum vms_proto_error chan_check_seq(struct chan *ch, const struct vms_domain *d, uint64_t seq,
                                    uint64_t now_ns);
void chan_advance_seq(struct chan *ch, struct vms_domain *d, uint64_t seq, uint64_t now_ns);

/* channel_runs.c */
void chan_run_abandon(struct chan *ch);
bool chan_run_abandoned(const struct chan *ch, const struct vms_record *rec);
enum vms_proto_error chan_accept_sample(struct vms_channels *c, struct chan *ch,
                                        struct vms_domain *d, const struct vms_record *rec,
                                        uint64_t now_ns);
/* "done": the run's verdict on the guest's clock; its samples kept or flagged. */
enum vms_proto_error chan_accept_done(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                                      const struct vms_record *rec, uint64_t now_ns);
unsigned chan_runnable(const struct vms_channels *c, unsigned caps);
void chan_send_schedule(struct vms_channels *c, struct chan *ch);

/* channel_throttle.c: the domain's share (channel.h). */
void chan_throttle_init(struct chan *ch, uint64_t now_ns);
/* Bytes the next read may take (at most chunk); 0 with why set if over a limit. */
size_t chan_read_allowance(struct chan *ch, size_t chunk, enum vms_throttle *why);
/* Stops reading ch until its buckets refill; counted per domain and complained about. */
void chan_throttle(struct vms_channels *c, struct chan *ch, enum vms_throttle why, uint64_t now_ns);
void chan_throttle_fini(struct vms_channels *c);

/* channel_plaus.c: bounds from physics and the guest's size; beyond them a record is
 * VMS_PROTO_E_IMPLAUSIBLE (logged here, counted by the caller). */
enum vms_proto_error chan_plaus_seq(struct chan *ch, uint64_t seq, uint64_t now_ns);
enum vms_proto_error chan_plaus_cpu(struct chan *ch, const struct vms_domain *d,
                                    const struct vms_cpu_report *r, uint64_t now_ns);
enum vms_proto_error chan_plaus_disk(struct chan *ch, const struct vms_probe_state *p, int i,
                                     const struct vms_disk_report *r, uint64_t now_ns);
enum vms_proto_error chan_plaus_cost(struct chan *ch, const struct vms_domain *d,
                                     const struct vms_cost_report *r, uint64_t now_ns,
                                     uint64_t delta[VMS_FAM_COUNT + 1], bool *restart);
enum vms_proto_error chan_plaus_sample(const struct vms_channels *c, struct chan *ch,
                                       const struct vms_domain *d, const struct vms_sample *sm,
                                       uint64_t now_ns);
/* A hello asks to reset the counter baselines: done now, or once the rate limit allows. */
void chan_plaus_hello(struct vms_channels *c, struct chan *ch, struct vms_domain *d,
                      uint64_t now_ns);
void chan_plaus_reset_if_due(struct vms_channels *c, struct vms_domain *d, uint64_t now_ns);

#endif

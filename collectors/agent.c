/* Agentless guests through the QEMU guest agent, on a worker thread (see agent.h). */
#include "collectors/agent.h"

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "collectors/agent_parse.h"
#include "collectors/agent_plaus.h"
#include "daemon/util/alloc.h"
#include "daemon/util/log.h"
#include "daemon/util/regex_bound.h"
#include "vmscale/clock.h"

#define MAILBOX_MAX 4096 /* reads waiting for the event loop; more are dropped (and counted) */
#define BACKOFF_MIN_S 1
#define BACKOFF_MAX_S 60
#define STALE_INTERVALS 3

/* One domain's reads, made on the worker, applied on the event loop. */
struct agent_read {
	char uuid[VMS_UUID_LEN + 1];
	char name[96];
	bool sent[VMS_AGENT_COMMAND_COUNT]; /* not after an agent that did not answer */
	enum vms_agent_result result[VMS_AGENT_COMMAND_COUNT];
	char why[VMS_AGENT_COMMAND_COUNT][200];
	struct vms_cpu_report cpu;
	struct vms_disk_report disks[VMS_PROBE_MAX_DISKS];
	unsigned ndisks, dropped;
};

struct vms_agent {
	char *uri;
	regex_t re;
	unsigned interval_s, timeout_s;
	pthread_t thread;
	pthread_mutex_t lock; /* guards the fields up to the worker's own */
	pthread_cond_t wake;
	bool quit;
	struct agent_read *mail; /* posted reads, in order */
	size_t nmail, capmail;
	uint64_t mail_dropped;
	char conn_error[256]; /* the worker's latest connection failure, "" when connected */
	bool conn_changed;
	uint64_t round_ns;       /* how long the latest round of reads took */
	uint64_t round_start_ns; /* when the round in progress started, 0 between rounds */
	/* The worker's own. */
	virConnectPtr conn;
	unsigned backoff_s;
	struct vms_agent_scratch scratch;
	/* The event loop's own. */
	struct vms_complaint conn_complaint;
	uint64_t mail_dropped_seen;
};

static const char *
last_error(void)
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "unknown libvirt error";
}

/* ------------------------------------------------------------------ the worker */

/* Waits up to s seconds or until asked to quit; true if asked. */
static bool
sleep_or_quit(struct vms_agent *a, unsigned s)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&a->lock);
	while (!a->quit)
		if (pthread_cond_timedwait(&a->wake, &a->lock, &until) != 0)
			break;
	bool quit = a->quit;
	pthread_mutex_unlock(&a->lock);
	return quit;
}

static void
set_conn_error(struct vms_agent *a, const char *msg)
{
	pthread_mutex_lock(&a->lock);
	if (strcmp(a->conn_error, msg) != 0) {
		snprintf(a->conn_error, sizeof(a->conn_error), "%s", msg);
		a->conn_changed = true;
	}
	pthread_mutex_unlock(&a->lock);
}

static void
post(struct vms_agent *a, const struct agent_read *r)
{
	pthread_mutex_lock(&a->lock);
	if (a->nmail < MAILBOX_MAX) {
		if (a->nmail == a->capmail) {
			a->capmail = a->capmail ? a->capmail * 2 : 8;
			a->mail = vms_xrealloc(a->mail, a->capmail, sizeof(*a->mail));
		}
		a->mail[a->nmail++] = *r;
	} else {
		a->mail_dropped++;
	}
	pthread_mutex_unlock(&a->lock);
}

/* One command; the reply (malloc'd) or NULL with why filled. */
static char *
command(struct vms_agent *a, virDomainPtr dom, const char *name, char *why, size_t whysz)
{
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"%s\"}", name);
	char *reply = virDomainQemuAgentCommand(dom, cmd, (int)a->timeout_s, 0);
	if (!reply) {
		/* libvirt's message may carry the agent's (the guest's) words: escaped. */
		char msg[160];
		size_t n = 0;
		for (const unsigned char *p = (const unsigned char *)last_error();
		     *p && n + 5 < sizeof(msg); p++)
			n += (size_t)snprintf(msg + n, sizeof(msg) - n,
			                      *p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
		msg[n] = '\0';
		snprintf(why, whysz, "%s: \"%s\"", name, msg);
	}
	return reply;
}

static void
read_domain(struct vms_agent *a, virDomainPtr dom, struct agent_read *r)
{
	char err[160];
	static const char *const cmds[VMS_AGENT_COMMAND_COUNT] = {"guest-get-cpustats",
	                                                          "guest-get-diskstats"};
	for (unsigned c = 0; c < VMS_AGENT_COMMAND_COUNT; c++) {
		pthread_mutex_lock(&a->lock);
		bool quit = a->quit; /* a stop does not wait for the second command */
		pthread_mutex_unlock(&a->lock);
		if (quit)
			break;
		char *reply = command(a, dom, cmds[c], r->why[c], sizeof(r->why[c]));
		r->sent[c] = true;
		if (!reply) {
			r->result[c] = VMS_AGENT_ERROR;
			/* No agent, or it stopped answering: the next command would only wait
			 * again (libvirt syncs with the agent first, up to its own timeout). */
			virErrorPtr e = virGetLastError();
			if (e && e->code == VIR_ERR_AGENT_UNRESPONSIVE)
				break;
			continue;
		}
		size_t len = strnlen(reply, VMS_AGENT_REPLY_MAX + 1);
		int rc = c == VMS_AGENT_CPUSTATS
		             ? vms_agent_parse_cpustats(&a->scratch, reply, len, &r->cpu, err,
		                                        sizeof(err))
		             : vms_agent_parse_diskstats(&a->scratch, reply, len, r->disks,
		                                         VMS_PROBE_MAX_DISKS, &r->ndisks,
		                                         &r->dropped, err, sizeof(err));
		free(reply);
		r->result[c] = rc < 0 ? VMS_AGENT_REJECTED : VMS_AGENT_OK;
		if (rc < 0)
			snprintf(r->why[c], sizeof(r->why[c]), "%s: %s", cmds[c], err);
	}
}

static bool
connect_agent(struct vms_agent *a)
{
	if (a->conn && virConnectIsAlive(a->conn) == 1)
		return true;
	if (a->conn)
		virConnectClose(a->conn);
	/* Read-write: libvirt refuses virDomainQemuAgentCommand on read-only connections. */
	a->conn = virConnectOpen(a->uri);
	if (!a->conn) {
		char msg[256];
		snprintf(msg, sizeof(msg), "cannot connect to %s: %s", a->uri, last_error());
		set_conn_error(a, msg);
		return false;
	}
	set_conn_error(a, "");
	return true;
}

/* Reads every running domain that matches, one after the other. */
static void
read_round(struct vms_agent *a)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(a->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (n < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "cannot list domains on %s: %s", a->uri, last_error());
		set_conn_error(a, msg);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		struct agent_read r = {.ndisks = 0};
		bool quit;
		pthread_mutex_lock(&a->lock);
		quit = a->quit;
		pthread_mutex_unlock(&a->lock);
		if (!quit && name && regexec(&a->re, name, 0, NULL, 0) == 0 &&
		    virDomainGetUUIDString(doms[i], r.uuid) == 0) {
			snprintf(r.name, sizeof(r.name), "%s", name);
			read_domain(a, doms[i], &r);
			post(a, &r);
		}
		virDomainFree(doms[i]);
	}
	free(doms);
}

static void *
worker_main(void *arg)
{
	struct vms_agent *a = arg;
	do {
		uint64_t start = vms_monotonic_ns();
		if (!connect_agent(a)) {
			a->backoff_s = a->backoff_s ? a->backoff_s * 2 : BACKOFF_MIN_S;
			if (a->backoff_s > BACKOFF_MAX_S)
				a->backoff_s = BACKOFF_MAX_S;
			continue;
		}
		a->backoff_s = 0;
		pthread_mutex_lock(&a->lock);
		a->round_start_ns = start;
		pthread_mutex_unlock(&a->lock);
		read_round(a);
		uint64_t spent_ns = vms_monotonic_ns() - start, spent_s = spent_ns / NS_PER_S;
		pthread_mutex_lock(&a->lock);
		a->round_ns = spent_ns;
		a->round_start_ns = 0;
		pthread_mutex_unlock(&a->lock);
		a->backoff_s = spent_s < a->interval_s ? (unsigned)(a->interval_s - spent_s) : 0;
		/* A round longer than the interval (many guests timing out) starts the next at
		 * once: the interval is a minimum, never a queue. */
	} while (!sleep_or_quit(a, a->backoff_s));
	if (a->conn)
		virConnectClose(a->conn);
	a->conn = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ the event loop's side */

struct vms_agent *
vms_agent_new(const char *uri, const char *regex, unsigned interval_s, unsigned timeout_s,
              char *err, size_t errsz)
{
	struct vms_agent *a = vms_xcalloc(1, sizeof(*a));
	if (vms_regex_compile(&a->re, regex, err, errsz) < 0) {
		free(a);
		return NULL;
	}
	a->uri = vms_xstrdup(uri);
	/* Not "": the first connection then counts as a change, and is logged. */
	snprintf(a->conn_error, sizeof(a->conn_error), "not connected yet");
	a->interval_s = interval_s;
	a->timeout_s = timeout_s;
	vms_agent_scratch_init(&a->scratch);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&a->thread, NULL, worker_main, a);
	if (rc != 0) {
		snprintf(err, errsz, "cannot start the guest agent thread: %s", strerror(rc));
		pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		vms_agent_scratch_fini(&a->scratch);
		regfree(&a->re);
		free(a->uri);
		free(a);
		return NULL;
	}
	return a;
}

void
vms_agent_free(struct vms_agent *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->quit = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	/* The command under way ends by its timeout, after libvirt's own sync with the agent (up
	 * to 5 s, twice when the agent failed before): past that the worker is stuck in libvirt,
	 * and a stopping daemon leaves it (and its memory) to the exit. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)a->timeout_s + 12;
	if (pthread_timedjoin_np(a->thread, NULL, &deadline) != 0) {
		vms_warn("guest agent: the reader did not stop within %u s (a command stuck in "
		         "libvirt); leaving it",
		         a->timeout_s + 12);
		return;
	}
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	vms_agent_scratch_fini(&a->scratch);
	regfree(&a->re);
	free(a->mail);
	free(a->uri);
	free(a);
}

/* The read's figures against what the domain shows now (agent_plaus.h): a lie turns the
 * command's result into a rejection; a believed restart is noted. The disks to show go to
 * r->disks. */
static void
judge(const struct vms_agent *a, struct vms_domain *d, struct agent_read *r, uint64_t now_ns)
{
	struct vms_agent_state *s = &d->agent;
	uint64_t interval_ns = (uint64_t)a->interval_s * NS_PER_S;
	bool reset = false;
	const char *why = NULL;
	if (r->sent[VMS_AGENT_CPUSTATS] && r->result[VMS_AGENT_CPUSTATS] == VMS_AGENT_OK &&
	    (why = vms_agent_judge_cpu(s, d, &r->cpu, now_ns, interval_ns, &reset))) {
		r->result[VMS_AGENT_CPUSTATS] = VMS_AGENT_REJECTED;
		snprintf(r->why[VMS_AGENT_CPUSTATS], sizeof(r->why[0]), "%s", why);
	}
	if (reset)
		s->reset_ns = now_ns;
	if (!r->sent[VMS_AGENT_DISKSTATS] || r->result[VMS_AGENT_DISKSTATS] != VMS_AGENT_OK)
		return;
	struct vms_disk_report shown[VMS_PROBE_MAX_DISKS];
	unsigned nshown = 0, newcomers = 0;
	why = vms_agent_judge_disks(s, r->disks, r->ndisks, now_ns, interval_ns, shown, &nshown,
	                            &newcomers, &reset);
	if (why) {
		r->result[VMS_AGENT_DISKSTATS] = VMS_AGENT_REJECTED;
		snprintf(r->why[VMS_AGENT_DISKSTATS], sizeof(r->why[0]), "%s", why);
		return;
	}
	if (reset)
		s->reset_ns = now_ns;
	memcpy(r->disks, shown, nshown * sizeof(shown[0]));
	r->ndisks = nshown;
	r->dropped += newcomers;
}

/* One domain's reads into the store (its read counters move at every read). */
static void
apply(struct vms_agent *a, struct vms_domain *d, struct agent_read *r, uint64_t now_ns)
{
	struct vms_agent_state *s = &d->agent;
	judge(a, d, r, now_ns);
	for (unsigned c = 0; c < VMS_AGENT_COMMAND_COUNT; c++) {
		if (!r->sent[c])
			continue;
		s->reads_total[c][r->result[c]]++;
		if (r->result[c] == VMS_AGENT_ERROR)
			vms_complain(
			    &s->read_complaint, LOG_WARNING, d->name,
			    "guest agent: %s (is qemu-guest-agent >= 7.1 running, with the "
			    "org.qemu.guest_agent.0 channel?)",
			    r->why[c]);
		else if (r->result[c] == VMS_AGENT_REJECTED)
			vms_complain(&s->reject_complaint, LOG_WARNING, d->name,
			             "guest agent reply rejected: %s", r->why[c]);
	}
	bool all_ok = true;
	for (unsigned c = 0; c < VMS_AGENT_COMMAND_COUNT; c++)
		all_ok &= r->sent[c] && r->result[c] == VMS_AGENT_OK;
	if (all_ok) {
		vms_complain_recovered(&s->read_complaint, d->name, "guest agent: reads again");
		vms_complain_recovered(&s->reject_complaint, d->name,
		                       "guest agent: replies accepted again");
	}
	if (r->sent[VMS_AGENT_CPUSTATS] && r->result[VMS_AGENT_CPUSTATS] == VMS_AGENT_OK) {
		s->cpu = r->cpu;
		s->cpu.mono_ns = now_ns;
		s->have_cpu = true;
		s->cpu_ok_ns = now_ns;
	}
	if (r->sent[VMS_AGENT_DISKSTATS] && r->result[VMS_AGENT_DISKSTATS] == VMS_AGENT_OK) {
		memcpy(s->disks, r->disks, r->ndisks * sizeof(r->disks[0]));
		s->ndisks = r->ndisks;
		s->disks_dropped_total += r->dropped;
		s->disks_ok_ns = now_ns;
	}
}

/* Figures no read refreshed for STALE_INTERVALS intervals (or rounds, when guests that do not
 * answer make a round longer than the interval) are not shown as current. */
static bool
forget_stale(const struct vms_agent *a, struct vms_store *st, uint64_t round_ns, uint64_t now_ns)
{
	bool changed = false;
	uint64_t interval_ns = (uint64_t)a->interval_s * NS_PER_S;
	uint64_t limit = (round_ns > interval_ns ? round_ns : interval_ns) * STALE_INTERVALS;
	for (size_t i = 0; i < st->ndomains; i++) {
		struct vms_agent_state *s = &st->domains[i]->agent;
		/* Each command's figures on their own: a failing one does not ride on the other. */
		if (s->have_cpu && now_ns - s->cpu_ok_ns > limit) {
			s->have_cpu = false;
			changed = true;
		}
		if (s->ndisks && now_ns - s->disks_ok_ns > limit) {
			s->ndisks = 0;
			changed = true;
		}
	}
	return changed;
}

static void
log_connection(struct vms_agent *a, const char *conn_error, bool conn_changed)
{
	if (!conn_changed)
		return;
	if (conn_error[0])
		vms_complain(&a->conn_complaint, LOG_ERR, NULL, "guest agent: %s (retrying)",
		             conn_error);
	else if (a->conn_complaint.interval_ns)
		vms_complain_recovered(&a->conn_complaint, NULL,
		                       "guest agent: connected to %s again", a->uri);
	else
		vms_info("guest agent: connected to %s (read-write, for qemu-agent-domains only)",
		         a->uri);
}

void
vms_agent_collect(struct vms_agent *a, struct vms_store *st, uint64_t now_ns)
{
	char conn_error[256];
	pthread_mutex_lock(&a->lock);
	struct agent_read *mail = a->mail;
	size_t n = a->nmail;
	a->mail = NULL;
	a->nmail = a->capmail = 0;
	bool conn_changed = a->conn_changed;
	a->conn_changed = false;
	snprintf(conn_error, sizeof(conn_error), "%s", a->conn_error);
	uint64_t dropped = a->mail_dropped, round_ns = a->round_ns;
	/* A round still going (a guest that does not answer) counts as long as it has lasted. */
	if (a->round_start_ns && now_ns > a->round_start_ns &&
	    now_ns - a->round_start_ns > round_ns)
		round_ns = now_ns - a->round_start_ns;
	pthread_mutex_unlock(&a->lock);

	log_connection(a, conn_error, conn_changed);
	if (dropped != a->mail_dropped_seen) {
		vms_warn("guest agent: %llu reads dropped: the event loop fell behind",
		         (unsigned long long)(dropped - a->mail_dropped_seen));
		a->mail_dropped_seen = dropped;
	}
	/* The store's connection of the same URI (config_validate.c: it is one of them); none
	 * only in tests that make domains without one, whose keys are bare UUIDs. */
	const struct vms_conn *conn = NULL;
	for (unsigned k = 0; k < st->nconns; k++)
		if (strcmp(st->conns[k]->uri, a->uri) == 0)
			conn = st->conns[k];
	bool changed = false;
	for (size_t i = 0; i < n; i++) {
		char key[VMS_DOMAIN_KEY_LEN + 1];
		vms_domain_key(key, conn, mail[i].uuid);
		struct vms_domain *d = vms_store_find(st, key);
		if (d) {
			apply(a, d, &mail[i], now_ns);
			changed = true;
		}
	}
	free(mail);
	changed |= forget_stale(a, st, round_ns, now_ns);
	if (changed)
		vms_store_part_changed(st, VMS_STORE_PROBES);
}

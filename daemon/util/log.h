/* Logging: one greppable line per event; to the journal with fields under systemd, else stderr. */
#ifndef VMSCALE_LOG_H
#define VMSCALE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Chooses the journal when stderr is connected to it (systemd sets JOURNAL_STREAM). */
void vms_log_init(const char *ident, bool verbose);

/*
 * Logs at a syslog priority. domain may be NULL; when set it becomes the DOMAIN= journal field
 * and a "domain NAME: " prefix on stderr.
 */
void vms_log(int prio, const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The same with extra journal fields: fields alternates names and values ("PROBE", "cpu_work",
 * ..., NULL), at most 8 pairs. On stderr only the message is written (it should say it all).
 */
void vms_log_fields(int prio, const char *domain, const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define vms_err(...) vms_log(LOG_ERR, NULL, __VA_ARGS__)
#define vms_warn(...) vms_log(LOG_WARNING, NULL, __VA_ARGS__)
#define vms_info(...) vms_log(LOG_INFO, NULL, __VA_ARGS__)
#define vms_debug(...) vms_log(LOG_DEBUG, NULL, __VA_ARGS__)

/*
 * Rate limiting of a repeated complaint (after collectd's c_complain): the first failure is
 * logged, repeats at most once per interval that doubles up to a day, and the first success
 * after a failure logs one "recovered" line.
 */
struct vms_complaint {
	uint64_t next_ns;     /* monotonic time before which repeats are silent */
	uint64_t interval_ns; /* 0 while not complaining */
	uint64_t suppressed;
};

void vms_complain(struct vms_complaint *c, int prio, const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vms_complain_recovered(struct vms_complaint *c, const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

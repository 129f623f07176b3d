/* Logging and rate-limited complaints (see log.h). */
#include "daemon/util/log.h"

#include "vmscale/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#define COMPLAIN_FIRST_NS (60 * NS_PER_S)
#define COMPLAIN_MAX_NS (86400 * NS_PER_S)

static bool use_journal;
static bool log_verbose;
static const char *log_ident = "vmscaled";

/* JOURNAL_STREAM=dev:ino names the journal's stream; stderr must be that very file. */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
vms_log_init(const char *ident, bool verbose)
{
	log_ident = ident;
	log_verbose = verbose;
	use_journal = stderr_is_journal();
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = ' ';
}

#define LOG_MAX_FIELDS 8

/* The caller's format, checked where it is written (clang's -Wformat-nonliteral). */
static void log_v(int prio, const char *domain, const char *const *fields, const char *fmt,
                  va_list ap) __attribute__((format(printf, 4, 0)));

static void
log_v(int prio, const char *domain, const char *const *fields, const char *fmt, va_list ap)
{
	char msg[1024], dom[256];
	if (prio >= LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per event, whatever the message or a (guest-chosen) domain name held. */
	one_line(msg);
	if (domain) {
		snprintf(dom, sizeof(dom), "%s", domain);
		one_line(dom);
		domain = dom;
	}
	if (use_journal && fields) {
		/* One entry with every field: MESSAGE, PRIORITY, identifier, DOMAIN and the rest.
		 */
		char buf[LOG_MAX_FIELDS + 4][1100];
		struct iovec iov[LOG_MAX_FIELDS + 4];
		int n = 0;
		snprintf(buf[n], sizeof(buf[n]), "MESSAGE=%s%s%s", domain ? "domain " : "",
		         domain ? domain : "", domain ? ": " : "");
		snprintf(buf[n] + strlen(buf[n]), sizeof(buf[n]) - strlen(buf[n]), "%s", msg);
		n++;
		snprintf(buf[n++], sizeof(buf[0]), "PRIORITY=%d", prio);
		snprintf(buf[n++], sizeof(buf[0]), "SYSLOG_IDENTIFIER=%s", log_ident);
		if (domain)
			snprintf(buf[n++], sizeof(buf[0]), "DOMAIN=%s", domain);
		for (unsigned i = 0; fields[i] && fields[i + 1] && i < 2 * LOG_MAX_FIELDS; i += 2) {
			snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i], fields[i + 1]);
			one_line(buf[n]);
			n++;
		}
		for (int i = 0; i < n; i++)
			iov[i] = (struct iovec){buf[i], strlen(buf[i])};
		sd_journal_sendv(iov, n);
		return;
	}
	if (use_journal) {
		if (domain)
			sd_journal_send("MESSAGE=domain %s: %s", domain, msg, "PRIORITY=%d", prio,
			                "DOMAIN=%s", domain, "SYSLOG_IDENTIFIER=%s", log_ident,
			                NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
			                "SYSLOG_IDENTIFIER=%s", log_ident, NULL);
		return;
	}
	if (domain)
		fprintf(stderr, "%s: %s: domain %s: %s\n", log_ident, prio_name(prio), domain, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, prio_name(prio), msg);
}

void
vms_log(int prio, const char *domain, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(prio, domain, NULL, fmt, ap);
	va_end(ap);
}

void
vms_log_fields(int prio, const char *domain, const char *const *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(prio, domain, fields, fmt, ap);
	va_end(ap);
}

void
vms_complain(struct vms_complaint *c, int prio, const char *domain, const char *fmt, ...)
{
	uint64_t now = vms_monotonic_ns();
	if (c->interval_ns != 0 && now < c->next_ns) {
		c->suppressed++;
		return;
	}
	c->interval_ns = c->interval_ns ? c->interval_ns * 2 : COMPLAIN_FIRST_NS;
	if (c->interval_ns > COMPLAIN_MAX_NS)
		c->interval_ns = COMPLAIN_MAX_NS;
	c->next_ns = now + c->interval_ns;

	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->suppressed)
		vms_log(prio, domain, "%s (%llu similar messages suppressed)", msg,
		        (unsigned long long)c->suppressed);
	else
		vms_log(prio, domain, "%s", msg);
	c->suppressed = 0;
}

void
vms_complain_recovered(struct vms_complaint *c, const char *domain, const char *fmt, ...)
{
	if (c->interval_ns == 0)
		return;
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vms_log(LOG_NOTICE, domain, "%s", msg);
	c->interval_ns = 0;
	c->next_ns = 0;
	c->suppressed = 0;
}

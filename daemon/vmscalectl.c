/*
 * vmscalectl: the operator's client of vmscaled's control socket (protocol in control.h).
 * It checks the shape of a command, sends its words as one line, prints the reply's body and
 * turns its status line into the exit code. libc only: it links nothing of the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"

#define EXIT_REFUSED 1 /* the daemon answered "error: ..." */
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 69 /* sysexits' EX_UNAVAILABLE: no daemon to talk to, or no answer */
#define EXIT_PROTOCOL 76    /* sysexits' EX_PROTOCOL: the answer makes no sense */
#define EXCHANGE_TIMEOUT_MS 5000
/* More than any daemon answer: a bound on what a peer can make us hold. */
#define MAX_REPLY (4u << 20)

static void
usage(FILE *f)
{
	fprintf(f,
	        "Usage: vmscalectl [OPTIONS] COMMAND [ARGS...]\n"
	        "Asks a running vmscaled to list, pin, unpin or reset degradation baselines.\n\n"
	        "Commands:\n"
	        "  baseline list [DOMAIN]          show the baselines (of one domain)\n"
	        "  baseline pin DOMAIN [PROBE]     keep the current baseline: stop adapting it\n"
	        "  baseline unpin DOMAIN [PROBE]   let a pinned baseline adapt again\n"
	        "  baseline reset DOMAIN [PROBE]   forget the baseline and learn it anew\n"
	        "  status                          the daemon's state in short\n\n"
	        "Options:\n"
	        "  -s, --socket PATH   vmscaled's control socket (default %s)\n"
	        "  -h, --help          this text\n"
	        "      --version       print the version and exit\n\n"
	        "Exit status: 0 done, 1 the daemon refused, 2 usage error,\n"
	        "69 cannot reach the daemon, 76 the daemon's answer is malformed.\n",
	        VMS_CONTROL_DEFAULT_PATH);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vmscalectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vmscalectl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* What the daemon would refuse anyway is refused here with a better message. */
static int
check_words(int argc, char **argv)
{
	size_t total = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (n == 0)
			return usage_error("empty argument");
		if (n > VMS_CONTROL_MAX_WORD)
			return usage_error("argument longer than 255 bytes: %.40s...", argv[i]);
		for (const char *p = argv[i]; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				return usage_error("argument '%s' holds a space or a byte "
				                   "that is not printable ASCII",
				                   argv[i]);
		total += n + 1;
	}
	if (total > VMS_CONTROL_MAX_LINE)
		return usage_error("the request is longer than 1024 bytes");
	return 0;
}

/* The shapes of the known commands: 0 if argv is one, else a usage error. */
static int
check_command(int argc, char **argv)
{
	if (argc == 0)
		return usage_error("no command given");
	if (strcmp(argv[0], "status") == 0) {
		if (argc != 1)
			return usage_error("status takes no arguments");
		return check_words(argc, argv);
	}
	if (strcmp(argv[0], "baseline") != 0)
		return usage_error("unknown command '%s'", argv[0]);
	if (argc < 2)
		return usage_error("baseline needs list, pin, unpin or reset");
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0) {
		if (argc > 3)
			return usage_error("usage: baseline list [DOMAIN]");
	} else if (strcmp(sub, "pin") == 0 || strcmp(sub, "unpin") == 0 ||
	           strcmp(sub, "reset") == 0) {
		if (argc < 3 || argc > 4)
			return usage_error("usage: baseline %s DOMAIN [PROBE]", sub);
	} else {
		return usage_error("unknown baseline command '%s'", sub);
	}
	return check_words(argc, argv);
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the exchange's deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

static int
unavailable(const char *path, const char *what)
{
	fprintf(stderr,
	        "vmscalectl: cannot talk to vmscaled at %s: %s\n"
	        "vmscalectl: is vmscaled running, and is its control-socket set elsewhere? "
	        "(then use --socket PATH)\n",
	        path, what);
	return EXIT_UNAVAILABLE;
}

static int
connect_to(const char *path, long long deadline, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmscalectl: socket path longer than %zu bytes: %s\n",
		        sizeof(sa.sun_path) - 1, path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return unavailable(path, strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		/* A unix socket with a full backlog: wait for room like a blocking connect would,
		 * but not beyond the deadline. */
		if (e == EAGAIN || e == EINPROGRESS) {
			for (;;) {
				if (wait_fd(fd, POLLOUT, deadline) <= 0) {
					close(fd);
					return unavailable(path, "timed out connecting");
				}
				int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
				if (r == 0 || errno == EISCONN)
					break;
				if (errno != EAGAIN && errno != EINPROGRESS && errno != EALREADY) {
					e = errno;
					close(fd);
					return unavailable(path, strerror(e));
				}
			}
		} else {
			close(fd);
			if (e == EACCES)
				return unavailable(path, "permission denied (run as root, or as "
				                         "the user vmscaled runs as)");
			return unavailable(path, strerror(e));
		}
	}
	*out = fd;
	return 0;
}

/* Sends the request line and reads the whole reply (up to EOF) into *reply. */
static int
exchange(const char *path, int argc, char **argv, char **reply, size_t *rlen)
{
	long long deadline = now_ms() + EXCHANGE_TIMEOUT_MS;
	char line[VMS_CONTROL_MAX_LINE + 1];
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", argv[i],
		                        i + 1 < argc ? " " : "\n");
	int fd = -1, rc = connect_to(path, deadline, &fd);
	if (rc != 0)
		return rc;
	char *buf = NULL;
	size_t sent = 0, have = 0, cap = 0;
	while (sent < len) {
		ssize_t n = send(fd, line + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) > 0)
			continue;
		rc = unavailable(path, n < 0 && errno != EAGAIN ? strerror(errno)
		                                                : "timed out sending the request");
		goto cleanup;
	}
	for (;;) {
		if (have == cap) {
			if (cap >= MAX_REPLY) {
				fprintf(stderr,
				        "vmscalectl: the answer from %s is larger "
				        "than %u bytes\n",
				        path, MAX_REPLY);
				rc = EXIT_PROTOCOL;
				goto cleanup;
			}
			cap = cap ? 2 * cap : 4096;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				fprintf(stderr, "vmscalectl: out of memory\n");
				rc = EXIT_FAILURE;
				goto cleanup;
			}
			buf = nb;
		}
		ssize_t n = recv(fd, buf + have, cap - have, MSG_DONTWAIT);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && wait_fd(fd, POLLIN, deadline) > 0)
			continue;
		rc = unavailable(path, errno != EAGAIN ? strerror(errno)
		                                       : "no complete answer within 5 s");
		goto cleanup;
	}
	buf[have] = '\0';
	*reply = buf;
	*rlen = have;
	buf = NULL;
	rc = 0;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* Prints the body and returns the exit code that the status line says. */
static int
report(const char *path, char *reply, size_t len)
{
	if (len == 0) {
		/* Not a broken answer: no answer. The daemon serves VMS_CONTROL_MAX_PENDING
		 * connections at once and drops the oldest for a newer one. */
		fprintf(
		    stderr,
		    "vmscalectl: vmscaled at %s closed the connection without answering "
		    "(busy: it drops the oldest of %d connections for a newer one); try again\n",
		    path, VMS_CONTROL_MAX_PENDING);
		return EXIT_UNAVAILABLE;
	}
	if (reply[len - 1] != '\n' || memchr(reply, '\0', len)) {
		fprintf(stderr, "vmscalectl: %s closed the connection without a complete answer\n",
		        path);
		return EXIT_PROTOCOL;
	}
	reply[len - 1] = '\0';
	char *status = strrchr(reply, '\n');
	status = status ? status + 1 : reply;
	if (strcmp(status, "ok") != 0 && strncmp(status, "error: ", 7) != 0) {
		fprintf(stderr, "vmscalectl: unexpected answer from %s: %.200s\n", path, status);
		return EXIT_PROTOCOL;
	}
	fwrite(reply, 1, (size_t)(status - reply), stdout);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vmscalectl: cannot write the answer: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	if (status[0] == 'e') {
		fprintf(stderr, "vmscalectl: %s\n", status + 7);
		return EXIT_REFUSED;
	}
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = VMS_CONTROL_DEFAULT_PATH;
	int c;
	/* "+": options end at the command, whose arguments are the daemon's to judge. Our own
	 * messages, not getopt's: one "vmscalectl: " prefix on every error line. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("vmscalectl %s\n", VMSCALE_VERSION);
			return EXIT_SUCCESS;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				return usage_error("unknown option '%s'", argv[optind - 1]);
			return usage_error("unknown option '-%c'", optopt);
		}
	}
	if (!path[0])
		return usage_error("--socket needs a path");
	int rc = check_command(argc - optind, argv + optind);
	if (rc != 0)
		return rc;
	char *reply = NULL;
	size_t len = 0;
	rc = exchange(path, argc - optind, argv + optind, &reply, &len);
	if (rc == 0)
		rc = report(path, reply, len);
	free(reply);
	return rc;
}

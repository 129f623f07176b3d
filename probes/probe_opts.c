/* The probe's command line: defaults, getopt, the checks between options, usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probes/probe_internal.h"

enum {
	OPT_ONCE = 256,
	OPT_STDOUT,
	OPT_PROCSTAT,
	OPT_DISKSTATS,
	OPT_DISKS_INCLUDE,
	OPT_DISKS_EXCLUDE,
	OPT_SCRATCH,
	OPT_NET_ADDR,
	OPT_NET_PORT,
	OPT_NET_TOKEN,
	OPT_VSOCK_PORT,
	OPT_TCP,
	OPT_TOKEN_FILE,
	OPT_UNIX,
	OPT_MOUNTINFO,
};

static const struct option longopts[] = {
    {"port", required_argument, NULL, 'p'},
    {"interval", required_argument, NULL, 'i'},
    {"once", no_argument, NULL, OPT_ONCE},
    {"stdout", no_argument, NULL, OPT_STDOUT},
    {"proc-stat", required_argument, NULL, OPT_PROCSTAT},
    {"diskstats", required_argument, NULL, OPT_DISKSTATS},
    {"disks-include", required_argument, NULL, OPT_DISKS_INCLUDE},
    {"disks-exclude", required_argument, NULL, OPT_DISKS_EXCLUDE},
    {"scratch-dir", required_argument, NULL, OPT_SCRATCH},
    {"net-addr", required_argument, NULL, OPT_NET_ADDR},
    {"net-port", required_argument, NULL, OPT_NET_PORT},
    {"net-token", required_argument, NULL, OPT_NET_TOKEN},
    {"vsock-port", required_argument, NULL, OPT_VSOCK_PORT},
    {"tcp", required_argument, NULL, OPT_TCP},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"unix", required_argument, NULL, OPT_UNIX},
    {"mountinfo", required_argument, NULL, OPT_MOUNTINFO},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: vmscale-probe [OPTIONS]\n"
	    "Guest agent of vmscale: reports CPU and disk counters and runs the active probes\n"
	    "vmscaled asks for, over the virtio-serial port named " VMS_PROTO_CHANNEL_NAME ".\n\n"
	    "  -p, --port PATH         use this character device instead of discovering the port\n"
	    "  -i, --interval SEC      report interval until the host sends a schedule (default "
	    "%u)\n"
	    "      --once              one report, then exit\n"
	    "      --stdout            write to standard output instead of the port\n"
	    "                          (--once --stdout runs every probe and prints a report)\n"
	    "      --proc-stat PATH    read CPU counters from PATH (default /proc/stat)\n"
	    "      --diskstats PATH    read disk counters from PATH (default /proc/diskstats)\n"
	    "      --disks-include L   keep devices with these comma-separated name prefixes\n"
	    "                          even if skipped by default (loop, ram, zram, dm-, ...)\n"
	    "      --disks-exclude L   also skip devices with these name prefixes\n"
	    "      --scratch-dir DIR   where the file-create latency works (default /var/tmp)\n"
	    "      --net-addr ADDR     with --once: vmscaled's network responder\n"
	    "      --net-port PORT     its port (default 18767)\n"
	    "      --net-token HEX     a token vmscaled granted for it\n"
	    "      --unix PATH         without a virtio-serial port, try this unix socket first:\n"
	    "                          a container's (default " VMS_PROTO_CONTAINER_DIR
	    "/" VMS_PROTO_CONTAINER_SOCKET ",\n"
	    "                          \"\" for never)\n"
	    "      --mountinfo PATH    where to look for lxcfs over --proc-stat (default\n"
	    "                          /proc/self/mountinfo): without it a container's /proc\n"
	    "                          is the host's, and the probe says view=host\n"
	    "      --vsock-port PORT   without a virtio-serial port, try AF_VSOCK to the host\n"
	    "                          on this port, 0 for never (default %u)\n"
	    "      --tcp HOST:PORT     reach vmscaled's tcp-listen instead (numeric address;\n"
	    "                          needs --token-file)\n"
	    "      --token-file FILE   this domain's token, from the host's\n"
	    "                          STATE-DIR/tokens/UUID\n"
	    "  -h, --help              this text\n"
	    "  -V, --version           print the version and exit\n",
	    VMS_SCHEDULE_DEFAULT_CPU_MS / 1000, VMS_PROTO_VSOCK_PORT);
}

/* Reads the token file: 32 lowercase hex digits and an optional LF, nothing else. */
static int
read_token_file(const char *path, char *token)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	char buf[VMS_TOKEN_LEN + 3];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || !vms_token_parse(buf, (size_t)n, token)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* strtoul over the whole argument; -1 if it stops early or overflows. Each option then adds
 * its own checks (strtoul itself lets a leading blank or sign through). */
static int
whole_ulong(const char *arg, unsigned long *v)
{
	char *end;
	errno = 0;
	*v = strtoul(arg, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Applies one option; -1 to go on, else the exit status. */
static int
apply_option(struct probe_opts *o, int c, const char *arg, const char **token_file)
{
	unsigned long n;
	switch (c) {
	case 'p':
		o->port = arg;
		break;
	case 'i':
		if (whole_ulong(arg, &n) < 0 || arg[0] == '-' || n * 1000 < VMS_SCHEDULE_MIN_MS ||
		    n * 1000 > VMS_SCHEDULE_MAX_MS) {
			fprintf(stderr, "vmscale-probe: --interval must be %u..%u seconds\n",
			        VMS_SCHEDULE_MIN_MS / 1000, VMS_SCHEDULE_MAX_MS / 1000);
			return 2;
		}
		o->interval_ms = (unsigned)n * 1000;
		break;
	case OPT_UNIX:
		o->unix_path = arg[0] ? arg : NULL;
		break;
	case OPT_MOUNTINFO:
		o->mountinfo = arg;
		break;
	case OPT_ONCE:
		o->once = true;
		break;
	case OPT_STDOUT:
		o->to_stdout = true;
		break;
	case OPT_PROCSTAT:
		o->procstat = arg;
		break;
	case OPT_DISKSTATS:
		o->diskstats = arg;
		break;
	case OPT_DISKS_INCLUDE:
		o->disk_filter.include_prefixes = arg;
		break;
	case OPT_DISKS_EXCLUDE:
		o->disk_filter.exclude_prefixes = arg;
		break;
	case OPT_SCRATCH:
		o->scratch_dir = arg;
		break;
	case OPT_NET_ADDR:
		o->net_addr = arg;
		break;
	case OPT_NET_PORT:
		if (whole_ulong(arg, &n) < 0 || n == 0 || n > 65535) {
			fprintf(stderr, "vmscale-probe: --net-port must be 1..65535\n");
			return 2;
		}
		o->net_port = (unsigned)n;
		break;
	case OPT_NET_TOKEN:
		o->net_token = arg;
		break;
	case OPT_VSOCK_PORT:
		if (whole_ulong(arg, &n) < 0 || arg[0] < '0' || arg[0] > '9' || n > 4294967294ul) {
			fprintf(stderr, "vmscale-probe: --vsock-port must be 0..4294967294\n");
			return 2;
		}
		o->vsock_port = (unsigned)n;
		break;
	case OPT_TCP:
		o->tcp = arg;
		break;
	case OPT_TOKEN_FILE:
		*token_file = arg;
		break;
	case 'h':
		usage(stdout);
		return 0;
	case 'V':
		printf("vmscale-probe %s (protocol %d)\n", VMSCALE_VERSION, VMS_PROTO_VERSION);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The checks that involve more than one option; -1 to go on, else the exit status. */
static int
check_options(struct probe_opts *o, const char *token_file)
{
	if (o->tcp) {
		struct sockaddr_storage ss;
		socklen_t sl;
		if (probe_parse_hostport(o->tcp, &ss, &sl) < 0) {
			fprintf(stderr,
			        "vmscale-probe: --tcp must be ADDR:PORT or [ADDR]:PORT with a "
			        "numeric address\n");
			return 2;
		}
		if (!token_file) {
			fprintf(stderr, "vmscale-probe: --tcp needs --token-file\n");
			return 2;
		}
		if (read_token_file(token_file, o->token) < 0) {
			fprintf(stderr, "vmscale-probe: %s: %s\n", token_file,
			        errno == EINVAL ? "not a token (32 lowercase hex digits)"
			                        : strerror(errno));
			return 2;
		}
	} else if (token_file) {
		fprintf(stderr, "vmscale-probe: --token-file goes with --tcp\n");
		return 2;
	}
	if (o->net_token && strlen(o->net_token) != VMS_TOKEN_LEN) {
		fprintf(stderr, "vmscale-probe: --net-token must be %d hex digits\n",
		        VMS_TOKEN_LEN);
		return 2;
	}
	return -1;
}

int
probe_opts_parse(struct probe_opts *o, int argc, char **argv)
{
	*o = (struct probe_opts){
	    .procstat = "/proc/stat",
	    .diskstats = "/proc/diskstats",
	    .sysfs_block = "/sys/block",
	    .scratch_dir = "/var/tmp",
	    .self_path = "/proc/self/exe",
	    .interval_ms = VMS_SCHEDULE_DEFAULT_CPU_MS,
	    .net_port = 18767,
	    .vsock_port = VMS_PROTO_VSOCK_PORT,
	    .unix_path = VMS_PROTO_CONTAINER_DIR "/" VMS_PROTO_CONTAINER_SOCKET,
	    .mountinfo = "/proc/self/mountinfo",
	    .pid1_environ = "/proc/1/environ",
	};
	o->disk_filter.sysfs_block = o->sysfs_block;
	const char *token_file = NULL;
	int c, rc;
	while ((c = getopt_long(argc, argv, "p:i:hV", longopts, NULL)) != -1)
		if ((rc = apply_option(o, c, optarg, &token_file)) >= 0)
			return rc;
	if (optind < argc) {
		fprintf(stderr, "vmscale-probe: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return check_options(o, token_file);
}

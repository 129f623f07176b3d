/*
 * Probe listeners: token files, the vsock CID to domain mapping, a kernel without AF_VSOCK,
 * and the tcp transport over a real socket on 127.0.0.1 driven by libvirt's event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "daemon/util/log.h"
#include "check.h"
#include "check_loop.h"

#define UUID_A "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11"
#define UUID_B "5c2d9a10-1111-4e38-9a8e-0d6c1b1c2a22"

static char statedir[64];

static void
make_statedir(void)
{
	snprintf(statedir, sizeof(statedir), "/tmp/vmscale-test-listeners.XXXXXX");
	CHECK(mkdtemp(statedir) != NULL);
}

static void
rm_statedir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", statedir);
	CHECK(system(cmd) == 0);
}

static void
test_tokens(void)
{
	char t1[VMS_TOKEN_LEN + 1], t2[VMS_TOKEN_LEN + 1], err[512], file[256];
	CHECK_INT(vms_token_provision(statedir, UUID_A, t1, err, sizeof(err)), 0);
	CHECK_INT(strlen(t1), VMS_TOKEN_LEN);
	snprintf(file, sizeof(file), "%s/tokens/%s", statedir, UUID_A);
	struct stat sb;
	CHECK(stat(file, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0600);
	snprintf(file, sizeof(file), "%s/tokens", statedir);
	CHECK(stat(file, &sb) == 0);
	CHECK_INT(sb.st_mode & 0777, 0700);
	/* A restart reads the same token back. */
	CHECK_INT(vms_token_provision(statedir, UUID_A, t2, err, sizeof(err)), 0);
	CHECK_STR(t2, t1);
	CHECK(vms_token_equal(t1, t2));
	/* Another domain, another token. */
	CHECK_INT(vms_token_provision(statedir, UUID_B, t2, err, sizeof(err)), 0);
	CHECK(!vms_token_equal(t1, t2));

	/* Corrupt content: replaced with a fresh token, still 0600. */
	snprintf(file, sizeof(file), "%s/tokens/%s", statedir, UUID_A);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	fputs("not a token\n", f);
	fclose(f);
	CHECK_INT(vms_token_provision(statedir, UUID_A, t2, err, sizeof(err)), 0);
	CHECK(!vms_token_equal(t1, t2));
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	/* Uppercase, too long, empty: replaced. */
	const char *bad[] = {"", "0123456789ABCDEF0123456789abcdef\n",
	                     "0123456789abcdef0123456789abcdef0\n", "0123456789abcdef\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(file, "w");
		fputs(bad[i], f);
		fclose(f);
		CHECK_INT(vms_token_provision(statedir, UUID_A, t1, err, sizeof(err)), 0);
		CHECK_INT(strlen(t1), VMS_TOKEN_LEN);
	}
	/* Readable by others: it may have leaked, so it is replaced. */
	CHECK(chmod(file, 0644) == 0);
	CHECK_INT(vms_token_provision(statedir, UUID_A, t2, err, sizeof(err)), 0);
	CHECK(!vms_token_equal(t1, t2));
	CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	/* A symlink or a directory where the file should be: refused, untouched. */
	CHECK(unlink(file) == 0);
	CHECK(symlink("/etc/hostname", file) == 0);
	err[0] = '\0';
	CHECK_INT(vms_token_provision(statedir, UUID_A, t1, err, sizeof(err)), -1);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK(unlink(file) == 0);
	CHECK(mkdir(file, 0700) == 0);
	CHECK_INT(vms_token_provision(statedir, UUID_A, t1, err, sizeof(err)), -1);
	CHECK(rmdir(file) == 0);
	/* Keys that could escape the directory. */
	CHECK_INT(vms_token_provision(statedir, "../x", t1, err, sizeof(err)), -1);
	CHECK_INT(vms_token_provision(statedir, ".hidden", t1, err, sizeof(err)), -1);
	CHECK_INT(vms_token_provision(statedir, "", t1, err, sizeof(err)), -1);
	/* A state dir that cannot be made. */
	CHECK_INT(vms_token_provision("/proc/vmscale-nope", UUID_A, t1, err, sizeof(err)), -1);

	CHECK(!vms_token_equal("abc", "abc"));
	CHECK(!vms_token_equal(NULL, t1));
	CHECK(!vms_token_equal("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
	                       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
	CHECK(vms_token_equal("0123456789abcdef0123456789abcdef",
	                      "0123456789abcdef0123456789abcdef"));
	CHECK(!vms_token_equal("0123456789abcdef0123456789abcdef",
	                       "0123456789abcdef0123456789abcdee"));
}

static void
test_cid_mapping(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *a = vms_store_upsert(&st, UUID_A, "a", 1);
	struct vms_domain *b = vms_store_upsert(&st, UUID_B, "b", 2);
	a->vsock_cid = 3;
	b->vsock_cid = 70000;
	CHECK_STR(vms_vsock_domain_for_cid(&st, 3), UUID_A);
	CHECK_STR(vms_vsock_domain_for_cid(&st, 70000), UUID_B);
	CHECK(vms_vsock_domain_for_cid(&st, 4) == NULL);
	/* Hypervisor, local, host and "any" never name a guest, even if a domain claimed one. */
	b->vsock_cid = 2;
	CHECK(vms_vsock_domain_for_cid(&st, 2) == NULL);
	CHECK(vms_vsock_domain_for_cid(&st, 0) == NULL);
	CHECK(vms_vsock_domain_for_cid(&st, 1) == NULL);
	CHECK(vms_vsock_domain_for_cid(&st, 0xffffffffu) == NULL);
	/* A domain without vsock (cid 0) is never matched. */
	a->vsock_cid = 0;
	CHECK(vms_vsock_domain_for_cid(&st, 3) == NULL);
	vms_store_fini(&st);
}

static int
no_vsock(int domain, int type, int protocol)
{
	(void)domain;
	(void)type;
	(void)protocol;
	errno = EAFNOSUPPORT;
	return -1;
}

static void
test_vsock_unsupported(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_channels *c = vms_channels_new(&st);
	struct vms_listeners *l = vms_listeners_new(&st, c);
	vms_listeners_set_socket_fn(l, no_vsock);
	char err[256] = "";
	CHECK_INT(vms_listeners_open_vsock(l, VMS_PROTO_VSOCK_PORT, err, sizeof(err)), -1);
	CHECK(strstr(err, "no AF_VSOCK support") != NULL);
	struct vms_listener_stats s;
	vms_listeners_get_stats(l, &s);
	CHECK(!s.vsock_on);
	vms_listeners_free(l);
	vms_channels_free(c);
	vms_store_fini(&st);
}

/* ---- tcp ---- */

static bool
has_cpu(void *arg)
{
	return ((struct vms_domain *)arg)->probe.have_cpu;
}

static bool
new_hello(void *arg)
{
	return strcmp(((struct vms_domain *)arg)->probe.info.probe_version, "0.1.1") == 0;
}

static bool
not_connected(void *arg)
{
	return !((struct vms_domain *)arg)->probe.connected;
}

static struct vms_listeners *cur;

static uint64_t
refused(enum vms_auth_fail why)
{
	struct vms_listener_stats s;
	vms_listeners_get_stats(cur, &s);
	return s.tcp_refused[why];
}

static bool
refused_bad(void *arg)
{
	return refused(VMS_AUTH_BAD_TOKEN) >= (uint64_t)(size_t)arg;
}
static bool
refused_malformed(void *arg)
{
	return refused(VMS_AUTH_MALFORMED) >= (uint64_t)(size_t)arg;
}
static bool
refused_oversized(void *arg)
{
	return refused(VMS_AUTH_OVERSIZED) >= (uint64_t)(size_t)arg;
}
static bool
refused_timeout(void *arg)
{
	return refused(VMS_AUTH_TIMEOUT) >= (uint64_t)(size_t)arg;
}

/* A port free right now on 127.0.0.1 (the listener refuses port 0). */
static void
free_spec(char *spec, size_t sz)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(spec, sz, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	close(fd);
}

static int
tcp_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static void
send_all(int fd, const char *s)
{
	CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
}

/* Whether the daemon closed fd (EOF), running the loop meanwhile. */
static bool
closed_by_peer(int fd)
{
	char buf[512];
	int timer = virEventAddTimeout(20, check_loop_tick, NULL, NULL);
	bool closed = false;
	for (int i = 0; i < 100 && !closed; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			closed = true;
		else
			virEventRunDefaultImpl();
	}
	virEventRemoveTimeout(timer);
	return closed;
}

static void
read_token(const char *key, char *tok)
{
	char file[256];
	snprintf(file, sizeof(file), "%s/tokens/%s", statedir, key);
	FILE *f = fopen(file, "r");
	CHECK(f != NULL);
	CHECK(f && fgets(tok, VMS_TOKEN_LEN + 1, f) != NULL);
	if (f)
		fclose(f);
}

#define RECORDS                                                                                    \
	"hello proto=1 probe=0.1.0 caps=cpu\ncpu seq=0 mono_ns=5 real_ns=6 hz=100 "                \
	"ncpu=1 user=1 nice=0 system=2 idle=3\n"

static void
test_tcp(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	struct vms_domain *a = vms_store_upsert(&st, UUID_A, "dvm-a", 1);
	struct vms_domain *b = vms_store_upsert(&st, UUID_B, "dvm-b", 2);
	struct vms_channels *c = vms_channels_new(&st);
	vms_channels_sync(c); /* no unix channels: nothing to connect */
	struct vms_listeners *l = vms_listeners_new(&st, c);
	cur = l;
	char err[256] = "", spec[64];
	free_spec(spec, sizeof(spec));
	CHECK_INT(vms_listeners_open_tcp(l, spec, statedir, err, sizeof(err)), 0);
	unsigned port = vms_listeners_tcp_port(l);
	CHECK(port > 0);
	char ta[VMS_TOKEN_LEN + 1] = "", tb[VMS_TOKEN_LEN + 1] = "";
	read_token(UUID_A, ta);
	read_token(UUID_B, tb);

	/* A good token: the records land in its domain, whatever name the peer claims. */
	int fa = tcp_connect(port);
	char line[256];
	snprintf(line, sizeof(line), "auth proto=1 token=%s name=dvm-b\n" RECORDS, ta);
	send_all(fa, line);
	CHECK(run_until(has_cpu, a));
	CHECK(!b->probe.have_cpu && !b->probe.connected);
	CHECK(a->probe.connected && a->probe.hello);
	CHECK(vms_channels_connected(c, UUID_A));
	char buf[512];
	ssize_t r = recv(fa, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(r > 0);
	if (r > 0) {
		buf[r] = '\0';
		CHECK(strncmp(buf, "host proto=1\n", 13) == 0);
	}
	struct vms_listener_stats s;
	vms_listeners_get_stats(l, &s);
	CHECK_INT(s.tcp_accepted, 1);

	/* A wrong token (well-formed): refused, counted, closed; nothing stored. */
	int fx = tcp_connect(port);
	send_all(fx, "auth proto=1 token=00000000000000000000000000000000\n" RECORDS);
	CHECK(run_until(refused_bad, (void *)1));
	CHECK(closed_by_peer(fx));
	close(fx);
	CHECK(!b->probe.have_cpu && !b->probe.connected);

	/* Garbage, another version, a token that is not hex, records before auth. */
	const char *garbage[] = {"GET / HTTP/1.0\r\n",
	                         "auth proto=2 token=00000000000000000000000000000000\n",
	                         "auth proto=1 token=xyz\n",
	                         "auth proto=1\n",
	                         RECORDS,
	                         "\n"};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		fx = tcp_connect(port);
		send_all(fx, garbage[i]);
		CHECK(run_until(refused_malformed, (void *)(i + 1)));
		CHECK(closed_by_peer(fx));
		close(fx);
	}
	/* A first line longer than any record. */
	static char big[4096];
	memset(big, 'a', sizeof(big) - 1);
	fx = tcp_connect(port);
	send_all(fx, big);
	CHECK(run_until(refused_oversized, (void *)1));
	CHECK(closed_by_peer(fx));
	close(fx);
	/* A client too slow to finish its auth line. */
	vms_listeners_set_auth_timeout_ms(l, 200);
	fx = tcp_connect(port);
	send_all(fx, "auth proto=1 tok");
	CHECK(run_until(refused_timeout, (void *)1));
	CHECK(closed_by_peer(fx));
	close(fx);
	CHECK(!b->probe.have_cpu);
	vms_listeners_get_stats(l, &s);
	CHECK_INT(s.tcp_accepted, 1);

	/* Domain B with its own token; then a second connection for A replaces the first. */
	int fb = tcp_connect(port);
	snprintf(line, sizeof(line), "auth proto=1 token=%s\n" RECORDS, tb);
	send_all(fb, line);
	CHECK(run_until(has_cpu, b));
	int fa2 = tcp_connect(port);
	snprintf(line, sizeof(line), "auth proto=1 token=%s\n", ta);
	send_all(fa2, line);
	CHECK(closed_by_peer(fa));
	CHECK(a->probe.connected);
	CHECK(vms_channels_connected(c, UUID_A));
	/* The new one carries records: a new hello, and cpu from seq 0 again. */
	send_all(fa2, "hello proto=1 probe=0.1.1 caps=cpu\n");
	CHECK(run_until(new_hello, a));
	/* The peer closing: disconnected, and the chan is dropped at the next sync. */
	close(fa2);
	CHECK(run_until(not_connected, a));
	vms_channels_sync(c);
	CHECK(!vms_channels_connected(c, UUID_A));
	close(fa);
	close(fb);

	/* Tokens survive a restart: a new listener reads the same files. */
	vms_listeners_free(l);
	l = vms_listeners_new(&st, c);
	cur = l;
	free_spec(spec, sizeof(spec));
	CHECK_INT(vms_listeners_open_tcp(l, spec, statedir, err, sizeof(err)), 0);
	char ta2[VMS_TOKEN_LEN + 1] = "";
	read_token(UUID_A, ta2);
	CHECK_STR(ta2, ta);
	/* A bad listen address. */
	struct vms_listeners *l2 = vms_listeners_new(&st, c);
	CHECK_INT(vms_listeners_open_tcp(l2, "nonsense", statedir, err, sizeof(err)), -1);
	vms_listeners_free(l2);
	vms_listeners_free(l);
	vms_channels_free(c);
	vms_store_fini(&st);
}

/*
 * One guest filling the pending slots (issue 13: a victim was reset 87 times of 100): from one
 * address it keeps every unauthenticated connection it can open, never authenticates, and
 * reconnects as soon as the host ends one. Its share is bounded, so another guest's probe
 * authenticates every time.
 */
#define HOG_ADDR "127.0.0.2"
#define HOG_CONNS (VMS_AUTH_MAX_PENDING + 8)

static int
hog_connect(unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in from = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET, HOG_ADDR, &from.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 &&
	    (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	     (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
hog_refill(int *fds, unsigned port)
{
	for (int i = 0; i < HOG_CONNS; i++) {
		char buf[64];
		if (fds[i] >= 0) {
			ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN)) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		if (fds[i] < 0)
			fds[i] = hog_connect(port);
	}
}

/* The victim's probe authenticates: the host greets it (1), or ends it (0); -1 on timeout. */
static int
victim_auth(int *hog, unsigned port, const char *token)
{
	int fd = tcp_connect(port);
	char line[256], buf[64];
	snprintf(line, sizeof(line), "auth proto=1 token=%s\n" RECORDS, token);
	send_all(fd, line);
	int timer = virEventAddTimeout(5, check_loop_tick, NULL, NULL);
	int verdict = -1;
	for (int i = 0; i < 400 && verdict < 0; i++) {
		hog_refill(hog, port);
		virEventRunDefaultImpl();
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (r > 0) {
			buf[r] = '\0';
			verdict = strncmp(buf, "host proto=1", 12) == 0;
		} else if (r == 0 || (r < 0 && errno != EAGAIN)) {
			verdict = 0;
		}
	}
	virEventRemoveTimeout(timer);
	close(fd);
	return verdict;
}

static void
test_tcp_fair_pending(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	CHECK(vms_store_upsert(&st, UUID_A, "dvm-a", 1) != NULL);
	struct vms_channels *c = vms_channels_new(&st);
	struct vms_listeners *l = vms_listeners_new(&st, c);
	cur = l;
	char err[256] = "", spec[64], ta[VMS_TOKEN_LEN + 1] = "";
	free_spec(spec, sizeof(spec));
	CHECK_INT(vms_listeners_open_tcp(l, spec, statedir, err, sizeof(err)), 0);
	unsigned port = vms_listeners_tcp_port(l);
	read_token(UUID_A, ta);
	int hog[HOG_CONNS];
	for (int i = 0; i < HOG_CONNS; i++)
		hog[i] = -1;
	/* Until the hog has more connections than it may hold: the host refused some. */
	int timer = virEventAddTimeout(5, check_loop_tick, NULL, NULL);
	for (int i = 0; i < 600 && !refused(VMS_AUTH_BUSY) && !refused(VMS_AUTH_PEER_BUSY); i++) {
		hog_refill(hog, port);
		virEventRunDefaultImpl();
	}
	virEventRemoveTimeout(timer);
	unsigned ok = 0, tries = 20;
	for (unsigned k = 0; k < tries; k++) {
		int v = victim_auth(hog, port, ta);
		if (v == 1)
			ok++;
		else
			fprintf(stderr, "  victim auth %u: %s\n", k,
			        v == 0 ? "ended" : "no answer");
	}
	CHECK_INT(ok, tries);
	struct vms_listener_stats s;
	vms_listeners_get_stats(l, &s);
	CHECK_INT(s.tcp_accepted, tries);
	CHECK(refused(VMS_AUTH_PEER_BUSY) > 0);
	for (int i = 0; i < HOG_CONNS; i++)
		if (hog[i] >= 0)
			close(hog[i]);
	vms_listeners_free(l);
	vms_channels_free(c);
	vms_store_fini(&st);
}

int
main(void)
{
	vms_log_init("test_listeners", false);
	make_statedir();
	test_tokens();
	test_cid_mapping();
	test_vsock_unsupported();
	if (virEventRegisterDefaultImpl() < 0)
		CHECK(!"libvirt event loop");
	else {
		test_tcp();
		test_tcp_fair_pending();
	}
	rm_statedir();
	return check_done("test_listeners");
}

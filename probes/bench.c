/*
 * Active probes (bench.h). libc only, for the static probe: buffers are mmap'd for one call
 * and unmapped before it returns, children are reaped on every path, nothing is global, and
 * every failure ends up in r->err/r->why rather than in an abort.
 */
#include "probes/bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h> /* BLKGETSIZE64, BLKSSZGET */
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmscale/clock.h"

#define MIB ((size_t)1 << 20)
#define MEM_CHUNK MIB         /* memory probes look at the clock this often */
#define DISK_BLOCK MIB        /* largest single O_DIRECT read */
#define DISK_ALIGN 4096u      /* covers 512 and 4096-byte logical sectors */
#define CACHE_LINE 64u        /* pointer-chase stride */
#define CHASE_CHUNK 16384u    /* loads between clock reads: ~1.6 ms at 100 ns a load */
#define CPU_CHECK_UNITS 4096u /* cpu_work units between clock reads */
#define STALL_MS 1000u        /* a child silent this long is stuck: kill it */
#define FILE_10K_BYTES 10240u

/* max_ms 0 means no time bound: the size or max_ops bounds the call instead. */
static uint64_t
deadline_after(uint64_t start, unsigned max_ms)
{
	return max_ms ? start + (uint64_t)max_ms * NS_PER_MS : UINT64_MAX;
}

static bool
again(uint64_t ops, uint64_t max_ops, uint64_t now, uint64_t deadline)
{
	return (max_ops == 0 || ops < max_ops) && now < deadline;
}

static void
fail(struct vmsp_result *r, int err, const char *why)
{
	r->err = err ? err : EIO;
	r->why = why;
}

/* Anonymous memory for one call. 4 KiB pages: whether THP is available depends on the
 * guest's fragmentation, which would make samples of the same guest incomparable. */
static void *
map_buffer(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, bytes, MADV_NOHUGEPAGE); /* EINVAL without THP: nothing to avoid */
	return p;
}

/* --- Fixed-work CPU ------------------------------------------------------------------ */

/*
 * One unit: sqrt(a) by Newton's iteration, then sin of the result by its Taylor series.
 * Both are chains of dependent divisions, so the time is latency-bound and does not
 * depend on memory or on how well the compiler vectorises. Computed by hand: the probe is
 * static and libc only, and libm's sin would make the work depend on its implementation.
 */
static double
cpu_unit(double a)
{
	double x = a;
	for (int i = 0; i < 8; i++)
		x = 0.5 * (x + a / x);
	double term = x, sum = x, x2 = x * x;
	for (int k = 1; k <= 15; k++) {
		term = -term * x2 / (double)((2 * k) * (2 * k + 1)); /* each division waits */
		sum += term;
	}
	return sum;
}

void
vmsp_cpu_work(uint64_t units, struct vmsp_result *r)
{
	/* Volatile input and sink: the compiler can neither fold nor drop the work. */
	volatile double input = 2.0, sink = 0.0;
	uint64_t done = 0, now;

	memset(r, 0, sizeof(*r));
	if (units == 0) {
		fail(r, EINVAL, "cpu_work: 0 units");
		return;
	}
	r->start_ns = now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(r->start_ns, VMSP_CPU_WORK_MAX_MS);
	while (done < units && now < deadline) {
		uint64_t n = units - done < CPU_CHECK_UNITS ? units - done : CPU_CHECK_UNITS;
		for (uint64_t i = 0; i < n; i++)
			sink = sink + cpu_unit(input);
		done += n;
		now = vms_monotonic_ns();
	}
	r->end_ns = now;
	r->ops = done;
}

/* --- Memory bandwidth ------------------------------------------------------------------ */

static uint64_t
read_chunk(const uint64_t *p, size_t words)
{
	/* Four independent sums so that the loads, not the adds, set the pace. */
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (size_t i = 0; i + 4 <= words; i += 4) {
		a += p[i];
		b += p[i + 1];
		c += p[i + 2];
		d += p[i + 3];
	}
	return a + b + c + d;
}

/* Times one op over len bytes (src and dst already touched), bounded by max_ms. */
static void
mem_timed(enum vmsp_mem_op op, const char *src, char *dst, size_t len, unsigned max_ms,
	  struct vmsp_result *r)
{
	volatile uint64_t sink = 0;
	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, max_ms);
	r->start_ns = now;
	for (unsigned pass = 0;; pass++) {
		for (size_t off = 0; off < len; off += MEM_CHUNK) {
			switch (op) {
			case VMSP_MEM_COPY:
				memcpy(dst + off, src + off, MEM_CHUNK);
				break;
			case VMSP_MEM_READ:
				sink =
				    sink + read_chunk((const uint64_t *)(const void *)(src + off),
				                      MEM_CHUNK / sizeof(uint64_t));
				break;
			case VMSP_MEM_WRITE:
				memset(dst + off, (int)((0xa5u ^ pass) & 0xffu), MEM_CHUNK);
				break;
			}
			r->bytes += MEM_CHUNK;
			r->ops++;
			now = vms_monotonic_ns();
			if (now >= deadline)
				goto done;
		}
		if (max_ms == 0)
			break; /* one pass */
	}
done:
	r->end_ns = now;
}

static size_t
mem_size(size_t buf_bytes)
{
	if (buf_bytes < VMSP_MEM_MIN_BYTES)
		buf_bytes = VMSP_MEM_MIN_BYTES; /* smaller ones measure the caches (seed 004) */
	return (buf_bytes + MEM_CHUNK - 1) / MEM_CHUNK * MEM_CHUNK;
}

void
vmsp_mem_bandwidth(enum vmsp_mem_op op, size_t buf_bytes, unsigned max_ms, struct vmsp_result *r)
{
	memset(r, 0, sizeof(*r));
	if ((unsigned)op > VMSP_MEM_WRITE) {
		fail(r, EINVAL, "memory: unknown op");
		return;
	}
	if (buf_bytes > VMSP_MEM_MAX_BYTES) {
		fail(r, EINVAL, "memory: buffer over 1 GiB");
		return;
	}
	buf_bytes = mem_size(buf_bytes);
	size_t map_bytes = op == VMSP_MEM_COPY ? 2 * buf_bytes : buf_bytes;
	char *base = map_buffer(map_bytes);
	if (!base) {
		fail(r, errno, "memory: mmap failed");
		return;
	}
	/* Written, not just read: untouched pages all map the one zero page, all in cache. */
	memset(base, 0x5a, map_bytes);
	mem_timed(op, base, op == VMSP_MEM_COPY ? base + buf_bytes : base, buf_bytes, max_ms, r);
	munmap(base, map_bytes);
}

void
vmsp_mem_run(size_t buf_bytes, unsigned max_ms, struct vmsp_result out[3])
{
	for (unsigned i = 0; i < 3; i++)
		memset(&out[i], 0, sizeof(out[i]));
	if (buf_bytes > VMSP_MEM_MAX_BYTES) {
		for (unsigned i = 0; i < 3; i++)
			fail(&out[i], EINVAL, "memory: buffer over 1 GiB");
		return;
	}
	/* One buffer for the three ops, touched once: a third of the page faults (and of the
	 * guest's transient memory) of mapping per op. Copy moves one half to the other, so
	 * the buffer is at least twice the 8 MiB floor. */
	buf_bytes = mem_size(buf_bytes);
	if (buf_bytes < 2 * VMSP_MEM_MIN_BYTES)
		buf_bytes = 2 * VMSP_MEM_MIN_BYTES;
	char *base = map_buffer(buf_bytes);
	if (!base) {
		int e = errno;
		for (unsigned i = 0; i < 3; i++)
			fail(&out[i], e, "memory: mmap failed");
		return;
	}
	memset(base, 0x5a, buf_bytes);
	size_t half = buf_bytes / 2 / MEM_CHUNK * MEM_CHUNK;
	mem_timed(VMSP_MEM_COPY, base, base + half, half, max_ms, &out[VMSP_MEM_COPY]);
	mem_timed(VMSP_MEM_READ, base, base, buf_bytes, max_ms, &out[VMSP_MEM_READ]);
	mem_timed(VMSP_MEM_WRITE, base, base, buf_bytes, max_ms, &out[VMSP_MEM_WRITE]);
	munmap(base, buf_bytes);
}

/* --- Disk read ------------------------------------------------------------------------- */

void
vmsp_disk_read(const char *device, uint64_t bytes, uint64_t *offset, unsigned max_ms,
               struct vmsp_result *r)
{
	char *map = NULL, *buf;
	size_t map_len = 0;
	struct stat st;
	uint64_t size = 0, align = DISK_ALIGN;

	memset(r, 0, sizeof(*r));
	if (!device || !offset) {
		fail(r, EINVAL, "disk_read: no device");
		return;
	}
	if (bytes == 0 || bytes > VMSP_DISK_READ_MAX_BYTES) {
		fail(r, EINVAL, "disk_read: size 0 or over 1 GiB");
		return;
	}
	int fd = open(device, O_RDONLY | O_DIRECT | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == EINVAL)
			fail(r, EINVAL, "disk_read: O_DIRECT refused by the filesystem or device");
		else
			fail(r, errno, "disk_read: cannot open device");
		return;
	}
	if (fstat(fd, &st) < 0) {
		fail(r, errno, "disk_read: fstat failed");
		goto cleanup;
	}
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			fail(r, errno, "disk_read: BLKGETSIZE64 failed");
			goto cleanup;
		}
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > (int)align)
			align = (uint64_t)ssz;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		fail(r, EINVAL, "disk_read: not a block device or regular file");
		goto cleanup;
	}
	if (align > DISK_BLOCK || (align & (align - 1)) != 0) {
		fail(r, EINVAL, "disk_read: unusual logical sector size");
		goto cleanup;
	}
	size -= size % align;
	if (size == 0) {
		fail(r, EINVAL, "disk_read: device smaller than one sector");
		goto cleanup;
	}
	bytes = (bytes + align - 1) / align * align;
	size_t block = bytes < DISK_BLOCK ? (size_t)bytes : DISK_BLOCK;
	/* O_DIRECT wants the buffer aligned like the offsets: a page may not be enough. */
	map_len = block + (size_t)align;
	map = map_buffer(map_len);
	if (!map) {
		fail(r, errno, "disk_read: mmap failed");
		goto cleanup;
	}
	buf = (char *)(((uintptr_t)map + (uintptr_t)align - 1) & ~((uintptr_t)align - 1));

	uint64_t off = *offset - *offset % align;
	if (off >= size)
		off = 0;
	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, max_ms);
	r->start_ns = now;
	while (r->bytes < bytes) {
		uint64_t len = bytes - r->bytes;
		if (len > block)
			len = block;
		if (len > size - off)
			len = size - off; /* never across the end: wrap instead */
		ssize_t n = pread(fd, buf, (size_t)len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL)
				fail(r, EINVAL, "disk_read: O_DIRECT read refused (EINVAL)");
			else
				fail(r, errno, "disk_read: read failed");
			break;
		}
		if (n == 0) {
			/* The file shrank under us: start over, unless nothing is left at all. */
			if (off == 0) {
				fail(r, EIO, "disk_read: device returned no data");
				break;
			}
			off = 0;
			continue;
		}
		r->bytes += (uint64_t)n;
		r->ops++;
		off += ((uint64_t)n + align - 1) / align * align;
		if (off >= size)
			off = 0;
		now = vms_monotonic_ns();
		if (now >= deadline)
			break;
	}
	r->end_ns = now;
	*offset = off;

cleanup:
	if (map)
		munmap(map, map_len);
	close(fd);
}

/* Devices never picked: not the hypervisor's disks, or no disks at all. */
static bool
pick_skipped(const char *name)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "sr", "fd"};
	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(name, skip[i], strlen(skip[i])) == 0)
			return true;
	return false;
}

/* An unconnected nbd, an empty drive: sysfs says 0 sectors. No size file: assume usable. */
static bool
size_zero(int dfd, const char *name)
{
	char path[NAME_MAX + 8], text[32];
	if (snprintf(path, sizeof(path), "%s/size", name) >= (int)sizeof(path))
		return true;
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n;
	do
		n = read(fd, text, sizeof(text) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return text[0] == '0' && (text[1] == '\n' || text[1] == '\0');
}

/* Shorter names first, then alphabetical: vda before vdb before vdaa, sda before nvme0n1. */
static bool
name_before(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la != lb ? la < lb : strcmp(a, b) < 0;
}

bool
vmsp_disk_pick(const char *sysfs_block, char *dev, size_t devsz)
{
	char best[NAME_MAX + 1] = "";
	struct dirent *e;

	DIR *d = opendir(sysfs_block ? sysfs_block : "/sys/block");
	if (!d)
		return false;
	while ((e = readdir(d)) != NULL) {
		if (pick_skipped(e->d_name) || size_zero(dirfd(d), e->d_name))
			continue;
		if (!best[0] || name_before(e->d_name, best))
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!best[0] || !dev)
		return false;
	int n = snprintf(dev, devsz, "/dev/%s", best);
	if (n < 0 || (size_t)n >= devsz)
		return false;
	for (char *p = dev; *p; p++)
		if (*p == '!')
			*p = '/'; /* sysfs spells cciss/c0d0 as cciss!c0d0 */
	return true;
}

/* --- Micro latencies ------------------------------------------------------------------- */

static const char *const micro_names[VMSP_MICRO_COUNT] = {
    "fork_exit", "fork_exec", "ctxsw", "file_create_0k", "file_create_10k", "mem_read",
};

const char *
vmsp_micro_name(enum vmsp_micro m)
{
	if ((unsigned)m >= VMSP_MICRO_COUNT)
		return "invalid";
	return micro_names[m];
}

/* Blocking wait for one of our children; 0, or -1 with errno (ECHILD if SIGCHLD is ignored:
 * the kernel reaped it for us). */
static int
reap(pid_t pid, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, 0);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
	}
}

static void
kill_reap(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	(void)reap(pid, &st);
}

/* Waits at most ms for pid, polling (untimed paths only); past that kills it, ETIMEDOUT. */
static int
reap_within(pid_t pid, unsigned ms, int *status)
{
	uint64_t until = vms_monotonic_ns() + ms * NS_PER_MS;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (vms_monotonic_ns() >= until) {
			kill_reap(pid);
			errno = ETIMEDOUT;
			return -1;
		}
		struct timespec ts = {.tv_nsec = 1000000};
		nanosleep(&ts, NULL);
	}
}

static void
micro_fork_exit(const struct vmsp_micro_opts *o, struct vmsp_result *r)
{
	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		int st;
		pid_t pid = fork();
		if (pid < 0) {
			fail(r, errno, "fork_exit: fork failed");
			return;
		}
		if (pid == 0)
			_exit(0);
		if (reap(pid, &st) < 0) {
			fail(r, errno, "fork_exit: waitpid failed (SIGCHLD ignored?)");
			return;
		}
		r->ops++;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;
}

/* Forks and execs argv[0]; the child exits 127 if execve fails. */
static pid_t
spawn(char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, envp);
		_exit(127);
	}
	return pid;
}

static bool
exited_ok(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
micro_fork_exec(const struct vmsp_micro_opts *o, struct vmsp_result *r)
{
	char path[PATH_MAX], noop[] = VMSP_EXEC_NOOP_ARG;
	char *argv[] = {path, noop, NULL}, *envp[] = {NULL};
	int st;

	if (!o->exec_path || !o->exec_path[0]) {
		fail(r, EINVAL, "fork_exec: no exec_path");
		return;
	}
	if (snprintf(path, sizeof(path), "%s", o->exec_path) >= (int)sizeof(path)) {
		fail(r, ENAMETOOLONG, "fork_exec: exec_path too long");
		return;
	}
	if (access(path, X_OK) < 0) {
		fail(r, errno, "fork_exec: exec_path not executable");
		return;
	}
	/* One untimed run, waited for with a bound: it proves that exec_path exits at once
	 * (a program that ignores the no-op argument would run on), and warms the caches. */
	pid_t pid = spawn(argv, envp);
	if (pid < 0) {
		fail(r, errno, "fork_exec: fork failed");
		return;
	}
	if (reap_within(pid, STALL_MS, &st) < 0) {
		fail(r, errno,
		     errno == ETIMEDOUT
		         ? "fork_exec: exec_path did not exit at once (no-op argument?)"
		         : "fork_exec: waitpid failed (SIGCHLD ignored?)");
		return;
	}
	if (!exited_ok(st)) {
		fail(r, ENOEXEC, "fork_exec: exec_path failed or rejected the no-op argument");
		return;
	}

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		pid = spawn(argv, envp);
		if (pid < 0) {
			fail(r, errno, "fork_exec: fork failed");
			return;
		}
		if (reap(pid, &st) < 0) {
			fail(r, errno, "fork_exec: waitpid failed (SIGCHLD ignored?)");
			return;
		}
		if (!exited_ok(st)) {
			fail(r, ENOEXEC, "fork_exec: exec_path failed");
			return;
		}
		r->ops++;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;
}

/* The partner of ctxsw: echoes bytes until EOF or an error. */
static void
echo_loop(int rfd, int wfd)
{
	char c;
	for (;;) {
		ssize_t n = read(rfd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			return;
		do
			n = write(wfd, &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			return;
	}
}

/* One byte there and back. The poll bounds the wait for a stalled or stopped partner. */
static int
round_trip(int wfd, int rfd, const char **why)
{
	char c = 'v';
	ssize_t n;
	do
		n = write(wfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		*why = "ctxsw: write to the partner failed";
		return -1;
	}
	struct pollfd pfd = {.fd = rfd, .events = POLLIN};
	for (;;) {
		int pr = poll(&pfd, 1, STALL_MS);
		if (pr > 0)
			break;
		if (pr == 0) {
			errno = ETIMEDOUT;
			*why = "ctxsw: partner silent for 1 s";
			return -1;
		}
		if (errno != EINTR) {
			*why = "ctxsw: poll failed";
			return -1;
		}
	}
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		if (n == 0)
			errno = EPIPE;
		*why = "ctxsw: partner went away";
		return -1;
	}
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
micro_ctxsw(const struct vmsp_micro_opts *o, struct vmsp_result *r)
{
	int down[2] = {-1, -1}, up[2] = {-1, -1}; /* parent -> child, child -> parent */
	pid_t pid = -1;
	const char *why = NULL;
	sigset_t pipe_set, old_mask, pending;
	int st;

	/* A dead partner must give EPIPE, not kill the caller: hold SIGPIPE for the call. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	bool pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
	sigprocmask(SIG_BLOCK, &pipe_set, &old_mask);

	if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) {
		fail(r, errno, "ctxsw: pipe failed");
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		fail(r, errno, "ctxsw: fork failed");
		goto cleanup;
	}
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		echo_loop(down[0], up[1]);
		_exit(0);
	}
	close_fd(&down[0]);
	close_fd(&up[1]);
	/* Untimed first trip: the partner is scheduled and waiting. */
	if (round_trip(down[1], up[0], &why) < 0) {
		fail(r, errno, why);
		goto cleanup;
	}

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		if (round_trip(down[1], up[0], &why) < 0) {
			fail(r, errno, why);
			goto cleanup;
		}
		r->ops++;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;

	/* EOF ends the partner; kill it if it does not go. */
	close_fd(&down[1]);
	if (reap_within(pid, STALL_MS, &st) < 0 && errno != ETIMEDOUT)
		fail(r, errno, "ctxsw: waitpid failed (SIGCHLD ignored?)");
	pid = -1;

cleanup:
	if (pid > 0)
		kill_reap(pid);
	close_fd(&down[0]);
	close_fd(&down[1]);
	close_fd(&up[0]);
	close_fd(&up[1]);
	if (!pipe_was_pending) {
		/* Swallow a SIGPIPE this call raised, then restore the mask. */
		struct timespec zero = {0};
		sigemptyset(&pending);
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) == 1)
			(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
micro_file(const struct vmsp_micro_opts *o, size_t size, struct vmsp_result *r)
{
	char name[64], data[FILE_10K_BYTES];

	if (!o->dir || !o->dir[0]) {
		fail(r, EINVAL, "file: no directory");
		return;
	}
	int dfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fail(r, errno, "file: cannot open the directory");
		return;
	}
	/* Unique per process; a leftover of an earlier probe that had our pid is ours too. */
	snprintf(name, sizeof(name), ".vmscale-probe.%ld.tmp", (long)getpid());
	(void)unlinkat(dfd, name, 0);
	memset(data, 'v', size);

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		int fd =
		    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0) {
			fail(r, errno, "file: create failed");
			goto cleanup;
		}
		if (size && write_all(fd, data, size) < 0) {
			fail(r, errno, "file: write failed");
			close(fd);
			(void)unlinkat(dfd, name, 0);
			goto cleanup;
		}
		if (close(fd) < 0) {
			fail(r, errno, "file: close failed");
			(void)unlinkat(dfd, name, 0);
			goto cleanup;
		}
		if (unlinkat(dfd, name, 0) < 0) {
			fail(r, errno, "file: unlink failed");
			goto cleanup;
		}
		r->ops++;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;

cleanup:
	close(dfd);
}

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
micro_mem_read(const struct vmsp_micro_opts *o, struct vmsp_result *r)
{
	volatile uintptr_t sink;
	size_t bytes = o->chase_bytes;

	if (bytes > VMSP_MEM_MAX_BYTES) {
		fail(r, EINVAL, "mem_read: working set over 1 GiB");
		return;
	}
	if (bytes < VMSP_MEM_MIN_BYTES)
		bytes = VMSP_MEM_MIN_BYTES;
	bytes -= bytes % CACHE_LINE;
	size_t n = bytes / CACHE_LINE;
	char *base = map_buffer(bytes);
	if (!base) {
		fail(r, errno, "mem_read: mmap failed");
		return;
	}
#define SLOT(i) (*(uintptr_t *)(void *)(base + (size_t)(i)*CACHE_LINE))
	/*
	 * One random cycle through every line (Sattolo's shuffle), so that each load depends
	 * on the previous one and the prefetcher cannot guess the next. A fixed seed makes
	 * every sample walk the same chain.
	 */
	for (size_t i = 0; i < n; i++)
		SLOT(i) = i;
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(xorshift64(&seed) % i);
		uintptr_t t = SLOT(i);
		SLOT(i) = SLOT(j);
		SLOT(j) = t;
	}
	for (size_t i = 0; i < n; i++)
		SLOT(i) = (uintptr_t)(base + SLOT(i) * CACHE_LINE);
#undef SLOT

	const uintptr_t *p = (const uintptr_t *)(void *)base;
	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		uint64_t k = CHASE_CHUNK;
		if (o->max_ops && o->max_ops - r->ops < k)
			k = o->max_ops - r->ops;
		for (uint64_t i = 0; i < k; i++)
			p = (const uintptr_t *)*p;
		r->ops += k;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;
	sink = (uintptr_t)p;
	(void)sink;
	munmap(base, bytes);
}

void
vmsp_micro(enum vmsp_micro m, const struct vmsp_micro_opts *o, struct vmsp_result *r)
{
	memset(r, 0, sizeof(*r));
	if (!o || (o->max_ms == 0 && o->max_ops == 0)) {
		fail(r, EINVAL, "micro: no time or repetition bound");
		return;
	}
	switch (m) {
	case VMSP_MICRO_FORK_EXIT:
		micro_fork_exit(o, r);
		return;
	case VMSP_MICRO_FORK_EXEC:
		micro_fork_exec(o, r);
		return;
	case VMSP_MICRO_CTXSW:
		micro_ctxsw(o, r);
		return;
	case VMSP_MICRO_FILE_0K:
		micro_file(o, 0, r);
		return;
	case VMSP_MICRO_FILE_10K:
		micro_file(o, FILE_10K_BYTES, r);
		return;
	case VMSP_MICRO_MEM_READ:
		micro_mem_read(o, r);
		return;
	case VMSP_MICRO_COUNT:
		break;
	}
	fail(r, EINVAL, "micro: unknown probe");
}

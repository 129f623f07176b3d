/*
 * Micro latencies (bench.h), lmbench style: fork, fork+exec, context switch over pipes,
 * file create/delete, and dependent memory loads. Children are reaped on every path.
 */
#include "probes/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/bench_internal.h"
#include "vmscale/clock.h"

#define CACHE_LINE 64u     /* pointer-chase stride */
#define CHASE_CHUNK 16384u /* loads between clock reads: ~1.6 ms at 100 ns a load */
#define STALL_MS 1000u     /* a child silent this long is stuck: kill it */
#define FILE_10K_BYTES 10240u

/* One more repetition: max_ops (0 = no bound) not reached and the deadline not passed. */
static bool
again(uint64_t ops, uint64_t max_ops, uint64_t now, uint64_t deadline)
{
	return (max_ops == 0 || ops < max_ops) && now < deadline;
}

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
	uint64_t deadline = vmsp_bench_deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		int st;
		pid_t pid = fork();
		if (pid < 0) {
			vmsp_bench_fail(r, errno, "fork_exit: fork failed");
			return;
		}
		if (pid == 0)
			_exit(0);
		if (reap(pid, &st) < 0) {
			vmsp_bench_fail(r, errno, "fork_exit: waitpid failed (SIGCHLD ignored?)");
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
		vmsp_bench_fail(r, EINVAL, "fork_exec: no exec_path");
		return;
	}
	if (snprintf(path, sizeof(path), "%s", o->exec_path) >= (int)sizeof(path)) {
		vmsp_bench_fail(r, ENAMETOOLONG, "fork_exec: exec_path too long");
		return;
	}
	if (access(path, X_OK) < 0) {
		vmsp_bench_fail(r, errno, "fork_exec: exec_path not executable");
		return;
	}
	/* One untimed run, waited for with a bound: it proves that exec_path exits at once
	 * (a program that ignores the no-op argument would run on), and warms the caches. */
	pid_t pid = spawn(argv, envp);
	if (pid < 0) {
		vmsp_bench_fail(r, errno, "fork_exec: fork failed");
		return;
	}
	if (reap_within(pid, STALL_MS, &st) < 0) {
		vmsp_bench_fail(r, errno,
		                errno == ETIMEDOUT
		                    ? "fork_exec: exec_path did not exit at once (no-op argument?)"
		                    : "fork_exec: waitpid failed (SIGCHLD ignored?)");
		return;
	}
	if (!exited_ok(st)) {
		vmsp_bench_fail(r, ENOEXEC,
		                "fork_exec: exec_path failed or rejected the no-op argument");
		return;
	}

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = vmsp_bench_deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		pid = spawn(argv, envp);
		if (pid < 0) {
			vmsp_bench_fail(r, errno, "fork_exec: fork failed");
			return;
		}
		if (reap(pid, &st) < 0) {
			vmsp_bench_fail(r, errno, "fork_exec: waitpid failed (SIGCHLD ignored?)");
			return;
		}
		if (!exited_ok(st)) {
			vmsp_bench_fail(r, ENOEXEC, "fork_exec: exec_path failed");
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
		vmsp_bench_fail(r, errno, "ctxsw: pipe failed");
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		vmsp_bench_fail(r, errno, "ctxsw: fork failed");
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
		vmsp_bench_fail(r, errno, why);
		goto cleanup;
	}

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = vmsp_bench_deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		if (round_trip(down[1], up[0], &why) < 0) {
			vmsp_bench_fail(r, errno, why);
			goto cleanup;
		}
		r->ops++;
		now = vms_monotonic_ns();
	} while (again(r->ops, o->max_ops, now, deadline));
	r->end_ns = now;

	/* EOF ends the partner; kill it if it does not go. */
	close_fd(&down[1]);
	if (reap_within(pid, STALL_MS, &st) < 0 && errno != ETIMEDOUT)
		vmsp_bench_fail(r, errno, "ctxsw: waitpid failed (SIGCHLD ignored?)");
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
		vmsp_bench_fail(r, EINVAL, "file: no directory");
		return;
	}
	int dfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		vmsp_bench_fail(r, errno, "file: cannot open the directory");
		return;
	}
	/* Unique per process; a leftover of an earlier probe that had our pid is ours too. */
	snprintf(name, sizeof(name), ".vmscale-probe.%ld.tmp", (long)getpid());
	(void)unlinkat(dfd, name, 0);
	memset(data, 'v', size);

	uint64_t now = vms_monotonic_ns();
	uint64_t deadline = vmsp_bench_deadline_after(now, o->max_ms);
	r->start_ns = now;
	do {
		int fd =
		    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0) {
			vmsp_bench_fail(r, errno, "file: create failed");
			goto cleanup;
		}
		if (size && write_all(fd, data, size) < 0) {
			vmsp_bench_fail(r, errno, "file: write failed");
			close(fd);
			(void)unlinkat(dfd, name, 0);
			goto cleanup;
		}
		if (close(fd) < 0) {
			vmsp_bench_fail(r, errno, "file: close failed");
			(void)unlinkat(dfd, name, 0);
			goto cleanup;
		}
		if (unlinkat(dfd, name, 0) < 0) {
			vmsp_bench_fail(r, errno, "file: unlink failed");
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
		vmsp_bench_fail(r, EINVAL, "mem_read: working set over 1 GiB");
		return;
	}
	if (bytes < VMSP_MEM_MIN_BYTES)
		bytes = VMSP_MEM_MIN_BYTES;
	bytes -= bytes % CACHE_LINE;
	size_t n = bytes / CACHE_LINE;
	char *base = vmsp_bench_map_buffer(bytes);
	if (!base) {
		vmsp_bench_fail(r, errno, "mem_read: mmap failed");
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
	uint64_t deadline = vmsp_bench_deadline_after(now, o->max_ms);
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
		vmsp_bench_fail(r, EINVAL, "micro: no time or repetition bound");
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
	vmsp_bench_fail(r, EINVAL, "micro: unknown probe");
}

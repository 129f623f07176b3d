/*
 * Active probes: short, bounded measurements the host asks for (seed 000's dd and sqrt loop,
 * seed 004's mbw and lmbench). Every function is bounded in time, allocates only while it
 * runs, and fills a vmsp_result with guest monotonic times; the host judges the clock.
 */
#ifndef VMSCALE_PROBE_BENCH_H
#define VMSCALE_PROBE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes the probes enforce (the protocol bounds what the host may ask within these). */
#define VMSP_MEM_MIN_BYTES ((size_t)8 << 20) /* smaller buffers measure the caches */
#define VMSP_MEM_MAX_BYTES ((size_t)1 << 30)
#define VMSP_DISK_READ_MAX_BYTES ((uint64_t)1 << 30)
#define VMSP_CPU_WORK_MAX_MS 60000u /* cpu_work stops here whatever the units */

/*
 * Every probe fills all of *r. On error (err != 0) the other fields describe whatever was
 * done before the failure and are not a measurement. Failures are never fatal: no probe
 * aborts, leaks a descriptor, a mapping or a child.
 */
struct vmsp_result {
	uint64_t start_ns; /* CLOCK_MONOTONIC when the timed part began */
	uint64_t end_ns;   /* ... and ended */
	uint64_t ops;      /* operations completed in the timed part (>= 1 on success) */
	uint64_t bytes;    /* bytes moved (throughput probes), else 0 */
	int err;           /* 0, or an errno value: the result is absent */
	const char *why;   /* on error: short reason for a log line, static string */
};

/*
 * Fixed-work CPU: `units` repetitions of a fixed arithmetic kernel (sqrt(2) by Newton's
 * iteration, then a hand-written sin series, as in seed 000). ops = units done: all of
 * them, unless VMSP_CPU_WORK_MAX_MS elapses first. units 0 is EINVAL.
 * VMSP_CPU_WORK_UNITS_DEFAULT takes about 10 ms on an idle core of a current x86 host:
 * measured 10.0 ms (median of 45 runs, range 10.0..12.0 ms; 58 ns a unit) on one vCPU of
 * a 2-vCPU VM on an AMD EPYC host at 2.6 GHz, Linux 6.18, gcc 12 -O2, static.
 */
#define VMSP_CPU_WORK_UNITS_DEFAULT 172000u
void vmsp_cpu_work(uint64_t units, struct vmsp_result *r);

/*
 * Memory bandwidth over a buffer of buf_bytes: smaller requests are raised to
 * VMSP_MEM_MIN_BYTES, larger than VMSP_MEM_MAX_BYTES refused (EINVAL), the size rounded up
 * to a MiB. The buffer (two of them for copy) is mmap'd for this call only, written before
 * timing, and unmapped. Passes over it repeat until max_ms has elapsed, the clock being
 * read after every MiB, so the timed part lasts max_ms (to within one MiB); max_ms 0 = one
 * pass. bytes = bytes copied (copy counts the source once) / read / written; ops = MiB.
 */
enum vmsp_mem_op { VMSP_MEM_COPY, VMSP_MEM_READ, VMSP_MEM_WRITE };
void vmsp_mem_bandwidth(enum vmsp_mem_op op, size_t buf_bytes, unsigned max_ms,
                        struct vmsp_result *r);

/* The three ops of one memory sample over one buffer of buf_bytes (>= 16 MiB: copy moves
 * one half onto the other, each >= 8 MiB), mapped and touched once for all three:
 * out[VMSP_MEM_COPY], out[VMSP_MEM_READ], out[VMSP_MEM_WRITE]. */
void vmsp_mem_run(size_t buf_bytes, unsigned max_ms, struct vmsp_result out[3]);

/*
 * Active disk read: O_DIRECT read of `bytes` (1..VMSP_DISK_READ_MAX_BYTES, rounded up to
 * 4 KiB) from `device` (a block device, or a regular file for tests), in requests of at
 * most 1 MiB from *offset on. *offset is aligned down, advances, and wraps at the device
 * size (a request never spans the end), so that successive samples do not hit the
 * guest's page cache or the host's in the same place. Reading stops after max_ms (the
 * clock is read after every request; 0 = no time bound). ops = requests. A filesystem or
 * device that refuses O_DIRECT (tmpfs before Linux 6.6) gives err = EINVAL with a why.
 */
void vmsp_disk_read(const char *device, uint64_t bytes, uint64_t *offset, unsigned max_ms,
                    struct vmsp_result *r);
/*
 * The first whole disk in sysfs_block (NULL = "/sys/block") that is not loop, ram, zram,
 * dm-, md, sr or fd, and whose size is not 0 sectors (an unconnected nbd, an empty drive);
 * "first" is the shortest name, then alphabetical (vda before vdb before nvme0n1).
 * Writes "/dev/<name>" ('!' in sysfs names becomes '/'); false if none or devsz too small.
 */
bool vmsp_disk_pick(const char *sysfs_block, char *dev, size_t devsz);

/*
 * Micro latencies (lmbench style, seed 004). Each repeats the operation until max_ms
 * elapses or max_ops are done (at least once); ops = repetitions. The latency is
 * (end_ns - start_ns) / ops. Children are reaped on every path; the caller must not set
 * SIGCHLD to SIG_IGN (waitpid would fail: ECHILD). A ctxsw partner that does not answer
 * within 1 s, or an exec_path whose untimed first run does not exit within 1 s, is killed
 * and the probe fails with ETIMEDOUT. Meant for a single-threaded caller (ctxsw uses
 * sigprocmask); fork's cost grows with the caller's memory map.
 */
enum vmsp_micro {
	VMSP_MICRO_FORK_EXIT, /* fork + _exit + waitpid */
	VMSP_MICRO_FORK_EXEC, /* fork + execve(exec_path, VMSP_EXEC_NOOP_ARG) + waitpid */
	VMSP_MICRO_CTXSW,     /* one byte round trip over two pipes between two processes
	                         (parent: write, poll, read; SIGPIPE held during the call) */
	VMSP_MICRO_FILE_0K,   /* create + close + unlink of an empty file in dir, named
	                         .vmscale-probe.<pid>.tmp */
	VMSP_MICRO_FILE_10K,  /* create + write 10 KiB + close + unlink in dir */
	VMSP_MICRO_MEM_READ,  /* dependent loads: pointer chase over a random cycle of cache
	                         lines, chase_bytes raised to VMSP_MEM_MIN_BYTES, ops = loads */
	VMSP_MICRO_COUNT
};
/* Stable names used on the wire and as metric labels: "fork_exit", "fork_exec", "ctxsw",
 * "file_create_0k", "file_create_10k", "mem_read". */
const char *vmsp_micro_name(enum vmsp_micro m);
/*
 * fork_exec runs exec_path with this one argument and an empty environment; the program
 * must exit 0 at once (an untimed first run checks it, killing it after 1 s).
 */
#define VMSP_EXEC_NOOP_ARG "--noop"
struct vmsp_micro_opts {
	unsigned max_ms;       /* time bound per operation kind (0 = only max_ops) */
	uint64_t max_ops;      /* repetition bound (0 = only the time bound); both 0: EINVAL */
	const char *dir;       /* a real filesystem for the file probes (not tmpfs if avoidable) */
	const char *exec_path; /* a static no-op program for fork_exec, e.g. the probe itself,
	                          which must exit 0 at once given VMSP_EXEC_NOOP_ARG */
	size_t chase_bytes;    /* pointer-chase working set (0 = VMSP_MEM_MIN_BYTES) */
};
void vmsp_micro(enum vmsp_micro m, const struct vmsp_micro_opts *o, struct vmsp_result *r);

#endif

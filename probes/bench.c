/*
 * Active probes (bench.h). libc only, for the static probe: buffers are mmap'd for one call
 * and unmapped before it returns, children are reaped on every path, nothing is global, and
 * every failure ends up in r->err/r->why rather than in an abort.
 *
 * This file: what the probes share, fixed-work CPU and memory bandwidth. The disk read is in
 * bench_disk.c, the micro latencies in bench_micro.c.
 */
#include "probes/bench.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "probes/bench_internal.h"
#include "vmscale/clock.h"

#define MEM_CHUNK VMSP_MIB    /* memory probes look at the clock this often */
#define CPU_CHECK_UNITS 4096u /* cpu_work units between clock reads */
/*
 * The copy's destination starts one page past the source's mirror image, as two separate
 * allocations would (mbw's arrays are 16 MiB + 1 page apart). Exactly half a buffer apart,
 * every source page and its destination page share the index of a direct-mapped TLB: under
 * QEMU's TCG (softmmu TLB) the copy read half of mbw's bandwidth in the same guest, and
 * natively about 0.8 of it (`scripts/lab.sh crosscheck`, issue 15).
 */
#define MEM_COPY_SKEW 4096u

uint64_t
vmsp_bench_deadline_after(uint64_t start, unsigned max_ms)
{
	return max_ms ? start + (uint64_t)max_ms * NS_PER_MS : UINT64_MAX;
}

void
vmsp_bench_fail(struct vmsp_result *r, int err, const char *why)
{
	r->err = err ? err : EIO;
	r->why = why;
}

/* 4 KiB pages: whether THP is available depends on the guest's fragmentation, which would
 * make samples of the same guest incomparable. */
void *
vmsp_bench_map_buffer(size_t bytes)
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
		vmsp_bench_fail(r, EINVAL, "cpu_work: 0 units");
		return;
	}
	r->start_ns = now = vms_monotonic_ns();
	uint64_t deadline = vmsp_bench_deadline_after(r->start_ns, VMSP_CPU_WORK_MAX_MS);
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
	uint64_t deadline = vmsp_bench_deadline_after(now, max_ms);
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
		vmsp_bench_fail(r, EINVAL, "memory: unknown op");
		return;
	}
	if (buf_bytes > VMSP_MEM_MAX_BYTES) {
		vmsp_bench_fail(r, EINVAL, "memory: buffer over 1 GiB");
		return;
	}
	buf_bytes = mem_size(buf_bytes);
	size_t map_bytes = op == VMSP_MEM_COPY ? 2 * buf_bytes + MEM_COPY_SKEW : buf_bytes;
	char *base = vmsp_bench_map_buffer(map_bytes);
	if (!base) {
		vmsp_bench_fail(r, errno, "memory: mmap failed");
		return;
	}
	/* Written, not just read: untouched pages all map the one zero page, all in cache. */
	memset(base, 0x5a, map_bytes);
	mem_timed(op, base, op == VMSP_MEM_COPY ? base + buf_bytes + MEM_COPY_SKEW : base,
	          buf_bytes, max_ms, r);
	munmap(base, map_bytes);
}

void
vmsp_mem_run(size_t buf_bytes, unsigned max_ms, struct vmsp_result out[3])
{
	for (unsigned i = 0; i < 3; i++)
		memset(&out[i], 0, sizeof(out[i]));
	if (buf_bytes > VMSP_MEM_MAX_BYTES) {
		for (unsigned i = 0; i < 3; i++)
			vmsp_bench_fail(&out[i], EINVAL, "memory: buffer over 1 GiB");
		return;
	}
	/* One buffer for the three ops, touched once: a third of the page faults (and of the
	 * guest's transient memory) of mapping per op. Copy moves one half to the other, so
	 * the buffer is at least twice the 8 MiB floor. */
	buf_bytes = mem_size(buf_bytes);
	if (buf_bytes < 2 * VMSP_MEM_MIN_BYTES)
		buf_bytes = 2 * VMSP_MEM_MIN_BYTES;
	char *base = vmsp_bench_map_buffer(buf_bytes + MEM_COPY_SKEW);
	if (!base) {
		int e = errno;
		for (unsigned i = 0; i < 3; i++)
			vmsp_bench_fail(&out[i], e, "memory: mmap failed");
		return;
	}
	memset(base, 0x5a, buf_bytes + MEM_COPY_SKEW);
	size_t half = buf_bytes / 2 / MEM_CHUNK * MEM_CHUNK;
	mem_timed(VMSP_MEM_COPY, base, base + half + MEM_COPY_SKEW, half, max_ms,
	          &out[VMSP_MEM_COPY]);
	mem_timed(VMSP_MEM_READ, base, base, buf_bytes, max_ms, &out[VMSP_MEM_READ]);
	mem_timed(VMSP_MEM_WRITE, base, base, buf_bytes, max_ms, &out[VMSP_MEM_WRITE]);
	munmap(base, buf_bytes + MEM_COPY_SKEW);
}

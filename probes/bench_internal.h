/*
 * What the active probes' files share (bench.c: CPU and memory bandwidth; bench_disk.c: the
 * disk read and its device; bench_micro.c: lmbench-style latencies). Not a public interface.
 */
#ifndef VMSCALE_PROBE_BENCH_INTERNAL_H
#define VMSCALE_PROBE_BENCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "probes/bench.h"

#define VMSP_MIB ((size_t)1 << 20)

/* CLOCK_MONOTONIC max_ms after start; max_ms 0 means no time bound (UINT64_MAX): the size
 * or max_ops bounds the call instead. */
uint64_t vmsp_bench_deadline_after(uint64_t start, unsigned max_ms);
/* Marks r failed with err (EIO if 0) and a static reason. */
void vmsp_bench_fail(struct vmsp_result *r, int err, const char *why);
/* Anonymous memory for one call, in 4 KiB pages; NULL with errno. munmap it. */
void *vmsp_bench_map_buffer(size_t bytes);

#endif

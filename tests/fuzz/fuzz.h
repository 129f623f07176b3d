/*
 * What the libFuzzer targets share: the entry points libFuzzer calls (declared here for
 * -Wmissing-prototypes), a check that aborts so that libFuzzer keeps the input, and an
 * in-memory file for the parsers that read a path.
 */
#ifndef VMSCALE_FUZZ_H
#define VMSCALE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test promises; a broken one is a finding like a crash. */
#define FUZZ_ASSERT(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))
_Noreturn void fuzz_fail(const char *what, const char *file, int line);

/* A memfd holding data, readable by path (/proc/self/fd/N, written into path); its fd, which
 * the caller closes. Aborts if the kernel refuses: that is no finding about the input. */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathsz);

#endif

/*
 * The guest protocol's decoders (common/reports.c, common/schedule.c): one line parsed and
 * given to every decoder; whatever one accepts must survive its encoder and decode the same,
 * or the probe and the host would disagree about a record. Input: one line, without its LF.
 */
#include <string.h>

#include "fuzz.h"
#include "vmscale/protocol.h"

/* Encoded out (n bytes with its LF) parses again; a zero n means the encoder refused. */
static void
reparse(struct vms_record *rec, const char *out, size_t n)
{
	FUZZ_ASSERT(n > 0 && out[n - 1] == '\n');
	FUZZ_ASSERT(vms_record_parse(rec, out, n - 1) == VMS_PROTO_OK);
}

/* decode, encode, decode again: the same struct (zeroed first, so padding compares too). */
#define ROUNDTRIP(name, type)                                                                      \
	static void roundtrip_##name(const struct vms_record *rec)                                 \
	{                                                                                          \
		static type a, b;                                                                  \
		static struct vms_record again;                                                    \
		char out[VMS_PROTO_MAX_RECORD + 1];                                                \
		memset(&a, 0, sizeof(a));                                                          \
		memset(&b, 0, sizeof(b));                                                          \
		if (vms_decode_##name(rec, &a) != VMS_PROTO_OK)                                    \
			return;                                                                    \
		reparse(&again, out, vms_encode_##name(out, sizeof(out), &a));                     \
		FUZZ_ASSERT(vms_decode_##name(&again, &b) == VMS_PROTO_OK);                        \
		FUZZ_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);                                       \
	}

ROUNDTRIP(hello, struct vms_hello)
ROUNDTRIP(cpu, struct vms_cpu_report)
ROUNDTRIP(disk, struct vms_disk_report)
ROUNDTRIP(cost, struct vms_cost_report)
ROUNDTRIP(sample, struct vms_sample)
ROUNDTRIP(done, struct vms_done)
ROUNDTRIP(schedule, struct vms_schedule)
ROUNDTRIP(run, struct vms_run)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vms_record rec;
	if (vms_record_parse(&rec, (const char *)data, size) != VMS_PROTO_OK)
		return 0;
	roundtrip_hello(&rec);
	roundtrip_cpu(&rec);
	roundtrip_disk(&rec);
	roundtrip_cost(&rec);
	roundtrip_sample(&rec);
	roundtrip_done(&rec);
	roundtrip_schedule(&rec);
	roundtrip_run(&rec);
	return 0;
}

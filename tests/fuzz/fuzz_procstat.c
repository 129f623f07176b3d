/*
 * The probe's /proc/stat parser (probes/procstat.c): whatever it accepts, the probe must be
 * able to send and the host to decode. Input: the file's text.
 */
#include <string.h>

#include "fuzz.h"
#include "probes/procstat.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vms_cpu_report r;
	memset(&r, 0, sizeof(r));
	if (vmsp_procstat_parse((const char *)data, size, &r) != 0)
		return 0;
	FUZZ_ASSERT(r.nmodes <= VMS_CPU_MODE_COUNT && r.ncpu > 0);
	r.seq = 1;
	r.mono_ns = r.real_ns = 1;
	r.hz = 100;
	char out[VMS_PROTO_MAX_RECORD + 1];
	size_t n = vms_encode_cpu(out, sizeof(out), &r);
	FUZZ_ASSERT(n > 0);
	static struct vms_record rec;
	FUZZ_ASSERT(vms_record_parse(&rec, out, n - 1) == VMS_PROTO_OK);
	struct vms_cpu_report back;
	memset(&back, 0, sizeof(back));
	FUZZ_ASSERT(vms_decode_cpu(&rec, &back) == VMS_PROTO_OK);
	FUZZ_ASSERT(memcmp(&back, &r, sizeof(r)) == 0);
	return 0;
}

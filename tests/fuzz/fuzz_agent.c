/*
 * The guest agent's replies (collectors/agent_parse.c) and the bounded JSON reader under them
 * (daemon/util/json.c). The first input byte picks the parser (cpustats, diskstats, or the
 * JSON reader alone with a small node budget); the rest is the reply, as libvirt hands it
 * over. Whatever is accepted must keep the bounds the store and the exposition rely on.
 * Input: a selector byte, then the reply's text.
 */
#include <string.h>

#include "collectors/agent_parse.h"
#include "fuzz.h"

static struct vms_agent_scratch scratch;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vms_agent_scratch_init(&scratch);
	return 0;
}

/* Every node's span lies in the text and every subtree ends after its node, within n. */
static void
check_json(const char *text, size_t len)
{
	struct vms_json_node nodes[64];
	struct vms_json j;
	char err[160];
	if (vms_json_parse(&j, text, len, nodes, 64, 4, err, sizeof(err)) < 0) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(j.n >= 1 && j.n <= 64);
	for (uint32_t i = 0; i < j.n; i++) {
		FUZZ_ASSERT((size_t)nodes[i].start + nodes[i].len <= len);
		FUZZ_ASSERT(nodes[i].end > i && nodes[i].end <= j.n);
		char s[16];
		uint64_t v;
		if (vms_json_string(&j, i, s, sizeof(s)) == 0)
			FUZZ_ASSERT(strlen(s) < sizeof(s));
		if (vms_json_u64(&j, i, 1000, &v) == 0)
			FUZZ_ASSERT(v <= 1000);
		(void)vms_json_member(&j, i, "return");
		(void)vms_json_first(&j, i);
	}
}

static void
check_cpu(const char *text, size_t len)
{
	struct vms_cpu_report r;
	char err[160];
	if (vms_agent_parse_cpustats(&scratch, text, len, &r, err, sizeof(err)) < 0)
		return;
	FUZZ_ASSERT(r.hz == 1000 && r.ncpu >= 1 && r.ncpu <= VMS_AGENT_MAX_CPUS);
	FUZZ_ASSERT(r.nmodes >= VMS_CPU_REQUIRED_MODES && r.nmodes <= VMS_CPU_MODE_COUNT);
	for (unsigned m = 0; m < VMS_CPU_MODE_COUNT; m++)
		FUZZ_ASSERT(m < r.nmodes ? r.ticks[m] <= VMS_AGENT_VALUE_MAX * r.ncpu
		                         : r.ticks[m] == 0);
}

static void
check_disks(const char *text, size_t len)
{
	struct vms_disk_report out[4];
	unsigned n, dropped;
	char err[160];
	if (vms_agent_parse_diskstats(&scratch, text, len, out, 4, &n, &dropped, err, sizeof(err)) <
	    0)
		return;
	FUZZ_ASSERT(n <= 4 && n + dropped <= VMS_AGENT_MAX_DISK_ENTRIES);
	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(out[i].dev);
		FUZZ_ASSERT(l > 0 && l <= VMS_DISK_NAME_MAX);
		for (const char *p = out[i].dev; *p; p++)
			FUZZ_ASSERT(*p > ' ' && *p < 0x7f && *p != '"' && *p != '\\' && *p != '=');
		FUZZ_ASSERT(vms_agent_whole_disk(out[i].dev));
		FUZZ_ASSERT(out[i].nfields == 11 || out[i].nfields == 15 || out[i].nfields == 17);
		for (unsigned f = 0; f < VMS_DISK_FIELD_COUNT; f++)
			FUZZ_ASSERT(f < out[i].nfields ? out[i].v[f] <= VMS_AGENT_VALUE_MAX
			                               : out[i].v[f] == 0);
		for (unsigned k = 0; k < i; k++)
			FUZZ_ASSERT(strcmp(out[k].dev, out[i].dev) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 3) {
	case 0:
		check_cpu(text, len);
		break;
	case 1:
		check_disks(text, len);
		break;
	default:
		check_json(text, len);
		break;
	}
	return 0;
}

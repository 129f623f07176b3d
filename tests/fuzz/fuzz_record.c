/*
 * The guest protocol's line framing and record parser (common/record.c): a byte stream split
 * at arbitrary points, every line parsed, every parsed record rebuilt by the writer.
 * Input: one byte choosing the chunk size, then the stream.
 */
#include <string.h>

#include "fuzz.h"
#include "vmscale/record.h"

static bool
is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* What vms_record_parse promises of a record it accepts. */
static void
check_record(const struct vms_record *rec)
{
	FUZZ_ASSERT(rec->type[0] && strlen(rec->type) <= VMS_PROTO_MAX_TYPE);
	FUZZ_ASSERT(rec->nfields <= VMS_PROTO_MAX_FIELDS);
	for (size_t i = 0; i < rec->nfields; i++) {
		const struct vms_field *f = &rec->fields[i];
		FUZZ_ASSERT(f->key[0] && strlen(f->key) <= VMS_PROTO_MAX_KEY);
		FUZZ_ASSERT(f->value[0] && strlen(f->value) <= VMS_PROTO_MAX_VALUE);
		FUZZ_ASSERT(!strpbrk(f->value, " =\n"));
		FUZZ_ASSERT(vms_record_get(rec, f->key) == f->value); /* each key once */
		uint64_t v;
		if (vms_record_get_u64(rec, f->key, &v) == VMS_PROTO_OK)
			FUZZ_ASSERT(is_digits(f->value) && strlen(f->value) <= 20);
	}
}

/* The writer takes back whatever the parser accepted, and the result parses the same. */
static void
rebuild(const struct vms_record *rec)
{
	struct vms_writer w;
	vms_writer_begin(&w, rec->type);
	for (size_t i = 0; i < rec->nfields; i++)
		vms_writer_add_str(&w, rec->fields[i].key, rec->fields[i].value);
	size_t n = vms_writer_finish(&w);
	FUZZ_ASSERT(n > 0 && w.buf[n - 1] == '\n');
	static struct vms_record again;
	FUZZ_ASSERT(vms_record_parse(&again, w.buf, n - 1) == VMS_PROTO_OK);
	FUZZ_ASSERT(strcmp(again.type, rec->type) == 0 && again.nfields == rec->nfields);
	for (size_t i = 0; i < rec->nfields; i++) {
		FUZZ_ASSERT(strcmp(again.fields[i].key, rec->fields[i].key) == 0);
		FUZZ_ASSERT(strcmp(again.fields[i].value, rec->fields[i].value) == 0);
	}
}

static void
on_line(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	FUZZ_ASSERT(len < VMS_PROTO_MAX_RECORD && !memchr(line, '\n', len));
	static struct vms_record rec;
	enum vms_proto_error err = vms_record_parse(&rec, line, len);
	FUZZ_ASSERT(err < VMS_PROTO_E_COUNT && vms_proto_error_name(err) != NULL);
	if (err != VMS_PROTO_OK)
		return;
	check_record(&rec);
	rebuild(&rec);
}

static void
on_error(void *ctx, enum vms_proto_error err)
{
	(void)ctx;
	FUZZ_ASSERT(err == VMS_PROTO_E_OVERSIZED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	const char *p = (const char *)data + 1;
	size_t left = size - 1;
	struct vms_linebuf lb;
	vms_linebuf_reset(&lb);
	while (left > 0) {
		size_t n = left < chunk ? left : chunk;
		FUZZ_ASSERT(vms_linebuf_feed(&lb, p, n, on_line, on_error, NULL) == n);
		p += n;
		left -= n;
	}
	return 0;
}

/* Wire protocol: round trips, and rejection of malformed, oversized and truncated input. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vmscale/protocol.h"

static enum vms_proto_error
parse(const char *line, struct vms_record *rec)
{
	return vms_record_parse(rec, line, strlen(line));
}

static void
test_roundtrip(void)
{
	char out[VMS_PROTO_MAX_RECORD + 1];
	struct vms_record rec;

	struct vms_hello h = {.proto = VMS_PROTO_VERSION}, h2;
	snprintf(h.probe_version, sizeof(h.probe_version), "1.2.3-rc1");
	snprintf(h.caps, sizeof(h.caps), "cpu,disk");
	size_t n = vms_encode_hello(out, sizeof(out), &h);
	CHECK(n > 0 && out[n - 1] == '\n');
	CHECK_STR(out, "hello proto=1 probe=1.2.3-rc1 caps=cpu,disk\n");
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_hello(&rec, &h2), VMS_PROTO_OK);
	CHECK_STR(h2.probe_version, "1.2.3-rc1");
	CHECK_STR(h2.caps, "cpu,disk");
	CHECK(!h2.view_host);
	/* A container's probe whose /proc is the host's says so; "guest" is the default. */
	h.view_host = true;
	n = vms_encode_hello(out, sizeof(out), &h);
	CHECK_STR(out, "hello proto=1 probe=1.2.3-rc1 caps=cpu,disk view=host\n");
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_hello(&rec, &h2), VMS_PROTO_OK);
	CHECK(h2.view_host);
	static const char *const views[][2] = {
	    {"hello proto=1 probe=1 caps=cpu view=guest", "guest"},
	    {"hello proto=1 probe=1 caps=cpu view=hosts", "bad"},
	    {"hello proto=1 probe=1 caps=cpu view=Host", "bad"},
	};
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		CHECK_INT(vms_record_parse(&rec, views[i][0], strlen(views[i][0])), VMS_PROTO_OK);
		h2.view_host = true;
		bool good = strcmp(views[i][1], "bad") != 0;
		CHECK_INT(vms_decode_hello(&rec, &h2), good ? VMS_PROTO_OK : VMS_PROTO_E_VALUE);
		if (good)
			CHECK(!h2.view_host);
	}

	struct vms_cpu_report r = {.seq = 7,
	                           .mono_ns = 123456789012ull,
	                           .real_ns = UINT64_MAX,
	                           .hz = 100,
	                           .ncpu = 64,
	                           .nmodes = VMS_CPU_MODE_COUNT};
	for (unsigned m = 0; m < VMS_CPU_MODE_COUNT; m++)
		r.ticks[m] = 1000ull * (m + 1);
	n = vms_encode_cpu(out, sizeof(out), &r);
	CHECK(n > 0);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	struct vms_cpu_report r2;
	CHECK_INT(vms_decode_cpu(&rec, &r2), VMS_PROTO_OK);
	CHECK(r2.seq == 7 && r2.mono_ns == r.mono_ns && r2.real_ns == UINT64_MAX);
	CHECK(r2.hz == 100 && r2.ncpu == 64 && r2.nmodes == VMS_CPU_MODE_COUNT);
	CHECK(memcmp(r.ticks, r2.ticks, sizeof(r.ticks)) == 0);

	/* An old kernel: only user nice system idle. */
	r.nmodes = 4;
	n = vms_encode_cpu(out, sizeof(out), &r);
	CHECK(strstr(out, "iowait") == NULL);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_cpu(&rec, &r2), VMS_PROTO_OK);
	CHECK_INT(r2.nmodes, 4);
	CHECK(r2.ticks[VMS_CPU_IOWAIT] == 0);

	/* Fewer than the required modes cannot even be encoded. */
	r.nmodes = 3;
	CHECK_INT(vms_encode_cpu(out, sizeof(out), &r), 0);

	struct vms_schedule s, s2;
	vms_schedule_defaults(&s);
	s.cpu_ms = 5000;
	s.net_blocks[2] = 4096;
	s.net_nblocks = 3;
	n = vms_encode_schedule(out, sizeof(out), &s);
	CHECK_STR(out, "schedule cpu_ms=5000 disk_ms=5000 cpu_work_units=172000 mem_bytes=33554432 "
	               "mem_ms=30 disk_read_bytes=8388608 disk_read_ms=1000 net_bytes=2097152 "
	               "net_ms=1000 net_blocks=1024,32768,4096 micro_ms=20\n");
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_schedule(&rec, &s2), VMS_PROTO_OK);
	CHECK(memcmp(&s, &s2, sizeof(s)) == 0);
	/* A version-1 host that only knows cpu_ms: everything else takes the defaults. */
	CHECK_INT(parse("schedule cpu_ms=2000", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_schedule(&rec, &s2), VMS_PROTO_OK);
	CHECK_INT(s2.cpu_ms, 2000);
	CHECK_INT(s2.net_nblocks, 2);
	CHECK(s2.mem_bytes == VMS_DEFAULT_MEM_BYTES);

	n = vms_encode_host(out, sizeof(out));
	CHECK_STR(out, "host proto=1\n");
}

static void
test_syntax_rejects(void)
{
	struct vms_record rec;
	static const struct {
		const char *line;
		enum vms_proto_error want;
	} cases[] = {
	    {"", VMS_PROTO_E_SYNTAX},
	    {" hello proto=1", VMS_PROTO_E_SYNTAX},
	    {"hello  proto=1", VMS_PROTO_E_SYNTAX},
	    {"hello proto=1 ", VMS_PROTO_E_SYNTAX},
	    {"hello ", VMS_PROTO_E_SYNTAX},
	    {"Hello proto=1", VMS_PROTO_E_SYNTAX},
	    {"hello Proto=1", VMS_PROTO_E_SYNTAX},
	    {"hello proto", VMS_PROTO_E_SYNTAX},
	    {"hello proto=", VMS_PROTO_E_SYNTAX},
	    {"hello =1", VMS_PROTO_E_SYNTAX},
	    {"hello proto=1=2", VMS_PROTO_E_SYNTAX},
	    {"hello proto=1\r", VMS_PROTO_E_SYNTAX},
	    {"hello probe=\x01", VMS_PROTO_E_SYNTAX},
	    {"hello probe=\xc3\xa9", VMS_PROTO_E_SYNTAX},
	    {"hello\tproto=1", VMS_PROTO_E_SYNTAX},
	    {"averyveryverylongtype x=1", VMS_PROTO_E_SYNTAX},
	    {"hello proto=1 proto=2", VMS_PROTO_E_DUPLICATE},
	    {"hello proto=1", VMS_PROTO_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum vms_proto_error got = parse(cases[i].line, &rec);
		if (!CHECK_INT(got, cases[i].want))
			fprintf(stderr, "  line %zu: \"%s\"\n", i, cases[i].line);
	}

	/* A key or value one over its bound. */
	char line[VMS_PROTO_MAX_RECORD * 2];
	snprintf(line, sizeof(line), "x %0*d=1", VMS_PROTO_MAX_KEY + 1, 0);
	memset(line + 2, 'k', VMS_PROTO_MAX_KEY + 1);
	CHECK_INT(parse(line, &rec), VMS_PROTO_E_SYNTAX);
	line[2 + VMS_PROTO_MAX_KEY] = '=';
	line[2 + VMS_PROTO_MAX_KEY + 1] = '1';
	line[2 + VMS_PROTO_MAX_KEY + 2] = '\0';
	CHECK_INT(parse(line, &rec), VMS_PROTO_OK);
	snprintf(line, sizeof(line), "x k=");
	memset(line + 4, 'v', VMS_PROTO_MAX_VALUE + 1);
	line[4 + VMS_PROTO_MAX_VALUE + 1] = '\0';
	CHECK_INT(parse(line, &rec), VMS_PROTO_E_SYNTAX);
	line[4 + VMS_PROTO_MAX_VALUE] = '\0';
	CHECK_INT(parse(line, &rec), VMS_PROTO_OK);

	/* More fields than allowed. */
	size_t len = (size_t)snprintf(line, sizeof(line), "x");
	for (int i = 0; i <= VMS_PROTO_MAX_FIELDS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " f%d=1", i);
	CHECK_INT(parse(line, &rec), VMS_PROTO_E_TOO_MANY);

	/* A record at the size limit is oversized; one byte less (plus LF) fits. */
	memset(line, 'a', sizeof(line));
	CHECK_INT(vms_record_parse(&rec, line, VMS_PROTO_MAX_RECORD), VMS_PROTO_E_OVERSIZED);
}

static void
test_decode_rejects(void)
{
	struct vms_record rec;
	struct vms_cpu_report r;
	struct vms_hello h;
	struct vms_schedule s;
	const char *base = "cpu seq=1 mono_ns=2 real_ns=3 hz=100 ncpu=1";
	char line[VMS_PROTO_MAX_RECORD];

#define CPU_CASE(extra, want)                                                                      \
	do {                                                                                       \
		snprintf(line, sizeof(line), "%s%s", base, extra);                                 \
		CHECK_INT(parse(line, &rec), VMS_PROTO_OK);                                        \
		if (!CHECK_INT(vms_decode_cpu(&rec, &r), want))                                    \
			fprintf(stderr, "  line: %s\n", line);                                     \
	} while (0)

	CPU_CASE(" user=1 nice=2 system=3 idle=4", VMS_PROTO_OK);
	CPU_CASE(" user=1 nice=2 system=3 idle=4 future_field=9", VMS_PROTO_OK);
	CPU_CASE(" user=1 nice=2 system=3", VMS_PROTO_E_MISSING);
	CPU_CASE(" user=1 nice=2 system=3 idle=4 irq=5", VMS_PROTO_E_VALUE); /* gap: no iowait */
	CPU_CASE(" user=-1 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);
	CPU_CASE(" user=+1 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);
	CPU_CASE(" user=0x10 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);
	CPU_CASE(" user=18446744073709551615 nice=2 system=3 idle=4", VMS_PROTO_OK);
	CPU_CASE(" user=18446744073709551616 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);
	CPU_CASE(" user=99999999999999999999999 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);
	/* At most 20 digits (record.h), leading zeros included: found by fuzz_record. */
	CPU_CASE(" user=00000000000000000001 nice=2 system=3 idle=4", VMS_PROTO_OK);
	CPU_CASE(" user=000000000000000000001 nice=2 system=3 idle=4", VMS_PROTO_E_VALUE);

	CHECK_INT(
	    parse("cpu seq=1 mono_ns=2 real_ns=3 hz=0 ncpu=1 user=1 nice=2 system=3 idle=4", &rec),
	    VMS_PROTO_OK);
	CHECK_INT(vms_decode_cpu(&rec, &r), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("cpu seq=1 real_ns=3 hz=100 ncpu=1 user=1 nice=2 system=3 idle=4", &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_cpu(&rec, &r), VMS_PROTO_E_MISSING);

	CHECK_INT(parse("hello proto=2 probe=1 caps=cpu", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_hello(&rec, &h), VMS_PROTO_E_VERSION);
	CHECK_INT(parse("hello proto=1 caps=cpu", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_hello(&rec, &h), VMS_PROTO_E_MISSING);
	CHECK_INT(parse("hello proto=1 probe=1", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_cpu(&rec, &r), VMS_PROTO_E_UNKNOWN);

	CHECK_INT(parse("schedule cpu_ms=999", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_schedule(&rec, &s), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("schedule cpu_ms=3600001", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_schedule(&rec, &s), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("schedule", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_schedule(&rec, &s), VMS_PROTO_E_MISSING);
}

static void
test_writer_rejects(void)
{
	struct vms_writer w;
	vms_writer_begin(&w, "ok");
	vms_writer_add_str(&w, "k", "has space");
	CHECK_INT(vms_writer_finish(&w), 0);
	vms_writer_begin(&w, "ok");
	vms_writer_add_str(&w, "k", "a=b");
	CHECK_INT(vms_writer_finish(&w), 0);
	vms_writer_begin(&w, "Bad");
	CHECK_INT(vms_writer_finish(&w), 0);
	/* Filling up: the writer refuses rather than truncating a record. */
	vms_writer_begin(&w, "x");
	char key[8];
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		vms_writer_add_u64(&w, key, UINT64_MAX);
	}
	CHECK_INT(vms_writer_finish(&w), 0);
}

struct collected {
	char lines[8][VMS_PROTO_MAX_RECORD];
	int nlines;
	int errors;
};

static void
collect_line(void *ctx, const char *line, size_t len)
{
	struct collected *c = ctx;
	if (c->nlines < 8) {
		memcpy(c->lines[c->nlines], line, len);
		c->lines[c->nlines][len] = '\0';
	}
	c->nlines++;
}

static void
collect_error(void *ctx, enum vms_proto_error err)
{
	struct collected *c = ctx;
	CHECK_INT(err, VMS_PROTO_E_OVERSIZED);
	c->errors++;
}

static void
test_linebuf(void)
{
	struct vms_linebuf lb;
	struct collected c = {0};
	vms_linebuf_reset(&lb);

	/* A record split across reads, two in one read, and a truncated tail that waits. */
	const char *parts[] = {"hel", "lo proto=1\ncpu seq", "=1\nsched", "ule cpu_ms=1000\npart"};
	for (size_t i = 0; i < 4; i++)
		vms_linebuf_feed(&lb, parts[i], strlen(parts[i]), collect_line, collect_error, &c);
	CHECK_INT(c.nlines, 3);
	CHECK_STR(c.lines[0], "hello proto=1");
	CHECK_STR(c.lines[1], "cpu seq=1");
	CHECK_STR(c.lines[2], "schedule cpu_ms=1000");
	CHECK_INT(c.errors, 0);
	CHECK_INT(lb.len, 4); /* "part" is held, not delivered */

	/* An oversized line is dropped whole, once, and the next line gets through. */
	static char big[3 * VMS_PROTO_MAX_RECORD];
	memset(big, 'z', sizeof(big));
	vms_linebuf_feed(&lb, big, sizeof(big), collect_line, collect_error, &c);
	vms_linebuf_feed(&lb, big, 100, collect_line, collect_error, &c);
	vms_linebuf_feed(&lb, "\nhost proto=1\n", 14, collect_line, collect_error, &c);
	CHECK_INT(c.errors, 1);
	CHECK_INT(c.nlines, 4);
	CHECK_STR(c.lines[3], "host proto=1");

	/* The longest line that fits: MAX_RECORD - 1 bytes plus its LF. */
	memset(big, 'y', VMS_PROTO_MAX_RECORD - 1);
	big[VMS_PROTO_MAX_RECORD - 1] = '\n';
	vms_linebuf_feed(&lb, big, VMS_PROTO_MAX_RECORD, collect_line, collect_error, &c);
	CHECK_INT(c.nlines, 5);
	CHECK_INT(c.errors, 1);
	memset(big, 'y', VMS_PROTO_MAX_RECORD);
	big[VMS_PROTO_MAX_RECORD] = '\n';
	vms_linebuf_feed(&lb, big, VMS_PROTO_MAX_RECORD + 1, collect_line, collect_error, &c);
	CHECK_INT(c.nlines, 5);
	CHECK_INT(c.errors, 2);
}

/* The measurement records: what one side encodes, the other decodes to the same thing. */
static void
test_families(void)
{
	char out[VMS_PROTO_MAX_RECORD + 1];
	struct vms_record rec;
	size_t n;

	struct vms_disk_report d = {.seq = 3, .mono_ns = 99, .dev = "vda", .nfields = 17}, d2;
	for (unsigned i = 0; i < VMS_DISK_FIELD_COUNT; i++)
		d.v[i] = 1000 + i;
	n = vms_encode_disk(out, sizeof(out), &d);
	CHECK(n > 0);
	CHECK(strstr(out, " flush_ms=1016\n") != NULL);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_disk(&rec, &d2), VMS_PROTO_OK);
	CHECK(memcmp(&d, &d2, sizeof(d)) == 0);
	d.nfields = 11; /* a kernel before 4.18 */
	n = vms_encode_disk(out, sizeof(out), &d);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_disk(&rec, &d2), VMS_PROTO_OK);
	CHECK_INT(d2.nfields, 11);
	d.nfields = 12; /* not a kernel's column count */
	CHECK_INT(vms_encode_disk(out, sizeof(out), &d), 0);
	CHECK_INT(parse("disk seq=1 mono_ns=1 dev=vda reads=1 read_merges=1 read_sectors=1 "
	                "read_ms=1 writes=1 write_merges=1 write_sectors=1 write_ms=1 "
	                "in_flight=1 io_ms=1 weighted_io_ms=1 discards=1",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_disk(&rec, &d2), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("disk seq=1 mono_ns=1 dev=vda reads=1", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_disk(&rec, &d2), VMS_PROTO_E_MISSING);
	CHECK_INT(
	    parse("disk seq=1 mono_ns=1 dev=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa reads=1", &rec),
	    VMS_PROTO_OK);
	CHECK_INT(vms_decode_disk(&rec, &d2), VMS_PROTO_E_VALUE);

	struct vms_cost_report c = {.seq = 4,
	                            .mono_ns = 5,
	                            .other_ns = 6,
	                            .rss_bytes = 7,
	                            .peak_rss_bytes = 8},
	                       c2;
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		c.ns[f] = 100 * f;
	n = vms_encode_cost(out, sizeof(out), &c);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_cost(&rec, &c2), VMS_PROTO_OK);
	CHECK(memcmp(&c, &c2, sizeof(c)) == 0);

	struct vms_sample sm = {.seq = 9,
	                        .id = 2,
	                        .op = VMS_OP_NET_RECV,
	                        .start_ns = 10,
	                        .end_ns = 20,
	                        .ops = 64,
	                        .bytes = 65536,
	                        .block = 1024},
	                  sm2;
	n = vms_encode_sample(out, sizeof(out), &sm);
	CHECK_STR(out, "sample seq=9 id=2 probe=network op=receive start_ns=10 end_ns=20 ops=64 "
	               "bytes=65536 block=1024\n");
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_sample(&rec, &sm2), VMS_PROTO_OK);
	CHECK(memcmp(&sm, &sm2, sizeof(sm)) == 0);
	struct vms_sample fail = {.seq = 10, .id = 2, .op = VMS_OP_DISK_READ, .err = 22};
	n = vms_encode_sample(out, sizeof(out), &fail);
	CHECK_STR(out, "sample seq=10 id=2 probe=disk_read op=read errno=22\n");
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_sample(&rec, &sm2), VMS_PROTO_OK);
	CHECK_INT(sm2.err, 22);
	CHECK_INT(sm2.op, VMS_OP_DISK_READ);
	/* Time that does not pass, a throughput without bytes, an op of another family. */
	const char *bad_samples[] = {
	    "sample seq=1 id=1 probe=memory op=copy start_ns=5 end_ns=5 ops=1 bytes=1",
	    "sample seq=1 id=1 probe=memory op=copy start_ns=5 end_ns=6 ops=1 bytes=0",
	    "sample seq=1 id=1 probe=memory op=fork_exit start_ns=5 end_ns=6 ops=1 bytes=0",
	    "sample seq=1 id=1 probe=cpu op=work start_ns=5 end_ns=6 ops=1 bytes=0",
	    "sample seq=1 id=1 probe=micro op=ctxsw start_ns=5 end_ns=6 ops=0 bytes=0",
	    "sample seq=1 id=1 probe=network op=send start_ns=5 end_ns=6 ops=1 bytes=9 block=1",
	    "sample seq=1 id=1 probe=micro op=ctxsw errno=0",
	};
	for (size_t i = 0; i < sizeof(bad_samples) / sizeof(bad_samples[0]); i++) {
		CHECK_INT(parse(bad_samples[i], &rec), VMS_PROTO_OK);
		CHECK_INT(vms_decode_sample(&rec, &sm2), VMS_PROTO_E_VALUE);
	}
	CHECK_INT(parse("sample seq=1 id=1 probe=network op=send start_ns=5 end_ns=6 ops=1 "
	                "bytes=9",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_sample(&rec, &sm2), VMS_PROTO_E_MISSING);

	struct vms_done dn = {.seq = 11,
	                      .id = 2,
	                      .family = VMS_FAM_MICRO,
	                      .start_ns = 1,
	                      .end_ns = 2,
	                      .mono_ns = 3},
	                dn2;
	n = vms_encode_done(out, sizeof(out), &dn);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_done(&rec, &dn2), VMS_PROTO_OK);
	CHECK(dn2.seq == 11 && dn2.id == 2 && dn2.family == VMS_FAM_MICRO && dn2.start_ns == 1 &&
	      dn2.end_ns == 2 && dn2.mono_ns == 3);
	CHECK_INT(parse("done seq=1 id=1 probe=micro start_ns=5 end_ns=4 mono_ns=6", &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_done(&rec, &dn2), VMS_PROTO_E_VALUE);

	struct vms_run r = {.id = 7,
	                    .family = VMS_FAM_NETWORK,
	                    .addr = "10.0.2.2",
	                    .port = 18767,
	                    .token = "0123456789abcdef0123456789abcdef"},
	               r2;
	n = vms_encode_run(out, sizeof(out), &r);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_OK);
	CHECK(r2.id == 7 && r2.family == VMS_FAM_NETWORK && r2.port == 18767);
	CHECK_STR(r2.addr, "10.0.2.2");
	CHECK_STR(r2.token, r.token);
	CHECK_INT(r2.udp_port, 0);
	CHECK(strstr(out, "udp_port") == NULL); /* an older probe sees what it always saw */
	r.udp_port = 18767;                     /* UDP on: the same port number */
	r.udp_rate = 4u << 20;                  /* and the host's pace */
	n = vms_encode_run(out, sizeof(out), &r);
	CHECK(strstr(out, " udp_port=18767 udp_rate=4194304") != NULL);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_OK);
	CHECK_INT(r2.udp_port, 18767);
	CHECK(r2.udp_rate == 4u << 20);
	/* The port and the pace go together; the pace within its bounds. */
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=1 udp_port=2 "
	                "token=0123456789abcdef0123456789abcdef",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_MISSING);
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=1 udp_rate=65536 "
	                "token=0123456789abcdef0123456789abcdef",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_MISSING);
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=1 udp_port=2 udp_rate=65535 "
	                "token=0123456789abcdef0123456789abcdef",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=1 udp_port=65536 "
	                "token=0123456789abcdef0123456789abcdef",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_VALUE);
	/* The UDP sample: a network op with its block, ops = datagrams received. */
	struct vms_sample us = {.seq = 3,
	                        .id = 7,
	                        .op = VMS_OP_NET_UDP_RECV,
	                        .start_ns = 10,
	                        .end_ns = 20,
	                        .ops = 512,
	                        .bytes = 523264,
	                        .block = 1024},
	                  us2;
	n = vms_encode_sample(out, sizeof(out), &us);
	CHECK(strstr(out, " probe=network op=udp_receive ") != NULL);
	CHECK_INT(vms_record_parse(&rec, out, n - 1), VMS_PROTO_OK);
	CHECK_INT(vms_decode_sample(&rec, &us2), VMS_PROTO_OK);
	CHECK(us2.op == VMS_OP_NET_UDP_RECV && us2.ops == 512 && us2.block == 1024);
	/* UDP bytes are the blocks after the first, of at least two datagrams: anything else
	 * claims a rate no burst had (second review). */
	static const char *const bad_udp[] = {
	    "sample seq=1 id=7 probe=network op=udp_receive start_ns=10 end_ns=20 ops=512 "
	    "bytes=2000000000 block=1024",
	    "sample seq=1 id=7 probe=network op=udp_receive start_ns=10 end_ns=20 ops=512 "
	    "bytes=524288 block=1024",
	    "sample seq=1 id=7 probe=network op=udp_receive start_ns=10 end_ns=20 ops=1 "
	    "bytes=1024 block=1024",
	};
	for (size_t i = 0; i < sizeof(bad_udp) / sizeof(bad_udp[0]); i++) {
		CHECK_INT(parse(bad_udp[i], &rec), VMS_PROTO_OK);
		CHECK_INT(vms_decode_sample(&rec, &us2), VMS_PROTO_E_VALUE);
	}
	struct vms_run passive = {.id = 1, .family = VMS_FAM_CPU};
	CHECK_INT(vms_encode_run(out, sizeof(out), &passive), 0);
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=1 token=XYZ", &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("run id=1 probe=network addr=10.0.2.2 port=0 "
	                "token=0123456789abcdef0123456789abcdef",
	                &rec),
	          VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_E_VALUE);
	CHECK_INT(parse("run id=1 probe=memory", &rec), VMS_PROTO_OK);
	CHECK_INT(vms_decode_run(&rec, &r2), VMS_PROTO_OK);

	/* Schedules out of bounds: caches instead of memory, blocks too small or too many. */
	struct vms_schedule sc;
	const char *bad_sched[] = {
	    "schedule cpu_ms=5000 mem_bytes=1048576",
	    "schedule cpu_ms=5000 net_blocks=16",
	    "schedule cpu_ms=5000 net_blocks=1024,,2048",
	    "schedule cpu_ms=5000 net_blocks=1024,",
	    "schedule cpu_ms=5000 net_blocks=1,2,3,4,5,6,7",
	    "schedule cpu_ms=5000 net_blocks=1024,2048,4096,8192,16384,32768,65536",
	    "schedule cpu_ms=5000 micro_ms=0",
	    "schedule cpu_ms=5000 disk_ms=10",
	};
	for (size_t i = 0; i < sizeof(bad_sched) / sizeof(bad_sched[0]); i++) {
		CHECK_INT(parse(bad_sched[i], &rec), VMS_PROTO_OK);
		CHECK_INT(vms_decode_schedule(&rec, &sc), VMS_PROTO_E_VALUE);
	}

	/* Names: every op belongs to an active family and round-trips through its name. */
	for (unsigned op = 0; op < VMS_OP_COUNT; op++) {
		enum vms_family f = vms_op_family((enum vms_op)op);
		CHECK(f >= VMS_FAM_FIRST_ACTIVE && f < VMS_FAM_COUNT);
		CHECK_INT(vms_op_from_name(f, vms_op_name((enum vms_op)op)), (int)op);
	}
	for (unsigned f = 0; f < VMS_FAM_COUNT; f++)
		CHECK_INT(vms_family_from_name(vms_family_name((enum vms_family)f)), (int)f);
	CHECK_INT(vms_family_from_name("gpu"), -1);
}

static void
test_names(void)
{
	for (int e = 0; e < VMS_PROTO_E_COUNT; e++) {
		const char *n = vms_proto_error_name((enum vms_proto_error)e);
		CHECK(n && strcmp(n, "invalid") != 0);
		for (const char *p = n; *p; p++)
			CHECK((*p >= 'a' && *p <= 'z') || *p == '_');
	}
	CHECK_STR(vms_proto_error_name(VMS_PROTO_E_COUNT), "invalid");
	CHECK_STR(vms_cpu_mode_name(VMS_CPU_GUEST_NICE), "guest_nice");
}

int
main(void)
{
	test_roundtrip();
	test_syntax_rejects();
	test_decode_rejects();
	test_writer_rejects();
	test_linebuf();
	test_families();
	test_names();
	return check_done("test_protocol");
}

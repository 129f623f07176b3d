/* The bounded JSON reader: RFC 8259's grammar, its limits, and the accessors. */
#include "daemon/util/json.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define NODES 64

static struct vms_json_node nodes[NODES];

/* 0 or -1; err gets the reason. */
static int
parse(struct vms_json *j, const char *text, uint32_t max_nodes, unsigned depth, char *err,
      size_t errsz)
{
	return vms_json_parse(j, text, strlen(text), nodes, max_nodes, depth, err, errsz);
}

static const char *
why(const char *text)
{
	static char err[160];
	struct vms_json j;
	if (parse(&j, text, NODES, 8, err, sizeof(err)) == 0)
		snprintf(err, sizeof(err), "(accepted)");
	return err;
}

static void
test_valid(void)
{
	static const char *const ok[] = {
	    "{}",
	    "[]",
	    "0",
	    "-0",
	    "1.5e3",
	    "-12.25E-2",
	    "\"\"",
	    "true",
	    "false",
	    "null",
	    " {\"a\" : [1, 2, {\"b\": null}], \"c\": \"x\\\"y\\u0041\\n\"} ",
	    "[[[[[[[1]]]]]]]", /* depth 8 */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!CHECK_STR(why(ok[i]), "(accepted)"))
			fprintf(stderr, "  text: %s\n", ok[i]);
}

static void
test_invalid(void)
{
	CHECK_STR(why(""), "unexpected end at offset 0");
	CHECK_STR(why("{"), "expected a key at offset 1");
	CHECK_STR(why("[1,]"), "unexpected character at offset 3");
	CHECK_STR(why("[1 2]"), "expected ',' or ']' at offset 3");
	CHECK_STR(why("{\"a\" 1}"), "expected ':' at offset 5");
	CHECK_STR(why("{\"a\":1,}"), "expected a key at offset 7");
	CHECK_STR(why("01"), "leading zero in a number at offset 2");
	CHECK_STR(why("1."), "bad fraction at offset 2");
	CHECK_STR(why("1e+"), "bad exponent at offset 3");
	CHECK_STR(why("-"), "bad number at offset 1");
	CHECK_STR(why("+1"), "unexpected character at offset 0");
	CHECK_STR(why("\"a\tb\""), "control character in a string at offset 2");
	CHECK_STR(why("\"\\x\""), "bad escape at offset 2");
	CHECK_STR(why("\"\\u00g0\""), "bad \\u escape at offset 2");
	CHECK_STR(why("\"abc"), "unterminated string at offset 4");
	CHECK_STR(why("tru"), "unexpected character at offset 0");
	CHECK_STR(why("{} x"), "text after the value at offset 3");
	CHECK_STR(why("[[[[[[[[[1]]]]]]]]]"), "nested too deep at offset 8");
	/* A NUL inside the text is not whitespace: the reply ends there or is refused. */
	struct vms_json j;
	char err[160];
	CHECK_INT(vms_json_parse(&j, "[1]\0[2]", 7, nodes, NODES, 8, err, sizeof(err)), -1);
	CHECK_STR(err, "text after the value at offset 3");
}

static void
test_limits(void)
{
	struct vms_json j;
	char err[160];
	CHECK_INT(parse(&j, "[1,2,3]", 4, 8, err, sizeof(err)), 0);
	CHECK_INT(j.n, 4);
	CHECK_INT(parse(&j, "[1,2,3,4]", 4, 8, err, sizeof(err)), -1);
	CHECK_STR(err, "too many values at offset 7");
	CHECK_INT(parse(&j, "[[1]]", NODES, 1, err, sizeof(err)), -1);
	CHECK_STR(err, "nested too deep at offset 1");
}

static void
test_access(void)
{
	struct vms_json j;
	char err[160], s[16];
	uint64_t v;
	const char *text = "{\"return\": [{\"name\": \"vda\", \"n\": 18446744073709551615, "
	                   "\"big\": 18446744073709551616, \"f\": 1.5, \"neg\": -1, "
	                   "\"esc\": \"a\\/b\\u0009\", \"hi\": \"\\u00e9\", \"nul\": \"\\u0000\"},"
	                   " 7], \"return\": 0}";
	CHECK_INT(parse(&j, text, NODES, 8, err, sizeof(err)), 0);
	int ret = vms_json_member(&j, 0, "return");
	CHECK(ret > 0 && j.nodes[ret].type == VMS_JSON_ARRAY && j.nodes[ret].count == 2);
	int e = vms_json_first(&j, (uint32_t)ret);
	CHECK_INT(j.nodes[e].type, VMS_JSON_OBJECT);
	int second = (int)j.nodes[e].end;
	CHECK_INT(vms_json_u64(&j, (uint32_t)second, 100, &v), 0);
	CHECK_INT(v, 7);
	CHECK_INT(vms_json_u64(&j, (uint32_t)second, 6, &v), -1); /* over max */
	CHECK_INT(vms_json_first(&j, (uint32_t)second), -1);
	CHECK_INT(vms_json_member(&j, (uint32_t)e, "missing"), -1);
	CHECK_INT(vms_json_u64(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "n"), UINT64_MAX, &v),
	          0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(
	    vms_json_u64(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "big"), UINT64_MAX, &v),
	    -1);
	CHECK_INT(vms_json_u64(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "f"), 10, &v), -1);
	CHECK_INT(vms_json_u64(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "neg"), 10, &v), -1);
	CHECK_INT(vms_json_u64(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "name"), 10, &v), -1);
	CHECK_INT(
	    vms_json_string(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "name"), s, sizeof(s)),
	    0);
	CHECK_STR(s, "vda");
	CHECK(vms_json_string_is(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "name"), "vda"));
	CHECK(!vms_json_string_is(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "name"), "vd"));
	CHECK_INT(
	    vms_json_string(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "esc"), s, sizeof(s)),
	    0);
	CHECK_STR(s, "a/b\t");
	CHECK_INT(vms_json_string(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "esc"), s, 4), -1);
	CHECK_INT(
	    vms_json_string(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "hi"), s, sizeof(s)),
	    -1);
	CHECK_INT(
	    vms_json_string(&j, (uint32_t)vms_json_member(&j, (uint32_t)e, "nul"), s, sizeof(s)),
	    -1);
	CHECK_INT(vms_json_string(&j, (uint32_t)second, s, sizeof(s)), -1);
	/* Out-of-range indexes are refused, not read. */
	CHECK_INT(vms_json_member(&j, 999, "x"), -1);
	CHECK_INT(vms_json_first(&j, 999), -1);
	CHECK_INT(vms_json_u64(&j, 999, 1, &v), -1);
	CHECK_INT(vms_json_string(&j, 999, s, sizeof(s)), -1);
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_limits();
	test_access();
	return check_done("test_json");
}

/* The bounded JSON reader (see json.h). */
#include "daemon/util/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct parser {
	const char *s;
	size_t len, pos;
	struct vms_json_node *nodes;
	uint32_t n, max_nodes;
	unsigned max_depth;
	char *err;
	size_t errsz;
};

static int
fail(struct parser *p, const char *what)
{
	if (p->errsz)
		snprintf(p->err, p->errsz, "%s at offset %zu", what, p->pos);
	return -1;
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		p->pos++;
	}
}

static int
new_node(struct parser *p, enum vms_json_type type, uint32_t *idx)
{
	if (p->n >= p->max_nodes)
		return fail(p, "too many values");
	*idx = p->n++;
	p->nodes[*idx] = (struct vms_json_node){.type = type, .start = (uint32_t)p->pos};
	return 0;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At the opening quote; leaves pos after the closing one. */
static int
parse_string(struct parser *p)
{
	uint32_t idx;
	p->pos++;
	if (new_node(p, VMS_JSON_STRING, &idx) < 0)
		return -1;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->nodes[idx].len = (uint32_t)(p->pos - p->nodes[idx].start);
			p->nodes[idx].end = p->n;
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(p, "control character in a string");
		if (c == '\\') {
			if (++p->pos >= p->len)
				break;
			c = (unsigned char)p->s[p->pos];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++)
					if (p->pos + k >= p->len || !is_hex(p->s[p->pos + k]))
						return fail(p, "bad \\u escape");
				p->pos += 4;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return fail(p, "bad escape");
			}
		}
		p->pos++;
	}
	return fail(p, "unterminated string");
}

static size_t
digits(struct parser *p)
{
	size_t from = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos - from;
}

static int
parse_number(struct parser *p)
{
	uint32_t idx;
	if (new_node(p, VMS_JSON_NUMBER, &idx) < 0)
		return -1;
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	size_t at = p->pos;
	size_t nd = digits(p);
	if (nd == 0)
		return fail(p, "bad number");
	if (nd > 1 && p->s[at] == '0')
		return fail(p, "leading zero in a number");
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digits(p))
			return fail(p, "bad fraction");
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!digits(p))
			return fail(p, "bad exponent");
	}
	p->nodes[idx].len = (uint32_t)(p->pos - p->nodes[idx].start);
	p->nodes[idx].end = p->n;
	return 0;
}

static int
parse_word(struct parser *p, const char *word, enum vms_json_type type)
{
	size_t wl = strlen(word);
	if (p->len - p->pos < wl || memcmp(p->s + p->pos, word, wl) != 0)
		return fail(p, "unexpected character");
	uint32_t idx;
	if (new_node(p, type, &idx) < 0)
		return -1;
	p->pos += wl;
	p->nodes[idx].len = (uint32_t)wl;
	p->nodes[idx].end = p->n;
	return 0;
}

static int parse_value(struct parser *p, unsigned depth);

/* At '[' or '{'; leaves pos after the matching close. */
static int
parse_container(struct parser *p, unsigned depth)
{
	bool object = p->s[p->pos] == '{';
	char close = object ? '}' : ']';
	uint32_t idx, count = 0;
	if (depth >= p->max_depth)
		return fail(p, "nested too deep");
	if (new_node(p, object ? VMS_JSON_OBJECT : VMS_JSON_ARRAY, &idx) < 0)
		return -1;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
	} else {
		for (;;) {
			skip_ws(p);
			if (object) {
				if (p->pos >= p->len || p->s[p->pos] != '"')
					return fail(p, "expected a key");
				if (parse_string(p) < 0)
					return -1;
				skip_ws(p);
				if (p->pos >= p->len || p->s[p->pos] != ':')
					return fail(p, "expected ':'");
				p->pos++;
			}
			if (parse_value(p, depth + 1) < 0)
				return -1;
			count++;
			skip_ws(p);
			if (p->pos < p->len && p->s[p->pos] == ',') {
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->s[p->pos] == close) {
				p->pos++;
				break;
			}
			return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	p->nodes[idx].len = (uint32_t)(p->pos - p->nodes[idx].start);
	p->nodes[idx].count = count;
	p->nodes[idx].end = p->n;
	return 0;
}

static int
parse_value(struct parser *p, unsigned depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "unexpected end");
	char c = p->s[p->pos];
	switch (c) {
	case '{':
	case '[':
		return parse_container(p, depth);
	case '"':
		return parse_string(p);
	case 't':
		return parse_word(p, "true", VMS_JSON_TRUE);
	case 'f':
		return parse_word(p, "false", VMS_JSON_FALSE);
	case 'n':
		return parse_word(p, "null", VMS_JSON_NULL);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p);
		return fail(p, "unexpected character");
	}
}

int
vms_json_parse(struct vms_json *j, const char *text, size_t len, struct vms_json_node *nodes,
               uint32_t max_nodes, unsigned max_depth, char *err, size_t errsz)
{
	struct parser p = {.s = text,
	                   .len = len,
	                   .nodes = nodes,
	                   .max_nodes = max_nodes,
	                   .max_depth = max_depth,
	                   .err = err,
	                   .errsz = errsz};
	*j = (struct vms_json){.text = text, .nodes = nodes};
	if (len > VMS_JSON_TEXT_MAX)
		return fail(&p, "text too long");
	if (parse_value(&p, 0) < 0)
		return -1;
	skip_ws(&p);
	if (p.pos != len)
		return fail(&p, "text after the value");
	j->len = len;
	j->n = p.n;
	return 0;
}

int
vms_json_first(const struct vms_json *j, uint32_t node)
{
	if (node >= j->n)
		return -1;
	const struct vms_json_node *nd = &j->nodes[node];
	if ((nd->type != VMS_JSON_ARRAY && nd->type != VMS_JSON_OBJECT) || !nd->count)
		return -1;
	return (int)node + 1;
}

int
vms_json_string_is(const struct vms_json *j, uint32_t node, const char *s)
{
	if (node >= j->n || j->nodes[node].type != VMS_JSON_STRING)
		return 0;
	size_t sl = strlen(s);
	return j->nodes[node].len == sl && memcmp(j->text + j->nodes[node].start, s, sl) == 0;
}

int
vms_json_member(const struct vms_json *j, uint32_t obj, const char *key)
{
	if (obj >= j->n || j->nodes[obj].type != VMS_JSON_OBJECT)
		return -1;
	uint32_t k = obj + 1;
	for (uint32_t m = 0; m < j->nodes[obj].count; m++) {
		uint32_t v = k + 1;
		if (vms_json_string_is(j, k, key))
			return (int)v;
		k = j->nodes[v].end;
	}
	return -1;
}

int
vms_json_u64(const struct vms_json *j, uint32_t node, uint64_t max, uint64_t *out)
{
	if (node >= j->n || j->nodes[node].type != VMS_JSON_NUMBER)
		return -1;
	const char *s = j->text + j->nodes[node].start;
	uint64_t v = 0;
	for (uint32_t i = 0; i < j->nodes[node].len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1; /* a sign, a fraction or an exponent */
		unsigned d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

int
vms_json_string(const struct vms_json *j, uint32_t node, char *out, size_t outsz)
{
	if (node >= j->n || j->nodes[node].type != VMS_JSON_STRING || !outsz)
		return -1;
	const char *s = j->text + j->nodes[node].start;
	size_t o = 0;
	for (uint32_t i = 0; i < j->nodes[node].len; i++) {
		char c = s[i];
		if (c == '\\') {
			c = s[++i]; /* the parser saw a whole escape */
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			if (c == 'u') {
				int cp = 0;
				for (int k = 1; k <= 4; k++)
					cp = cp * 16 + hexval(s[i + k]);
				i += 4;
				if (cp == 0 || cp > 0x7f)
					return -1;
				c = (char)cp;
			} else {
				c = to[strchr(from, c) - from];
			}
		}
		if (c == '\0' || o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

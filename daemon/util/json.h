/*
 * A small bounded JSON reader (RFC 8259) for text that comes from outside, such as a guest
 * agent's replies: the caller gives the node array (its size is the count limit) and the depth
 * limit; nothing is allocated. The text is validated in full, then read through the nodes:
 * scalars are spans of the text, arrays and objects know their child count and where their
 * subtree ends, so a reader walks them in order and skips what it does not want.
 */
#ifndef VMSCALE_JSON_H
#define VMSCALE_JSON_H

#include <stddef.h>
#include <stdint.h>

enum vms_json_type {
	VMS_JSON_NULL,
	VMS_JSON_FALSE,
	VMS_JSON_TRUE,
	VMS_JSON_NUMBER,
	VMS_JSON_STRING, /* the span excludes the quotes; escapes are still in it */
	VMS_JSON_ARRAY,
	VMS_JSON_OBJECT, /* children alternate: key (a string), value */
};

struct vms_json_node {
	uint32_t type;  /* enum vms_json_type */
	uint32_t start; /* offset of the span in the text */
	uint32_t len;
	uint32_t count; /* arrays: elements; objects: members; else 0 */
	uint32_t end;   /* index of the first node after this one's subtree */
};

struct vms_json {
	const char *text;
	size_t len;
	struct vms_json_node *nodes;
	uint32_t n; /* nodes used; node 0 is the root */
};

#define VMS_JSON_TEXT_MAX (UINT32_C(1) << 30) /* offsets are 32-bit */

/*
 * Parses text[0..len) (one value, whitespace around it) into nodes[0..max_nodes). Returns 0,
 * or -1 with err saying what and at which offset: bad syntax, a NUL or control character in a
 * string, more than max_nodes values, nesting deeper than max_depth, or text over
 * VMS_JSON_TEXT_MAX.
 */
int vms_json_parse(struct vms_json *j, const char *text, size_t len, struct vms_json_node *nodes,
                   uint32_t max_nodes, unsigned max_depth, char *err, size_t errsz);

/* The value of an object's member whose key is exactly key (no escapes in it), or -1. When
 * a key repeats, the first wins. */
int vms_json_member(const struct vms_json *j, uint32_t obj, const char *key);

/* The first child of an array or object (an object's first key), or -1 if it has none. Walk
 * on with nodes[i].end (past an object's key: i + 1 is its value). */
int vms_json_first(const struct vms_json *j, uint32_t node);

/* A number that is a whole non-negative integer (no sign, fraction or exponent) no larger than
 * max: 0 with *out set, else -1. */
int vms_json_u64(const struct vms_json *j, uint32_t node, uint64_t max, uint64_t *out);

/*
 * A string, unescaped into out (NUL-terminated): 0, or -1 if it is not a string, does not fit
 * in outsz - 1 bytes, or holds a NUL or a \u escape beyond ASCII (names we keep are ASCII).
 */
int vms_json_string(const struct vms_json *j, uint32_t node, char *out, size_t outsz);

/* 1 if the string node equals s exactly (no escapes in it), else 0. */
int vms_json_string_is(const struct vms_json *j, uint32_t node, const char *s);

#endif

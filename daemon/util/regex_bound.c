/*
 * The bounds of regex_bound.h, checked by one pass over the pattern that tracks, per group,
 * whether it contains a repetition and how many atoms it makes once written out.
 *
 * Measured on glibc 2.36 (time and peak RSS of regcomp alone): '^(a+)' followed by 15 '+'
 * takes 44 MB, by 18 '+' 368 MB and 3.7 s, doubling with each '+';
 * '((a{255}){255}){255}' 1 GB and 15 s. '*' and '?' are not written out: 30 stacked or
 * nested cost nothing. Within the bounds, the worst we found is 16 '[[:alpha:][:digit:]]{1,255}'
 * in a UTF-8 locale: 21 MB and 0.4 s; realistic filters take microseconds.
 *
 * No memory cap around regcomp: setrlimit(RLIMIT_AS) is process-wide and would cap the running
 * daemon and libvirt's threads with it, and a regex_t compiled in a forked child cannot be
 * handed back, so the daemon would compile the pattern again uncapped. Since the bounds cap
 * what regcomp can cost, the check alone is the defence.
 */
#include "daemon/util/regex_bound.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One open group: its atoms so far (the current atom excluded), and whether it repeats any. */
struct rb_group {
	size_t pieces;
	bool repeats;
};

struct rb_scan {
	const char *pattern;
	struct rb_group group[VMS_REGEX_MAX_LEN + 1]; /* [0] is the whole pattern */
	unsigned depth;
	/* The current atom: what a repetition here would apply to. */
	bool have_atom;
	bool atom_repeated;   /* a repetition already applies to it */
	bool atom_has_repeat; /* a group with a repetition inside */
	size_t atom_pieces;
	char *why;
	size_t whysz;
};

/* The current atom joins its group. */
static void
rb_commit(struct rb_scan *s)
{
	if (s->have_atom)
		s->group[s->depth].pieces += s->atom_pieces;
	s->have_atom = false;
}

static void
rb_atom(struct rb_scan *s, size_t pieces, bool has_repeat)
{
	rb_commit(s);
	s->have_atom = true;
	s->atom_repeated = false;
	s->atom_has_repeat = has_repeat;
	s->atom_pieces = pieces;
}

static void
rb_open(struct rb_scan *s)
{
	rb_commit(s);
	s->depth++;
	s->group[s->depth] = (struct rb_group){0, false};
}

/* ')' closes the innermost group, which becomes the current atom of the one around it. */
static void
rb_close(struct rb_scan *s)
{
	rb_commit(s);
	struct rb_group g = s->group[s->depth--];
	rb_atom(s, g.pieces + 1, g.repeats);
	s->group[s->depth].repeats |= g.repeats; /* a repetition anywhere inside counts */
}

/*
 * A repetition, the text q (qlen bytes), writing its atom out factor times; optional: at most
 * once ('?', '{0,1}'), which glibc does not copy.
 */
static int
rb_repeat(struct rb_scan *s, const char *q, size_t qlen, size_t factor, bool optional)
{
	const char *refused = NULL;
	if (s->have_atom && s->atom_repeated)
		refused =
		    "what is already repeated (stacked repetitions multiply what regcomp builds)";
	else if (s->have_atom && s->atom_has_repeat && !optional)
		refused = "a group that contains a repetition (nested repetitions multiply what "
		          "regcomp builds; only '?' may apply to such a group)";
	if (refused) {
		snprintf(s->why, s->whysz, "'%.*s' at offset %zu repeats %s",
		         qlen > 16 ? 16 : (int)qlen, q, (size_t)(q - s->pattern), refused);
		return -1;
	}
	if (!s->have_atom) /* nothing to repeat: regcomp says so, unless stacked on */
		rb_atom(s, 0, false);
	s->atom_repeated = true;
	s->atom_pieces *= factor;
	s->group[s->depth].repeats = true;
	return 0;
}

/* A count of a {n,m} at *p: digits, at most VMS_REGEX_MAX_COUNT; -1 if none. */
static long
rb_count(const char **p)
{
	long n = -1;
	for (; **p >= '0' && **p <= '9'; (*p)++) {
		n = (n < 0 ? 0 : n) * 10 + (**p - '0');
		if (n > VMS_REGEX_MAX_COUNT)
			n = VMS_REGEX_MAX_COUNT + 1; /* saturated: only "too large" matters */
	}
	return n;
}

/*
 * '{' at p: a well-formed {n}, {n,}, {n,m} or {,m} is a repetition; anything else is left to
 * regcomp as an atom (it refuses it, or reads a literal '{'). Returns the bytes consumed, or
 * -1 if refused.
 */
static long
rb_interval(struct rb_scan *s, const char *p)
{
	const char *e = p + 1;
	long n = rb_count(&e), m = n;
	bool comma = *e == ',';
	if (comma) {
		e++;
		m = rb_count(&e);
	}
	if (*e != '}' || (n < 0 && m < 0)) {
		rb_atom(s, 1, false);
		return 1;
	}
	size_t len = (size_t)(e + 1 - p);
	if (n > VMS_REGEX_MAX_COUNT || m > VMS_REGEX_MAX_COUNT) {
		snprintf(s->why, s->whysz,
		         "'%.*s' at offset %zu counts beyond %d (each count is a copy for regcomp)",
		         len > 16 ? 16 : (int)len, p, (size_t)(p - s->pattern),
		         VMS_REGEX_MAX_COUNT);
		return -1;
	}
	bool unbounded = comma && m < 0;
	size_t factor = unbounded ? (size_t)n + 1 : (size_t)(m < 0 ? n : m);
	if (rb_repeat(s, p, len, factor, !unbounded && factor <= 1) < 0)
		return -1;
	return (long)len;
}

/* A bracket expression at p ('[' ... ']'): its length, or all that is left if unterminated. */
static size_t
rb_bracket(const char *p)
{
	const char *e = p + 1;
	if (*e == '^')
		e++;
	if (*e == ']')
		e++;
	while (*e && *e != ']') {
		if (e[0] == '[' && (e[1] == ':' || e[1] == '.' || e[1] == '=')) {
			char close[3] = {e[1], ']', '\0'};
			const char *c = strstr(e + 2, close);
			if (!c)
				return strlen(p);
			e = c + 2;
		} else {
			e++;
		}
	}
	return *e ? (size_t)(e + 1 - p) : strlen(p);
}

/* One token at p: its length, or -1 if refused. */
static long
rb_token(struct rb_scan *s, const char *p)
{
	switch (*p) {
	case '(':
		rb_open(s);
		return 1;
	case ')':
		if (s->depth == 0)
			rb_atom(s, 1, false); /* glibc reads an unmatched ')' as itself */
		else
			rb_close(s);
		return 1;
	case '|':
		rb_commit(s);
		return 1;
	case '*':
	case '?':
		return rb_repeat(s, p, 1, 1, *p == '?') < 0 ? -1 : 1;
	case '+':
		return rb_repeat(s, p, 1, 2, false) < 0 ? -1 : 1; /* glibc writes x+ as xx* */
	case '{':
		return rb_interval(s, p);
	case '[':
		rb_atom(s, 1, false);
		return (long)rb_bracket(p);
	case '\\':
		if (p[1] >= '1' && p[1] <= '9') {
			snprintf(
			    s->why, s->whysz,
			    "'\\%c' at offset %zu is a back-reference (not extended regex syntax, "
			    "and glibc's matcher can crash on them)",
			    p[1], (size_t)(p - s->pattern));
			return -1;
		}
		rb_atom(s, 1, false);
		return p[1] ? 2 : 1;
	default:
		rb_atom(s, 1, false);
		return 1;
	}
}

int
vms_regex_check(const char *pattern, char *why, size_t whysz)
{
	size_t len = strlen(pattern);
	if (len > VMS_REGEX_MAX_LEN) {
		snprintf(why, whysz, "it is %zu bytes long, more than %d", len, VMS_REGEX_MAX_LEN);
		return -1;
	}
	struct rb_scan s = {.pattern = pattern, .why = why, .whysz = whysz};
	for (const char *p = pattern; *p;) {
		long n = rb_token(&s, p);
		if (n < 0)
			return -1;
		p += n;
	}
	while (s.depth > 0) /* unclosed: regcomp refuses it, but count it all */
		rb_close(&s);
	rb_commit(&s);
	if (s.group[0].pieces > VMS_REGEX_MAX_PIECES) {
		snprintf(why, whysz,
		         "written out (x{3} as xxx, x+ as xx*) it makes %zu atoms, more than %d",
		         s.group[0].pieces, VMS_REGEX_MAX_PIECES);
		return -1;
	}
	return 0;
}

int
vms_regex_compile(regex_t *re, const char *pattern, char *err, size_t errsz)
{
	char why[256];
	if (vms_regex_check(pattern, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "is refused before compiling: %s", why);
		return -1;
	}
	int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, why, sizeof(why));
		snprintf(err, errsz, "is not an extended regular expression: %s", why);
		return -1;
	}
	return 0;
}

/* The bounds on configured regexes: realistic filters pass, costly shapes are refused, fast. */
#include "daemon/util/regex_bound.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* The reason vms_regex_check gives, or "(accepted)". */
static const char *
why_of(const char *pattern)
{
	static char why[256];
	if (vms_regex_check(pattern, why, sizeof(why)) == 0)
		snprintf(why, sizeof(why), "(accepted)");
	return why;
}

static void
test_accepted(void)
{
	static const char *const ok[] = {
	    "^(web|db)-[0-9]+$",
	    "^dvm[0-9]+$",
	    "prod|staging",
	    "^[a-z0-9-]{1,63}$",
	    "^web(-[0-9]+)?$",          /* an optional group with a repetition inside */
	    "^(a|b)*$",                 /* a repeated group without one */
	    "^[]a-z]+\\.example$",      /* ']' first in a bracket, an escaped '.' */
	    "^[^]]+$",                  /* ']' after '^' */
	    "[[:alpha:]]+[[.-.]]*",     /* classes and collating symbols are one atom */
	    "x{,5}y{2,}z{0,255}",       /* every form of count, up to the bound */
	    "a)",                       /* glibc reads an unmatched ')' as itself */
	    "caf\xc3\xa9|\xe2\x82\xac", /* UTF-8 */
	    "",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!CHECK_STR(why_of(ok[i]), "(accepted)"))
			fprintf(stderr, "  pattern: %s\n", ok[i]);
}

static void
test_stacked_and_nested(void)
{
	CHECK_STR(why_of("^(a+)+++++++++++++++++++++++++$"),
	          "'+' at offset 5 repeats a group that contains a repetition (nested repetitions "
	          "multiply what regcomp builds; only '?' may apply to such a group)");
	CHECK_STR(why_of("a++"), "'+' at offset 2 repeats what is already repeated (stacked "
	                         "repetitions multiply what regcomp builds)");
	CHECK_STR(why_of("(a*)*"), "'*' at offset 4 repeats a group that contains a repetition "
	                           "(nested repetitions multiply what regcomp builds; only '?' may "
	                           "apply to such a group)");
	CHECK(strncmp(why_of("x(a|b+)*"), "'*' at offset 7 repeats a group that contains", 45) ==
	      0);
	CHECK(strncmp(why_of("a{2}{3}"), "'{3}' at offset 4 repeats what is already repeated",
	              50) == 0);
	CHECK(strncmp(why_of("(a{2}){3}"), "'{3}' at offset 6 repeats a group", 33) == 0);
	CHECK(strncmp(why_of("((a+)b){0,}"), "'{0,}' at offset 7 repeats a group", 34) == 0);
	CHECK(strncmp(why_of("(x(y(a+)))*"), "'*' at offset 10 repeats a group", 32) == 0);
	CHECK(strncmp(why_of("((a+)?)+"), "'+' at offset 7 repeats a group", 31) == 0);
	CHECK(strncmp(why_of("(a+)??"), "'?' at offset 5 repeats what is already", 39) == 0);
	CHECK(strncmp(why_of("a*?"), "'?' at offset 2 repeats what is already", 39) == 0);
	CHECK(strncmp(why_of("|*+"), "'+' at offset 2 repeats what is already", 39) == 0);
	/* An unclosed group still counts as one for what follows it. */
	CHECK(strncmp(why_of("(a+"), "(accepted)", 10) == 0);
	/* Brackets hide their specials: '+' in a bracket repeats nothing. */
	CHECK_STR(why_of("[+*]+[(]*"), "(accepted)");
	CHECK(strncmp(why_of("[a+]++"), "'+' at offset 5 repeats what", 28) == 0);
}

static void
test_counts_and_size(void)
{
	CHECK_STR(why_of("a{256}"),
	          "'{256}' at offset 1 counts beyond 255 (each count is a copy for regcomp)");
	CHECK_STR(why_of("a{1,99999999999999999999}"),
	          "'{1,9999999999999' at offset 1 counts beyond 255 (each count is a copy for "
	          "regcomp)");
	CHECK_STR(why_of("a{300,}"),
	          "'{300,}' at offset 1 counts beyond 255 (each count is a copy for regcomp)");
	/* Not a count: left to regcomp, which refuses or reads a '{'. */
	CHECK_STR(why_of("a{x}"), "(accepted)");
	CHECK_STR(why_of("a{"), "(accepted)");

	char long_re[VMS_REGEX_MAX_LEN + 2];
	memset(long_re, 'a', VMS_REGEX_MAX_LEN);
	long_re[VMS_REGEX_MAX_LEN] = '\0';
	CHECK_STR(why_of(long_re), "(accepted)");
	strcat(long_re, "a");
	CHECK_STR(why_of(long_re), "it is 513 bytes long, more than 512");

	/* 16 pieces of 255 copies and a few more atoms pass; past 4096 atoms, refused. */
	char many[512] = "";
	for (int i = 0; i < 16; i++)
		strcat(many, "[[:alpha:]]{1,255}");
	CHECK_STR(why_of(many), "(accepted)");
	strcat(many, "(ab){3}");
	CHECK_STR(why_of(many), "(accepted)"); /* 4089 atoms */
	strcat(many, "a+a+a+a+");
	CHECK_STR(why_of(many),
	          "written out (x{3} as xxx, x+ as xx*) it makes 4097 atoms, more than 4096");
}

static void
test_backreferences(void)
{
	/* "(|)(\1\1)*" overflows the stack in glibc's regexec (CVE-2018-20796). */
	CHECK_STR(why_of("(|)(\\1\\1)*"),
	          "'\\1' at offset 4 is a back-reference (not extended regex syntax, and glibc's "
	          "matcher can crash on them)");
	CHECK_STR(why_of("\\.\\w\\\\"), "(accepted)"); /* other escapes are atoms */
	CHECK_STR(why_of("a\\"), "(accepted)");        /* regcomp refuses the trailing '\' */
}

static void
test_compile(void)
{
	regex_t re;
	char err[512];
	CHECK_INT(vms_regex_compile(&re, "^(web|db)-[0-9]+$", err, sizeof(err)), 0);
	CHECK_INT(regexec(&re, "web-12", 0, NULL, 0), 0);
	CHECK(regexec(&re, "web-", 0, NULL, 0) != 0);
	regfree(&re);

	CHECK_INT(vms_regex_compile(&re, "([", err, sizeof(err)), -1);
	CHECK(strncmp(err, "is not an extended regular expression: ", 39) == 0);

	/* The pattern of the report (~3.9 GB in regcomp) is refused before regcomp, at once. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(vms_regex_compile(&re, "^(a+)+++++++++++++++++++++++++$", err, sizeof(err)), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_STR(err,
	          "is refused before compiling: '+' at offset 5 repeats a group that contains "
	          "a repetition (nested repetitions multiply what regcomp builds; only '?' may "
	          "apply to such a group)");
	CHECK((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 100000000L);
}

int
main(void)
{
	test_accepted();
	test_stacked_and_nested();
	test_counts_and_size();
	test_backreferences();
	test_compile();
	return check_done("test_regex_bound");
}

/*
 * Configured regular expressions, bounded before glibc's regcomp sees them. regcomp writes a
 * '+' or a counted repetition out as copies of what it repeats, so a repetition of a repetition
 * multiplies: '^(a+)+++++++++++++++++++++++++$' takes ~3.9 GB before it fails. Every configured
 * regex is compiled through vms_regex_compile, never by regcomp directly.
 */
#ifndef VMSCALE_UTIL_REGEX_BOUND_H
#define VMSCALE_UTIL_REGEX_BOUND_H

#include <regex.h>
#include <stddef.h>

#define VMS_REGEX_MAX_LEN 512     /* bytes of the pattern */
#define VMS_REGEX_MAX_COUNT 255   /* the largest n or m of a {n,m} */
#define VMS_REGEX_MAX_PIECES 4096 /* atoms, once every repetition is written out */

/*
 * 0 if pattern (a POSIX extended regex) stays within the bounds: at most VMS_REGEX_MAX_LEN
 * bytes; no repetition of what is already repeated ('a++', 'a{2}{3}'); no repetition of a
 * group that contains one ('(a+)+', '(a|b*)*'), except making it optional ('(-[0-9]+)?'); no
 * count above VMS_REGEX_MAX_COUNT; at most VMS_REGEX_MAX_PIECES atoms once written out (x{3}
 * as xxx, x+ as xx*); no back-reference ('\1': not ERE, and glibc's matcher can crash on them).
 * Else -1, and why says which rule, where. Syntax errors are left to regcomp.
 */
int vms_regex_check(const char *pattern, char *why, size_t whysz);

/*
 * vms_regex_check, then regcomp(REG_EXTENDED | REG_NOSUB). On failure -1 and err holds a
 * phrase to follow the quoted pattern: "is refused before compiling: ..." or "is not an
 * extended regular expression: ...". On success the caller owns re (regfree).
 */
int vms_regex_compile(regex_t *re, const char *pattern, char *err, size_t errsz);

#endif

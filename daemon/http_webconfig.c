/* The exporter-toolkit web config file, the subset vmscaled serves (see http_webconfig.h). */
#include "daemon/http_webconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/util/alloc.h"

enum section { SEC_NONE, SEC_TLS, SEC_USERS };

struct parser {
	const char *path;
	unsigned line;
	char *err;
	size_t errsz;
	struct vms_webconfig *wc;
	enum section section;
	unsigned child_indent; /* spaces before the current section's keys, 0 until known */
	unsigned tls_line;     /* where tls_server_config began, 0 if absent */
	unsigned users_line;   /* where basic_auth_users began, 0 if absent */
	bool content;          /* a key was seen: "---" may only come before */
	char value[VMS_WEBCONFIG_MAX_LINE + 1];
};

static int __attribute__((format(printf, 2, 3))) fail(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errsz, "%s:%u: %s", p->path, p->line, msg);
	return -1;
}

/* A single-quoted ('' is a quote) or double-quoted (\\ and \" only) scalar, on one line. */
static int
quoted(struct parser *p, const char **s, char *out, size_t outsz)
{
	char q = **s;
	size_t n = 0;
	for (const char *c = *s + 1;; c++) {
		char ch = *c;
		if (ch == '\0')
			return fail(p, "unterminated quoted string (it must end on its line)");
		if (ch == q && q == '\'' && c[1] == '\'') {
			c++;
		} else if (ch == q) {
			*s = c + 1;
			out[n] = '\0';
			return 0;
		} else if (ch == '\\' && q == '"') {
			if (c[1] != '\\' && c[1] != '"')
				return fail(p, "escape \\%c is not supported (only \\\\ and \\\")",
				            c[1] ? c[1] : ' ');
			ch = *++c;
		}
		if (n + 1 >= outsz)
			return fail(p, "quoted string too long");
		out[n++] = ch;
	}
}

/*
 * A scalar at *s, advanced past it: quoted, or plain up to ": " (a key) or " #" (a value),
 * trailing spaces cut. YAML that is not a flat mapping of scalars is refused by its first
 * character rather than misread.
 */
static int
scalar(struct parser *p, const char **s, char *out, size_t outsz, bool key)
{
	const char *c = *s;
	if (*c == '\'' || *c == '"')
		return quoted(p, s, out, outsz);
	if (strchr("[]{}&*!|>%@`,", *c))
		return fail(p,
		            "'%c': YAML flow style, anchors, tags and block scalars are not "
		            "supported, only \"key: value\" lines",
		            *c);
	if ((*c == '-' || *c == '?') && (c[1] == ' ' || c[1] == '\0'))
		return fail(p,
		            "lists and complex keys are not supported, only \"key: value\" lines");
	const char *end = c;
	while (*end && !(key && *end == ':' && (end[1] == ' ' || end[1] == '\0')) &&
	       !(end > c && *end == '#' && end[-1] == ' '))
		end++;
	*s = end;
	while (end > c && end[-1] == ' ')
		end--;
	size_t n = (size_t)(end - c);
	if (!key && memmem(c, n, ": ", 2))
		return fail(p, "a value holding \": \" must be quoted");
	if (n >= outsz)
		return fail(p, "too long");
	memcpy(out, c, n);
	out[n] = '\0';
	return 0;
}

/* "key: value # comment" or "key:" at s; value empty when absent. */
static int
key_value(struct parser *p, const char *s, char *key, size_t keysz)
{
	bool quoted_key = *s == '\'' || *s == '"';
	if (scalar(p, &s, key, keysz, true) < 0)
		return -1;
	while (quoted_key && *s == ' ')
		s++;
	if (*s != ':' || (s[1] != ' ' && s[1] != '\0'))
		return fail(p, "expected \"key: value\"");
	s++;
	while (*s == ' ')
		s++;
	p->value[0] = '\0';
	if (*s && *s != '#' && scalar(p, &s, p->value, sizeof(p->value), false) < 0)
		return -1;
	while (*s == ' ')
		s++;
	if (*s && *s != '#')
		return fail(p, "unexpected text after the value");
	return 0;
}

static int
top_key(struct parser *p, const char *key)
{
	unsigned *line = strcmp(key, "tls_server_config") == 0  ? &p->tls_line
	                 : strcmp(key, "basic_auth_users") == 0 ? &p->users_line
	                                                        : NULL;
	if (!line)
		return fail(p,
		            "unknown or unsupported key '%s': vmscaled reads tls_server_config and "
		            "basic_auth_users only",
		            key);
	if (*line)
		return fail(p, "'%s' appears twice (first on line %u)", key, *line);
	if (p->value[0])
		return fail(p, "'%s' must be a mapping, its keys on the lines below it", key);
	*line = p->line;
	p->section = line == &p->tls_line ? SEC_TLS : SEC_USERS;
	p->child_indent = 0;
	return 0;
}

/* A TLS file: absolute, or relative to the web config file's folder. */
static char *
resolve(const char *config_path, const char *file)
{
	const char *slash = strrchr(config_path, '/');
	if (file[0] == '/' || !slash)
		return vms_xstrdup(file);
	size_t dir = (size_t)(slash - config_path) + 1;
	char *out = vms_xcalloc(1, dir + strlen(file) + 1);
	memcpy(out, config_path, dir);
	strcpy(out + dir, file);
	return out;
}

static int
tls_key(struct parser *p, const char *key)
{
	char **field = strcmp(key, "cert_file") == 0  ? &p->wc->tls_cert
	               : strcmp(key, "key_file") == 0 ? &p->wc->tls_key
	                                              : NULL;
	if (!field)
		return fail(p,
		            "'%s' of tls_server_config is not supported: vmscaled reads cert_file "
		            "and key_file only",
		            key);
	if (*field)
		return fail(p, "'%s' appears twice", key);
	if (!p->value[0])
		return fail(p, "'%s' needs a file name", key);
	*field = resolve(p->path, p->value);
	return 0;
}

/* "$2y$" (or $2b$, $2a$), a cost of 04..31, "$", then 53 characters of bcrypt's base64. */
static bool
is_bcrypt(const char *h)
{
	if (strlen(h) != VMS_WEBCONFIG_BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
	    !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$')
		return false;
	int cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || cost < 4 || cost > 31)
		return false;
	for (const char *c = h + 7; *c; c++)
		if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", *c))
			return false;
	return true;
}

static int
user_key(struct parser *p, const char *name)
{
	struct vms_webconfig *wc = p->wc;
	if (!name[0])
		return fail(p, "an empty user name");
	if (strchr(name, ':'))
		return fail(p, "user '%s': a name cannot hold ':' (HTTP basic auth splits there)",
		            name);
	if (strlen(name) > VMS_WEBCONFIG_MAX_USER)
		return fail(p, "a user name longer than %d bytes", VMS_WEBCONFIG_MAX_USER);
	for (size_t i = 0; i < wc->nusers; i++)
		if (strcmp(wc->users[i].name, name) == 0)
			return fail(p, "user '%s' appears twice", name);
	if (wc->nusers == VMS_WEBCONFIG_MAX_USERS)
		return fail(p, "more than %d users", VMS_WEBCONFIG_MAX_USERS);
	if (!is_bcrypt(p->value))
		return fail(p,
		            "user '%s': not a bcrypt hash ($2y$, $2b$ or $2a$, %d characters; make "
		            "one with: htpasswd -nbBC 10 USER PASSWORD)",
		            name, VMS_WEBCONFIG_BCRYPT_LEN);
	wc->users = vms_xrealloc(wc->users, wc->nusers + 1, sizeof(*wc->users));
	struct vms_webconfig_user *u = &wc->users[wc->nusers++];
	u->name = vms_xstrdup(name);
	memcpy(u->hash, p->value, sizeof(u->hash));
	return 0;
}

static int
child_key(struct parser *p, unsigned indent, const char *key)
{
	if (p->section == SEC_NONE)
		return fail(p, "an indented line outside tls_server_config and basic_auth_users");
	if (!p->child_indent)
		p->child_indent = indent;
	else if (indent != p->child_indent)
		return fail(p, "indented by %u spaces, the section's first key by %u", indent,
		            p->child_indent);
	return p->section == SEC_TLS ? tls_key(p, key) : user_key(p, key);
}

/* One line (without its LF) of n bytes. */
static int
parse_line(struct parser *p, const char *text, size_t n)
{
	char line[VMS_WEBCONFIG_MAX_LINE + 1], key[VMS_WEBCONFIG_MAX_LINE + 1];
	if (n && text[n - 1] == '\r')
		n--;
	if (n > VMS_WEBCONFIG_MAX_LINE)
		return fail(p, "line longer than %d bytes", VMS_WEBCONFIG_MAX_LINE);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\t')
			return fail(p, "a tab: YAML indents with spaces");
		if (c < 0x20 || c == 0x7f)
			return fail(p, "control character 0x%02x", c);
		line[i] = (char)c;
	}
	line[n] = '\0';
	unsigned indent = (unsigned)strspn(line, " ");
	const char *s = line + indent;
	if (*s == '\0' || *s == '#')
		return 0;
	if (indent == 0 && strncmp(s, "---", 3) == 0 && (s[3] == '\0' || s[3] == ' ')) {
		if (p->content)
			return fail(p, "a second YAML document is not supported");
		return 0;
	}
	p->content = true;
	if (key_value(p, s, key, sizeof(key)) < 0)
		return -1;
	return indent == 0 ? top_key(p, key) : child_key(p, indent, key);
}

int
vms_webconfig_parse(struct vms_webconfig *wc, const char *path, const char *text, size_t len,
                    char *err, size_t errsz)
{
	memset(wc, 0, sizeof(*wc));
	struct parser *p = vms_xcalloc(1, sizeof(*p));
	*p = (struct parser){.path = path, .err = err, .errsz = errsz, .wc = wc};
	int rc = 0;
	if (len > VMS_WEBCONFIG_MAX_FILE)
		rc = fail(p, "larger than %d bytes", VMS_WEBCONFIG_MAX_FILE);
	for (size_t at = 0; rc == 0 && at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		p->line++;
		rc = parse_line(p, text + at, n);
		at += n + 1;
	}
	if (rc == 0 && p->tls_line && (!wc->tls_cert || !wc->tls_key)) {
		p->line = p->tls_line;
		rc = fail(p, "tls_server_config needs both cert_file and key_file");
	}
	free(p);
	if (rc < 0)
		vms_webconfig_fini(wc);
	return rc;
}

int
vms_webconfig_load(struct vms_webconfig *wc, const char *path, char *err, size_t errsz)
{
	memset(wc, 0, sizeof(*wc));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > VMS_WEBCONFIG_MAX_FILE) {
		snprintf(err, errsz, "%s: not a regular file of at most %d bytes", path,
		         VMS_WEBCONFIG_MAX_FILE);
		close(fd);
		return -1;
	}
	char *buf = vms_xcalloc(1, (size_t)sb.st_size + 1);
	size_t n = 0;
	ssize_t r = 1;
	while (n < (size_t)sb.st_size && r != 0) {
		r = read(fd, buf + n, (size_t)sb.st_size - n);
		if (r < 0 && errno != EINTR)
			break;
		n += r > 0 ? (size_t)r : 0;
	}
	int rc = -1;
	if (r < 0)
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
	else
		rc = vms_webconfig_parse(wc, path, buf, n, err, errsz);
	close(fd);
	free(buf);
	return rc;
}

void
vms_webconfig_fini(struct vms_webconfig *wc)
{
	if (!wc)
		return;
	free(wc->tls_cert);
	free(wc->tls_key);
	for (size_t i = 0; i < wc->nusers; i++)
		free(wc->users[i].name);
	if (wc->users)
		explicit_bzero(wc->users, wc->nusers * sizeof(*wc->users));
	free(wc->users);
	memset(wc, 0, sizeof(*wc));
}

void
vms_webconfig_free(struct vms_webconfig *wc)
{
	vms_webconfig_fini(wc);
	free(wc);
}

static char *
dup_or_null(const char *s)
{
	return s ? vms_xstrdup(s) : NULL;
}

struct vms_webconfig *
vms_webconfig_dup(const struct vms_webconfig *src)
{
	if (!src)
		return NULL;
	struct vms_webconfig *dst = vms_xcalloc(1, sizeof(*dst));
	dst->tls_cert = dup_or_null(src->tls_cert);
	dst->tls_key = dup_or_null(src->tls_key);
	dst->nusers = src->nusers;
	if (src->nusers) {
		dst->users = vms_xcalloc(src->nusers, sizeof(*dst->users));
		for (size_t i = 0; i < src->nusers; i++) {
			dst->users[i] = src->users[i];
			dst->users[i].name = vms_xstrdup(src->users[i].name);
		}
	}
	return dst;
}

static bool
same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool
vms_webconfig_same_tls(const struct vms_webconfig *a, const struct vms_webconfig *b)
{
	return same_string(a ? a->tls_cert : NULL, b ? b->tls_cert : NULL) &&
	       same_string(a ? a->tls_key : NULL, b ? b->tls_key : NULL);
}

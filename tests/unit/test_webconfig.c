/*
 * The exporter-toolkit web config: a good file, every error (named by file and line), relative
 * TLS paths; then basic auth on an Authorization header: the right password, a wrong one, an
 * unknown user, none, malformed headers, the cache, the bcrypt budget, users swapped live, and
 * the constant-time compare the checks rest on.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http_auth.h"
#include "daemon/http_webconfig.h"
#include "vmscale/clock.h"
#include "vmscale/token.h"
#include "check.h"

/* A bcrypt hash of password at cost 4 (fast), by libxcrypt. */
static void
make_hash(const char *password, char out[VMS_WEBCONFIG_BCRYPT_LEN + 1])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data = {0};
	CHECK(crypt_gensalt_rn("$2y$", 4, NULL, 0, salt, sizeof(salt)) != NULL);
	const char *h = crypt_r(password, salt, &data);
	CHECK(h && strlen(h) == VMS_WEBCONFIG_BCRYPT_LEN);
	snprintf(out, VMS_WEBCONFIG_BCRYPT_LEN + 1, "%s", h ? h : "");
}

static int
parse(struct vms_webconfig *wc, const char *text, char *err, size_t errsz)
{
	return vms_webconfig_parse(wc, "/etc/vmscale/web.yml", text, strlen(text), err, errsz);
}

static void
test_good(void)
{
	char h1[64], h2[64], text[1024], err[512] = "";
	make_hash("one", h1);
	make_hash("two", h2);
	snprintf(
	    text, sizeof(text),
	    "---\n# exporter-toolkit web config\ntls_server_config:\n  cert_file: tls/cert.pem\n"
	    "  key_file: \"/abs/key.pem\"  # a comment\n\nbasic_auth_users:\r\n"
	    "    alice: %s\n    'bob o''neil': '%s'\n",
	    h1, h2);
	struct vms_webconfig wc;
	CHECK_INT(parse(&wc, text, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(wc.tls_cert, "/etc/vmscale/tls/cert.pem"); /* from the file's folder */
	CHECK_STR(wc.tls_key, "/abs/key.pem");
	CHECK_INT(wc.nusers, 2);
	if (wc.nusers == 2) {
		CHECK_STR(wc.users[0].name, "alice");
		CHECK_STR(wc.users[0].hash, h1);
		CHECK_STR(wc.users[1].name, "bob o'neil");
		CHECK_STR(wc.users[1].hash, h2);
	}
	struct vms_webconfig *copy = vms_webconfig_dup(&wc);
	CHECK(vms_webconfig_same_tls(copy, &wc) && !vms_webconfig_same_tls(copy, NULL));
	CHECK_STR(copy->users[1].name, "bob o'neil");
	vms_webconfig_free(copy);
	vms_webconfig_fini(&wc);
	/* An empty file: no TLS, no users. */
	CHECK_INT(parse(&wc, "# nothing\n", err, sizeof(err)), 0);
	CHECK(wc.tls_cert == NULL && wc.nusers == 0);
	CHECK(vms_webconfig_same_tls(&wc, NULL));
}

static void
expect_error(const char *text, const char *want)
{
	struct vms_webconfig wc;
	char err[512] = "";
	CHECK_INT(parse(&wc, text, err, sizeof(err)), -1);
	if (!CHECK(strstr(err, want) != NULL))
		printf("  want '%s' in '%s'\n", want, err);
	CHECK(wc.users == NULL && wc.tls_cert == NULL); /* nothing half-filled */
}

static void
test_errors(void)
{
	char h[64], text[512];
	make_hash("pw", h);
	expect_error("http_server_config:\n  http2: false\n",
	             "web.yml:1: unknown or unsupported key 'http_server_config'");
	expect_error("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n",
	             "web.yml:4: 'client_ca_file' of tls_server_config is not supported");
	expect_error("\ntls_server_config:\n  cert_file: c\n", "web.yml:2: tls_server_config needs "
	                                                       "both cert_file and key_file");
	expect_error("tls_server_config: x\n", "web.yml:1: 'tls_server_config' must be a mapping");
	expect_error("basic_auth_users:\nbasic_auth_users:\n",
	             "web.yml:2: 'basic_auth_users' appears twice (first on line 1)");
	expect_error("tls_server_config:\n  cert_file: a\n  cert_file: b\n",
	             "web.yml:3: 'cert_file' appears twice");
	expect_error("tls_server_config:\n  cert_file:\n",
	             "web.yml:2: 'cert_file' needs a file name");
	expect_error("  alice: x\n", "web.yml:1: an indented line outside");
	snprintf(text, sizeof(text), "basic_auth_users:\n  a: %s\n   c: %s\n", h, h);
	expect_error(text, "web.yml:3: indented by 3 spaces");
	expect_error("basic_auth_users:\n\talice: x\n", "web.yml:2: a tab");
	expect_error("basic_auth_users:\n  alice: \x01\n", "web.yml:2: control character 0x01");
	expect_error("basic_auth_users: {}\n", "web.yml:1: '{': YAML flow style");
	expect_error("basic_auth_users:\n  - alice\n", "web.yml:2: lists and complex keys");
	expect_error("basic_auth_users:\n  alice: *anchor\n", "web.yml:2: '*': YAML flow style");
	expect_error("basic_auth_users:\n  alice: 'open\n", "web.yml:2: unterminated quoted");
	expect_error("basic_auth_users:\n  alice: \"a\\nb\"\n", "web.yml:2: escape \\n");
	expect_error("basic_auth_users:\n  alice 'x'\n", "web.yml:2: expected \"key: value\"");
	expect_error("basic_auth_users:\n  alice: 'x' y\n", "web.yml:2: unexpected text");
	expect_error("basic_auth_users:\n  alice: a: b\n", "web.yml:2: a value holding \": \"");
	expect_error("basic_auth_users:\n  alice: $1$abc$def\n", "web.yml:2: user 'alice': not a "
	                                                         "bcrypt hash");
	expect_error(
	    "basic_auth_users:\n  alice: $2y$03$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ0\n",
	    "not a bcrypt hash"); /* cost 3: below bcrypt's 4 */
	snprintf(text, sizeof(text), "basic_auth_users:\n  a:b: %s\n", h);
	expect_error(text, "web.yml:2: user 'a:b': a name cannot hold ':'");
	snprintf(text, sizeof(text), "basic_auth_users:\n  '': %s\n", h);
	expect_error(text, "web.yml:2: an empty user name");
	snprintf(text, sizeof(text), "basic_auth_users:\n  a: %s\n  a: %s\n", h, h);
	expect_error(text, "web.yml:3: user 'a' appears twice");
	expect_error("---\nbasic_auth_users:\n---\n", "web.yml:3: a second YAML document");

	/* Bounds: line length, file size, number of users. */
	char *big = calloc(1, VMS_WEBCONFIG_MAX_FILE + 2);
	memset(big, '#', VMS_WEBCONFIG_MAX_LINE + 1);
	expect_error(big, "web.yml:1: line longer than 1024 bytes");
	memset(big, '\n', VMS_WEBCONFIG_MAX_FILE + 1);
	expect_error(big, "larger than 65536 bytes");
	size_t n = (size_t)snprintf(big, 32, "basic_auth_users:\n");
	for (int i = 0; i <= VMS_WEBCONFIG_MAX_USERS; i++)
		n += (size_t)snprintf(big + n, 128, "  u%d: %s\n", i, h);
	expect_error(big, "web.yml:66: more than 64 users");
	free(big);

	struct vms_webconfig wc;
	char err[512];
	CHECK_INT(vms_webconfig_parse(&wc, "w.yml", "a\0b", 3, err, sizeof(err)), -1);
	CHECK(strstr(err, "w.yml:1: control character 0x00") != NULL);
	CHECK_INT(vms_webconfig_load(&wc, "/nonexistent/web.yml", err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/web.yml: cannot read: No such file") != NULL);
	CHECK_INT(vms_webconfig_load(&wc, "/", err, sizeof(err)), -1);
	CHECK(strstr(err, "/: not a regular file") != NULL);
}

static void
test_ct_equal(void)
{
	CHECK(vms_ct_equal("abc", "abc", 3) && vms_ct_equal("", "x", 0));
	CHECK(!vms_ct_equal("abc", "abd", 3) && !vms_ct_equal("xbc", "abc", 3));
	char a[64] = "0123456789abcdef0123456789abcdef", b[64];
	memcpy(b, a, sizeof(b));
	CHECK(vms_token_equal(a, b));
	b[31] = 'e';
	CHECK(!vms_token_equal(a, b));
}

/* "Basic " + base64 of s. */
static void
basic(const char *s, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = (size_t)sprintf(out, "Basic ");
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(unsigned char)s[i] << 16;
		v |= i + 1 < n ? (unsigned)(unsigned char)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? (unsigned char)s[i + 2] : 0;
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static void
test_check(void)
{
	char h[64], text[256], err[256], hdr[256];
	make_hash("s3cret", h);
	snprintf(text, sizeof(text), "basic_auth_users:\n  prometheus: %s\n", h);
	struct vms_webconfig wc;
	CHECK_INT(parse(&wc, text, err, sizeof(err)), 0);
	struct vms_http_auth *a = vms_http_auth_new();
	uint64_t t = 1000 * NS_PER_S;
	CHECK_INT(vms_http_auth_check(a, NULL, t), VMS_AUTH_OK); /* no users: open */
	vms_http_auth_set_users(a, &wc);
	CHECK_INT(vms_http_auth_check(a, NULL, t), VMS_AUTH_MISSING);
	basic("prometheus:s3cret", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_OK);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_OK); /* from the cache */
	basic("prometheus:s3cre", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_WRONG);
	basic("prometheus:s3cret\x01", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_WRONG);
	basic("grafana:s3cret", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_WRONG);
	basic("prometheus", hdr); /* no colon */
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_MALFORMED);
	static const char *const malformed[] = {
	    "Bearer abc",
	    "Basic",
	    "Basic ",
	    "Basic cHJvbWV0aGV1cw",
	    "Basic cHJv=bWV0",
	    "Basic cHJvbWV0aGV1cz!z",
	    "Basic cHJvbWV0aGV1czpz3 x",
	    "Basicx cHJv",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		CHECK_INT(vms_http_auth_check(a, malformed[i], t), VMS_AUTH_MALFORMED);
	char *huge = calloc(1, 4000);
	memset(huge, 'A', 3999);
	memcpy(huge, "Basic ", 6);
	CHECK_INT(vms_http_auth_check(a, huge, t), VMS_AUTH_MALFORMED);
	free(huge);
	basic("prometheus:s3cret", hdr);
	CHECK_INT(vms_http_auth_check(a, strcpy(err, "basic   ") ? strcat(err, hdr + 6) : hdr, t),
	          VMS_AUTH_OK); /* the scheme without case, spaces before the token */

	/* The budget: guesses beyond the burst are refused (429) without bcrypt, while a
	 * cached scraper still gets through; it refills with time. */
	basic("prometheus:guess", hdr);
	int wrong = 0, busy = 0;
	for (int i = 0; i < 30; i++) {
		enum vms_http_auth_verdict v = vms_http_auth_check(a, hdr, t);
		wrong += v == VMS_AUTH_WRONG;
		busy += v == VMS_AUTH_BUSY;
	}
	CHECK(wrong >= 1 && wrong <= VMS_HTTP_AUTH_VERIFY_BURST && busy == 30 - wrong);
	basic("prometheus:s3cret", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_OK);
	CHECK_INT(vms_http_auth_check(a, hdr, t + (VMS_HTTP_AUTH_CACHE_TTL_S + 1) * NS_PER_S),
	          VMS_AUTH_OK); /* expired: bcrypt again, the budget refilled meanwhile */

	struct vms_http_unauthorized u;
	vms_http_auth_counts(a, &u);
	CHECK_INT(u.missing, 1);
	CHECK_INT(u.malformed, 1 + 8 + 1);
	CHECK_INT(u.wrong, 3 + wrong);
	CHECK_INT(u.busy, busy);

	/* Users swapped live: the old password no longer passes, cached or not. */
	vms_webconfig_fini(&wc);
	make_hash("n3w", h);
	snprintf(text, sizeof(text), "basic_auth_users:\n  prometheus: %s\n", h);
	CHECK_INT(parse(&wc, text, err, sizeof(err)), 0);
	vms_http_auth_set_users(a, &wc);
	t += 100 * NS_PER_S;
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_WRONG);
	basic("prometheus:n3w", hdr);
	CHECK_INT(vms_http_auth_check(a, hdr, t), VMS_AUTH_OK);
	vms_http_auth_set_users(a, NULL); /* off again */
	CHECK_INT(vms_http_auth_check(a, NULL, t), VMS_AUTH_OK);
	vms_http_auth_free(a);
	vms_webconfig_fini(&wc);
}

int
main(void)
{
	test_good();
	test_errors();
	test_ct_equal();
	test_check();
	return check_done("test_webconfig");
}

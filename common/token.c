/* Tokens (see vmscale/token.h). */
#include "vmscale/token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

bool
vms_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool
vms_token_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < VMS_TOKEN_LEN; i++)
		if (!vms_hex_digit(s[i]))
			return false;
	return s[VMS_TOKEN_LEN] == '\0';
}

bool
vms_token_equal(const char *a, const char *b)
{
	if (!vms_token_valid(a) || !vms_token_valid(b))
		return false;
	return vms_ct_equal(a, b, VMS_TOKEN_LEN);
}

bool
vms_ct_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	return diff == 0;
}

bool
vms_token_parse(const char *buf, size_t n, char out[VMS_TOKEN_LEN + 1])
{
	if (n == VMS_TOKEN_LEN + 1 && buf[VMS_TOKEN_LEN] == '\n')
		n--;
	if (n != VMS_TOKEN_LEN)
		return false;
	char tok[VMS_TOKEN_LEN + 1];
	memcpy(tok, buf, VMS_TOKEN_LEN);
	tok[VMS_TOKEN_LEN] = '\0';
	if (!vms_token_valid(tok))
		return false;
	memcpy(out, tok, sizeof(tok));
	return true;
}

int
vms_token_new(char out[VMS_TOKEN_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[VMS_TOKEN_LEN / 2];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0xf];
	}
	out[VMS_TOKEN_LEN] = '\0';
	return 0;
}

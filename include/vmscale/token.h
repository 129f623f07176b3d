/*
 * Tokens: 128 random bits as 32 lowercase hex digits. They tie a tcp probe connection or a
 * network-probe transfer to one domain, so they are made from getrandom and compared in
 * constant time. Pure C, for the probe and the daemon alike.
 */
#ifndef VMSCALE_TOKEN_H
#define VMSCALE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define VMS_TOKEN_LEN 32 /* hex digits: 128 bits */

/* True if c is one of 0-9 a-f: tokens are lowercase, so that one secret has one spelling. */
bool vms_hex_digit(char c);
/* True if s is exactly VMS_TOKEN_LEN lowercase hex digits, then NUL. */
bool vms_token_valid(const char *s);
/* True if both are valid and equal; no early exit, so timing says nothing about a prefix. */
bool vms_token_equal(const char *a, const char *b);
/* True if the n bytes at a and b are equal; no early exit (for secrets of any kind). */
bool vms_ct_equal(const void *a, const void *b, size_t n);
/* True if the n bytes at buf are a token file's content: a token, then at most one LF and
 * nothing else; the token goes to out. */
bool vms_token_parse(const char *buf, size_t n, char out[VMS_TOKEN_LEN + 1]);
/* A new token from getrandom into out (VMS_TOKEN_LEN + 1 bytes); 0, or -1 with errno set. */
int vms_token_new(char out[VMS_TOKEN_LEN + 1]);

#endif

/* Listen addresses from configuration text (see sockaddr.h). */
#include "daemon/util/sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
vms_sockaddr_parse(const char *spec, void *storage, size_t *socklen, char *err, size_t errsz)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon[1] == '\0') {
		snprintf(err, errsz, "'%s' is not ADDR:PORT", spec);
		return -1;
	}
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof(host)) {
		snprintf(err, errsz, "address in '%s' is too long", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535) {
		snprintf(err, errsz, "port in '%s' must be 1..65535", spec);
		return -1;
	}
	memset(storage, 0, sizeof(struct sockaddr_storage));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = storage;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
			snprintf(err, errsz, "'%s' is not an IPv6 address", host + 1);
			return -1;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*socklen = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = storage;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (hl == 0)
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
		snprintf(err, errsz, "'%s' is not an IPv4 address (IPv6 goes in brackets)", host);
		return -1;
	}
	*socklen = sizeof(*a4);
	return 0;
}

/* The four address bytes of an IPv4 peer, also when it came as ::ffff:a.b.c.d; else NULL. */
static const unsigned char *
ipv4_bytes(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const unsigned char *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			return a6->s6_addr + 12;
	}
	return NULL;
}

bool
vms_sockaddr_same_host(const void *a, const void *b)
{
	const struct sockaddr_storage *sa = a, *sb = b;
	const unsigned char *a4 = ipv4_bytes(sa), *b4 = ipv4_bytes(sb);
	if (a4 || b4)
		return a4 && b4 && memcmp(a4, b4, 4) == 0;
	if (sa->ss_family != AF_INET6 || sb->ss_family != AF_INET6)
		return false;
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
	              &((const struct sockaddr_in6 *)sb)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

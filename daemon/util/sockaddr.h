/* Listen addresses as operators write them: "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT". */
#ifndef VMSCALE_UTIL_SOCKADDR_H
#define VMSCALE_UTIL_SOCKADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Fills a struct sockaddr_storage and its length; 0, or -1 with a message in err. */
int vms_sockaddr_parse(const char *spec, void *sockaddr_storage, size_t *socklen, char *err,
                       size_t errsz);

/*
 * Whether two peers (struct sockaddr_storage, as accept() fills it) have the same address,
 * whatever their ports: per-peer limits count connections by it. An IPv4-mapped IPv6
 * address equals its IPv4 form.
 */
bool vms_sockaddr_same_host(const void *a, const void *b);

#endif

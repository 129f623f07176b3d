/* The one string hash of the daemon: for spreading keys over tables and schedules. */
#ifndef VMSCALE_UTIL_HASH_H
#define VMSCALE_UTIL_HASH_H

#include <stdint.h>

/* FNV-1a, 32 bits: keys are short strings from libvirt, not chosen by a scraper, so speed and
 * spread matter, not resistance to collisions. The values are part of behaviour: the guest
 * probe scheduler places each domain's runs by them (probesched.c), so they must not change. */
uint32_t vms_hash_str(const char *s);

#endif

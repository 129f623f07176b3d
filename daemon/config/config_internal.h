/*
 * The configuration's internals, shared by its files (not part of config.h):
 *   config_keys.c     the key table: one row per key, its type, field, bounds and `live`
 *   config.c          defaults, copy, free, the analysis' settings
 *   config_values.c   text to values: encoding, integers, durations, sizes, ratios, lists
 *   config_set.c      one setter per key type, dispatched by the row's kind; flags
 *   config_file.c     reading the file, line by line
 *   config_validate.c checks across keys and the defaults that follow other keys
 *   config_reload.c   what a SIGHUP may change: every key whose row is not live must stay
 *   config_msg.c      how messages name keys, lines, values, sizes and durations
 */
#ifndef VMSCALE_CONFIG_INTERNAL_H
#define VMSCALE_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config/config.h"

#define CFG_DEFAULT_URI "qemu:///system"
#define CFG_DEFAULT_LISTEN "127.0.0.1:9477"
#define CFG_DEFAULT_STATE_DIR "/var/lib/vmscale"
#define CFG_MAX_URI 1024
#define CFG_MAX_PATH 4095
#define CFG_MAX_GUEST_ADDRESS 63 /* what a "run" record carries (struct vms_run.addr) */
#define CFG_MAX_QUOTED 64        /* bytes of a bad value repeated in an error message */
#define CFG_DISK_READ_ALIGN 4096 /* O_DIRECT reads whole pages */
/* The memory probe maps one buffer of this size; the probe's unit (MemoryMax=160M, in
 * systemd/vmscale-probe.service.in) leaves it room for that plus its own few MiB. The wire
 * allows up to VMS_MAX_MEM_BYTES; a guest without the unit may be given more by a newer host. */
#define CFG_MAX_MEM_BUFFER (128ull << 20)

/* How a key's value is read and where it goes; every kind writes at the row's off. */
enum cfg_kind {
	K_URIS,       /* repeatable libvirt URI: char *[] at off, its count at count_off */
	K_LISTEN,     /* ADDR:PORT */
	K_SECONDS,    /* duration stored in whole seconds (unsigned) */
	K_MS,         /* duration stored in ms (uint32_t) */
	K_MS_OR_OFF,  /* same, or "off" = 0 */
	K_RATIO,      /* a double 0..1 */
	K_REGEX,      /* POSIX extended */
	K_BOOL,       /* yes|no into a bool */
	K_PATH,       /* absolute */
	K_COUNT,      /* plain integer (unsigned or uint64_t) */
	K_SIZE,       /* bytes with an optional binary unit (uint64_t) */
	K_SIZES,      /* comma-separated sizes: uint32_t[] at off, its count at count_off */
	K_HOST,       /* host name or IP address */
	K_URI,        /* one libvirt URI (char *) */
	K_THRESHOLDS, /* slowdown ratio for every probe, then PROBE=RATIO overrides */
	K_KIND_COUNT
};

/* One row of the key table. pub.live says whether a SIGHUP may change the key. */
struct cfg_key {
	struct vms_config_key pub;
	enum cfg_kind kind;
	size_t off, size;  /* the field in struct vms_config */
	size_t count_off;  /* list kinds: the unsigned count of the items at off */
	uint64_t min, max; /* bounds in the field's unit: s, ms, bytes or a count */
	const char *why;   /* appended to a bounds error */
};

/* config_keys.c: the table, in --help's order. */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;
int cfg_key_index(const char *name); /* -1: unknown */

/* config_set.c: applies one value; origin is the file's line, or -1 for the command line.
 * fresh: the first occurrence from this source, which replaces a list instead of appending. */
int cfg_set_key(struct vms_config *c, size_t ki, const char *value, int origin, bool fresh,
                char *err, size_t errsz);

/* config_values.c */
const char *cfg_text_error(const unsigned char *s, size_t n, size_t *at);
bool cfg_parse_u64(const char *s, uint64_t *out, const char **end);
bool cfg_parse_duration_ms(const char *s, uint64_t *ms);
bool cfg_parse_size(const char *s, uint64_t *bytes);
bool cfg_parse_ratio(const char *s, double *out);
bool cfg_parse_slowdown(const char *s, double *out);
bool cfg_parse_bool(const char *s, bool *out);
bool cfg_valid_uri(const char *s);
bool cfg_valid_host(const char *s);
bool cfg_list_next(const char **p, char *item, size_t itemsz);

/* config_msg.c */
const char *cfg_keyref(const struct vms_config *c, size_t k, char *buf, size_t bufsz);
const char *cfg_keyref_like(const struct vms_config *c, size_t k, size_t like, char *buf,
                            size_t bufsz);
const char *cfg_where(const struct vms_config *c, size_t k, char *buf, size_t bufsz);
const char *cfg_quoted(const char *v, char *buf, size_t bufsz);
const char *cfg_fmt_size(uint64_t b, char *buf, size_t bufsz);
const char *cfg_fmt_ms(uint64_t ms, char *buf, size_t bufsz);

#endif

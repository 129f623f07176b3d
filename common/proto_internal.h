/*
 * Helpers the protocol's codec files share (record.c, families.c, schedule.c, reports.c): not
 * part of the public interface in include/vmscale/.
 */
#ifndef VMSCALE_PROTO_INTERNAL_H
#define VMSCALE_PROTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vmscale/families.h"
#include "vmscale/record.h"

/* Finishes w into out (NUL-terminated); its length, or 0 if invalid or out is too small. */
size_t vms_writer_copy(struct vms_writer *w, char *out, size_t outsz);
/* Copies src into dst, truncated to dstsz - 1 bytes. */
void vms_copy_str(char *dst, size_t dstsz, const char *src);

/* Optional bounded number: absent keeps *out; present must be lo..hi. */
enum vms_proto_error vms_get_opt_u64(const struct vms_record *rec, const char *key, uint64_t lo,
                                     uint64_t hi, uint64_t *out);
enum vms_proto_error vms_get_opt_u32(const struct vms_record *rec, const char *key, uint32_t lo,
                                     uint32_t hi, uint32_t *out);
/* Required bounded number: absent is VMS_PROTO_E_MISSING. */
enum vms_proto_error vms_get_req_u64(const struct vms_record *rec, const char *key, uint64_t lo,
                                     uint64_t hi, uint64_t *out);
/* The active family named by the record's "probe" field. */
enum vms_proto_error vms_get_family(const struct vms_record *rec, enum vms_family *out);

#endif

/* Helpers that write samples of the store's families: labels, domains, single gauges. */
#ifndef VMSCALE_EXPO_SAMPLE_H
#define VMSCALE_EXPO_SAMPLE_H

#include <stdint.h>

#include "daemon/store/store.h"
#include "daemon/util/buf.h"

/* Starts a sample: name{domain="..." — the caller adds more labels and closes it. */
void vms_sample_domain(struct vms_buf *b, const char *name, const struct vms_domain *d);
/* A whole sample labelled by domain only: name{domain="..."} value. */
void vms_sample_domain_u64(struct vms_buf *b, const char *name, const struct vms_domain *d,
                           uint64_t v);
void vms_sample_domain_double(struct vms_buf *b, const char *name, const struct vms_domain *d,
                              double v);
/* Appends " SECONDS\n" for a count of nanoseconds, exactly. */
void vms_sample_ns_seconds(struct vms_buf *b, uint64_t ns);
/* A gauge family with one unlabelled sample. */
void vms_gauge_u64(struct vms_buf *b, const char *name, const char *help, uint64_t v);
void vms_gauge_double(struct vms_buf *b, const char *name, const char *help, double v);
/* Appends ,key="value" for a value that needs no escaping (our own fixed names). */
void vms_sample_label(struct vms_buf *b, const char *key, const char *value);

#endif

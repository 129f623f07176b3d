/* Sample-writing helpers of the store's families (see sample.h). */
#include "daemon/expo/sample.h"

#include <string.h>

/* Starts a sample: name{domain="..." — the caller adds more labels and closes it. */
void
vms_sample_domain(struct vms_buf *b, const char *name, const struct vms_domain *d)
{
	vms_buf_append(b, name, strlen(name));
	vms_buf_append(b, "{domain=\"", 9);
	vms_buf_label_value(b, d->name);
	vms_buf_append(b, "\"", 1);
}

/* A whole sample labelled by domain only: name{domain="..."} value. */
void
vms_sample_domain_u64(struct vms_buf *b, const char *name, const struct vms_domain *d, uint64_t v)
{
	vms_sample_domain(b, name, d);
	vms_buf_append(b, "} ", 2);
	vms_buf_u64(b, v);
	vms_buf_append(b, "\n", 1);
}

void
vms_sample_domain_double(struct vms_buf *b, const char *name, const struct vms_domain *d, double v)
{
	vms_sample_domain(b, name, d);
	vms_buf_append(b, "} ", 2);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}

void
vms_sample_ns_seconds(struct vms_buf *b, uint64_t ns)
{
	vms_buf_append(b, " ", 1);
	if (!vms_buf_decimal(b, ns, 9))
		vms_buf_double(b, (double)ns / 1e9);
	vms_buf_append(b, "\n", 1);
}

/* A family with one unlabelled sample. */
void
vms_gauge_u64(struct vms_buf *b, const char *name, const char *help, uint64_t v)
{
	vms_buf_family(b, name, "gauge", help);
	vms_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void
vms_gauge_double(struct vms_buf *b, const char *name, const char *help, double v)
{
	vms_buf_family(b, name, "gauge", help);
	vms_buf_printf(b, "%s ", name);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}

/* Appends ,key="value" for a value that needs no escaping (our own fixed names). */
void
vms_sample_label(struct vms_buf *b, const char *key, const char *value)
{
	vms_buf_append(b, ",", 1);
	vms_buf_append(b, key, strlen(key));
	vms_buf_append(b, "=\"", 2);
	vms_buf_append(b, value, strlen(value));
	vms_buf_append(b, "\"", 1);
}

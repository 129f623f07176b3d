/*
 * A token bucket: a rate sustained forever, with a burst on top. Tokens may go into debt when
 * a cost is known only after the fact (the records in a chunk already read): the debt is paid
 * by waiting, so the long-run rate still holds.
 */
#ifndef VMSCALE_UTIL_BUCKET_H
#define VMSCALE_UTIL_BUCKET_H

#include <stdint.h>

struct vms_bucket {
	double rate;    /* tokens per second */
	double burst;   /* most tokens it holds */
	double tokens;  /* now; negative is debt */
	uint64_t at_ns; /* monotonic time tokens was computed */
};

/* Starts full. */
void vms_bucket_init(struct vms_bucket *b, double rate, double burst, uint64_t now_ns);
/* Adds what accrued since the last refill, up to the burst. */
void vms_bucket_refill(struct vms_bucket *b, uint64_t now_ns);
void vms_bucket_take(struct vms_bucket *b, double n);
/* Nanoseconds from the last refill until the bucket holds want tokens (0 if it does). */
uint64_t vms_bucket_wait_ns(const struct vms_bucket *b, double want);

#endif

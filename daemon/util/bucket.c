/* Token buckets (see bucket.h). */
#include "daemon/util/bucket.h"

#include <math.h>

void
vms_bucket_init(struct vms_bucket *b, double rate, double burst, uint64_t now_ns)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->at_ns = now_ns;
}

void
vms_bucket_refill(struct vms_bucket *b, uint64_t now_ns)
{
	if (now_ns <= b->at_ns)
		return;
	b->tokens += (double)(now_ns - b->at_ns) * b->rate / 1e9;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_ns = now_ns;
}

void
vms_bucket_take(struct vms_bucket *b, double n)
{
	b->tokens -= n;
}

uint64_t
vms_bucket_wait_ns(const struct vms_bucket *b, double want)
{
	if (b->tokens >= want || b->rate <= 0)
		return 0;
	return (uint64_t)ceil((want - b->tokens) / b->rate * 1e9);
}

/* Each domain's share of the host's time: token buckets for records and bytes per second on
 * its channel, and back-pressure beyond them (see channel.h). */
#include "collectors/guest/channel_internal.h"

#include <libvirt/libvirt.h>

#include "vmscale/clock.h"

#define READ_MIN 4096 /* bytes a resumed channel may read at once: not a wakeup per byte */

void
chan_throttle_init(struct chan *ch, uint64_t now_ns)
{
	vms_bucket_init(&ch->records, VMS_CHAN_RECORDS_PER_S, VMS_CHAN_RECORDS_BURST, now_ns);
	vms_bucket_init(&ch->bytes, VMS_CHAN_BYTES_PER_S, VMS_CHAN_BYTES_BURST, now_ns);
}

size_t
chan_read_allowance(struct chan *ch, size_t chunk, enum vms_throttle *why)
{
	/* Records are paid for after the read (a chunk's lines are known only then): a debt
	 * below one token waits. */
	if (ch->records.tokens < 1) {
		*why = VMS_THROTTLE_RECORDS;
		return 0;
	}
	if (ch->bytes.tokens < 1) {
		*why = VMS_THROTTLE_BYTES;
		return 0;
	}
	return ch->bytes.tokens < (double)chunk ? (size_t)ch->bytes.tokens : chunk;
}

static void
on_resume_tick(void *opaque)
{
	struct vms_channels *c = opaque;
	uint64_t now = vms_monotonic_ns();
	bool any = false;
	for (size_t i = 0; i < c->n; i++) {
		struct chan *ch = c->chans[i];
		if (!ch->throttled)
			continue;
		if (now < ch->resume_ns) {
			any = true;
			continue;
		}
		ch->throttled = false;
		if (ch->watch >= 0)
			virEventUpdateHandle(ch->watch, VIR_EVENT_HANDLE_READABLE);
	}
	vms_tick_arm(&c->resume_tick, any);
}

void
chan_throttle(struct vms_channels *c, struct chan *ch, enum vms_throttle why, uint64_t now_ns)
{
	if (!c->resume_tick.added &&
	    vms_tick_add(&c->resume_tick, VMS_TICK_MS, on_resume_tick, c) < 0)
		return; /* no event loop: nothing reads the channel anyway */
	uint64_t w_rec = vms_bucket_wait_ns(&ch->records, 1);
	double want = READ_MIN < VMS_CHAN_BYTES_BURST ? READ_MIN : VMS_CHAN_BYTES_BURST;
	uint64_t w_bytes = vms_bucket_wait_ns(&ch->bytes, want);
	ch->resume_ns = now_ns + (w_rec > w_bytes ? w_rec : w_bytes);
	ch->throttled = true;
	virEventUpdateHandle(ch->watch, 0);
	vms_tick_arm(&c->resume_tick, true);
	struct vms_domain *d = vms_store_find(c->store, ch->uuid);
	if (d) {
		d->probe.throttled[why]++;
		vms_store_changed(c->store);
	}
	vms_complain(&ch->throttle_complaint, LOG_WARNING, ch->name,
	             "probe channel %s sends more than its share (%u records, %u bytes per "
	             "second): reading paused (%s)",
	             chan_where(ch), (unsigned)VMS_CHAN_RECORDS_PER_S,
	             (unsigned)VMS_CHAN_BYTES_PER_S, vms_throttle_name(why));
}

void
chan_throttle_fini(struct vms_channels *c)
{
	vms_tick_remove(&c->resume_tick);
}

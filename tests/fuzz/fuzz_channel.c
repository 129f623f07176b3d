/*
 * The channel handler's intake of a whole report stream (collectors/guest/channel*.c): one
 * domain in a store, its probe connection one end of a socketpair handed over as a listener
 * would (vms_channels_attach), the other end this "guest". The stream is written a line at a
 * time; after each line libvirt's event loop reads it as in the daemon and the channels tick
 * on a clock that advances 1 s per line, so active runs start and their samples are judged.
 * Once the channel pauses reading (the guest sent more than its share) the rest would wait
 * for real time, so the stream ends there. Then the guest hangs up. Input: the guest's byte stream.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "collectors/guest/channel.h"
#include "fuzz.h"
#include "vmscale/clock.h"

#define UUID "0b1f4e8e-6a86-4e38-9a8e-0d6c1b1c2a11"

static struct vms_probe_plan plan;

static void
keep_turning(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* libvirt's event loop, never blocking (a 0 ms timer); a plan where every active family but the
 * network (no responder here) runs every second. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (virEventRegisterDefaultImpl() < 0 ||
	    virEventAddTimeout(0, keep_turning, NULL, NULL) < 0) {
		fprintf(stderr, "libvirt event loop\n");
		abort();
	}
	vms_schedule_defaults(&plan.schedule);
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
		plan.runs.interval_ms[f] = f == VMS_FAM_NETWORK ? 0 : 1000;
	plan.runs.concurrency = 1;
	plan.skew_tolerance_ms = 50;
	return 0;
}

/* One turn of the loop (the channel reads what is there), then what the host sent dropped. */
static void
pump(int guest)
{
	char sink[4096];
	virEventRunDefaultImpl();
	while (recv(guest, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
}

/* False when the socket stays full after the channel had its turn: it paused reading (the
 * guest's share is spent) and a real guest would block here until real time refills it. */
static bool
send_all(int guest, const char *p, size_t n)
{
	bool pumped = false;
	while (n > 0) {
		ssize_t w = send(guest, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w <= 0) {
			if (pumped)
				return false;
			pump(guest); /* the socket is full: let the channel read */
			pumped = true;
			continue;
		}
		pumped = false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static uint64_t
times_paused(struct vms_store *st)
{
	const struct vms_domain *d = vms_store_find(st, UUID);
	uint64_t k = 0;
	for (unsigned why = 0; d && why < VMS_THROTTLE_COUNT; why++)
		k += d->probe.throttled[why];
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	vms_store_upsert(&st, UUID, "fuzz", 1);
	struct vms_channels *c = vms_channels_new(&st);
	vms_channels_set_plan(c, &plan);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		abort();
	}
	FUZZ_ASSERT(vms_channels_attach(c, UUID, sv[0], "fuzz") == 0);
	uint64_t now = vms_monotonic_ns();
	for (const char *p = (const char *)data, *end = p + size; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (!send_all(sv[1], p, n))
			break;
		pump(sv[1]);
		now += NS_PER_S;
		vms_channels_tick(c, now);
		p += n;
	}
	/* The guest hangs up: the channel sees EOF and closes, unless it is paused for sending
	 * more than its share (a record debt can last a minute of real time); then it reads
	 * the EOF once its share refills (test_channel's test_flood shows reading resumes). */
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 4 && vms_channels_connected(c, UUID); i++)
		pump(sv[1]);
	FUZZ_ASSERT(!vms_channels_connected(c, UUID) || times_paused(&st) > 0);
	close(sv[1]);
	vms_channels_free(c);
	vms_store_fini(&st);
	return 0;
}

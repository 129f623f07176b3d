/* NetIO grants, and the results their transfers left per owner (see netio.h). */
#include "collectors/guest/netio_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscale/clock.h"
#include "daemon/util/alloc.h"

#define MAX_OWNERS 1024 /* results kept; owners are domains, forgotten when they go */

static const char *const refuse_names[VMS_NETIO_REFUSE_COUNT] = {
    [VMS_NETIO_REFUSE_SYNTAX] = "syntax",
    [VMS_NETIO_REFUSE_OVERSIZED] = "oversized",
    [VMS_NETIO_REFUSE_VERSION] = "bad_version",
    [VMS_NETIO_REFUSE_BAD_TOKEN] = "bad_token",
    [VMS_NETIO_REFUSE_EXPIRED] = "expired",
    [VMS_NETIO_REFUSE_USED_UP] = "used_up",
    [VMS_NETIO_REFUSE_TOO_MANY_BYTES] = "too_many_bytes",
    [VMS_NETIO_REFUSE_TOO_MANY_CONNS] = "too_many_connections",
    [VMS_NETIO_REFUSE_TIMEOUT] = "timeout",
    [VMS_NETIO_REFUSE_PEER_PENDING] = "too_many_per_peer",
    [VMS_NETIO_REFUSE_OWNER_CONNS] = "too_many_per_owner",
};

const char *
vms_netio_refuse_name(enum vms_netio_refuse reason)
{
	if ((unsigned)reason >= VMS_NETIO_REFUSE_COUNT)
		return "unknown";
	return refuse_names[reason];
}

struct grant *
netio_grant_find(struct vms_netio *n, const char *token)
{
	for (unsigned i = 0; i < n->ngrants; i++)
		if (vms_token_equal(n->grants[i].token, token))
			return &n->grants[i];
	return NULL;
}

/* The IP of a socket address: its bytes and their length, 0 for another family. */
static size_t
addr_ip(const struct sockaddr_storage *ss, const void **ip)
{
	if (ss->ss_family == AF_INET) {
		*ip = &((const struct sockaddr_in *)ss)->sin_addr;
		return sizeof(struct in_addr);
	}
	if (ss->ss_family == AF_INET6) {
		*ip = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return sizeof(struct in6_addr);
	}
	return 0;
}

bool
netio_grant_proven(const struct grant *g, const struct sockaddr_storage *addr)
{
	const void *a, *b;
	size_t len = addr_ip(addr, &a);
	for (unsigned i = 0; len && i < g->nproven; i++)
		if (g->proven[i].ss_family == addr->ss_family &&
		    addr_ip(&g->proven[i], &b) == len && memcmp(a, b, len) == 0)
			return true;
	return false;
}

void
netio_grant_prove(struct grant *g, const struct sockaddr_storage *addr)
{
	const void *ip;
	if (!addr_ip(addr, &ip) || netio_grant_proven(g, addr) || g->nproven == GRANT_PROVEN_ADDRS)
		return;
	g->proven[g->nproven++] = *addr;
}

unsigned
netio_owner_conns(const struct vms_netio *n, const char *owner)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n->nconns; i++)
		if (strcmp(n->conns[i]->owner, owner) == 0)
			k++;
	return k;
}

static bool
grant_usable(const struct grant *g, uint64_t now)
{
	return now < g->expires_ns && g->used < g->max_conns;
}

int
vms_netio_grant(struct vms_netio *n, const char *token, const char *owner, uint64_t max_bytes,
                unsigned max_conns, uint64_t expires_mono_ns)
{
	uint64_t now = vms_monotonic_ns();
	if (!token || !vms_token_valid(token) || !owner || !*owner ||
	    strlen(owner) > VMS_NETIO_OWNER_MAX || max_bytes == 0 || max_conns == 0 ||
	    expires_mono_ns <= now) {
		errno = EINVAL;
		return -1;
	}
	if (netio_grant_find(n, token)) {
		errno = EEXIST;
		return -1;
	}
	if (n->ngrants == VMS_NETIO_MAX_GRANTS) {
		unsigned victim = VMS_NETIO_MAX_GRANTS;
		for (unsigned i = 0; i < n->ngrants; i++)
			if (!grant_usable(&n->grants[i], now) &&
			    (victim == VMS_NETIO_MAX_GRANTS ||
			     n->grants[i].seq < n->grants[victim].seq))
				victim = i;
		if (victim == VMS_NETIO_MAX_GRANTS) {
			errno = ENOSPC;
			return -1;
		}
		n->grants[victim] = n->grants[--n->ngrants];
	}
	struct grant *g = &n->grants[n->ngrants++];
	memset(g, 0, sizeof(*g));
	memcpy(g->token, token, VMS_TOKEN_LEN + 1);
	snprintf(g->owner, sizeof(g->owner), "%s", owner);
	g->max_bytes = max_bytes;
	g->max_conns = max_conns;
	g->expires_ns = expires_mono_ns;
	g->seq = ++n->seq;
	return 0;
}

void
vms_netio_revoke(struct vms_netio *n, const char *owner)
{
	for (unsigned i = 0; i < n->ngrants;) {
		if (strcmp(n->grants[i].owner, owner) == 0)
			n->grants[i] = n->grants[--n->ngrants];
		else
			i++;
	}
	for (unsigned i = n->nconns; i-- > 0;)
		if (strcmp(n->conns[i]->owner, owner) == 0)
			netio_conn_abort(n->conns[i], "revoked", false);
	netio_udp_revoke(n, owner);
}

static struct owner_results *
owner_find(const struct vms_netio *n, const char *owner, size_t *idx)
{
	for (size_t i = 0; i < n->nowners; i++) {
		if (strcmp(n->owners[i]->owner, owner) == 0) {
			if (idx)
				*idx = i;
			return n->owners[i];
		}
	}
	return NULL;
}

void
netio_record_result(struct vms_netio *n, const char *owner, const struct vms_netio_result *res)
{
	struct owner_results *o = owner_find(n, owner, NULL);
	if (!o) {
		if (n->nowners == MAX_OWNERS) {
			/* Reuse the owner heard from least recently. */
			size_t old = 0;
			for (size_t i = 1; i < n->nowners; i++)
				if (n->owners[i]->touched < n->owners[old]->touched)
					old = i;
			o = n->owners[old];
			memset(o, 0, sizeof(*o));
		} else {
			if (n->nowners == n->capowners) {
				n->capowners = n->capowners ? n->capowners * 2 : 8;
				n->owners =
				    vms_xrealloc(n->owners, n->capowners, sizeof(*n->owners));
			}
			o = vms_xcalloc(1, sizeof(*o));
			n->owners[n->nowners++] = o;
		}
		snprintf(o->owner, sizeof(o->owner), "%s", owner);
	}
	o->touched = ++n->seq;
	unsigned slot = o->nr;
	for (unsigned i = 0; i < o->nr; i++) {
		if (o->r[i].udp == res->udp && o->r[i].guest_sends == res->guest_sends &&
		    o->r[i].block == res->block) {
			slot = i;
			break;
		}
	}
	if (slot == RESULTS_PER_OWNER) {
		/* A guest inventing block sizes only pushes out its own oldest result. */
		slot = 0;
		for (unsigned i = 1; i < o->nr; i++)
			if (o->r[i].end_mono_ns < o->r[slot].end_mono_ns)
				slot = i;
	} else if (slot == o->nr) {
		o->nr++;
	}
	o->r[slot] = *res;
	o->last = slot;
}

void
vms_netio_forget(struct vms_netio *n, const char *owner)
{
	vms_netio_revoke(n, owner);
	size_t i;
	if (owner_find(n, owner, &i)) {
		free(n->owners[i]);
		n->owners[i] = n->owners[--n->nowners];
	}
}

void
vms_netio_get_stats(const struct vms_netio *n, struct vms_netio_stats *out)
{
	uint64_t now = vms_monotonic_ns();
	*out = n->st;
	out->active = n->nconns;
	out->udp = n->ufd >= 0;
	out->grants = 0;
	for (unsigned i = 0; i < n->ngrants; i++)
		if (grant_usable(&n->grants[i], now))
			out->grants++;
}

bool
vms_netio_last_result(const struct vms_netio *n, const char *owner, struct vms_netio_result *out)
{
	const struct owner_results *o = owner_find(n, owner, NULL);
	if (!o || o->nr == 0)
		return false;
	*out = o->r[o->last];
	return true;
}

bool
vms_netio_find_result(const struct vms_netio *n, const char *owner, bool guest_sends,
                      uint32_t block, struct vms_netio_result *out)
{
	const struct owner_results *o = owner_find(n, owner, NULL);
	if (!o)
		return false;
	for (unsigned i = 0; i < o->nr; i++) {
		if (!o->r[i].udp && o->r[i].guest_sends == guest_sends && o->r[i].block == block) {
			*out = o->r[i];
			return true;
		}
	}
	return false;
}

bool
vms_netio_find_udp_result(const struct vms_netio *n, const char *owner, uint32_t block,
                          struct vms_netio_result *out)
{
	const struct owner_results *o = owner_find(n, owner, NULL);
	for (unsigned i = 0; o && i < o->nr; i++) {
		if (o->r[i].udp && o->r[i].block == block) {
			*out = o->r[i];
			return true;
		}
	}
	return false;
}

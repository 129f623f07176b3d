/* Checks across keys, and the defaults that follow other keys, once everything is applied. */
#include "daemon/config/config_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "daemon/http_webconfig.h"
#include "daemon/util/alloc.h"
#include "daemon/util/sockaddr.h"
#include "collectors/guest/netio.h"

#define MEM_OPS 3   /* copy, read, write: one run does each */
#define MICRO_OPS 6 /* fork_exit ... mem_latency */
#define NET_DIRECTIONS 2

/* The prefix of a message about keys a and b: the file line of whichever came from the file. */
static const char *
where2(const struct vms_config *c, size_t a, size_t b, char *buf, size_t bufsz)
{
	return cfg_where(c, c->origin[a] > 0 || c->origin[b] <= 0 ? a : b, buf, bufsz);
}

/* A run of `ops` measurements bounded by max_ms each must fit in its family's interval. */
static int
check_run(const struct vms_config *c, const char *max_key, uint32_t max_ms, unsigned ops,
          const char *interval_key, uint32_t interval_ms, char *err, size_t errsz)
{
	if (interval_ms == 0 || (uint64_t)max_ms * ops < interval_ms)
		return 0;
	size_t a = (size_t)cfg_key_index(max_key), b = (size_t)cfg_key_index(interval_key);
	char w[600], na[64], nb[64], iv[32];
	snprintf(err, errsz, "%s%s (%u ms) times %u per run must be shorter than %s (%s)",
	         where2(c, a, b, w, sizeof(w)), cfg_keyref(c, a, na, sizeof(na)), max_ms, ops,
	         cfg_keyref(c, b, nb, sizeof(nb)), cfg_fmt_ms(interval_ms, iv, sizeof(iv)));
	return -1;
}

/* The address of an ADDR:PORT a guest could use, or -1 (wildcard or loopback) / -2 (bad). */
static int
listen_address(const char *spec, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	size_t sslen;
	char why[200];
	if (vms_sockaddr_parse(spec, &ss, &sslen, why, sizeof(why)) < 0)
		return -2;
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a))
			return -1;
		return inet_ntop(AF_INET6, a, out, (socklen_t)outsz) ? 0 : -2;
	}
	const struct in_addr *a = &((const struct sockaddr_in *)(const void *)&ss)->sin_addr;
	uint32_t h = ntohl(a->s_addr);
	if (h == INADDR_ANY || (h >> 24) == 127)
		return -1;
	return inet_ntop(AF_INET, a, out, (socklen_t)outsz) ? 0 : -2;
}

/* The analysis: enough buckets for a capacity prediction, hysteresis probe by probe. */
static int
check_analysis(const struct vms_config *c, char *err, size_t errsz)
{
	char w[600], na[64];
	/* A prediction needs more levels than the buckets keep: it would never come. */
	if (c->analysis.capacity_min_levels > c->analysis.buckets) {
		size_t kl = (size_t)cfg_key_index("capacity-min-levels");
		snprintf(err, errsz,
		         "%s%s (%u) must not exceed analysis-buckets (%u): the capacity "
		         "would never be predicted",
		         cfg_where(c, kl, w, sizeof(w)), cfg_keyref(c, kl, na, sizeof(na)),
		         c->analysis.capacity_min_levels, c->analysis.buckets);
		return -1;
	}
	/* Hysteresis needs clear < warning < critical, probe by probe. */
	size_t kw = (size_t)cfg_key_index("slowdown-warning"),
	       kc = (size_t)cfg_key_index("slowdown-critical"),
	       kl = (size_t)cfg_key_index("slowdown-clear");
	for (unsigned i = 0; i < VMS_AN_PROBE_COUNT; i++) {
		const struct vms_analysis_keys *an = &c->analysis;
		if (an->clear[i] < an->warning[i] && an->warning[i] < an->critical[i])
			continue;
		/* Name the key of the broken pair set last: a flag, else the later file line. */
		size_t a = an->clear[i] >= an->warning[i] ? kl : kw, b = a == kl ? kw : kc;
		int oa = c->origin[a], ob = c->origin[b];
		size_t at = oa < 0 ? a : ob < 0 ? b : ob > oa ? b : a;
		snprintf(err, errsz,
		         "%s%s: probe %s needs slowdown-clear < slowdown-warning < "
		         "slowdown-critical, got %g, %g and %g",
		         cfg_where(c, at, w, sizeof(w)), cfg_keyref(c, at, na, sizeof(na)),
		         vms_an_probe_name(i), an->clear[i], an->warning[i], an->critical[i]);
		return -1;
	}
	return 0;
}

/* Keys that go in pairs: tls-cert and tls-key; netio-guest-address, which follows netio-listen;
 * netio-udp-rate, which needs netio-listen. */
static int
check_pairs(struct vms_config *c, char *err, size_t errsz)
{
	char w[600], na[64], nb[64];
	size_t cert = (size_t)cfg_key_index("tls-cert"), key = (size_t)cfg_key_index("tls-key");
	if (!c->tls_cert != !c->tls_key) {
		size_t have = c->tls_cert ? cert : key, missing = c->tls_cert ? key : cert;
		snprintf(err, errsz, "%s%s needs %s", cfg_where(c, have, w, sizeof(w)),
		         cfg_keyref(c, have, na, sizeof(na)),
		         cfg_keyref_like(c, missing, have, nb, sizeof(nb)));
		return -1;
	}

	size_t nl = (size_t)cfg_key_index("netio-listen"),
	       ng = (size_t)cfg_key_index("netio-guest-address");
	if (c->netio_guest_address && !c->netio_listen) {
		snprintf(err, errsz, "%s%s needs %s", cfg_where(c, ng, w, sizeof(w)),
		         cfg_keyref(c, ng, na, sizeof(na)),
		         cfg_keyref_like(c, nl, ng, nb, sizeof(nb)));
		return -1;
	}
	size_t nu = (size_t)cfg_key_index("netio-udp-rate");
	/* The key's own bounds stop at VMS_NETIO_UDP_MAX_RATE; below the floor no burst of the
	 * largest block size would hold two datagrams in a second. */
	if (c->netio_udp_rate && c->netio_udp_rate < VMS_NETIO_UDP_MIN_RATE) {
		snprintf(err, errsz, "%s%s %llu is below %u bytes/s (64K): set 0 (off) or more",
		         cfg_where(c, nu, w, sizeof(w)), cfg_keyref(c, nu, na, sizeof(na)),
		         (unsigned long long)c->netio_udp_rate, VMS_NETIO_UDP_MIN_RATE);
		return -1;
	}
	if (c->netio_udp_rate && !c->netio_listen) {
		snprintf(err, errsz, "%s%s needs %s", cfg_where(c, nu, w, sizeof(w)),
		         cfg_keyref(c, nu, na, sizeof(na)),
		         cfg_keyref_like(c, nl, nu, nb, sizeof(nb)));
		return -1;
	}
	if (c->netio_listen && !c->netio_guest_address) {
		char addr[64];
		if (listen_address(c->netio_listen, addr, sizeof(addr)) < 0) {
			snprintf(
			    err, errsz,
			    "%s%s %s is a wildcard or loopback address that guests "
			    "cannot reach by that name: set %s (10.0.2.2 for user-mode networking)",
			    cfg_where(c, nl, w, sizeof(w)), cfg_keyref(c, nl, na, sizeof(na)),
			    c->netio_listen, cfg_keyref_like(c, ng, nl, nb, sizeof(nb)));
			return -1;
		}
		c->netio_guest_address = vms_xstrdup(addr);
	}
	return 0;
}

/* The active probes: each run fits in its interval; the network moves its largest block. */
static int
check_probes(const struct vms_config *c, char *err, size_t errsz)
{
	const struct vms_probe_config *p = &c->probe;
	if (check_run(c, "probe-memory-max", p->memory_max_ms, MEM_OPS, "probe-memory-interval",
	              p->memory_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-disk-read-max", p->disk_read_max_ms, 1, "probe-disk-read-interval",
	              p->disk_read_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-network-max", p->network_max_ms,
	              (NET_DIRECTIONS + (c->netio_udp_rate ? 1 : 0)) * p->network_nblocks,
	              "probe-network-interval", p->network_interval_ms, err, errsz) < 0 ||
	    check_run(c, "probe-micro-max", p->micro_max_ms, MICRO_OPS, "probe-micro-interval",
	              p->micro_interval_ms, err, errsz) < 0)
		return -1;

	uint32_t largest = 0;
	for (unsigned i = 0; i < p->network_nblocks; i++)
		if (p->network_blocks[i] > largest)
			largest = p->network_blocks[i];
	if (p->network_bytes < largest) {
		size_t a = (size_t)cfg_key_index("probe-network-bytes"),
		       b = (size_t)cfg_key_index("probe-network-block-sizes");
		char w[600], na[64], nb[64], s1[32], s2[32];
		snprintf(err, errsz, "%s%s (%s) must be at least the largest of %s (%s)",
		         where2(c, a, b, w, sizeof(w)), cfg_keyref(c, a, na, sizeof(na)),
		         cfg_fmt_size(p->network_bytes, s1, sizeof(s1)),
		         cfg_keyref(c, b, nb, sizeof(nb)), cfg_fmt_size(largest, s2, sizeof(s2)));
		return -1;
	}
	return 0;
}

/* web-config-file is read whole here, so that --check-config and a reload judge it too. */
static int
load_web_config(struct vms_config *c, char *err, size_t errsz)
{
	vms_webconfig_free(c->web);
	c->web = NULL;
	if (!c->web_config_file)
		return 0;
	size_t k = (size_t)cfg_key_index("web-config-file");
	char w[600], why[700];
	struct vms_webconfig *web = vms_xcalloc(1, sizeof(*web));
	if (vms_webconfig_load(web, c->web_config_file, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%sweb-config-file: %s", cfg_where(c, k, w, sizeof(w)), why);
		vms_webconfig_free(web);
		return -1;
	}
	c->web = web;
	return 0;
}

/* The agent keys go together: a read-write connection only for domains named on purpose. */
static int
check_agent(const struct vms_config *c, char *err, size_t errsz)
{
	size_t u = (size_t)cfg_key_index("qemu-agent-connect"),
	       d = (size_t)cfg_key_index("qemu-agent-domains");
	size_t t = (size_t)cfg_key_index("qemu-agent-timeout"),
	       i = (size_t)cfg_key_index("qemu-agent-interval");
	char w[600], na[64], nb[64];
	/* One message for either half missing: "'qemu-agent-domains' needs 'qemu-agent-connect'".
	 */
	if (!c->agent_domains != !c->agent_uri) {
		size_t have = c->agent_uri ? u : d, missing = c->agent_uri ? d : u;
		snprintf(err, errsz, "%s%s needs %s: %s", cfg_where(c, have, w, sizeof(w)),
		         cfg_keyref(c, have, na, sizeof(na)),
		         cfg_keyref_like(c, missing, have, nb, sizeof(nb)),
		         c->agent_uri
		             ? "alone it would open a read-write connection to read no domain"
		             : "libvirt refuses guest agent commands on the read-only "
		               "connections of connect (docs/security.md)");
		return -1;
	}
	/* Its figures go to the domains of the connect URI it names: another host's domains of
	 * the same UUID must not receive them. */
	bool watched = !c->agent_uri;
	for (unsigned k = 0; !watched && k < c->nuris; k++)
		watched = strcmp(c->uris[k], c->agent_uri) == 0;
	if (!watched) {
		snprintf(err, errsz,
		         "%s%s must be one of the connect URIs: its figures go to the domains "
		         "vmscaled watches there",
		         cfg_where(c, u, w, sizeof(w)), cfg_keyref(c, u, na, sizeof(na)));
		return -1;
	}
	if (c->agent_timeout_s >= c->agent_interval_s) {
		snprintf(
		    err, errsz,
		    "%sqemu-agent-timeout (%us) must be shorter than qemu-agent-interval (%us)",
		    where2(c, t, i, w, sizeof(w)), c->agent_timeout_s, c->agent_interval_s);
		return -1;
	}
	return 0;
}

int
vms_config_validate(struct vms_config *c, char *err, size_t errsz)
{
	if (!c->probe.cpu_interval_ms)
		c->probe.cpu_interval_ms = c->interval_s * 1000;
	if (!c->probe.disk_interval_ms)
		c->probe.disk_interval_ms = c->interval_s * 1000;
	if (check_analysis(c, err, errsz) < 0 || check_pairs(c, err, errsz) < 0 ||
	    check_probes(c, err, errsz) < 0 || check_agent(c, err, errsz) < 0 ||
	    load_web_config(c, err, errsz) < 0)
		return -1;
	return 0;
}

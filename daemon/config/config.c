/* vmscaled configuration (see config.h): defaults, copy and free; the analysis' settings. */
#include "daemon/config/config.h"
#include "vmscale/clock.h"
#include "daemon/config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "vmscale/protocol.h"
#include "daemon/control.h"
#include "daemon/http.h"
#include "daemon/store/store.h"
#include "daemon/util/alloc.h"

#define DEFAULT_INTERVAL_S 5
/* Active families: CPU work, the alerts' main signal and 10 ms a run, every minute; the
 * costlier ones less often, so that the probe stays within 0.5 % of a vCPU (issue 14):
 * memory (3 x 30 ms) and the network every 2 minutes, micro latencies (6 x 20 ms) every 3. */
#define DEFAULT_ACTIVE_MS 60000u
#define DEFAULT_MEMORY_MS 300000u
#define DEFAULT_NETWORK_MS 300000u
#define DEFAULT_MICRO_MS 300000u
#define DEFAULT_SKEW_TOLERANCE_MS 50u

void
vms_config_analysis(const struct vms_config *c, struct vms_analysis_config *out)
{
	vms_analysis_config_defaults(out);
	out->interval_ns = (uint64_t)c->interval_s * NS_PER_S; /* suspects once per collection */
	out->window_ns = (uint64_t)c->analysis.window_s * NS_PER_S;
	out->window_min = c->analysis.window_min;
	out->min_samples = c->analysis.min_samples;
	out->max_buckets = c->analysis.buckets;
	out->alert_for_ns = (uint64_t)c->analysis.alert_for_s * NS_PER_S;
	out->capacity_min_levels = c->analysis.capacity_min_levels;
	out->capacity_min_r2 = c->analysis.capacity_min_r2;
	out->retention_s = c->analysis.retention_s;
	memcpy(out->warning, c->analysis.warning, sizeof(out->warning));
	memcpy(out->critical, c->analysis.critical, sizeof(out->critical));
	memcpy(out->clear, c->analysis.clear, sizeof(out->clear));
}

static char *
dup_or_null(const char *s)
{
	return s ? vms_xstrdup(s) : NULL;
}

void
vms_config_defaults(struct vms_config *c)
{
	memset(c, 0, sizeof(*c));
	c->uris[0] = vms_xstrdup(CFG_DEFAULT_URI);
	c->nuris = 1;
	c->listen = vms_xstrdup(CFG_DEFAULT_LISTEN);
	c->interval_s = DEFAULT_INTERVAL_S;
	c->busy_threshold = VMS_BUSY_THRESHOLD_DEFAULT;
	c->http_max_connections = VMS_HTTP_MAX_CONNECTIONS_DEFAULT;
	c->http_timeout_s = VMS_HTTP_TIMEOUT_S_DEFAULT;
	c->http_per_address = VMS_HTTP_PER_ADDRESS_DEFAULT;
	c->http_header_timeout_s = VMS_HTTP_HEADER_TIMEOUT_S_DEFAULT;
	c->state_dir = vms_xstrdup(CFG_DEFAULT_STATE_DIR);
	c->control_socket = vms_xstrdup(VMS_CONTROL_DEFAULT_PATH);
	c->agent_interval_s = 10;
	c->agent_timeout_s = 2;
	struct vms_analysis_config ac;
	vms_analysis_config_defaults(&ac);
	c->analysis = (struct vms_analysis_keys){
	    .window_s = (uint32_t)(ac.window_ns / NS_PER_S),
	    .window_min = ac.window_min,
	    .min_samples = ac.min_samples,
	    .buckets = ac.max_buckets,
	    .alert_for_s = (uint32_t)(ac.alert_for_ns / NS_PER_S),
	    .save_interval_s = 60,
	    .retention_s = (uint32_t)ac.retention_s,
	    .capacity_min_levels = ac.capacity_min_levels,
	    .capacity_min_r2 = ac.capacity_min_r2,
	};
	memcpy(c->analysis.warning, ac.warning, sizeof(ac.warning));
	memcpy(c->analysis.critical, ac.critical, sizeof(ac.critical));
	memcpy(c->analysis.clear, ac.clear, sizeof(ac.clear));
	c->probe = (struct vms_probe_config){
	    /* 0: follow "interval", resolved by vms_config_validate. */
	    .cpu_interval_ms = 0,
	    .disk_interval_ms = 0,
	    .cpu_work_interval_ms = DEFAULT_ACTIVE_MS,
	    .memory_interval_ms = DEFAULT_MEMORY_MS,
	    .disk_read_interval_ms = DEFAULT_ACTIVE_MS,
	    .network_interval_ms = DEFAULT_NETWORK_MS,
	    .micro_interval_ms = DEFAULT_MICRO_MS,
	    .cpu_work_units = VMS_DEFAULT_CPU_WORK_UNITS,
	    .memory_buffer_bytes = VMS_DEFAULT_MEM_BYTES,
	    .memory_max_ms = VMS_DEFAULT_MEM_MS,
	    .disk_read_bytes = VMS_DEFAULT_DISK_READ_BYTES,
	    .disk_read_max_ms = VMS_DEFAULT_DISK_READ_MS,
	    .network_bytes = VMS_DEFAULT_NET_BYTES,
	    .network_max_ms = VMS_DEFAULT_NET_MS,
	    .network_blocks = {1024, 32768},
	    .network_nblocks = 2,
	    .micro_max_ms = VMS_DEFAULT_MICRO_MS,
	    .active_concurrency = 1,
	    .skew_tolerance_ms = DEFAULT_SKEW_TOLERANCE_MS,
	};
}

static void
clear_uris(struct vms_config *c)
{
	for (unsigned i = 0; i < c->nuris; i++) {
		free(c->uris[i]);
		c->uris[i] = NULL;
	}
	c->nuris = 0;
}

void
vms_config_fini(struct vms_config *c)
{
	if (!c)
		return;
	clear_uris(c);
	free(c->listen);
	free(c->probe_domains);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->web_config_file);
	vms_webconfig_free(c->web);
	free(c->netio_listen);
	free(c->netio_guest_address);
	free(c->state_dir);
	free(c->tcp_listen);
	free(c->control_socket);
	free(c->agent_uri);
	free(c->agent_domains);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

void
vms_config_copy(struct vms_config *dst, const struct vms_config *src)
{
	*dst = *src;
	for (unsigned i = 0; i < src->nuris; i++)
		dst->uris[i] = vms_xstrdup(src->uris[i]);
	dst->listen = dup_or_null(src->listen);
	dst->probe_domains = dup_or_null(src->probe_domains);
	dst->tls_cert = dup_or_null(src->tls_cert);
	dst->tls_key = dup_or_null(src->tls_key);
	dst->web_config_file = dup_or_null(src->web_config_file);
	dst->web = vms_webconfig_dup(src->web);
	dst->netio_listen = dup_or_null(src->netio_listen);
	dst->netio_guest_address = dup_or_null(src->netio_guest_address);
	dst->state_dir = dup_or_null(src->state_dir);
	dst->tcp_listen = dup_or_null(src->tcp_listen);
	dst->control_socket = dup_or_null(src->control_socket);
	dst->agent_uri = dup_or_null(src->agent_uri);
	dst->agent_domains = dup_or_null(src->agent_domains);
	dst->path = dup_or_null(src->path);
}

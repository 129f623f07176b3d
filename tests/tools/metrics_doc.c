/*
 * Prints the metrics reference (docs/metrics.md below its marker) from the registry itself:
 * every source of the exposition fixture, with the listeners and the network responder (UDP
 * too) on,
 * rendered and read back: each family's name, type, unit (from its name's suffix), label
 * names (from its samples), help text and the module that owns it. scripts/metrics-doc.sh
 * writes it into the document; the metrics_doc test fails when the two differ.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "collectors/guest/channel.h"
#include "collectors/guest/listeners.h"
#include "collectors/guest/netio.h"
#include "daemon/http.h"
#include "expo_fixture.h"

#define MAX_LABELS 8

struct family {
	char name[128], type[16], help[512];
	char labels[MAX_LABELS][32];
	unsigned nlabels;
};

static void
listener_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_listeners_render_stats(ctx, b);
}

static void
http_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_http_render_refusals(ctx, b);
}

static void
netio_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_netio_render_stats(ctx, b);
}

/* The unit a name promises by its suffix (Prometheus naming: base units, _total dropped). */
static const char *
unit_of(const char *name)
{
	static const struct {
		const char *suffix, *unit;
	} units[] = {{"_bytes_per_second", "bytes/second"},
	             {"_work_units_per_second", "work units/second"},
	             {"_cpu_seconds_per_second", "CPU seconds/second"},
	             {"_timestamp_seconds", "seconds (Unix time)"},
	             {"_seconds", "seconds"},
	             {"_bytes", "bytes"},
	             {"_ratio", "ratio"},
	             {"_info", "info (value 1)"}};
	char base[128];
	snprintf(base, sizeof(base), "%s", name);
	size_t n = strlen(base);
	if (n > 6 && strcmp(base + n - 6, "_total") == 0)
		base[n -= 6] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);
		if (n > sl && strcmp(base + n - sl, units[i].suffix) == 0)
			return units[i].unit;
	}
	return "1";
}

/* Adds the label names of a sample line ("name{a=\"x\",b=\"y\"} v") to f. */
static void
add_labels(struct family *f, const char *p)
{
	const char *brace = strpbrk(p, "{ \n");
	if (!brace || *brace != '{')
		return; /* no labels */
	p = brace;
	while (*p && *p != '}') {
		const char *key = p + 1, *eq = strchr(key, '=');
		if (!eq || eq[1] != '"')
			return;
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - key), key);
		unsigned i = 0;
		while (i < f->nlabels && strcmp(f->labels[i], name) != 0)
			i++;
		if (i == f->nlabels && f->nlabels < MAX_LABELS)
			memcpy(f->labels[f->nlabels++], name, sizeof(name));
		for (p = eq + 2; *p && *p != '"'; p++) /* the value, escapes skipped */
			if (*p == '\\' && p[1])
				p++;
		p = *p ? p + 1 : p; /* now at ',' or '}' */
	}
}

static void
print_family(const struct family *f, const char *owner)
{
	printf("| `%s` | %s | %s | ", f->name, f->type, unit_of(f->name));
	for (unsigned i = 0; i < f->nlabels; i++)
		printf("%s`%s`", i ? ", " : "", f->labels[i]);
	printf(" | ");
	for (const char *h = f->help; *h; h++)
		fputs(*h == '|' ? "\\|" : (char[]){*h, '\0'}, stdout);
	printf(" | `%s` |\n", owner);
}

/* Prints one row per family of a source's text. */
static unsigned
print_piece(const char *text, const char *owner)
{
	struct family f = {0};
	unsigned n = 0;
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			if (f.name[0])
				print_family(&f, owner), n++;
			memset(&f, 0, sizeof(f));
			sscanf(line + 7, "%127s %511[^\n]", f.name, f.help);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%*s %15s", f.type);
		} else if (line[0] != '#') {
			add_labels(&f, line);
		}
	}
	if (f.name[0])
		print_family(&f, owner), n++;
	return n;
}

int
main(void)
{
	struct vms_store st;
	fixture_fill_store(&st);
	struct vms_analysis *an = fixture_analysis(&st);
	struct vms_self_info self = {.version = "0.1.0"};
	struct vms_control_stats control = {.requests_total = 1};
	struct vms_http_refusals refusals = {0};
	struct vms_channels *chans = vms_channels_new(&st);
	struct vms_listeners *lis = vms_listeners_new(&st, chans);
	struct vms_listener_stats ls = {.vsock_on = true, .tcp_on = true, .unix_ = {.on = true}};
	struct vms_netio_stats ns = {.udp = true};
	struct vms_analysis_source as = {.analysis = an, .store = &st};
	/* The real sources' owners, with stats standing in for open listeners. */
	struct vms_metrics_source lsrc =
	    fixture_stand_in(vms_listeners_metrics_source(lis), &ls, listener_render);
	struct vms_metrics_source nsrc =
	    fixture_stand_in(vms_netio_metrics_source(NULL), &ns, netio_render);
	struct vms_metrics_source csrc =
	    fixture_stand_in(vms_control_metrics_source(NULL), &control, fixture_control_render);
	struct vms_metrics_source hsrc =
	    fixture_stand_in(vms_http_metrics_source(NULL), &refusals, http_render);

	struct vms_registry *r = vms_registry_new();
	vms_registry_add(r, vms_expo_self_source(&self));
	vms_expo_add_store_sources(r, &st);
	vms_registry_add(r, vms_channels_metrics_source(chans));
	vms_registry_add(r, lsrc);
	vms_registry_add(r, nsrc);
	vms_registry_add(r, vms_expo_host_source(&st));
	vms_registry_add(r, hsrc);
	vms_registry_add(r, csrc);
	vms_registry_add(r, vms_analysis_metrics_source(&as));
	vms_registry_refresh(r, NOW_NS);
	printf("| family | type | unit | labels | help | owner |\n|---|---|---|---|---|---|\n");
	unsigned n = 0;
	for (size_t i = 0; i < vms_registry_count(r); i++)
		n += print_piece(vms_registry_piece(r, i)->data, vms_registry_owner(r, i));
	printf("\n%u families.\n", n);
	vms_registry_free(r);
	vms_listeners_free(lis);
	vms_channels_free(chans);
	vms_analysis_free(an);
	vms_store_fini(&st);
	return 0;
}

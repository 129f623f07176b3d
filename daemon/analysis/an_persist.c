/* The analysis state file: its payload written and read, the file saved and loaded. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/store/statefile.h"
#include "daemon/util/alloc.h"

#define AN_STATE_KIND "analysis"
#define AN_STATE_VERSION 1u

/*
 * The payload, version 1: text, one record per line, fields separated by one space; strings
 * percent-encoded (bytes <= 0x20, >= 0x7f and '%'); doubles as %.17g; a variance of 0 when
 * n < 2. Lines after a "domain" line belong to that domain until the next one.
 *
 *   domain KEY LAST_SEEN_UNIX VCPUS MEM_KIB PROBE_VERSION|- NAME
 *   baseline PROBE PINNED(0|1) VALUE N_UP
 *   bucket PROBE N_UP COUNT MEAN VARIANCE K V1 .. VK        (K recent values, oldest first)
 *   overhead PROBE idle|busy COUNT MEAN VARIANCE
 *   startup SECONDS
 *   host METRIC N_UP COUNT MEAN VARIANCE
 *   end DOMAINS
 *
 * The "end" line proves the payload is whole. Any unknown record or bad field rejects the
 * file: state is either what was saved or nothing.
 */

static void
put_escaped(struct vms_buf *b, const char *s)
{
	if (!*s || strcmp(s, "-") == 0) { /* "-" alone stands for the empty string */
		vms_buf_append(b, *s ? "%2D" : "-", *s ? 3 : 1);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '%')
			vms_buf_printf(b, "%%%02X", c);
		else
			vms_buf_append(b, s, 1);
	}
}

static void
put_double(struct vms_buf *b, double v)
{
	vms_buf_printf(b, " %.17g", v);
}

static double
welford_var0(const struct vms_welford *w)
{
	return w->n >= 2 ? vms_welford_variance(w) : 0;
}

void
vms_analysis_serialize(const struct vms_analysis *a, struct vms_buf *b)
{
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		vms_buf_printf(b, "domain ");
		put_escaped(b, d->key);
		put_double(b, d->last_seen_unix);
		vms_buf_printf(b, " %u %llu ", d->sig_vcpus, (unsigned long long)d->sig_mem_kib);
		put_escaped(b, d->sig_probe);
		buf_lit(b, " ");
		put_escaped(b, d->name);
		buf_lit(b, "\n");
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_probe *pr = &d->probes[p];
			if (pr->have_baseline) {
				vms_buf_printf(b, "baseline %s %d", vms_an_probe_name(p),
				               pr->pinned);
				put_double(b, pr->baseline);
				vms_buf_printf(b, " %u\n", pr->baseline_n_up);
			}
			for (unsigned k = 0; k < pr->nbuckets; k++) {
				const struct an_bucket *bk = &pr->buckets[k];
				vms_buf_printf(b, "bucket %s %u %llu", vms_an_probe_name(p),
				               bk->n_up, (unsigned long long)bk->w.n);
				put_double(b, bk->w.mean);
				put_double(b, welford_var0(&bk->w));
				vms_buf_printf(b, " %u", bk->nrecent);
				for (unsigned j = 0; j < bk->nrecent; j++) {
					unsigned at =
					    (bk->head + VMS_AN_BUCKET_WINDOW - bk->nrecent + j) %
					    VMS_AN_BUCKET_WINDOW;
					vms_buf_printf(b, " %.9g",
					               bk->recent[at]); /* plenty for a median */
				}
				buf_lit(b, "\n");
			}
			for (unsigned s = 0; s < 2; s++) {
				if (!pr->overhead[s].n)
					continue;
				vms_buf_printf(b, "overhead %s %s %llu", vms_an_probe_name(p),
				               s ? "busy" : "idle",
				               (unsigned long long)pr->overhead[s].n);
				put_double(b, pr->overhead[s].mean);
				put_double(b, welford_var0(&pr->overhead[s]));
				buf_lit(b, "\n");
			}
		}
		if (d->have_startup) {
			vms_buf_printf(b, "startup");
			put_double(b, d->startup_s);
			buf_lit(b, "\n");
		}
	}
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		for (unsigned i = 0; i < a->host[m].n; i++) {
			const struct an_host_bucket *hb = &a->host[m].b[i];
			vms_buf_printf(b, "host %s %u %llu", an_host_metric_names[m], hb->n_up,
			               (unsigned long long)hb->w.n);
			put_double(b, hb->w.mean);
			put_double(b, welford_var0(&hb->w));
			buf_lit(b, "\n");
		}
	vms_buf_printf(b, "end %zu\n", a->ndomains);
}

#define AN_MAX_FIELDS (8 + VMS_AN_BUCKET_WINDOW)

/* Decodes a percent-encoded field in place; "-" is the empty string. */
static bool
unescape(char *s)
{
	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return true;
	}
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		unsigned v;
		if (!r[1] || !r[2] || sscanf(r + 1, "%2x", &v) != 1 || v == 0)
			return false;
		*w++ = (char)v;
		r += 2;
	}
	*w = '\0';
	return true;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return false;
	*v = x;
	return true;
}

/* A finite double. strtod reports ERANGE for subnormal results too: those are values the
 * analysis took (a guest may report 5e-324) and wrote, so they must read back; an overflow
 * is still refused (not finite). */
static bool
parse_double(const char *s, double *v)
{
	errno = 0;
	char *end;
	*v = strtod(s, &end);
	bool range_ok = !errno || (errno == ERANGE && fabs(*v) < DBL_MIN);
	return range_ok && end != s && !*end && isfinite(*v);
}

static bool
parse_welford(char **f, struct vms_welford *w)
{
	uint64_t n;
	double mean, var;
	return parse_u64(f[0], UINT64_MAX / 2, &n) && parse_double(f[1], &mean) &&
	       parse_double(f[2], &var) && vms_welford_restore(w, n, mean, n >= 2 ? var : 0);
}

/* Reading a payload: the state built so far and where the reader is. */
struct reader {
	struct vms_analysis *fresh; /* what the payload holds, taken over only when whole */
	struct an_domain *cur;      /* the domain the records belong to */
	unsigned line;
	bool ended;
	char *err;
	size_t errsz;
};

#define RECORD_BAD (-1)    /* a malformed record: the caller says which */
#define RECORD_FAILED (-2) /* err says why */

static int
read_domain(struct reader *r, char **f)
{
	uint64_t vcpus, mem;
	double seen;
	struct an_domain *d;
	if (!unescape(f[1]) || strlen(f[1]) > VMS_DOMAIN_KEY_LEN || !*f[1] ||
	    an_find_domain(r->fresh, f[1]) || !parse_double(f[2], &seen) ||
	    !parse_u64(f[3], VMS_MAX_VCPUS, &vcpus) || !parse_u64(f[4], UINT64_MAX, &mem) ||
	    !unescape(f[5]) || strlen(f[5]) >= sizeof(d->sig_probe) || !unescape(f[6]) || !*f[6])
		return RECORD_BAD;
	if (!(d = an_add_domain(r->fresh, f[1], f[6]))) {
		snprintf(r->err, r->errsz, "more than %u domains", AN_MAX_DOMAINS);
		return RECORD_FAILED;
	}
	d->last_seen_unix = seen;
	d->sig_vcpus = (unsigned)vcpus;
	d->sig_mem_kib = mem;
	snprintf(d->sig_probe, sizeof(d->sig_probe), "%s", f[5]);
	r->cur = d;
	return 0;
}

static int
read_baseline(struct an_probe *pr, char **f)
{
	uint64_t pinned, n_up;
	double v;
	if (pr->have_baseline || !parse_u64(f[2], 1, &pinned) || !parse_double(f[3], &v) ||
	    !(v > 0) || !parse_u64(f[4], UINT32_MAX, &n_up) || n_up == 0)
		return RECORD_BAD;
	pr->have_baseline = true;
	pr->pinned = pinned;
	pr->baseline = v;
	pr->baseline_n_up = (uint32_t)n_up;
	return 0;
}

static int
read_bucket(struct vms_analysis *fresh, struct an_probe *pr, char **f, unsigned nf)
{
	uint64_t n_up, k;
	if (!parse_u64(f[2], UINT32_MAX, &n_up) || n_up == 0 ||
	    !parse_u64(f[6], VMS_AN_BUCKET_WINDOW, &k) || nf != 7 + k)
		return RECORD_BAD;
	for (unsigned i = 0; i < pr->nbuckets; i++)
		if (pr->buckets[i].n_up == n_up)
			return RECORD_BAD;
	/* Over a cap lowered since the save, an_get_bucket evicts the least recent, never the
	 * baseline's (its record comes first). */
	struct an_bucket *bk = an_get_bucket(fresh, pr, (uint32_t)n_up);
	if (!parse_welford(&f[3], &bk->w) || bk->w.n < k)
		return RECORD_BAD;
	for (unsigned j = 0; j < k; j++)
		if (!parse_double(f[7 + j], &bk->recent[j]) || !(bk->recent[j] > 0))
			return RECORD_BAD;
	bk->nrecent = (unsigned)k;
	bk->head = (unsigned)(k % VMS_AN_BUCKET_WINDOW);
	bk->last_use = ++fresh->feed_seq;
	return 0;
}

static int
read_overhead(struct an_probe *pr, char **f)
{
	int s = strcmp(f[2], "busy") == 0 ? 1 : strcmp(f[2], "idle") == 0 ? 0 : -1;
	if (s < 0 || pr->overhead[s].n || !parse_welford(&f[3], &pr->overhead[s]))
		return RECORD_BAD;
	return 0;
}

static int
read_host(struct vms_analysis *fresh, char **f)
{
	uint64_t n_up;
	unsigned m = an_host_metric_from_name(f[1]);
	struct an_host_series *hs = m < AN_HOST_COUNT ? &fresh->host[m] : NULL;
	/* N_up 0 is a host sample with no domain up: the hypervisor's own idle cost. */
	if (!hs || hs->n == VMS_AN_MAX_BUCKETS || !parse_u64(f[2], UINT32_MAX, &n_up))
		return RECORD_BAD;
	for (unsigned i = 0; i < hs->n; i++)
		if (hs->b[i].n_up == n_up)
			return RECORD_BAD;
	hs->b[hs->n].n_up = (uint32_t)n_up;
	if (!parse_welford(&f[3], &hs->b[hs->n].w))
		return RECORD_BAD;
	hs->n++;
	return 0;
}

static int
read_end(struct reader *r, char **f)
{
	uint64_t n;
	if (!parse_u64(f[1], AN_MAX_DOMAINS, &n) || n != r->fresh->ndomains) {
		snprintf(r->err, r->errsz,
		         "line %u: the end record counts %s domains, the file has %zu", r->line,
		         f[1], r->fresh->ndomains);
		return RECORD_FAILED;
	}
	r->ended = true;
	return 0;
}

/* One record by its type and field count; probe records only within a domain. */
static int
read_record(struct reader *r, char **f, unsigned nf)
{
	if (nf == 0)
		return RECORD_BAD;
	int p = nf > 1 ? vms_an_probe_from_name(f[1]) : -1;
	/* Only baseline, bucket and overhead records name a probe: a domain saved without any
	 * keeps the shared blank state. */
	struct an_probe *pr = r->cur && p >= 0 ? &an_probes_mut(r->cur)[p] : NULL;
	if (strcmp(f[0], "domain") == 0 && nf == 7)
		return read_domain(r, f);
	if (strcmp(f[0], "baseline") == 0 && nf == 5 && pr)
		return read_baseline(pr, f);
	if (strcmp(f[0], "bucket") == 0 && nf >= 7 && pr)
		return read_bucket(r->fresh, pr, f, nf);
	if (strcmp(f[0], "overhead") == 0 && nf == 6 && pr)
		return read_overhead(pr, f);
	if (strcmp(f[0], "startup") == 0 && nf == 2 && r->cur) {
		if (!parse_double(f[1], &r->cur->startup_s) || r->cur->startup_s < 0)
			return RECORD_BAD;
		r->cur->have_startup = true;
		return 0;
	}
	if (strcmp(f[0], "host") == 0 && nf == 6)
		return read_host(r->fresh, f);
	if (strcmp(f[0], "end") == 0 && nf == 2)
		return read_end(r, f);
	return RECORD_BAD;
}

/* One line split at spaces and read; false (err set) when the payload is unusable. */
static bool
read_line(struct reader *r, char *l)
{
	r->line++;
	if (r->ended) {
		snprintf(r->err, r->errsz, "line %u: data after the end record", r->line);
		return false;
	}
	char *f[AN_MAX_FIELDS + 1] = {NULL}, *save = NULL;
	unsigned nf = 0;
	for (char *t = strtok_r(l, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (nf == AN_MAX_FIELDS) {
			snprintf(r->err, r->errsz, "line %u: too many fields", r->line);
			return false;
		}
		f[nf++] = t;
	}
	int rc = read_record(r, f, nf);
	if (rc == RECORD_BAD)
		snprintf(r->err, r->errsz, "line %u: malformed '%.20s' record", r->line,
		         f[0] ? f[0] : "");
	return rc == 0;
}

/* The whole payload read: a takes the fresh state over (the configuration stays a's). */
static void
adopt(struct vms_analysis *a, struct vms_analysis *fresh)
{
	for (size_t i = 0; i < fresh->ndomains; i++)
		for (unsigned p = 0; fresh->domains[i]->own_probes && p < VMS_AN_PROBE_COUNT; p++)
			an_choose_baseline(fresh, &fresh->domains[i]->own_probes[p]);
	for (size_t i = 0; i < a->ndomains; i++)
		an_free_domain(a->domains[i]);
	free(a->domains);
	vms_keyindex_fini(&a->index);
	a->domains = fresh->domains;
	a->ndomains = fresh->ndomains;
	a->cap = fresh->cap;
	a->index = fresh->index;
	a->feed_seq = fresh->feed_seq;
	memcpy(a->host, fresh->host, sizeof(a->host));
	fresh->domains = NULL;
	fresh->ndomains = 0;
	vms_keyindex_init(&fresh->index, fresh->index.key_offset);
}

int
vms_analysis_deserialize(struct vms_analysis *a, const char *payload, size_t len, char *err,
                         size_t errsz)
{
	an_changed_pending(a);
	struct reader r = {.fresh = vms_analysis_new(&a->cfg), .err = err, .errsz = errsz};
	char *text = vms_xcalloc(len + 1, 1);
	memcpy(text, payload, len);
	bool ok = true;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); ok && l; l = strtok_r(NULL, "\n", &save))
		ok = read_line(&r, l);
	if (ok && !r.ended) {
		snprintf(err, errsz, "no end record: the state is incomplete");
		ok = false;
	}
	if (ok)
		adopt(a, r.fresh);
	free(text);
	vms_analysis_free(r.fresh);
	return ok ? 0 : -1;
}

int
vms_analysis_save(struct vms_analysis *a, const char *path, double now_unix, char *err,
                  size_t errsz)
{
	an_changed(a); /* the save counters */
	struct vms_buf b;
	vms_buf_init(&b);
	vms_analysis_serialize(a, &b);
	int rc =
	    vms_statefile_write(path, AN_STATE_KIND, AN_STATE_VERSION, b.data, b.len, err, errsz);
	vms_buf_free(&b);
	if (rc == 0) {
		a->saves_ok++;
		a->last_save_unix = now_unix;
		vms_complain_recovered(&a->save_complaint, NULL, "analysis state saved to %s again",
		                       path);
	} else {
		a->saves_failed++;
		vms_complain(&a->save_complaint, LOG_ERR, NULL, "%s", err);
	}
	return rc;
}

int
vms_analysis_load(struct vms_analysis *a, const char *path)
{
	an_changed_pending(a);
	char err[256] = "", bad[4096];
	char *payload = NULL;
	size_t len = 0;
	unsigned version = 0;
	vms_statefile_clean_temps(path);
	int rc = vms_statefile_read(path, AN_STATE_KIND, AN_STATE_VERSION, VMS_STATEFILE_MAX_LEN,
	                            &payload, &len, &version, err, sizeof(err));
	if (rc == 0 && vms_analysis_deserialize(a, payload, len, err, sizeof(err)) < 0)
		rc = -1;
	free(payload);
	if (rc < 0) {
		if (vms_statefile_quarantine(path, bad, sizeof(bad)) == 0)
			vms_err(
			    "analysis state %s is unusable (%s): moved it to %s and starting fresh",
			    path, err, bad);
		else
			vms_err(
			    "analysis state %s is unusable (%s) and cannot be moved aside (%s): "
			    "starting fresh; the next save replaces it",
			    path, err, strerror(errno));
	} else if (rc == 0) {
		size_t baselines = 0;
		for (size_t i = 0; i < a->ndomains; i++)
			for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
				baselines += a->domains[i]->probes[p].have_baseline;
		vms_info("analysis state loaded from %s: %zu domains, %zu baselines", path,
		         a->ndomains, baselines);
	}
	a->load_result = rc;
	return rc;
}

/* The bodies the HTTP endpoint serves, and their derived formats (see http_snapshot.h). */
#include "daemon/http_snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "daemon/expo/openmetrics.h"
#include "daemon/util/alloc.h"
#include "daemon/util/buf.h"
#include "daemon/util/gzip.h"

enum { VARIANT_TEXT_GZ, VARIANT_OM, VARIANT_OM_GZ, VARIANT_COUNT };

struct http_snapshot {
	atomic_uint refs;
	char *text;
	size_t len;
	/* Variants of a metrics body (OpenMetrics, gzip of either), derived by the first scrape
	 * that asks for one, then shared by every scrape of this snapshot. */
	pthread_mutex_t derive_lock;
	struct variant {
		bool tried;
		char *data;
		size_t len;
	} derived[VARIANT_COUNT];
};

struct http_snapshot *
http_snapshot_new(char *text, size_t len)
{
	struct http_snapshot *s = vms_xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->derive_lock, NULL);
	s->text = text;
	s->len = len;
	return s;
}

void
http_snapshot_ref(struct http_snapshot *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void
http_snapshot_unref(struct http_snapshot *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->text);
		for (int i = 0; i < VARIANT_COUNT; i++)
			free(s->derived[i].data);
		pthread_mutex_destroy(&s->derive_lock);
		free(s);
	}
}

const char *
http_snapshot_text(const struct http_snapshot *s, size_t *len)
{
	*len = s->len;
	return s->text;
}

#define OM_SLICE_BYTES (64 * 1024)

/*
 * gzip of the OpenMetrics form of text, converted a slice of lines at a time: Prometheus asks
 * for exactly this, and keeping an uncompressed OpenMetrics copy of a 5 MB exposition (1 000
 * domains) only to compress it would double the snapshot's memory. NULL if zlib fails.
 */
static char *
gzip_openmetrics(const char *text, size_t len, size_t *outlen)
{
	z_stream z = {0};
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	/* The conversion only shortens names and adds "# EOF\n". */
	size_t cap = deflateBound(&z, (uLong)len + 6);
	char *out = vms_xcalloc(1, cap);
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	struct vms_buf slice;
	vms_buf_init(&slice);
	const char *p = text, *end = text + len;
	int rc = Z_OK;
	for (bool last = false; !last && rc == Z_OK;) {
		const char *stop = (size_t)(end - p) > OM_SLICE_BYTES ? p + OM_SLICE_BYTES : end;
		const char *nl = stop < end ? memchr(stop, '\n', (size_t)(end - stop)) : NULL;
		if (stop < end)
			stop = nl ? nl + 1 : end;
		last = stop == end;
		slice.len = 0;
		vms_openmetrics_lines(&slice, p, (size_t)(stop - p));
		if (last)
			vms_buf_append(&slice, "# EOF\n", 6);
		p = stop;
		z.next_in = (Bytef *)slice.data;
		z.avail_in = (uInt)slice.len;
		rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_OK && z.avail_in != 0)
			rc = Z_BUF_ERROR; /* cannot happen with deflateBound's room; never loop on
			                     it */
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	vms_buf_free(&slice);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

const char *
http_snapshot_body(struct http_snapshot *s, bool openmetrics, bool gzip, size_t *len)
{
	if (!openmetrics && !gzip) {
		*len = s->len;
		return s->text;
	}
	pthread_mutex_lock(&s->derive_lock);
	struct variant *om = &s->derived[VARIANT_OM];
	if (openmetrics && !gzip && !om->tried) {
		struct vms_buf b;
		vms_buf_init(&b);
		vms_openmetrics(&b, s->text, s->len);
		om->tried = true;
		om->data = b.data;
		om->len = b.len;
	}
	struct variant *v = om;
	if (gzip) {
		v = &s->derived[openmetrics ? VARIANT_OM_GZ : VARIANT_TEXT_GZ];
		const char *in = openmetrics ? om->data : s->text;
		size_t in_len = openmetrics ? om->len : s->len;
		if (!v->tried) {
			v->tried = true;
			if (openmetrics && !om->data)
				v->data = gzip_openmetrics(s->text, s->len, &v->len);
			else
				v->data = vms_gzip(in, in_len, &v->len);
		}
	}
	pthread_mutex_unlock(&s->derive_lock);
	*len = v->len;
	return v->data;
}

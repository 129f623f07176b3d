/* OpenMetrics 1.0 from the text exposition (see openmetrics.h). */
#include "daemon/expo/openmetrics.h"

#include <stdbool.h>
#include <string.h>

/* Length of name without a suffix that OpenMetrics keeps off family names, else 0. */
static size_t
openmetrics_family_len(const char *name, size_t len, const char **type)
{
	static const struct {
		const char *suffix, *from, *to;
	} map[] = {{"_total", "counter", "counter"}, {"_info", "gauge", "info"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t sl = strlen(map[i].suffix);
		if (len > sl && memcmp(name + len - sl, map[i].suffix, sl) == 0) {
			*type = map[i].to;
			return len - sl;
		}
	}
	return 0;
}

void
vms_openmetrics(struct vms_buf *b, const char *text, size_t len)
{
	/* HELP and TYPE names only get shorter, so one allocation holds the whole result. */
	vms_buf_reserve(b, len + 7);
	vms_openmetrics_lines(b, text, len);
	vms_buf_append(b, "# EOF\n", 6);
}

void
vms_openmetrics_lines(struct vms_buf *b, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		if (*p != '#') {
			/* Sample lines pass unchanged: copy up to the next comment line at once.
			 * '#' is rare outside comments (a label value may hold one), so memchr. */
			const char *stop = memchr(p, '#', (size_t)(end - p));
			while (stop && stop[-1] != '\n')
				stop = memchr(stop + 1, '#', (size_t)(end - stop - 1));
			if (!stop)
				stop = end;
			vms_buf_append(b, p, (size_t)(stop - p));
			p = stop;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* "# HELP name_total ..." / "# TYPE name_total counter": the family is "name";
		 * a gauge "name_info" of constant 1 is an OpenMetrics info family "name". */
		const char *type = NULL;
		bool help = l > 7 && memcmp(p, "# HELP ", 7) == 0;
		bool typeline = l > 7 && memcmp(p, "# TYPE ", 7) == 0;
		const char *name = p + 7;
		const char *sp = (help || typeline) ? memchr(name, ' ', l - 7) : NULL;
		size_t flen = sp ? openmetrics_family_len(name, (size_t)(sp - name), &type) : 0;
		if (flen && help) {
			vms_buf_append(b, p, 7 + flen);
			vms_buf_append(b, sp, l - (size_t)(sp - p));
		} else if (flen && typeline) {
			vms_buf_append(b, p, 7 + flen);
			vms_buf_printf(b, " %s\n", type);
		} else {
			vms_buf_append(b, p, l);
		}
		p += l;
	}
}

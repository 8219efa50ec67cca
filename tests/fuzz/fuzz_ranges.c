// SPDX-License-Identifier: MIT
/*
 * dirty/ranges of fsd/attrs.c on a sim device.  Whatever the store
 * accepts must be what the reference reads in it (one "START LENGTH" pair
 * a line, blank lines ignored), and what show prints must store back to
 * itself.
 */
#include "backend.h"
#include "fuzz.h"
#include "vfio-migfsd.h"

static struct migdev *dev;
static const struct mig_attr *ranges;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160];

	(void)argc;
	(void)argv;
	if (migdev_open("sim:r,size=4K", &dev, err, sizeof(err)))
		abort();
	ranges = fuzz_attr(dirty_attrs, "ranges");
	return 0;
}

/* The words of a line, split at runs of blanks. */
static size_t words(const char *line, size_t len, const char **w, size_t *wlen, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		w[n] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		wlen[n] = (size_t)(line + i - w[n]);
		n++;
	}
	return n;
}

/* The reference reading: the number of ranges, or -1 if it is not a list. */
static int reference(const char *s, struct mig_range *r)
{
	int n = 0;

	for (const char *line = s; ; ) {
		const char *nl = strchr(line, '\n'), *w[2];
		size_t len = nl ? (size_t)(nl - line) : strlen(line), wlen[2];
		size_t nw = words(line, len, w, wlen, 2);

		if (nw == 2) {
			if (n == MIG_MAX_RANGES ||
			    ref_number(w[0], wlen[0], true, &r[n].start) != REF_OK ||
			    ref_number(w[1], wlen[1], true, &r[n].length) != REF_OK)
				return -1;
			n++;
		} else if (nw) {
			return -1;
		}
		if (!nl)
			return n;
		line = nl + 1;
	}
}

static int by_start(const void *a, const void *b)
{
	const struct mig_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static char *show(void)
{
	struct strbuf sb = { 0 };
	char *copy;

	fuzz_check(ranges->show(dev, &sb) == 0, "ranges show failed");
	copy = fuzz_cstr((const uint8_t *)(sb.len ? sb.buf : ""), sb.len);
	sb_free(&sb);
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mig_range want[MIG_MAX_RANGES], got[MIG_MAX_RANGES];
	char *s = fuzz_cstr(data, size), *shown, *again;
	int n, r = ranges->store(dev, s);

	if (r) {
		free(s);
		return 0;
	}
	n = reference(s, want);
	fuzz_check(n >= 0, "ranges took '%s', which is not a list", s);
	qsort(want, (size_t)n, sizeof(want[0]), by_start);
	fuzz_check(migdev_dirty_ranges(dev, got) == (unsigned int)n &&
		   !memcmp(got, want, (size_t)n * sizeof(want[0])),
		   "ranges took '%s' as something else", s);
	shown = show();
	fuzz_check(ranges->store(dev, shown) == 0, "'%s' does not store back", shown);
	again = show();
	fuzz_check(!strcmp(shown, again), "'%s' stored back shows '%s'", shown, again);
	free(again);
	free(shown);
	free(s);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * Device specs and option lists.  The first byte picks the target:
 * 0: migdev_open() of the rest (sim:, vfio:, fd: or anything), with the
 *    sim's size pinned small afterwards (the last option wins);
 * 1: parse_spec_opts() against a reference split of the list.
 */
#include <errno.h>

#include "backend.h"
#include "fuzz.h"
#include "parse.h"

/* What the option table below was called with (an input has < 2049 items). */
#define MAX_CALLS	2049
static struct {
	int opt;
	char *value;		/* NULL for a flag */
} calls[MAX_CALLS];
static size_t ncalls;

static int record(int opt, const char *v)
{
	if (ncalls == MAX_CALLS)
		abort();
	calls[ncalls].opt = opt;
	calls[ncalls].value = v ? strdup(v) : NULL;
	ncalls++;
	return 0;
}

static void forget_calls(void)
{
	while (ncalls)
		free(calls[--ncalls].value);
}

static int set_size(void *ctx, const char *v)
{
	uint64_t n;

	(void)ctx;
	record(0, v);
	return parse_u64(v, &n, 1) ? -EINVAL : 0;
}

static int set_name(void *ctx, const char *v)
{
	(void)ctx;
	return record(1, v);
}

static int set_flag(void *ctx, const char *v)
{
	(void)ctx;
	return record(2, v);
}

static const struct spec_opt opts[] = {
	{ "size", set_size, 0 }, { "name", set_name, 0 }, { "flag", set_flag, 1 },
};

/*
 * The reference: the list split at every comma; each item non-empty, a
 * known key, with "=value" exactly when the key takes one; the calls
 * made in order, up to the first refusal.
 */
static bool same_value(const char *got, const char *item, size_t len)
{
	return got && strlen(got) == len && !strncmp(got, item, len);
}

static void check_opts(const char *list)
{
	char err[128] = "";
	const char *item = list;
	size_t call = 0;
	int r;

	r = parse_spec_opts(list, opts, 3, NULL, "who", err, sizeof(err));
	for (;; call++) {
		size_t len = strcspn(item, ","), key = strcspn(item, "=,");
		bool has_value = key < len;
		char *value = strndup(item + key + 1, has_value ? len - key - 1 : 0);
		bool refused;
		int opt = -1;

		for (int i = 0; i < 3; i++)
			if (strlen(opts[i].key) == key && !strncmp(item, opts[i].key, key))
				opt = i;
		if (!len || opt < 0 || has_value == !!opts[opt].flag) {
			fuzz_check(r == -EINVAL && call == ncalls && !strncmp(err, "who: ", 5),
				   "'%s': %d after %zu calls ('%s')", list, r, ncalls, err);
			free(value);
			break;
		}
		fuzz_check(call < ncalls && calls[call].opt == opt &&
			   (has_value ? same_value(calls[call].value, value, strlen(value)) :
			    !calls[call].value),
			   "'%s': call %zu is not item '%.*s'", list, call, (int)len, item);
		refused = opt == 0 && parse_u64(value, &(uint64_t){ 0 }, 1);
		free(value);
		if (refused || !item[len]) {
			fuzz_check(r == (refused ? -EINVAL : 0) && ncalls == call + 1,
				   "'%s': %d after %zu calls, want %d after %zu", list, r,
				   ncalls, refused ? -EINVAL : 0, call + 1);
			break;
		}
		item += len + 1;
	}
	forget_calls();
}

static void check_open(const char *spec)
{
	char buf[4200], err[256] = "";
	struct migdev *dev = NULL;
	int r;

	snprintf(buf, sizeof(buf), "%s%s", spec,
		 strncmp(spec, "sim:", 4) ? "" : ",size=4K,guest_mem=64K");
	r = migdev_open(buf, &dev, err, sizeof(err));
	if (r) {
		fuzz_check(!dev && err[0], "'%s' refused (%d) without a message", buf, r);
		return;
	}
	fuzz_check(dev && !strcmp(dev->name, buf), "'%s' opened as '%s'", buf, dev->name);
	migdev_close(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (!size || size > 4096)
		return 0;
	s = fuzz_cstr(data + 1, size - 1);
	if (data[0] & 1)
		check_opts(s);
	else
		check_open(s);
	free(s);
	return 0;
}

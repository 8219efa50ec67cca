// SPDX-License-Identifier: MIT
/*
 * What loads equals what was saved.  A sim device's stream is saved once;
 * each input damages a copy of it (a burst of up to 4 bytes changed, a
 * cut, a span removed or repeated) and loads it into another device in
 * writes of the input's size.  If the loader takes it, the loaded state
 * must be the source's, byte for byte (sim/digest): damage that CRC32C
 * always detects must never load as something else.
 */
#include <errno.h>

#include "backend.h"
#include "fuzz.h"

static struct migdev *src, *dst;
static uint8_t *saved;
static size_t saved_len;

static uint64_t digest(struct migdev *dev)
{
	const struct mig_attr *a = fuzz_attr(dev->ops->attrs, "digest");
	struct strbuf sb = { 0 };
	uint64_t v;

	fuzz_check(migdev_attr_show(dev, a, &sb) == 0, "digest");
	v = strtoull(sb.buf, NULL, 16);
	sb_free(&sb);
	return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct migdev_stream st = { 0 };
	char err[160];
	ssize_t n;

	(void)argc;
	(void)argv;
	if (migdev_open("sim:s,size=5000", &src, err, sizeof(err)) ||
	    migdev_open("sim:d,size=5000", &dst, err, sizeof(err)) ||
	    migdev_set_state(src, MIG_STOP_COPY))
		abort();
	saved = malloc(1 << 16);
	while ((n = migdev_read(src, &st, saved + saved_len, 4096)) > 0)
		saved_len += (size_t)n;
	if (n || digest(src) == digest(dst))
		abort();
	return 0;
}

/* The input: kind, two 16-bit offsets, a write size, then burst bytes. */
static size_t damage(const uint8_t *in, size_t size, uint8_t *out)
{
	size_t a, b, len = saved_len;

	memcpy(out, saved, saved_len);
	if (size < 6)
		return len;
	a = (size_t)(in[1] | in[2] << 8) % saved_len;
	b = (size_t)(in[3] | in[4] << 8) % saved_len;
	switch (in[0] % 4) {
	case 0:	/* change up to 4 bytes at a: a burst CRC32C always sees */
		for (size_t i = 6; i < size && i < 10 && a + i - 6 < len; i++)
			out[a + i - 6] ^= in[i];
		break;
	case 1:	/* cut at a */
		len = a;
		break;
	case 2:	/* remove [a, b) */
		if (a > b)
			return len;
		memmove(out + a, out + b, saved_len - b);
		len -= b - a;
		break;
	case 3:	/* repeat [a, b) after itself */
		if (a > b)
			return len;
		memcpy(out + b, saved + a, b - a);
		memcpy(out + b + (b - a), saved + b, saved_len - b);
		len += b - a;
		break;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stream[2 << 16];
	struct migdev_stream st = { 0 };
	size_t len = damage(data, size, stream), cut, off;
	bool refused = false;

	cut = size > 5 && data[5] ? data[5] : len;
	fuzz_check(migdev_reset(dst) == 0 && migdev_set_state(dst, MIG_RESUMING) == 0,
		   "cannot start resuming");
	for (off = 0; off < len && !refused; off += cut) {
		size_t n = len - off < cut ? len - off : cut;

		refused = migdev_write(dst, &st, stream + off, n) < 0;
	}
	if (!refused && migdev_set_state(dst, MIG_STOP) == 0)
		fuzz_check(digest(dst) == digest(src),
			   "a damaged stream (%zu of %zu bytes) loaded as another state",
			   len, saved_len);
	return 0;
}

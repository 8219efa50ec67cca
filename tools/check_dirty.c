// SPDX-License-Identifier: MIT
/*
 * Rule 10 of `vfio-migctl check`, the dirty log (docs/conformance.md):
 * start clears and logs, a read clears what it reported, stop freezes the
 * log for a final read, a second start discards it, and ranges past the
 * limits are refused.  The device is made to DMA through sim/dma where
 * the mount has it; elsewhere only the log's operations are checked.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "vfio-migctl.h"

#define RANGES_PAST_LIMIT	257	/* MIG_MAX_RANGES + 1: VFIO DMA logging's page of ranges */

int ck_bitmap(const char *dir, uint64_t words[CK_PAGES / 64])
{
	char path[PATH_MAX];
	size_t len = CK_PAGES / 8;
	ssize_t n;
	int fd;

	devdir_path(dir, CK_BITMAP, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, words, len, 0);
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EPROTO;
}

int ck_bitmap_bits(const char *dir, uint64_t *pages)
{
	uint64_t words[CK_PAGES / 64];
	int err = ck_bitmap(dir, words);

	*pages = 0;
	for (unsigned int i = 0; !err && i < CK_PAGES / 64; i++)
		*pages += (uint64_t)__builtin_popcountll(words[i]);
	return err;
}

static int dirty_set(const char *dir, const char *file, const char *value)
{
	char path[64];

	snprintf(path, sizeof(path), "dirty/%s", file);
	return devdir_write(dir, path, value);
}

static int set_range(struct check_ctx *c, struct verdict_text *out)
{
	int err = dirty_set(c->dir, "tracking", "0\n");

	err = err ? err : dirty_set(c->dir, "page_size", "4096\n");
	err = err ? err : dirty_set(c->dir, "ranges", CK_RANGE "\n");
	if (err)
		ck_fail(out, "echo " CK_RANGE " > dirty/ranges (tracking off, 4 KiB pages)",
			"%s", ck_errname(err));
	return err;
}

int ck_dirty_begin(struct check_ctx *c, struct verdict_text *out)
{
	int err = set_range(c, out);

	if (!err && (err = dirty_set(c->dir, "tracking", "1\n")))
		ck_fail(out, "echo 1 > dirty/tracking", "%s", ck_errname(err));
	return err;
}

void ck_dirty_end(struct check_ctx *c)
{
	uint64_t pages;

	dirty_set(c->dir, "tracking", "0\n");
	ck_bitmap_bits(c->dir, &pages);
}

/* The device DMA-writes pages [first, first + n) of the range, through sim/dma. */
static int dma(struct check_ctx *c, unsigned int first, unsigned int n)
{
	char line[64];

	snprintf(line, sizeof(line), "0x%x 0x%x\n", first * 4096, n * 4096);
	return devdir_write(c->dir, "sim/dma", line);
}

/* The bitmap must show exactly the pages of mask (of the first word). */
static void expect(struct check_ctx *c, uint64_t mask, const char *did,
		   struct verdict_text *out)
{
	uint64_t words[CK_PAGES / 64] = { 0 }, rest = 0;
	int err = ck_bitmap(c->dir, words);

	for (unsigned int i = 1; i < CK_PAGES / 64; i++)
		rest |= words[i];
	if (err)
		ck_fail(out, did, "reading %s: %s", CK_BITMAP, ck_errname(err));
	else if (words[0] != mask || rest)
		ck_fail(out, did, "bitmap word 0 is 0x%" PRIx64 " (others %s), expected 0x%" PRIx64,
			words[0], rest ? "set" : "clear", mask);
}

/* With DMA at will: each step of the log's life, and its bits. */
static void dirty_with_dma(struct check_ctx *c, struct verdict_text *out)
{
	if (set_range(c, out) || dma(c, 1, 1) || dirty_set(c->dir, "tracking", "1\n")) {
		ck_fail(out, "sim/dma, then echo 1 > dirty/tracking", "refused");
		return;
	}
	expect(c, 0, "DMA to page 1, then start tracking, read the bitmap", out);
	dma(c, 3, 2);
	expect(c, 0x18, "DMA to pages 3-4 while tracking, read the bitmap", out);
	expect(c, 0, "read the bitmap again (test and clear)", out);
	dma(c, 5, 1);
	dirty_set(c->dir, "tracking", "0\n");
	dma(c, 6, 1);
	expect(c, 0x20, "DMA to page 5, stop tracking, DMA to page 6, read the frozen log", out);
	expect(c, 0, "read the frozen log again", out);
	dirty_set(c->dir, "tracking", "1\n");
	dma(c, 7, 1);
	dirty_set(c->dir, "tracking", "0\n");
	dirty_set(c->dir, "tracking", "1\n");
	expect(c, 0, "DMA to page 7, stop (frozen), start again, read the bitmap", out);
	ck_dirty_end(c);
	ck_note(out, "start, test-and-clear, frozen log, restart seen with sim/dma");
}

/* Without: the operations succeed, and the frozen log reads. */
static void dirty_without_dma(struct check_ctx *c, struct verdict_text *out)
{
	uint64_t pages;
	int err;

	if (ck_dirty_begin(c, out))
		return;
	err = ck_bitmap_bits(c->dir, &pages);
	err = err ? err : dirty_set(c->dir, "tracking", "0\n");
	err = err ? err : ck_bitmap_bits(c->dir, &pages);
	err = err ? err : dirty_set(c->dir, "tracking", "1\n");
	if (err)
		ck_fail(out, "start, read, stop, read the frozen log, start again", "%s",
			ck_errname(err));
	ck_dirty_end(c);
	ck_note(out, "test-and-clear not verified: the mount has no sim/dma to make "
		"the device DMA");
}

static void past_limits(struct check_ctx *c, struct verdict_text *out)
{
	char ranges[RANGES_PAST_LIMIT * 24] = "", *p = ranges;
	int err;

	for (unsigned int i = 0; i < RANGES_PAST_LIMIT; i++)
		p += sprintf(p, "0x%x 0x1000\n", i * 0x2000);
	err = dirty_set(c->dir, "ranges", ranges);
	if (err != -E2BIG)
		ck_fail(out, "write 257 ranges to dirty/ranges", "%s (expected E2BIG)",
			ck_errname(err));
	err = dirty_set(c->dir, "ranges", "0x800 0x1000\n");
	if (err != -EINVAL)
		ck_fail(out, "echo '0x800 0x1000' > dirty/ranges (not page aligned)",
			"%s (expected EINVAL)", ck_errname(err));
	ck_note(out, "257 ranges and an unaligned one refused");
}

bool ck_sim_dma(const struct check_ctx *c)
{
	char path[PATH_MAX];

	return !devdir_path(c->dir, "sim/dma", path, sizeof(path)) && !access(path, W_OK);
}

void rule_dirty(struct check_ctx *c, struct verdict_text *out)
{
	if (!ck_has(c, FEATURE_DIRTY)) {
		ck_skip(out, "the device has no dirty log");
		return;
	}
	if (!ck_home(c->dir)) {
		ck_fail(out, "echo running > state", "the device cannot be brought to running");
		return;
	}
	if (ck_sim_dma(c))
		dirty_with_dma(c, out);
	else
		dirty_without_dma(c, out);
	if (!set_range(c, out))
		past_limits(c, out);
}

// SPDX-License-Identifier: MIT
/*
 * The dirty log of the device layer over a simulated device: range
 * checks, test-and-clear reads of parts of a bitmap, range ends that cut a
 * word, and the frozen log after tracking stops.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"

static struct migdev *open_sim(void)
{
	struct migdev *dev;
	char err[128];

	assert_int_equal(migdev_open("sim:d,dirty_rate=0,guest_mem=64M", &dev,
				     err, sizeof(err)), 0);
	return dev;
}

static void dma(struct migdev *dev, uint64_t iova, uint64_t len)
{
	char text[64];

	for (const struct mig_attr *a = dev->ops->attrs; a->name; a++) {
		if (strcmp(a->name, "dma"))
			continue;
		snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)iova,
			 (unsigned long long)len);
		assert_int_equal(migdev_attr_store(dev, a, text), 0);
		return;
	}
	fail_msg("the sim has no dma attribute");
}

static void test_ranges_checked(void **state)
{
	struct migdev *dev = open_sim();
	struct mig_range r[2] = { { 0, 8192 }, { 4096, 4096 } };
	struct mig_range out[MIG_MAX_RANGES];

	(void)state;
	assert_int_equal(migdev_dirty_set_ranges(dev, r, 2), -EINVAL);	/* overlap */
	r[1] = (struct mig_range){ 100, 4096 };
	assert_int_equal(migdev_dirty_set_ranges(dev, r, 2), -EINVAL);	/* unaligned */
	r[1] = (struct mig_range){ UINT64_MAX - 4095, 8192 };
	assert_int_equal(migdev_dirty_set_ranges(dev, r, 2), -EINVAL);	/* wraps */
	r[0] = (struct mig_range){ 0x100000, 4096 };
	r[1] = (struct mig_range){ 0, 4096 };
	assert_int_equal(migdev_dirty_set_ranges(dev, r, 2), 0);
	assert_int_equal(migdev_dirty_ranges(dev, out), 2);
	assert_true(out[0].start == 0 && out[1].start == 0x100000);	/* sorted */
	assert_int_equal(migdev_dirty_set_page_size(dev, 8192), -EINVAL);
	assert_int_equal(migdev_dirty_set_page_size(dev, 12288), -EINVAL);
	assert_int_equal(migdev_dirty_start(dev), 0);
	assert_int_equal(migdev_dirty_start(dev), -EBUSY);
	assert_int_equal(migdev_dirty_set_ranges(dev, r, 1), -EBUSY);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	migdev_close(dev);
}

/* 100 pages: the second word holds pages 64..99 and nothing past them. */
static void test_range_end_cuts_a_word(void **state)
{
	struct migdev *dev = open_sim();
	struct mig_range r = { 0, 100 * 4096 };
	uint64_t bits[4] = { ~0ull, ~0ull, ~0ull, ~0ull };

	(void)state;
	assert_int_equal(dirty_bitmap_bytes(r.length, 4096), 16);
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	dma(dev, 0, 100 * 4096);
	assert_int_equal(migdev_dirty_read(dev, r, 0, bits, sizeof(bits)), 16);
	assert_true(bits[0] == ~0ull);
	assert_true(bits[1] == (1ull << 36) - 1);
	assert_true(bits[2] == ~0ull);	/* past the end: untouched */
	assert_int_equal(migdev_dirty_read(dev, r, 16, bits, 8), 0);	/* EOF */
	assert_int_equal(migdev_dirty_read(dev, r, 4, bits, 8), -EINVAL);
	assert_int_equal(migdev_dirty_read(dev, r, 0, bits, 12), -EINVAL);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	migdev_close(dev);
}

/* A read clears exactly the words it returns, live and frozen alike. */
static void check_split_reads(struct migdev *dev, struct mig_range r)
{
	uint64_t w;

	assert_int_equal(migdev_dirty_read(dev, r, 8, &w, 8), 8);
	assert_true(w == (1ull << 1));			/* page 65 */
	assert_int_equal(migdev_dirty_read(dev, r, 8, &w, 8), 8);
	assert_true(w == 0);				/* cleared */
	assert_int_equal(migdev_dirty_read(dev, r, 0, &w, 8), 8);
	assert_true(w == ((1ull << 63) | 1));		/* pages 0 and 63 kept */
	assert_int_equal(migdev_dirty_read(dev, r, 0, &w, 8), 8);
	assert_true(w == 0);
}

static void test_partial_reads(void **state)
{
	struct migdev *dev = open_sim();
	struct mig_range r = { 1ull << 20, 128 * 4096 };

	(void)state;
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	dma(dev, r.start, 4096);
	dma(dev, r.start + 63 * 4096, 4096);
	dma(dev, r.start + 65 * 4096, 4096);
	check_split_reads(dev, r);
	/* The same pages, frozen by a stop: the same answers. */
	dma(dev, r.start, 4096);
	dma(dev, r.start + 63 * 4096, 4096);
	dma(dev, r.start + 65 * 4096, 4096);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	dma(dev, r.start + 2 * 4096, 4096);	/* after the stop: not logged */
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);	/* unchanged */
	assert_int_equal(migdev_dirty_set_page_size(dev, 4096), 0);	/* unchanged */
	check_split_reads(dev, r);
	migdev_close(dev);
}

static void test_frozen_log_dropped(void **state)
{
	struct migdev *dev = open_sim();
	struct mig_range r = { 0, 64 * 8192 }, old = r;
	uint64_t w = 0;

	(void)state;
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	dma(dev, 0, 4096);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	/* A new page size makes the old bits meaningless. */
	assert_int_equal(migdev_dirty_set_page_size(dev, 8192), 0);
	assert_int_equal(migdev_dirty_read(dev, r, 0, &w, 8), 8);
	assert_true(w == 0);
	/* A range that is gone reads as stale. */
	r.length = 8192;
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_read(dev, old, 0, &w, 8), -ESTALE);
	migdev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_checked),
		cmocka_unit_test(test_range_end_cuts_a_word),
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_frozen_log_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

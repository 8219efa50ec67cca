// SPDX-License-Identifier: MIT
/*
 * The dirty log of the device layer over a simulated device: range
 * checks, test-and-clear reads of parts of a bitmap, range ends that cut a
 * word, the frozen log after tracking stops, the bound on bitmap memory,
 * and `state` answering while a long report runs.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "backend.h"

static struct migdev *open_spec(const char *spec)
{
	struct migdev *dev;
	char err[128];

	assert_int_equal(migdev_open(spec, &dev, err, sizeof(err)), 0);
	return dev;
}

static struct migdev *open_sim(void)
{
	return open_spec("sim:d,dirty_rate=0,guest_mem=64M");
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

/* The bound is checked by the write that would pass it, and only there. */
static void test_bitmap_bound(void **state)
{
	struct migdev *dev = open_sim();
	/* 4096 bytes of bitmap: 32768 pages of 4 KiB, 128 MiB. */
	struct mig_range at = { 0, 128ull << 20 }, over = { 0, (128ull << 20) + 4096 };
	struct mig_range two[2] = { { 0, 64ull << 20 }, { 1ull << 40, 64ull << 20 } };
	struct mig_range huge = { 0, 0xFFFFFFFFFFFFF000ull }, out[MIG_MAX_RANGES];

	(void)state;
	/* The default holds 8 TiB at 4 KiB pages, and not a page more. */
	assert_int_equal(migdev_dirty_set_ranges(dev, &huge, 1), -ENOSPC);
	huge.length = 8ull << 40;
	assert_int_equal(migdev_dirty_set_ranges(dev, &huge, 1), 0);
	huge.length += 64 * 4096;
	assert_int_equal(migdev_dirty_set_ranges(dev, &huge, 1), -ENOSPC);
	assert_non_null(strstr(dev->last_error, "more than the 268435456 allowed"));

	migdev_dirty_set_bitmap_max(dev, 4096);
	assert_int_equal(migdev_dirty_set_ranges(dev, &over, 1), -ENOSPC);
	assert_int_equal(migdev_dirty_set_ranges(dev, &at, 1), 0);
	assert_int_equal(migdev_dirty_set_ranges(dev, two, 2), 0);	/* 2048 + 2048 */
	two[1].length += 4096;					/* + 8 */
	assert_int_equal(migdev_dirty_set_ranges(dev, two, 2), -ENOSPC);
	assert_int_equal(migdev_dirty_ranges(dev, out), 2);	/* the last good list */
	assert_true(out[1].length == 64ull << 20);

	/* A smaller page makes the same ranges' bitmaps larger. */
	assert_int_equal(migdev_dirty_set_page_size(dev, 8192), 0);
	over.length = (256ull << 20) + 8192;	/* 32769 pages of 8 KiB */
	assert_int_equal(migdev_dirty_set_ranges(dev, &over, 1), -ENOSPC);
	at.length = 256ull << 20;
	assert_int_equal(migdev_dirty_set_ranges(dev, &at, 1), 0);
	assert_int_equal(migdev_dirty_set_page_size(dev, 4096), -ENOSPC);
	assert_int_equal(migdev_dirty_page_size(dev), 8192);
	assert_int_equal(migdev_dirty_start(dev), 0);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	migdev_close(dev);
}

struct reader {
	struct migdev *dev;
	struct mig_range range;
	uint64_t *buf;
	size_t len;
	ssize_t n;
	uint64_t t0, t1;	/* the read began, ended (ns) */
	bool done;
};

static void *read_whole(void *arg)
{
	struct reader *rd = arg;

	rd->t0 = now_ns();
	rd->n = migdev_dirty_read(rd->dev, rd->range, 0, rd->buf, rd->len);
	rd->t1 = now_ns();
	__atomic_store_n(&rd->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Until another thread holds the log's lock; false if rd ended first. */
static bool wait_log_held(struct migdev *dev, struct reader *rd)
{
	while (!pthread_mutex_trylock(&dev->log.lock)) {
		pthread_mutex_unlock(&dev->log.lock);
		if (__atomic_load_n(&rd->done, __ATOMIC_ACQUIRE))
			return false;
		sched_yield();
	}
	return true;
}

/*
 * Read a whole log of all ones in another thread; true if `state` and
 * `status` answered in the first half of that read (not at its end, as
 * they would behind a read holding dev->lock).
 */
static bool state_during_read(struct reader *rd)
{
	struct strbuf sb = { 0 };
	uint64_t answered;
	pthread_t t;

	dma(rd->dev, 0, rd->range.length);
	rd->done = false;
	assert_int_equal(pthread_create(&t, NULL, read_whole, rd), 0);
	assert_true(wait_log_held(rd->dev, rd));
	assert_int_equal(migdev_state(rd->dev), MIG_RUNNING);
	assert_int_equal(migdev_status(rd->dev, &sb), 0);
	answered = now_ns();
	assert_non_null(strstr(sb.buf, "dirty_tracking: on"));
	pthread_join(t, NULL);
	assert_int_equal(rd->n, (ssize_t)rd->len);
	for (size_t w = 0; w < rd->len / 8; w++)
		if (rd->buf[w] != ~0ull)
			fail_msg("word %zu is %#llx", w, (unsigned long long)rd->buf[w]);
	sb_free(&sb);
	return answered < rd->t0 + (rd->t1 - rd->t0) / 2;
}

/*
 * A read of a whole 1 TiB log (32 MiB of bits) does not hold up `state`.
 * A few tries, in case this thread is not scheduled for a whole read.
 */
static void test_state_during_long_read(void **state)
{
	struct migdev *dev = open_spec("sim:d,dirty_rate=0,guest_mem=1T");
	struct reader rd = { .dev = dev, .range = { 0, 1ull << 40 } };
	bool during = false;

	(void)state;
	rd.len = (size_t)dirty_bitmap_bytes(rd.range.length, 4096);
	rd.buf = malloc(rd.len);
	assert_non_null(rd.buf);
	assert_int_equal(migdev_dirty_set_ranges(dev, &rd.range, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	for (int i = 0; i < 5 && !during; i++)
		during = state_during_read(&rd);
	assert_true(during);
	free(rd.buf);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	migdev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_checked),
		cmocka_unit_test(test_range_end_cuts_a_word),
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_frozen_log_dropped),
		cmocka_unit_test(test_bitmap_bound),
		cmocka_unit_test(test_state_during_long_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

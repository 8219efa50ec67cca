// SPDX-License-Identifier: MIT
/*
 * The sim's DMA log, which works on whole words: against a model kept a
 * page at a time, with DMA spans and report windows that start and end
 * anywhere in a word, and with reports racing the device's DMA.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "sim.h"

#define SPAN_PAGES	1200u	/* of 4 KiB: the IOVA space the model covers */

static struct migdev *open_dev(const char *spec)
{
	struct migdev *dev = NULL;
	char err[160] = "";

	assert_int_equal(migdev_open(spec, &dev, err, sizeof(err)), 0);
	return dev;
}

static void dma(struct migdev *dev, uint64_t iova, uint64_t len)
{
	char text[64];

	snprintf(text, sizeof(text), "%llu %llu", (unsigned long long)iova,
		 (unsigned long long)len);
	for (const struct mig_attr *a = dev->ops->attrs; a->name; a++)
		if (!strcmp(a->name, "dma")) {
			assert_int_equal(migdev_attr_store(dev, a, text), 0);
			return;
		}
	fail_msg("the sim has no dma attribute");
}

/* The model: dirty[p] for the 4 KiB page p, tracked or not. */
struct model {
	const struct mig_range *ranges;
	unsigned int nranges;
	uint64_t page_size;
	bool dirty[SPAN_PAGES];
};

static bool tracked(const struct model *m, uint64_t addr)
{
	for (unsigned int i = 0; i < m->nranges; i++)
		if (addr >= m->ranges[i].start &&
		    addr - m->ranges[i].start < m->ranges[i].length)
			return true;
	return false;
}

/* A log page is dirty when any byte of it was written. */
static void model_dma(struct model *m, uint64_t first, uint64_t count)
{
	for (uint64_t p = first; p < first + count; p++)
		if (tracked(m, p * SIM_PAGE_SIZE))
			m->dirty[p * SIM_PAGE_SIZE / m->page_size] = true;
}

static void check_report(struct migdev *dev, struct model *m, uint64_t first,
			 uint64_t count)
{
	uint64_t bits[SPAN_PAGES / 64 + 2] = { 0 }, words = (count + 63) / 64;
	size_t touched;

	bits[words] = 0x5a5a;	/* a guard just past the bitmap */
	assert_int_equal(dev->log_ops->log_report(dev, first * m->page_size,
					      count * m->page_size, bits, &touched), 0);
	assert_in_range(touched, 0, words * 8);
	for (uint64_t w = touched / 8; w < words; w++)
		if (bits[w])
			fail_msg("window %llu+%llu: word %llu set past the %zu bytes touched",
				 (unsigned long long)first, (unsigned long long)count,
				 (unsigned long long)w, touched);
	for (uint64_t k = 0; k < count; k++) {
		bool got = bits[k / 64] >> (k % 64) & 1;

		if (got != m->dirty[first + k])
			fail_msg("window %llu+%llu: page %llu is %d, not %d",
				 (unsigned long long)first, (unsigned long long)count,
				 (unsigned long long)(first + k), got, m->dirty[first + k]);
		m->dirty[first + k] = false;
	}
	if (count % 64)
		assert_true(bits[words - 1] >> (count % 64) == 0);
	assert_true(bits[words] == 0x5a5a);
}

static uint64_t pick(uint64_t *rng, uint64_t n)
{
	*rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
	return (*rng >> 33) % n;
}

static void run_model(uint64_t page_size, const struct mig_range *r,
		      unsigned int n, uint64_t seed)
{
	struct migdev *dev = open_dev("sim:m,dirty_rate=0,guest_mem=16M");
	struct model m = { .ranges = r, .nranges = n, .page_size = page_size };
	uint64_t log_pages = SPAN_PAGES * SIM_PAGE_SIZE / page_size;

	assert_int_equal(dev->log_ops->log_start(dev, r, n, page_size), 0);
	for (int step = 0; step < 3000; step++) {
		uint64_t first, count;

		if (pick(&seed, 2)) {
			first = pick(&seed, SPAN_PAGES);
			count = 1 + pick(&seed, SPAN_PAGES - first < 150 ?
					 SPAN_PAGES - first : 150);
			dma(dev, first * SIM_PAGE_SIZE, count * SIM_PAGE_SIZE);
			model_dma(&m, first, count);
		} else {
			first = pick(&seed, log_pages);
			count = 1 + pick(&seed, log_pages - first);
			check_report(dev, &m, first, count);
		}
	}
	check_report(dev, &m, 0, log_pages);
	assert_int_equal(dev->log_ops->log_stop(dev), 0);
	migdev_close(dev);
}

static void test_words_match_pages(void **state)
{
	/* Range starts and ends that cut words, and a gap between them. */
	const struct mig_range r4k[] = {
		{ 5 * 4096, 300 * 4096 }, { 389 * 4096, 64 * 4096 },
		{ 700 * 4096, 477 * 4096 },
	};
	const struct mig_range r16k[] = {
		{ 4 * 16384, 70 * 16384 }, { 100 * 16384, 199 * 16384 },
	};
	/* Words 0 and 18 end it: 17 whole words, two blocks of eight and one. */
	const struct mig_range rlong[] = { { 3 * 4096, 1190 * 4096 } };

	(void)state;
	run_model(4096, r4k, 3, 1);
	run_model(4096, r4k, 3, 2);
	run_model(16384, r16k, 2, 3);
	run_model(4096, rlong, 1, 4);
	run_model(4096, rlong, 1, 5);
}

struct dirtier {
	struct migdev *dev;
	uint64_t pages;
	bool done;
};

/* Every page once, in an order that hops across words. */
static void *dirty_each_page(void *arg)
{
	struct dirtier *d = arg;

	for (uint64_t i = 0; i < d->pages; i++)
		dma(d->dev, (i * 769 % d->pages) * 4096, 4096);
	__atomic_store_n(&d->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void count_bits(const uint64_t *bits, size_t words, uint8_t *seen)
{
	for (size_t w = 0; w < words; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1)
			seen[w * 64 + (uint64_t)__builtin_ctzll(b)]++;
}

/* Reads racing the DMA: each page written once is reported exactly once. */
static void test_reports_race_dma(void **state)
{
	struct migdev *dev = open_dev("sim:c,dirty_rate=0,guest_mem=64M");
	struct dirtier d = { .dev = dev, .pages = 16384 };
	struct mig_range r = { 0, d.pages * 4096 };
	size_t words = d.pages / 64;
	uint64_t *bits = malloc(words * 8);
	uint8_t *seen = calloc(d.pages, 1);
	pthread_t t;
	bool last;

	(void)state;
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	assert_int_equal(pthread_create(&t, NULL, dirty_each_page, &d), 0);
	do {
		last = __atomic_load_n(&d.done, __ATOMIC_ACQUIRE);
		/* Odd words alone, then all: reads cut across the DMA. */
		for (size_t w = 1; w < words; w += 2) {
			assert_int_equal(migdev_dirty_read(dev, r, w * 8, bits, 8), 8);
			count_bits(bits, 1, seen + w * 64);
		}
		assert_int_equal(migdev_dirty_read(dev, r, 0, bits, words * 8),
				 (ssize_t)(words * 8));
		count_bits(bits, words, seen);
	} while (!last);
	pthread_join(t, NULL);
	assert_int_equal(migdev_dirty_stop(dev), 0);
	assert_int_equal(migdev_dirty_read(dev, r, 0, bits, words * 8),
			 (ssize_t)(words * 8));
	count_bits(bits, words, seen);
	for (uint64_t p = 0; p < d.pages; p++)
		if (seen[p] != 1)
			fail_msg("page %llu reported %u times", (unsigned long long)p, seen[p]);
	free(seen);
	free(bits);
	migdev_close(dev);
}

/*
 * The summary above the log: a log of 4 summary words (131072 pages),
 * pages at the edges of blocks and of summary words, read whole (clean
 * summary words skipped at one load each) and through windows that cut
 * blocks (their summary bits must survive for the rest): each page is
 * reported once a round, and nothing is left after.
 */
static void test_summary_blocks(void **state)
{
	static const uint64_t marked[] = { 0, 511, 512, 4095, 32767, 32768, 65600, 131071 };
	struct migdev *dev = open_dev("sim:b,dirty_rate=0,guest_mem=1G");
	struct mig_range r = { 0, 131072ull * 4096 };
	size_t words = 131072 / 64, len;
	uint64_t *bits = malloc(words * 8);
	uint8_t *seen = calloc(131072, 1);

	(void)state;
	assert_int_equal(migdev_dirty_set_ranges(dev, &r, 1), 0);
	assert_int_equal(migdev_dirty_start(dev), 0);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(marked) / sizeof(marked[0]); i++)
			dma(dev, marked[i] * 4096, 4096);
		for (size_t w = 0; w < words; w += len / 8) {
			/* round 0: all at once; round 1: 13 words, then 1000 */
			len = round ? (w % 2 ? 1000 * 8 : 13 * 8) : words * 8;
			if (len > (words - w) * 8)
				len = (words - w) * 8;
			assert_int_equal(migdev_dirty_read(dev, r, w * 8, bits, len),
					 (ssize_t)len);
			count_bits(bits, len / 8, seen + w * 64);
		}
	}
	assert_int_equal(migdev_dirty_read(dev, r, 0, bits, words * 8), (ssize_t)(words * 8));
	count_bits(bits, words, seen);
	for (size_t p = 0, i = 0; p < 131072; p++) {
		bool is_marked = i < sizeof(marked) / sizeof(marked[0]) && marked[i] == p;

		if (seen[p] != (is_marked ? 2 : 0))
			fail_msg("page %zu reported %u times", p, seen[p]);
		i += is_marked;
	}
	assert_int_equal(migdev_dirty_stop(dev), 0);
	free(seen);
	free(bits);
	migdev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_match_pages),
		cmocka_unit_test(test_reports_race_dma),
		cmocka_unit_test(test_summary_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

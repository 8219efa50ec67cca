// SPDX-License-Identifier: MIT
/*
 * The sim's DMA log: one bitmap per tracked range, kept the way a device
 * with DMA logging keeps it.
 *
 * The device's DMA sets bits with dev->lock held; reports test and clear
 * them under the dirty log's lock only (backend.h), so that `state` never
 * waits for a report of a large range.  Both sides therefore work on
 * whole 64-bit words with atomic operations: a page written while a
 * report runs is in this report or the next, never lost.  The log itself
 * (its ranges and bitmaps) only comes and goes under both locks.
 *
 * A summary bit per block of BLOCK_WORDS words says the block may hold a
 * dirty page, as a device's tracker keeps a coarse level above its fine
 * one: late in precopy nearly all of a log is clean, and a report that
 * read every word of it (32 MiB for 1 TiB) spent more time than FUSE's
 * copy of what it reported.  A mark sets the summary after the word, a
 * report clears it before it scans the block's words: a page marked
 * during the scan is in this report, or its summary bit is set again
 * after the clear, for the next.
 */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"
#include "sim.h"

#define BLOCK_WORDS	8ull	/* 512 pages, 2 MiB at 4 KiB */

struct dmalog {
	uint64_t page_size;
	unsigned int nranges;
	struct mig_range ranges[MIG_MAX_RANGES];
	uint64_t *bits[MIG_MAX_RANGES];
	uint64_t *blocks[MIG_MAX_RANGES];	/* the summary: a bit per block of bits */
};

static size_t summary_bytes(uint64_t bitmap_bytes)
{
	uint64_t blocks = (bitmap_bytes / 8 + BLOCK_WORDS - 1) / BLOCK_WORDS;

	return (size_t)(blocks + 63) / 64 * 8;
}

void dmalog_free(struct dmalog *log)
{
	if (!log)
		return;
	for (unsigned int i = 0; i < log->nranges; i++) {
		free(log->bits[i]);
		free(log->blocks[i]);
	}
	free(log);
}

int dmalog_new(struct dmalog **logp, const struct mig_range *ranges,
	       unsigned int nranges, uint64_t page_size)
{
	struct dmalog *log;

	if (!nranges || nranges > MIG_MAX_RANGES || page_size < SIM_PAGE_SIZE ||
	    (page_size & (page_size - 1)))
		return -EINVAL;
	for (unsigned int i = 0; i < nranges; i++)
		if ((ranges[i].start | ranges[i].length) & (page_size - 1) ||
		    !ranges[i].length)
			return -EINVAL;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->page_size = page_size;
	for (; log->nranges < nranges; log->nranges++) {
		unsigned int i = log->nranges;
		uint64_t bytes = dirty_bitmap_bytes(ranges[i].length, page_size);

		log->ranges[i] = ranges[i];
		log->bits[i] = calloc(1, bytes);
		log->blocks[i] = calloc(1, summary_bytes(bytes));
		if (!log->bits[i] || !log->blocks[i]) {
			dmalog_free(log);
			return -ENOMEM;
		}
	}
	*logp = log;
	return 0;
}

void dmalog_take(struct dmalog *log, uint64_t **bitmaps)
{
	for (unsigned int i = 0; i < log->nranges; i++) {
		bitmaps[i] = log->bits[i];
		free(log->blocks[i]);
	}
	free(log);
}

/*
 * Clip [iova, iova + len) to tracked range i as pages of that range:
 * [*first, *last].  Returns false if they do not meet.
 */
static bool clip(const struct dmalog *log, unsigned int i, uint64_t iova,
		 uint64_t len, uint64_t *first, uint64_t *last)
{
	const struct mig_range *r = &log->ranges[i];
	uint64_t lo = iova > r->start ? iova : r->start;
	uint64_t end = iova + len, rend = r->start + r->length;
	uint64_t hi = end < rend ? end : rend;

	if (lo >= hi)
		return false;
	*first = (lo - r->start) / log->page_size;
	*last = (hi - 1 - r->start) / log->page_size;
	return true;
}

/* The words, then (released after them) their blocks' summary bits. */
static void set_pages(uint64_t *map, uint64_t *blocks, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++)
		__atomic_fetch_or(&map[w], dirty_word_mask(w, first, last), __ATOMIC_RELAXED);
	for (uint64_t b = first / 64 / BLOCK_WORDS; b <= last / 64 / BLOCK_WORDS; b++)
		__atomic_fetch_or(&blocks[b / 64], 1ull << (b % 64), __ATOMIC_RELEASE);
}

void dmalog_mark(struct dmalog *log, uint64_t iova, uint64_t len)
{
	uint64_t first, last;

	for (unsigned int i = 0; i < log->nranges; i++)
		if (clip(log, i, iova, len, &first, &last))
			set_pages(log->bits[i], log->blocks[i], first, last);
}

/* A report's bitmap, and how many of its words got a bit: the rest is still zero. */
struct report_out {
	uint64_t *bits;
	uint64_t words;
};

static void put_word(struct report_out *out, uint64_t w, uint64_t bits)
{
	out->bits[w] |= bits;
	if (w >= out->words)
		out->words = w + 1;
}

/* OR bits into out at bit position pos (> -64; bits below 0 are none). */
static void put_bits(struct report_out *out, int64_t pos, uint64_t bits)
{
	uint64_t shifted = (uint64_t)(pos + 64);	/* no negative division */
	uint64_t w = shifted / 64, sh = shifted % 64;
	uint64_t lo = bits << sh, hi = sh ? bits >> (64 - sh) : 0;

	/* Only touch words that get a bit: the others may be past out. */
	if (lo)
		put_word(out, w - 1, lo);
	if (hi)
		put_word(out, w, hi);
}

/* Test and clear the bits of mask in word w of map into out (as below). */
static inline void report_word(uint64_t *map, uint64_t w, uint64_t mask,
			       int64_t delta, struct report_out *out)
{
	uint64_t got;

	if (!(__atomic_load_n(&map[w], __ATOMIC_RELAXED) & mask))
		return;
	got = __atomic_fetch_and(&map[w], ~mask, __ATOMIC_RELAXED) & mask;
	put_bits(out, (int64_t)(w * 64) + delta, got);
}

/* Whole words w..end - 1. */
static void report_words(uint64_t *map, uint64_t w, uint64_t end, int64_t delta,
			 struct report_out *out)
{
	for (; w < end; w++)
		report_word(map, w, ~0ull, delta, out);
}

/*
 * Whole block b: nothing to read if its summary bit is clear.  Else the
 * bit is cleared, acquiring the marks that set it, before the words are.
 */
static void report_block(uint64_t *map, uint64_t *blocks, uint64_t b, int64_t delta,
			 struct report_out *out)
{
	uint64_t bit = 1ull << (b % 64);

	if (!(__atomic_load_n(&blocks[b / 64], __ATOMIC_RELAXED) & bit))
		return;
	__atomic_fetch_and(&blocks[b / 64], ~bit, __ATOMIC_ACQ_REL);
	report_words(map, b * BLOCK_WORDS, (b + 1) * BLOCK_WORDS, delta, out);
}

/*
 * Test and clear pages first..last of map into out, where page p goes to
 * bit p + delta.  Only the end words may hold pages outside first..last;
 * the blocks wholly between them go by their summary bits, the words of
 * blocks cut by the window one by one (their summary bits stay set: the
 * rest of the block is for another report).
 */
static void report_pages(uint64_t *map, uint64_t *blocks, uint64_t first,
			 uint64_t last, int64_t delta, struct report_out *out)
{
	uint64_t w = first / 64 + 1, end = last / 64;
	uint64_t b = (w + BLOCK_WORDS - 1) / BLOCK_WORDS, bend = end / BLOCK_WORDS;

	report_word(map, first / 64, dirty_word_mask(first / 64, first, last), delta, out);
	if (end == first / 64)
		return;
	if (b < bend) {
		report_words(map, w, b * BLOCK_WORDS, delta, out);
		while (b < bend) {
			/* 64 clean blocks (a clean 128 MiB at 4 KiB) in one load */
			if (b % 64 == 0 && b + 64 <= bend &&
			    !__atomic_load_n(&blocks[b / 64], __ATOMIC_RELAXED)) {
				b += 64;
				continue;
			}
			report_block(map, blocks, b++, delta, out);
		}
		w = bend * BLOCK_WORDS;
	}
	report_words(map, w, end, delta, out);
	report_word(map, end, dirty_word_mask(end, first, last), delta, out);
}

int dmalog_report(struct dmalog *log, uint64_t iova, uint64_t length,
		  uint64_t *bitmap, size_t *touched)
{
	struct report_out out = { .bits = bitmap };
	uint64_t ps = log->page_size, first, last;

	if (iova % ps || length % ps || iova + length < iova)
		return -EINVAL;
	for (unsigned int i = 0; i < log->nranges; i++) {
		/* Page p of range i is bit (its address - iova) / page size. */
		int64_t delta = (int64_t)(log->ranges[i].start / ps) -
				(int64_t)(iova / ps);

		if (clip(log, i, iova, length, &first, &last))
			report_pages(log->bits[i], log->blocks[i], first, last, delta, &out);
	}
	*touched = (size_t)out.words * 8;
	return 0;
}

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
 */
#include <errno.h>
#include <stdlib.h>

#include "backend.h"
#include "sim.h"

struct dmalog {
	uint64_t page_size;
	unsigned int nranges;
	struct mig_range ranges[MIG_MAX_RANGES];
	uint64_t *bits[MIG_MAX_RANGES];
};

void dmalog_free(struct dmalog *log)
{
	if (!log)
		return;
	for (unsigned int i = 0; i < log->nranges; i++)
		free(log->bits[i]);
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

		log->ranges[i] = ranges[i];
		log->bits[i] = calloc(1, dirty_bitmap_bytes(ranges[i].length, page_size));
		if (!log->bits[i]) {
			dmalog_free(log);
			return -ENOMEM;
		}
	}
	*logp = log;
	return 0;
}

void dmalog_take(struct dmalog *log, uint64_t **bitmaps)
{
	for (unsigned int i = 0; i < log->nranges; i++)
		bitmaps[i] = log->bits[i];
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

static void set_pages(uint64_t *map, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++)
		__atomic_fetch_or(&map[w], dirty_word_mask(w, first, last), __ATOMIC_RELAXED);
}

void dmalog_mark(struct dmalog *log, uint64_t iova, uint64_t len)
{
	uint64_t first, last;

	for (unsigned int i = 0; i < log->nranges; i++)
		if (clip(log, i, iova, len, &first, &last))
			set_pages(log->bits[i], first, last);
}

/* OR bits into out at bit position pos (> -64; bits below 0 are none). */
static void put_bits(uint64_t *out, int64_t pos, uint64_t bits)
{
	uint64_t shifted = (uint64_t)(pos + 64);	/* no negative division */
	uint64_t w = shifted / 64, sh = shifted % 64;
	uint64_t lo = bits << sh, hi = sh ? bits >> (64 - sh) : 0;

	/* Only touch words that get a bit: the others may be past out. */
	if (lo)
		out[w - 1] |= lo;
	if (hi)
		out[w] |= hi;
}

/* Test and clear the bits of mask in word w of map into out (as below). */
static inline void report_word(uint64_t *map, uint64_t w, uint64_t mask,
			       int64_t delta, uint64_t *out)
{
	uint64_t got;

	if (!(__atomic_load_n(&map[w], __ATOMIC_RELAXED) & mask))
		return;
	got = __atomic_fetch_and(&map[w], ~mask, __ATOMIC_RELAXED) & mask;
	put_bits(out, (int64_t)(w * 64) + delta, got);
}

/* Whether words w..w + 7 are clean: one test and branch for eight. */
static inline bool clean8(const uint64_t *map, uint64_t w)
{
	uint64_t any = 0;

	for (int k = 0; k < 8; k++)
		any |= __atomic_load_n(&map[w + k], __ATOMIC_RELAXED);
	return !any;
}

/*
 * Test and clear pages first..last of map into out, where page p goes to
 * bit p + delta.  Clean words are skipped without a write, eight at a
 * time: late in precopy nearly all of a 32 MiB log is clean, and its scan
 * is the report.  Only the end words may hold pages outside first..last.
 */
static void report_pages(uint64_t *map, uint64_t first, uint64_t last,
			 int64_t delta, uint64_t *out)
{
	uint64_t w = first / 64, end = last / 64;

	report_word(map, w, dirty_word_mask(w, first, last), delta, out);
	for (w++; w + 8 <= end; w += 8)
		if (!clean8(map, w))
			for (int k = 0; k < 8; k++)
				report_word(map, w + k, ~0ull, delta, out);
	for (; w < end; w++)
		report_word(map, w, ~0ull, delta, out);
	if (end != first / 64)
		report_word(map, end, dirty_word_mask(end, first, last), delta, out);
}

int dmalog_report(struct dmalog *log, uint64_t iova, uint64_t length,
		  uint64_t *bitmap)
{
	uint64_t ps = log->page_size, first, last;

	if (iova % ps || length % ps || iova + length < iova)
		return -EINVAL;
	for (unsigned int i = 0; i < log->nranges; i++) {
		/* Page p of range i is bit (its address - iova) / page size. */
		int64_t delta = (int64_t)(log->ranges[i].start / ps) -
				(int64_t)(iova / ps);

		if (clip(log, i, iova, length, &first, &last))
			report_pages(log->bits[i], first, last, delta, bitmap);
	}
	return 0;
}

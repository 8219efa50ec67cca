// SPDX-License-Identifier: MIT
/*
 * What work does to a sim's state, shared by its own work (sim_work.c)
 * and its P2P writes into a peer's (sim_peer.c): the work due by the
 * clock, and the change one work item makes.
 */
#include <stdint.h>

#include "sim.h"

#define NSEC_PER_SEC	1000000000ull

uint64_t sim_scribble(struct sim_image *img, uint64_t *rng)
{
	uint64_t r = sim_rand(rng), x = sim_rand(rng) | 1;
	uint64_t blk = r % img->nblocks;
	uint32_t blen = sim_block_len(img, blk);
	uint32_t off = (uint32_t)((r >> 32) % blen);
	unsigned char *p = img->mem + blk * SIM_BLOCK_SIZE + off;

	for (uint32_t i = 0; i < 8 && off + i < blen; i++)
		p[i] ^= (unsigned char)(x >> (8 * i));
	return blk;
}

uint64_t sim_due(uint64_t *clock_ns, uint64_t now, uint64_t rate)
{
	unsigned __int128 items;

	if (!rate) {
		*clock_ns = now;
		return 0;
	}
	items = (unsigned __int128)(now - *clock_ns) * rate / NSEC_PER_SEC;
	if (items > SIM_CATCHUP_MAX) {
		*clock_ns = now;
		return SIM_CATCHUP_MAX;
	}
	/* Keep the fraction of an item that is not due yet. */
	*clock_ns += (uint64_t)(items * NSEC_PER_SEC / rate);
	return (uint64_t)items;
}

// SPDX-License-Identifier: MIT
/*
 * The sim running: the work its clock says is due (a few bytes of its
 * state changed per item, and in DMA states a page of guest memory
 * written, which the DMA log sees), and its P2P writes exchanged with its
 * peers.  Every op of the device catches up first, under dev->lock: the
 * device has no thread of its own.
 */
#include <pthread.h>

#include "clock.h"
#include "sim.h"

/* Only DMA writes are logged; the sim has no guest memory contents. */
void sim_dma(struct sim *sim, uint64_t iova, uint64_t len)
{
	if (sim->dmalog)
		dmalog_mark(sim->dmalog, iova, len);
}

/*
 * One unit of device work: change a few bytes of one block, and in DMA
 * states write one page of guest memory.
 */
static void work_item(struct sim *sim)
{
	uint64_t blk = sim_scribble(&sim->img, &sim->rng);

	if (sim->saver)
		sim_saver_touch(sim->saver, blk);
	if (mig_state_dma(sim->state)) {
		uint64_t page = sim_rand(&sim->rng) % (sim->guest_mem / SIM_PAGE_SIZE);

		sim_dma(sim, page * SIM_PAGE_SIZE, SIM_PAGE_SIZE);
	}
}

static void do_work(struct sim *sim, uint64_t items)
{
	if (!mig_state_running(sim->state))
		return;
	while (items--)
		work_item(sim);
}

/*
 * Do the work the clock says is due (time spent not running is not
 * owed), and exchange the P2P writes due with peers.
 */
void sim_catch_up(struct sim *sim)
{
	uint64_t now = now_ns();

	if (!mig_state_running(sim->state))
		sim->clock_ns = now;
	else
		do_work(sim, sim_due(&sim->clock_ns, now, sim->dirty_rate));
	/* The quirk p2p_dma: a P2P state that does not quiesce the device's DMA. */
	if ((sim->quirks & SIM_Q_P2P_DMA) && sim->state == MIG_RUNNING_P2P)
		sim_dma(sim, 0, SIM_PAGE_SIZE);
	sim_port_catch_up(&sim->port, &sim->dev, sim->saver);
}

void sim_work(struct migdev *dev, unsigned int items)
{
	pthread_mutex_lock(&dev->lock);
	do_work(to_sim(dev), items);
	pthread_mutex_unlock(&dev->lock);
}

// SPDX-License-Identifier: MIT
/*
 * The sim backend: a software model of a migratable VFIO device, faithful
 * to the kernel's rules (docs/sim-device.md).  It has an internal state
 * that changes while it runs, DMA-writes guest memory while it may, logs
 * those writes like a device with DMA logging, and saves and restores its
 * state through a real record stream (sim_stream.c).
 *
 * There are no threads: the device catches up with the clock at the start
 * of every op, which the generic layer calls with dev->lock held (the log
 * ops take it themselves; the log is in sim_dirty.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "parse.h"
#include "sim.h"

static uint64_t name_seed(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (len--)
		h = (h ^ (unsigned char)*name++) * 0x100000001b3ull;
	return h;
}

/* The state a device of this NAME has after power-on or reset. */
static void sim_power_on(struct sim *sim)
{
	uint64_t st = sim->seed, i, words = sim->img.size / 8;
	unsigned char *mem = sim->img.mem;

	for (i = 0; i < words; i++) {
		uint64_t v = sim_rand(&st);

		memcpy(mem + 8 * i, &v, 8);
	}
	if (sim->img.size % 8) {
		uint64_t v = sim_rand(&st);

		memcpy(mem + 8 * i, &v, sim->img.size % 8);
	}
	sim->rng = sim->seed ^ 0x5157a7e5eedull;
	sim->state = MIG_RUNNING;
}

/*
 * --- dirty log ops ---
 *
 * They run without dev->lock (backend.h), which they take only to catch
 * up with the clock and to hand the log to the device or take it back.
 */

static int sim_log_start(struct migdev *dev, const struct mig_range *ranges,
			 unsigned int nranges, uint64_t page_size)
{
	struct sim *sim = to_sim(dev);
	struct dmalog *log;
	int err = dmalog_new(&log, ranges, nranges, page_size);

	if (err)
		return err;
	pthread_mutex_lock(&dev->lock);
	/* Writes done before the start are not the log's business. */
	sim_catch_up(sim);
	if (sim->dmalog)
		err = -EBUSY;
	else
		sim->dmalog = log;
	pthread_mutex_unlock(&dev->lock);
	if (err)
		dmalog_free(log);
	return err;
}

/* The log, taken from the device once the writes due are in it. */
static struct dmalog *sim_log_detach(struct sim *sim)
{
	struct dmalog *log;

	pthread_mutex_lock(&sim->dev.lock);
	sim_catch_up(sim);
	log = sim->dmalog;
	sim->dmalog = NULL;
	pthread_mutex_unlock(&sim->dev.lock);
	return log;
}

static int sim_log_stop(struct migdev *dev)
{
	struct dmalog *log = sim_log_detach(to_sim(dev));

	if (!log)
		return -EINVAL;
	dmalog_free(log);
	return 0;
}

static void sim_log_take(struct migdev *dev, uint64_t **bitmaps)
{
	struct dmalog *log = sim_log_detach(to_sim(dev));

	if (log)
		dmalog_take(log, bitmaps);
}

/* The quirk dirty_no_clear: what a report cleared is marked again. */
static void remark(struct dmalog *log, uint64_t iova, uint64_t length,
		   uint64_t page_size, const uint64_t *bitmap)
{
	for (uint64_t i = 0; i < length / page_size; i++)
		if (bitmap[i / 64] & (1ull << (i % 64)))
			dmalog_mark(log, iova + i * page_size, page_size);
}

static int sim_log_report(struct migdev *dev, uint64_t iova, uint64_t length,
			  uint64_t *bitmap, size_t *touched)
{
	struct sim *sim = to_sim(dev);
	struct dmalog *log;
	int err;

	pthread_mutex_lock(&dev->lock);
	sim_catch_up(sim);
	log = sim->dmalog;
	pthread_mutex_unlock(&dev->lock);
	/* Only a start or a stop changes log, and not during a report. */
	if (!log)
		return -EINVAL;
	err = dmalog_report(log, iova, length, bitmap, touched);
	if (!err && (sim->quirks & SIM_Q_DIRTY_NO_CLEAR))
		remark(log, iova, length, dev->log.page_size, bitmap);
	return err;
}

static const char *sim_dirty_mechanism(struct migdev *dev)
{
	return dev->flags & MIG_F_DIRTY ? "device DMA logging" : "none";
}

/* --- sessions --- */

static void end_sessions(struct sim *sim)
{
	sim_saver_free(sim->saver);
	sim->saver = NULL;
	sim_loader_free(sim->loader);
	sim->loader = NULL;
}

static int save_open(struct sim *sim)
{
	sim->saver = sim_saver_new(&sim->img);
	return sim->saver ? 0 : -ENOMEM;
}

static int resume_open(struct sim *sim)
{
	sim->loader = sim_loader_new(&sim->img);
	sim->refused = false;
	if (sim->loader && (sim->quirks & SIM_Q_ACCEPT_CORRUPT))
		sim_loader_trust_payload(sim->loader);
	return sim->loader ? 0 : -ENOMEM;
}

/*
 * RESUMING -> STOP: a stream that does not load leaves the device broken.
 * The quirks keep_refused (a refused write does not count: mtty's bug)
 * and load_loses (a byte of what was loaded is lost) break that.
 */
static int resume_load(struct sim *sim)
{
	int err = sim_loader_finish(sim->loader);

	end_sessions(sim);
	if (err && sim->refused && (sim->quirks & SIM_Q_KEEP_REFUSED))
		err = 0;
	if (!err && (sim->quirks & SIM_Q_LOAD_LOSES))
		sim->img.mem[0] ^= 1;
	if (err)
		sim->state = MIG_ERROR;
	return err;
}

/* --- arcs --- */

enum arc_kind { ARC_INVALID, ARC_PLAIN, ARC_SAVE_OPEN, ARC_SAVE_CLOSE,
		ARC_RESUME_OPEN, ARC_RESUME_LOAD };

#define ARC(a, b)	((MIG_##a) << 4 | (MIG_##b))

/* The direct arcs of the kernel's rules, and what each one does. */
static enum arc_kind arc_kind(const struct sim *sim, enum mig_state cur,
			      enum mig_state next)
{
	unsigned int flags = sim->dev.flags;
	bool p2p = flags & MIG_F_P2P;

	if (!mig_state_supported(flags, cur) || !mig_state_supported(flags, next))
		return ARC_INVALID;
	switch (cur << 4 | next) {
	case ARC(PRE_COPY_P2P, PRE_COPY):
		/* The quirk arc_refused: a valid arc the device refuses. */
		return (sim->quirks & SIM_Q_ARC_REFUSED) ? ARC_INVALID : ARC_PLAIN;
	case ARC(RUNNING, RUNNING_P2P):
	case ARC(RUNNING_P2P, RUNNING):
	case ARC(RUNNING_P2P, STOP):
	case ARC(STOP, RUNNING_P2P):
	case ARC(PRE_COPY, PRE_COPY_P2P):
	case ARC(PRE_COPY_P2P, STOP_COPY):
		return ARC_PLAIN;
	case ARC(RUNNING, STOP):
	case ARC(STOP, RUNNING):
	case ARC(PRE_COPY, STOP_COPY):
		/* With P2P the kernel always steps through a P2P state. */
		return p2p ? ARC_INVALID : ARC_PLAIN;
	case ARC(STOP, STOP_COPY):
	case ARC(RUNNING, PRE_COPY):
	case ARC(RUNNING_P2P, PRE_COPY_P2P):
		return ARC_SAVE_OPEN;
	case ARC(STOP_COPY, STOP):
	case ARC(PRE_COPY, RUNNING):
	case ARC(PRE_COPY_P2P, RUNNING_P2P):
		return ARC_SAVE_CLOSE;
	case ARC(STOP, RESUMING):
		return ARC_RESUME_OPEN;
	case ARC(RESUMING, STOP):
		return ARC_RESUME_LOAD;
	default:
		return ARC_INVALID;
	}
}

/* An armed `fail` fires on the first arc into its state, once. */
static int injected_failure(struct sim *sim, enum mig_state next)
{
	int err = sim->fail.err;

	if (sim->fail.state == MIG_ERROR || sim->fail.state != next)
		return 0;
	sim->fail.state = MIG_ERROR;
	end_sessions(sim);
	sim->state = MIG_ERROR;
	return -err;
}

static int sim_set_state(struct migdev *dev, enum mig_state next)
{
	struct sim *sim = to_sim(dev);
	enum arc_kind kind = arc_kind(sim, sim->state, next);
	int err = 0;

	/* Work due before the arc happens in the state being left. */
	sim_catch_up(sim);
	if (kind == ARC_INVALID)
		return -EINVAL;
	err = injected_failure(sim, next);
	if (err) {
		sim_port_state(&sim->port, sim->state, sim->saver);
		return err;
	}
	switch (kind) {
	case ARC_SAVE_OPEN:
		err = save_open(sim);
		break;
	case ARC_SAVE_CLOSE:
		end_sessions(sim);
		break;
	case ARC_RESUME_OPEN:
		err = resume_open(sim);
		break;
	case ARC_RESUME_LOAD:
		err = resume_load(sim);
		break;
	default:
		break;
	}
	if (!err)
		sim->state = next;
	sim_port_state(&sim->port, sim->state, sim->saver);
	return err;
}

static int sim_get_state(struct migdev *dev, enum mig_state *state)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	*state = sim->state;
	return 0;
}

/* A function reset: back to power-on content, the log is not touched. */
static int sim_reset(struct migdev *dev)
{
	struct sim *sim = to_sim(dev);
	bool short_reset = sim->state == MIG_STOP_COPY || sim->state == MIG_RESUMING;

	sim_catch_up(sim);
	end_sessions(sim);
	/* Lost P2P writes held back for the session land before power-on. */
	sim_port_catch_up(&sim->port, dev, NULL);
	sim_power_on(sim);
	/* The quirk reset_stop: a reset that does not reach running. */
	if (short_reset && (sim->quirks & SIM_Q_RESET_STOP))
		sim->state = MIG_STOP;
	sim->clock_ns = now_ns();
	sim_port_state(&sim->port, sim->state, NULL);
	return 0;
}

static ssize_t sim_save_read(struct migdev *dev, void *buf, size_t len)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	if (!sim->saver)
		return -EINVAL;
	return sim_saver_read(sim->saver, buf, len, sim->state == MIG_STOP_COPY);
}

static ssize_t sim_resume_write(struct migdev *dev, const void *buf, size_t len)
{
	struct sim *sim = to_sim(dev);
	ssize_t n;

	sim_catch_up(sim);
	if (!sim->loader)
		return -EINVAL;
	if (sim->load_us)
		nanosleep(&(struct timespec){ .tv_sec = (time_t)(sim->load_us / 1000000),
					     .tv_nsec = (long)(sim->load_us % 1000000 * 1000) },
			  NULL);
	n = sim_loader_write(sim->loader, buf, len);
	sim->refused |= n < 0;
	return n;
}

static int sim_precopy_info(struct migdev *dev, uint64_t *initial,
			    uint64_t *dirty)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	if (sim->state != MIG_PRE_COPY && sim->state != MIG_PRE_COPY_P2P)
		return -EINVAL;
	sim_saver_pending(sim->saver, initial, dirty);
	/* The quirk precopy_grows: initial data that never falls, and grows. */
	if ((sim->quirks & SIM_Q_PRECOPY_GROWS) && *initial)
		*initial = sim_stream_size(&sim->img) + ++sim->precopy_asked;
	return 0;
}

static int sim_data_size(struct migdev *dev, uint64_t *bytes)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	*bytes = sim_stream_size(&sim->img);
	/* The quirk size_under: an estimate a block short of the stream. */
	if (sim->quirks & SIM_Q_SIZE_UNDER)
		*bytes -= sim_block_len(&sim->img, 0);
	return 0;
}

static void sim_destroy(struct migdev *dev)
{
	struct sim *sim = to_sim(dev);

	sim_port_close(&sim->port);
	end_sessions(sim);
	dmalog_free(sim->dmalog);
	free(sim->img.mem);
	free(sim);
}

static const struct migdev_ops sim_ops = {
	.name = "sim",
	.destroy = sim_destroy,
	.get_state = sim_get_state,
	.set_state = sim_set_state,
	.reset = sim_reset,
	.save_read = sim_save_read,
	.resume_write = sim_resume_write,
	.precopy_info = sim_precopy_info,
	.data_size = sim_data_size,
	.dirty_mechanism = sim_dirty_mechanism,
	.attrs = sim_attrs,
};

static const struct migdev_log_ops sim_log_ops = {
	.log_start = sim_log_start,
	.log_stop = sim_log_stop,
	.log_report = sim_log_report,
	.log_take = sim_log_take,
};

int sim_open(const char *spec, struct migdev **devp, char *err, size_t errlen)
{
	struct sim_opts o = {
		.size = 1 << 20, .guest_mem = 16 << 20, .err = err, .errlen = errlen,
		.flags = MIG_F_STOP_COPY | MIG_F_P2P | MIG_F_PRE_COPY | MIG_F_DIRTY,
	};
	struct sim *sim;
	int r = sim_parse_spec(spec, &o);

	if (r)
		return r;
	sim = calloc(1, sizeof(*sim));
	if (sim)
		sim->img.mem = malloc(o.size);
	if (!sim || !sim->img.mem) {
		free(sim);
		snprintf(err, errlen, "%s: cannot allocate %" PRIu64 " bytes",
			 o.who, o.size);
		return -ENOMEM;
	}
	sim->img.size = o.size;
	sim->img.nblocks = (o.size + SIM_BLOCK_SIZE - 1) / SIM_BLOCK_SIZE;
	sim->seed = name_seed(o.name, o.namelen);
	sim->dirty_rate = o.dirty_rate;
	sim->guest_mem = o.guest_mem;
	sim->load_us = o.load_us;
	sim->quirks = o.quirks;
	sim->fail.state = MIG_ERROR;
	sim_power_on(sim);
	sim->clock_ns = now_ns();
	r = sim_port_open(&sim->port, &sim->img, o.name, o.namelen,
			  *o.peer ? o.peer : NULL, o.peer_rate ? o.peer_rate : 100,
			  sim->seed);
	if (!r) {
		r = migdev_init(&sim->dev, &sim_ops,
				o.flags & MIG_F_DIRTY ? &sim_log_ops : NULL,
				spec, o.flags);
		if (r)
			sim_port_close(&sim->port);
	}
	if (r == -EEXIST)
		snprintf(err, errlen, "%s: another sim of this daemon has that name "
			 "(peer= names one)", o.who);
	else if (r)
		snprintf(err, errlen, "%s: %s", o.who, strerror(-r));
	if (r) {
		free(sim->img.mem);
		free(sim);
		return r;
	}
	/*
	 * The quirk open_stop_copy: found where its last user left it, as
	 * mtty is; the daemon resets it, as it does a vfio: device.
	 */
	if (sim->quirks & SIM_Q_OPEN_STOP_COPY)
		migdev_opened_in(&sim->dev, MIG_STOP_COPY);
	*devp = &sim->dev;
	return 0;
}

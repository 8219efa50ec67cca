// SPDX-License-Identifier: MIT
/*
 * A set of devices migrated together: the phases a VMM runs for a guest
 * with several devices that DMA into each other, each phase on every
 * device at once (a thread per device, so the slowest does not hold up
 * the rest) and the next one only when all have returned:
 *
 *   precopy	rounds judged on the set's remaining bytes;
 *   p2p	every running source to running_p2p (pre_copy_p2p from
 *		pre_copy): once all are there none issues P2P DMA, so none
 *		can write into a peer that has stopped or been saved;
 *   stop_copy	and the drain of each source's `data`;
 *   the destinations out of resuming to stop, all to running_p2p, and
 *   only then any to running; last, the sources to stop.
 *
 * Before the commit point (the first destination running; for a save,
 * the stream whole) a failure on any device, or a signal, ends the phase
 * on all of them and rolls the set back: sources to running, destinations
 * reset.  After it nothing is undone, and signals are not heard.  The
 * commands (setcmd.c) choose the phases: migrate all of them, save those
 * of the sources, load those of the destinations; setpool.c keeps the
 * threads.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migctl.h"

void set_failed(struct dev_set *s, const char *what, const char *phase,
		const struct errmsg *e)
{
	atomic_store(&s->cancel, true);
	if (s->failed_phase)
		return;
	s->failed_what = what;
	s->failed_phase = phase;
	s->err = *e;
}

void set_interrupted(struct dev_set *s, const char *phase)
{
	struct errmsg e;

	interrupt_error(&e);
	set_failed(s, NULL, phase, &e);	/* the set's, no device's */
}

/* A step's sub-step: what a failure from here on is called. */
static void step_phase(struct set_dev *d, const char *phase, bool dst_side)
{
	d->phase = phase;
	d->phase_dst = dst_side;
}

/* The side the step was on names the device. */
void set_step_failed(struct set_dev *d)
{
	set_failed(d->set, d->phase_dst || !d->src ? d->dst : d->src, d->phase, &d->err);
}

/* --- the steps, one device each --- */

/*
 * The save job's message is the device's.  A step that stopped because
 * another device failed, or for a signal (set_each names it, as the
 * set's), failed on no account of its own.
 */
static int set_error(struct set_dev *d, int err)
{
	if (err == -EINTR)
		return -ECANCELED;
	d->err = d->save.err;
	return err;
}

static int dst_open(struct set_dev *d)
{
	d->dst_touched = true;
	return open_resuming(d->dst, &d->to_dst.fd, &d->err);
}

static int src_begin(struct set_dev *d)
{
	int err = save_begin(&d->save);

	return err ? set_error(d, err) : 0;
}

static int src_round(struct set_dev *d)
{
	int err = d->save.precopy ? save_round(&d->save) : 0;

	return err ? set_error(d, err) : 0;
}

/* A stopped source issues no DMA: it has nothing to quiesce. */
static int src_p2p(struct set_dev *d)
{
	int err = 0;

	d->save.touched = true;
	if (d->save.precopy)
		err = save_enter(&d->save, "pre_copy_p2p");
	else if (d->save.running)
		err = save_enter(&d->save, "running_p2p");
	return err ? set_error(d, err) : 0;
}

static int src_stop(struct set_dev *d)
{
	int err = save_enter(&d->save, d->set->keep_source ? "running" : "stop");

	d->src_done = !err;
	return err ? set_error(d, err) : 0;
}

/*
 * Out of resuming to stop, where the device checks what it got (the
 * daemon may refuse the last bytes at close(2): a load is whole only if
 * it is clean), then to running_p2p if it is to run among peers.
 */
static int dst_settle(struct set_dev *d)
{
	int err;

	step_phase(d, "destination stop", true);
	err = close_resuming(d->dst, d->to_dst.fd, 0, &d->err);
	d->to_dst.fd = -1;
	err = err ? err : finish_resuming(d->dst, false, &d->err);
	d->dst_whole = !err;
	if (err || !d->set->run || !d->set->p2p)
		return err;
	step_phase(d, "destination running_p2p", true);
	err = devdir_set_state(d->dst, "running_p2p");
	return err ? errmsg_sys(&d->err, err, "%s: running_p2p", d->dst) : 0;
}

/*
 * stop_copy and the drain; in a migration the destination settles at
 * once: only running waits for the whole set, and the downtime has no
 * phase more than it needs.
 */
static int src_copy(struct set_dev *d)
{
	int err = save_stop_copy(&d->save);

	if (err)
		return set_error(d, err);
	return d->dst ? dst_settle(d) : 0;
}

static int dst_run(struct set_dev *d)
{
	int err = run_destination(d->dst, &d->err);

	d->dst_running = !err;
	return err;
}

/* --- the phases, every device --- */

int set_open_destinations(struct dev_set *s)
{
	return set_each(s, "resuming", dst_open, true, true);
}

int set_begin(struct dev_set *s)
{
	s->t_start = now_usec();
	progress_phase(&s->progress, "precopy", 0);
	return set_each(s, "precopy", src_begin, false, true);
}

/* Each device's round, then the set's: what it sent, has left, and dirtied meanwhile. */
static void set_round_progress(struct dev_set *s, uint64_t remaining, uint64_t dirty,
			       uint64_t rate, uint64_t usec)
{
	struct precopy_round r = { .round = s->rounds, .remaining = remaining, .rate = rate,
				   .dirty_rate = dirty * 1000000 / (usec + 1) };

	for (unsigned int i = 0; i < s->n; i++) {
		struct save_job *j = &s->dev[i].save;

		r.sent += j->stats.precopy_bytes;
		if (j->precopy)
			save_round_progress(j);
	}
	progress_round(&s->progress, &r);
}

/* Rounds until the set's pending bytes meet the limits; all in lockstep. */
int set_precopy(struct dev_set *s)
{
	uint64_t initial, dirty, rate, sent, t0;
	struct errmsg e;
	bool any = false;
	int err = 0;

	for (unsigned int i = 0; i < s->n; i++)
		any |= s->dev[i].save.precopy;
	while (any && !err) {
		t0 = now_usec();
		err = set_each(s, "precopy", src_round, false, true);
		if (err)
			break;
		s->rounds++;
		initial = dirty = rate = sent = 0;
		for (unsigned int i = 0; i < s->n; i++) {
			const struct save_job *j = &s->dev[i].save;

			if (!j->precopy)
				continue;
			initial += j->initial;
			dirty += j->dirty;
			rate += j->rate;
			sent += j->round_bytes;
		}
		set_round_progress(s, initial + dirty, dirty, rate, now_usec() - t0);
		s->end = save_converged(s->opts, initial, dirty, rate);
		if (s->end == PRECOPY_NONE && s->rounds >= s->opts->max_rounds &&
		    save_round_limit(s->opts, initial, dirty, rate, s->rounds, &s->end, &e)) {
			set_failed(s, "the set", "precopy", &e);
			err = -ECANCELED;
		}
		if (s->end != PRECOPY_NONE)
			break;
		if (!sent)	/* give the devices time to dirty something */
			nanosleep(&(struct timespec){ 0, IDLE_WAIT_NS }, NULL);
	}
	for (unsigned int i = 0; i < s->n; i++)
		s->dev[i].save.stats.end = s->dev[i].save.precopy ? s->end : PRECOPY_NONE;
	return err;
}

/*
 * The barrier, then stop_copy.  Without P2P states (--no-p2p) a device
 * can only be quiesced by stopping it, and they stop one after another.
 */
int set_stop_copy(struct dev_set *s)
{
	int err = 0;

	s->t_down = now_usec();
	progress_phase(&s->progress, "stop_copy", 0);
	if (s->p2p)
		err = set_each(s, "p2p", src_p2p, false, true);
	return err ? err : set_each(s, "stop_copy", src_copy, false, s->p2p);
}

int set_stop_sources(struct dev_set *s)
{
	return set_each(s, "source stop", src_stop, false, true);
}

/* The end of a load that leaves its devices in stop. */
int set_settle(struct dev_set *s)
{
	int err = set_each(s, "destination stop", dst_settle, true, true);

	s->t_end = now_usec();
	return err;
}

/*
 * Every destination is in running_p2p (or stop): now any may run, and the
 * first that does is the commit point.  A signal that came before is a
 * roll-back; one that comes from here on is not heard: the set finishes.
 */
int set_run(struct dev_set *s)
{
	struct errmsg e;
	int err;

	if (interrupted) {
		set_interrupted(s, "destination running");
		return -ECANCELED;
	}
	/* A destination unmounted since (umount -l) would end with this command. */
	for (unsigned int i = 0; i < s->n; i++) {
		if (devdir_check_mounted(s->dev[i].dst, &e)) {
			set_failed(s, s->dev[i].dst, "destination running", &e);
			return -ECANCELED;
		}
	}
	s->committing = true;
	err = set_each(s, "destination running", dst_run, true, true);
	s->t_end = now_usec();
	return err;
}

bool set_committed(const struct dev_set *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (s->dev[i].dst_running)
			return true;
	return false;
}

/* --- after a failure --- */

struct rollback {
	unsigned int sources, destinations;	/* put back */
	char exceptions[1024];			/* those that were not, or by a reset */
	enum recovery worst;
	const char *gone;			/* a device whose daemon is gone */
};

static void except(struct rollback *r, const char *dir, const char *what)
{
	size_t n = strlen(r->exceptions);

	snprintf(r->exceptions + n, sizeof(r->exceptions) - n, "; %s %s", dir, what);
}

/* A device whose daemon is gone: nothing can be done to it; named once. */
static bool roll_back_gone(struct rollback *r, const char *dir)
{
	if (!devdir_gone(dir))
		return false;
	if (!r->gone)
		r->gone = dir;
	else
		except(r, dir, "is gone (its vfio-migfsd died)");
	return true;
}

static enum recovery roll_back_source(struct set_dev *d, struct rollback *r)
{
	enum recovery how = devdir_recover(d->src, false);

	switch (how) {
	case RECOVERED:
		r->sources++;
		break;
	case RECOVERED_BY_RESET:
		except(r, d->src, "was reset to run again (its state is lost)");
		break;
	case NOT_RECOVERED:
		except(r, d->src, "is left in error");
		break;
	}
	return how;
}

/*
 * A destination is reset, unless its source could not be brought back with
 * its state and the destination holds that state whole: the only copy.
 */
static void roll_back_destination(struct set_dev *d, struct rollback *r, bool source_lost)
{
	if (source_lost && d->dst_whole &&
	    (devdir_in(d->dst, "stop") || devdir_in(d->dst, "running_p2p"))) {
		except(r, d->dst, "keeps the migrated state (the only copy: not reset)");
	} else if (devdir_recover(d->dst, true) == NOT_RECOVERED) {
		except(r, d->dst, "is left in error");
		r->worst = NOT_RECOVERED;
	} else {
		r->destinations++;
	}
}

static void roll_back_device(struct set_dev *d, struct rollback *r)
{
	bool source_lost = false;
	enum recovery how;

	save_close(&d->save);
	if (d->to_dst.fd >= 0)
		close(d->to_dst.fd);
	d->to_dst.fd = -1;
	if (d->save.touched) {
		source_lost = roll_back_gone(r, d->src);
		if (!source_lost) {
			how = roll_back_source(d, r);
			source_lost = how != RECOVERED;
			if (how > r->worst)
				r->worst = how;
		}
	}
	if (d->dst_touched && !roll_back_gone(r, d->dst))
		roll_back_destination(d, r, source_lost);
	for (int side = 0; side < 2; side++) {
		const char *dir = side ? d->dst : d->src;

		if (dir && devdir_unmounted(dir))
			except(r, dir, "is no longer mounted (umount): its daemon ends with "
			       "this command");
	}
}

/* "PHASE phase: [WHAT: ]CAUSE" of the set's first failure. */
static void set_cause(const struct dev_set *s, struct errmsg *e)
{
	/* The cause names its device already, mostly ("DIR: stop_copy: EIO"). */
	size_t n = s->failed_what ? strlen(s->failed_what) : 0;
	bool named = !s->failed_what || (!strncmp(s->err.text, s->failed_what, n) &&
		     (s->err.text[n] == ':' || s->err.text[n] == ' '));

	errmsg_set(e, 0, "%s phase: %s%s%s", s->failed_phase, named ? "" : s->failed_what,
		   named ? "" : ": ", s->err.text);
}

/*
 * Every source back to running, every destination reset, and the one
 * line that says which device failed, in which phase, and what became of
 * the set.  Returns the exit status.
 */
int set_roll_back(struct dev_set *s, const char *cmd)
{
	struct rollback r = { 0 };
	struct errmsg e;
	char counts[128];

	for (unsigned int i = 0; i < s->n; i++)
		roll_back_device(&s->dev[i], &r);
	set_cause(s, &e);
	snprintf(counts, sizeof(counts), "; %u source%s running again, %u destination%s reset",
		 r.sources, r.sources == 1 ? "" : "s", r.destinations,
		 r.destinations == 1 ? "" : "s");
	errmsg_add(&e, counts);
	errmsg_add(&e, r.exceptions);
	if (r.gone) {
		char then[sizeof(e.text) + 2];

		/* "the vfio-migfsd serving X is gone; PHASE phase: ..." */
		snprintf(then, sizeof(then), "; %s", e.text);
		return daemon_gone_then(cmd, r.gone, then);
	}
	fprintf(stderr, "vfio-migctl: %s: %s\n", cmd, e.text);
	return transfer_failed(r.worst);
}

/*
 * After the commit point: nothing undone, the first failure and every
 * device that is not where a success leaves it.
 */
int set_commit_failed(struct dev_set *s, const char *cmd, const char *done)
{
	const char *dirs[2 * STREAM_SET_MAX];
	unsigned int n = 0, running = 0;
	char line[96];
	struct errmsg why;

	for (unsigned int i = 0; i < s->n; i++) {
		const struct set_dev *d = &s->dev[i];

		running += d->dst_running;
		if (d->dst && s->run && !d->dst_running)
			dirs[n++] = d->dst;
		if (d->src && !d->src_done)
			dirs[n++] = d->src;
	}
	if (!done) {
		snprintf(line, sizeof(line), "%u of %u destinations run their new states",
			 running, s->n);
		done = line;
	}
	set_cause(s, &why);
	return commit_failed(cmd, &why, done, dirs, n);
}

/*
 * Run step on every device, at once or one after another (then the first
 * failure ends the phase).  Which failure the message names is decided
 * after, in device order.
 */
int set_each(struct dev_set *s, const char *phase, set_step *step, bool dst_side,
	     bool parallel)
{
	for (unsigned int i = 0; i < s->n; i++) {
		s->dev[i].step_err = 0;
		s->dev[i].phase = phase;
		s->dev[i].phase_dst = dst_side;
	}
	if (parallel)
		set_pool_run(s, step);
	for (unsigned int i = 0; !parallel && i < s->n; i++)
		if ((s->dev[i].step_err = step(&s->dev[i])))
			break;
	for (unsigned int i = 0; i < s->n; i++)
		if (s->dev[i].step_err && s->dev[i].step_err != -ECANCELED)
			set_step_failed(&s->dev[i]);
	if (interrupted && !s->committing)
		set_interrupted(s, phase);
	return atomic_load(&s->cancel) ? -ECANCELED : 0;
}

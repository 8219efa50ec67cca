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
 * A failure on any device, or a signal, ends the phase on all of them and
 * rolls the set back: sources to running, destinations reset.  The
 * commands (setcmd.c) choose the phases: migrate all of them, save those
 * of the sources, load those of the destinations.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfio-migctl.h"

#define IDLE_WAIT_NS	(10 * 1000 * 1000)	/* between empty precopy rounds */
#define KICK_NS		(50 * 1000 * 1000)	/* how soon a signal reaches every thread */

struct step_thread {
	pthread_t thread;
	struct set_dev *d;
	set_step *fn;
	int err;
};

void set_failed(struct dev_set *s, const char *what, const char *phase,
		const struct errmsg *e)
{
	atomic_store(&s->cancel, true);
	if (s->failed_what)
		return;
	s->failed_what = what;
	s->failed_phase = phase;
	s->err = *e;
}

/* What a failing device is called: the side the step was on. */
static void failed(struct set_dev *d, const char *phase, bool dst_side)
{
	set_failed(d->set, dst_side || !d->src ? d->dst : d->src, phase, &d->err);
}

/* A failure stops the other devices of the phase at their next chunk. */
static void *step_thread(void *arg)
{
	struct step_thread *t = arg;

	t->err = t->fn(t->d);
	if (t->err && t->err != -ECANCELED)
		atomic_store(&t->d->set->cancel, true);
	return NULL;
}

/* SIGURG, a signal nobody sends: it only ends a system call with EINTR. */
static void on_kick(int sig)
{
	(void)sig;
}

/*
 * The main thread waits; a SIGINT may have come to it, while a device's
 * thread stays blocked writing to a pipe whose reader stalls.  Once a
 * signal came, each thread still running is kicked out of its system call
 * (transfer_signals installs no SA_RESTART) to see `interrupted`.
 */
static void join_all(struct step_thread *t, unsigned int n)
{
	static const struct sigaction kick = { .sa_handler = on_kick };
	struct timespec until;

	sigaction(SIGURG, &kick, NULL);
	for (unsigned int j = 0; j < n; j++) {
		for (;;) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += KICK_NS;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(t[j].thread, NULL, &until) != ETIMEDOUT)
				break;
			for (unsigned int k = j; interrupted && k < n; k++)
				pthread_kill(t[k].thread, SIGURG);
		}
	}
}

/*
 * Run fn on every device, at once or one after another.  Which failure
 * the message names is decided after the join, in device order, among
 * those that were not only stopped because another device failed.
 */
int set_each(struct dev_set *s, const char *phase, set_step *fn, bool dst_side,
	     bool parallel)
{
	struct step_thread t[STREAM_SET_MAX];
	unsigned int i;
	int err = 0;

	for (i = 0; i < s->n; i++) {
		t[i] = (struct step_thread){ .d = &s->dev[i], .fn = fn };
		if (!parallel) {
			step_thread(&t[i]);
			if (t[i].err)
				break;
		} else if ((err = pthread_create(&t[i].thread, NULL, step_thread, &t[i]))) {
			t[i].err = errmsg_sys(&s->dev[i].err, -err, "starting a thread");
			atomic_store(&s->cancel, true);
			break;
		}
	}
	if (parallel)
		join_all(t, i);
	/* A thread that could not start, or a serial step that failed, ends the loop. */
	for (unsigned int j = 0; j < s->n && j <= i; j++)
		if (t[j].err && t[j].err != -ECANCELED)
			failed(&s->dev[j], phase, dst_side);
	if (interrupted)
		set_failed(s, s->dev[0].src ? s->dev[0].src : s->dev[0].dst, phase,
			   &(struct errmsg){ "interrupted" });
	return atomic_load(&s->cancel) ? -ECANCELED : 0;
}

/* --- the steps, one device each --- */

/* The save job's message is the device's. */
static int set_error(struct set_dev *d, int err)
{
	if (err == -EINTR && !interrupted)
		return -ECANCELED;	/* stopped because another device failed */
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

static int src_stop_copy(struct set_dev *d)
{
	int err = save_stop_copy(&d->save);

	return err ? set_error(d, err) : 0;
}

static int src_stop(struct set_dev *d)
{
	int err = save_enter(&d->save, d->set->keep_source ? "running" : "stop");

	return err ? set_error(d, err) : 0;
}

/* The daemon may refuse the last bytes at close(2): a load is whole only if it is clean. */
static int dst_stop(struct set_dev *d)
{
	int err = close_resuming(d->dst, d->to_dst.fd, 0, &d->err);

	d->to_dst.fd = -1;
	return err ? err : finish_resuming(d->dst, false, &d->err);
}

static int dst_enter(struct set_dev *d, const char *state)
{
	int err = devdir_set_state(d->dst, state);

	return err ? errmsg_sys(&d->err, err, "%s: %s", d->dst, state) : 0;
}

static int dst_p2p(struct set_dev *d)
{
	return dst_enter(d, "running_p2p");
}

static int dst_run(struct set_dev *d)
{
	return dst_enter(d, "running");
}

/* --- the phases, every device --- */

int set_open_destinations(struct dev_set *s)
{
	return set_each(s, "resuming", dst_open, true, true);
}

int set_begin(struct dev_set *s)
{
	s->t_start = now_usec();
	return set_each(s, "precopy", src_begin, false, true);
}

/* Rounds until the set's pending bytes meet the limits; all in lockstep. */
int set_precopy(struct dev_set *s)
{
	uint64_t initial, dirty, rate, sent;
	bool any = false;
	int err = 0;

	for (unsigned int i = 0; i < s->n; i++)
		any |= s->dev[i].save.precopy;
	while (any && !err) {
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
		s->end = save_converged(s->opts, initial, dirty, rate);
		if (s->end == PRECOPY_NONE && s->rounds >= s->opts->max_rounds)
			s->end = PRECOPY_MAX_ROUNDS;
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
	if (s->p2p)
		err = set_each(s, "p2p", src_p2p, false, true);
	return err ? err : set_each(s, "stop_copy", src_stop_copy, false, s->p2p);
}

int set_stop_sources(struct dev_set *s)
{
	return set_each(s, "source stop", src_stop, false, true);
}

/* Every destination checks what it got; all reach running_p2p before any runs. */
int set_resume(struct dev_set *s, bool run)
{
	int err = set_each(s, "destination stop", dst_stop, true, true);

	if (!err && run && s->p2p)
		err = set_each(s, "destination running_p2p", dst_p2p, true, true);
	if (!err && run)
		err = set_each(s, "destination running", dst_run, true, true);
	s->t_end = now_usec();
	return err;
}

/* --- after a failure --- */

struct rollback {
	unsigned int sources, destinations;	/* put back */
	char exceptions[1024];			/* those that were not, or by a reset */
	bool device_error;
};

static void except(struct rollback *r, const char *dir, const char *what)
{
	size_t n = strlen(r->exceptions);

	snprintf(r->exceptions + n, sizeof(r->exceptions) - n, "; %s %s", dir, what);
}

static void roll_back_device(struct set_dev *d, struct rollback *r)
{
	save_close(&d->save);
	if (d->to_dst.fd >= 0)
		close(d->to_dst.fd);
	d->to_dst.fd = -1;
	if (d->save.touched) {
		switch (devdir_recover(d->src, false)) {
		case RECOVERED:
			r->sources++;
			break;
		case RECOVERED_BY_RESET:
			except(r, d->src, "was reset to run again (its state is lost)");
			break;
		case NOT_RECOVERED:
			except(r, d->src, "is left in error");
			r->device_error = true;
			break;
		}
	}
	if (d->dst_touched) {
		if (devdir_recover(d->dst, true) == NOT_RECOVERED) {
			except(r, d->dst, "is left in error");
			r->device_error = true;
		} else {
			r->destinations++;
		}
	}
}

/*
 * Every source back to running, every destination reset, and the one
 * line that says which device failed, in which phase, and what became of
 * the set.  Returns the exit status.
 */
int set_roll_back(struct dev_set *s, const char *cmd)
{
	struct rollback r = { 0 };

	for (unsigned int i = 0; i < s->n; i++)
		roll_back_device(&s->dev[i], &r);
	for (unsigned int i = 0; i < s->n; i++) {
		const char *dir = s->dev[i].src ? s->dev[i].src : s->dev[i].dst;

		if (devdir_gone(dir))
			return daemon_gone(cmd, dir);
	}
	fprintf(stderr, "vfio-migctl: %s: %s: %s: %s; %u source%s running again, "
		"%u destination%s reset%s\n", cmd, s->failed_what, s->failed_phase,
		s->err.text, r.sources, r.sources == 1 ? "" : "s", r.destinations,
		r.destinations == 1 ? "" : "s", r.exceptions);
	return transfer_failed(r.device_error);
}

// SPDX-License-Identifier: MIT
/*
 * A thread per device of a set, started once and kept for every phase:
 * starting eight threads costs a millisecond or two on a small machine,
 * and three phases fall within the downtime.  The main thread hands out
 * a phase (a step function) by bumping a generation number and waits for
 * every device to finish it.
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "clock.h"
#include "vfio-migctl.h"

#define KICK_NS	(50 * 1000 * 1000)	/* how soon a signal reaches every thread */

static void *worker(void *arg)
{
	struct set_dev *d = arg;
	struct dev_set *s = d->set;
	unsigned int seen = 0;
	set_step *step;
	int err;

	pthread_mutex_lock(&s->pool_lock);
	for (;;) {
		while (s->gen == seen && !s->quit)
			pthread_cond_wait(&s->go, &s->pool_lock);
		if (s->quit)
			break;
		seen = s->gen;
		step = s->step;
		pthread_mutex_unlock(&s->pool_lock);
		err = step(d);
		/* A failure stops the other devices at their next chunk. */
		if (err && err != -ECANCELED)
			atomic_store(&s->cancel, true);
		pthread_mutex_lock(&s->pool_lock);
		d->step_err = err;
		if (--s->busy == 0)
			pthread_cond_signal(&s->done);
	}
	pthread_mutex_unlock(&s->pool_lock);
	return NULL;
}

/* SIGURG, a signal nobody sends: it only ends a system call with EINTR. */
static void on_kick(int sig)
{
	(void)sig;
}

void set_pool_start(struct dev_set *s)
{
	static const struct sigaction kick = { .sa_handler = on_kick };
	pthread_condattr_t attr;
	int err;

	sigaction(SIGURG, &kick, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->go, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->done, &attr);
	pthread_condattr_destroy(&attr);
	for (s->threads = 0; s->threads < s->n; s->threads++) {
		err = pthread_create(&s->dev[s->threads].thread, NULL, worker,
				     &s->dev[s->threads]);
		if (err)
			die(EXIT_FAILURE, err, "starting a thread per device");
	}
}

void set_pool_stop(struct dev_set *s)
{
	pthread_mutex_lock(&s->pool_lock);
	s->quit = true;
	pthread_cond_broadcast(&s->go);
	pthread_mutex_unlock(&s->pool_lock);
	for (unsigned int i = 0; i < s->threads; i++)
		pthread_join(s->dev[i].thread, NULL);
	pthread_cond_destroy(&s->go);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->pool_lock);
}

/*
 * A SIGINT may come to the main thread while a device's thread stays
 * blocked writing to a pipe whose reader stalls: once a signal came, every
 * thread is kicked out of its system call (transfer_signals installs no
 * SA_RESTART) to see `interrupted`.  An idle one only wakes and waits again.
 */
void set_pool_run(struct dev_set *s, set_step *step)
{
	struct timespec until;

	pthread_mutex_lock(&s->pool_lock);
	s->step = step;
	s->busy = s->n;
	s->gen++;
	pthread_cond_broadcast(&s->go);
	while (s->busy) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		timespec_add_ns(&until, KICK_NS);
		if (pthread_cond_timedwait(&s->done, &s->pool_lock, &until) == ETIMEDOUT &&
		    interrupted)
			for (unsigned int i = 0; i < s->n; i++)
				pthread_kill(s->dev[i].thread, SIGURG);
	}
	pthread_mutex_unlock(&s->pool_lock);
}

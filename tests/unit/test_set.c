// SPDX-License-Identifier: MIT
/*
 * A set's phases (tools/set.c set_each, tools/setpool.c): each phase runs
 * its step on every device, at once on the device threads or one after
 * another, and the next phase begins only when every device has left the
 * previous one (the P2P barrier rests on it).  A failure cancels the set
 * and is named in device order, by the side the step was on; a signal is
 * the set's failure until the commit point.  The steps here are stubs
 * that record what ran, when.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "clock.h"
#include "vfio-migctl.h"

#define NDEV		4
#define SLOW_NS		(30 * 1000 * 1000)
#define MEET_NS		(2ull * 1000 * 1000 * 1000)

static const char *const srcs[NDEV] = { "src0", "src1", "src2", "src3" };
static const char *const dsts[NDEV] = { "dst0", "dst1", "dst2", "dst3" };

/* What the steps did, in the order they did it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t met;
	unsigned int n, inside;
	struct { const char *phase; unsigned int dev; } v[4 * NDEV];
	int fail[NDEV];			/* what each device's step returns */
	unsigned int slow;		/* this device's step takes SLOW_NS */
} rec = { .lock = PTHREAD_MUTEX_INITIALIZER, .met = PTHREAD_COND_INITIALIZER };

static unsigned int dev_index(const struct set_dev *d)
{
	return (unsigned int)(d - d->set->dev);
}

static int record(struct set_dev *d)
{
	pthread_mutex_lock(&rec.lock);
	rec.v[rec.n].phase = d->phase;
	rec.v[rec.n++].dev = dev_index(d);
	pthread_mutex_unlock(&rec.lock);
	return 0;
}

/* Records when it is done: the slow device's entry comes late. */
static int step(struct set_dev *d)
{
	unsigned int i = dev_index(d);

	if (i == rec.slow)
		nanosleep(&(struct timespec){ 0, SLOW_NS }, NULL);
	if (rec.fail[i])
		errmsg_set(&d->err, rec.fail[i], "%s broke", srcs[i]);
	record(d);
	return rec.fail[i];
}

/* Returns only once every device is inside it (or -ETIMEDOUT). */
static int meet(struct set_dev *d)
{
	struct timespec until;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	timespec_add_ns(&until, MEET_NS);
	pthread_mutex_lock(&rec.lock);
	if (++rec.inside == d->set->n)
		pthread_cond_broadcast(&rec.met);
	while (rec.inside < d->set->n && !err)
		err = pthread_cond_timedwait(&rec.met, &rec.lock, &until);
	pthread_mutex_unlock(&rec.lock);
	return err ? -err : record(d);
}

static int setup(void **state)
{
	static struct save_opts o;
	struct dev_set *s = calloc(1, sizeof(*s));

	memset(rec.fail, 0, sizeof(rec.fail));
	rec.n = rec.inside = 0;
	rec.slow = NDEV;
	interrupted = 0;
	s->n = NDEV;
	s->opts = &o;
	s->dev = calloc(NDEV, sizeof(*s->dev));
	for (unsigned int i = 0; i < NDEV; i++)
		s->dev[i] = (struct set_dev){ .set = s, .src = srcs[i], .dst = dsts[i] };
	set_pool_start(s);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct dev_set *s = *state;

	set_pool_stop(s);
	free(s->dev);
	free(s);
	return 0;
}

/* Every device once in each phase, and none in the second before all left the first. */
static void test_phases_in_order(void **state)
{
	struct dev_set *s = *state;
	unsigned int seen[2][NDEV] = { { 0 } };

	rec.slow = 0;
	assert_int_equal(set_each(s, "p2p", step, false, true), 0);
	assert_int_equal(set_each(s, "stop_copy", step, false, true), 0);
	assert_int_equal(rec.n, 2 * NDEV);
	for (unsigned int i = 0; i < rec.n; i++) {
		unsigned int second = strcmp(rec.v[i].phase, "p2p") != 0;

		assert_int_equal(second, i >= NDEV);
		seen[second][rec.v[i].dev]++;
	}
	for (unsigned int i = 0; i < NDEV; i++)
		assert_true(seen[0][i] == 1 && seen[1][i] == 1);
	assert_null(s->failed_phase);
}

/* Parallel: every device in the step at the same time. */
static void test_parallel_at_once(void **state)
{
	struct dev_set *s = *state;

	assert_int_equal(set_each(s, "stop_copy", meet, false, true), 0);
	assert_int_equal(rec.n, NDEV);
}

/* One after another (--no-p2p's stop_copy): in device order. */
static void test_serial_in_order(void **state)
{
	struct dev_set *s = *state;

	rec.slow = 0;
	assert_int_equal(set_each(s, "stop_copy", step, false, false), 0);
	assert_int_equal(rec.n, NDEV);
	for (unsigned int i = 0; i < NDEV; i++)
		assert_int_equal(rec.v[i].dev, i);
}

static void test_serial_stops_at_failure(void **state)
{
	struct dev_set *s = *state;

	rec.fail[1] = -EIO;
	assert_int_equal(set_each(s, "stop_copy", step, false, false), -ECANCELED);
	assert_int_equal(rec.n, 2);
	assert_string_equal(s->failed_what, "src1");
	assert_string_equal(s->failed_phase, "stop_copy");
	assert_string_equal(s->err.text, "src1 broke");
}

/*
 * Device 3 fails first in time, device 1 later (the slow one): the
 * message names device 1, whatever the threads' timing; a destination's
 * step names the destination.
 */
static void test_failure_in_device_order(void **state)
{
	struct dev_set *s = *state;

	rec.fail[1] = -EIO;
	rec.fail[3] = -EINVAL;
	rec.slow = 1;
	assert_int_equal(set_each(s, "destination stop", step, true, true), -ECANCELED);
	assert_true(atomic_load(&s->cancel));
	assert_string_equal(s->failed_what, "dst1");
	assert_string_equal(s->failed_phase, "destination stop");
	assert_string_equal(s->err.text, "src1 broke");
	/* The first failure stays the set's. */
	rec.fail[1] = 0;
	assert_int_equal(set_each(s, "source stop", step, false, true), -ECANCELED);
	assert_string_equal(s->failed_what, "dst1");
}

/* A device that stopped because another failed is not named. */
static void test_cancelled_not_named(void **state)
{
	struct dev_set *s = *state;

	rec.fail[0] = -ECANCELED;
	rec.fail[2] = -EIO;
	assert_int_equal(set_each(s, "precopy", step, false, true), -ECANCELED);
	assert_string_equal(s->failed_what, "src2");
}

/* A signal before the commit point is the set's failure, in the phase it came in. */
static void test_signal(void **state)
{
	struct dev_set *s = *state;

	interrupted = SIGTERM;
	s->committing = true;
	assert_int_equal(set_each(s, "destination running", step, true, true), 0);
	assert_null(s->failed_phase);
	s->committing = false;
	assert_int_equal(set_each(s, "p2p", step, false, true), -ECANCELED);
	assert_null(s->failed_what);
	assert_string_equal(s->failed_phase, "p2p");
	assert_string_equal(s->err.text, "interrupted by SIGTERM");
	interrupted = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_phases_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_stops_at_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_in_device_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_not_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

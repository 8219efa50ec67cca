// SPDX-License-Identifier: MIT
/*
 * The write-behind of a resuming stream (fsd/writebehind.c), without a
 * mount: which writes are answered before their load, that loads keep the
 * order of the writes whatever order the workers reach them in, and where
 * a refusal is reported (the next write, or close) once it was answered.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfio-migfsd.h"

#define BIG	(1024 * 1024)	/* a write cat makes: may be answered early */
#define SMALL	16		/* echo's: answered after its load */

static struct writebehind wb;

static int setup(void **state)
{
	(void)state;
	wb = (struct writebehind){ 0 };
	wb_init(&wb);
	return 0;
}

/* Two big writes are answered ahead of their loads; the third waits. */
static void test_early_bound(void **state)
{
	struct wb_ticket t[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(wb_enter(&wb, BIG, &t[i]), 0);
	assert_true(t[0].early && t[0].alone);
	assert_true(t[1].early && !t[1].alone);
	assert_false(t[2].early);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(t[i].seq, i);
		assert_int_equal(wb_turn(&wb, &t[i]), 0);
		wb_leave(&wb, &t[i], 0);
	}
	assert_int_equal(wb_drain(&wb, true), 0);
}

static void test_small_not_early(void **state)
{
	struct wb_ticket t;

	(void)state;
	assert_int_equal(wb_enter(&wb, SMALL, &t), 0);
	assert_false(t.early);
	assert_int_equal(wb_turn(&wb, &t), 0);
	wb_leave(&wb, &t, -EINVAL);
	/* Its writer heard the refusal itself: nothing is left pending. */
	assert_int_equal(wb_drain(&wb, true), 0);
}

/* An answered write's refusal goes to the next write, which loads nothing. */
static void test_error_to_next_write(void **state)
{
	struct wb_ticket a, b;

	(void)state;
	assert_int_equal(wb_enter(&wb, BIG, &a), 0);
	assert_true(a.early);
	assert_int_equal(wb_turn(&wb, &a), 0);
	wb_leave(&wb, &a, -EIO);
	assert_int_equal(wb_enter(&wb, BIG, &b), -EIO);
	/* Reported once: the write after it starts clean. */
	assert_int_equal(wb_enter(&wb, BIG, &b), 0);
	assert_int_equal(wb_turn(&wb, &b), 0);
	wb_leave(&wb, &b, 0);
	assert_int_equal(wb_drain(&wb, true), 0);
}

/* A refusal no write reported is close(2)'s, unless close does not ask. */
static void test_error_to_close(void **state)
{
	struct wb_ticket a;

	(void)state;
	assert_int_equal(wb_enter(&wb, BIG, &a), 0);
	assert_int_equal(wb_turn(&wb, &a), 0);
	wb_leave(&wb, &a, -EPROTO);
	assert_int_equal(wb_drain(&wb, false), 0);
	assert_int_equal(wb_drain(&wb, true), -EPROTO);
	assert_int_equal(wb_drain(&wb, true), 0);
}

/* Behind a refused early write, an early write that was answered too
 * finds the error at its turn: it must not load after the refusal. */
static void test_nothing_loads_after_refusal(void **state)
{
	struct wb_ticket a, b, c;

	(void)state;
	assert_int_equal(wb_enter(&wb, BIG, &a), 0);
	assert_int_equal(wb_enter(&wb, BIG, &b), 0);
	assert_true(a.early && b.early);
	assert_int_equal(wb_turn(&wb, &a), 0);
	wb_leave(&wb, &a, -EIO);
	assert_int_equal(wb_turn(&wb, &b), -EIO);
	wb_leave(&wb, &b, -EIO);
	/* Still pending for the writer: b's answer went out before a failed. */
	assert_int_equal(wb_enter(&wb, SMALL, &c), -EIO);
	assert_int_equal(wb_drain(&wb, true), 0);
}

/* Workers that reach their turn in reverse order still load in order. */
#define NWORKERS	8
static struct wb_ticket tickets[NWORKERS];
static int loaded[NWORKERS], nloaded;

static void *worker(void *arg)
{
	struct wb_ticket *t = arg;

	usleep((useconds_t)(NWORKERS - t->seq) * 2000);
	assert_int_equal(wb_turn(&wb, t), 0);
	loaded[nloaded++] = (int)t->seq;	/* only the ticket's holder runs here */
	wb_leave(&wb, t, 0);
	return NULL;
}

static void test_order(void **state)
{
	pthread_t th[NWORKERS];

	(void)state;
	nloaded = 0;
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(wb_enter(&wb, SMALL, &tickets[i]), 0);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, &tickets[i]), 0);
	assert_int_equal(wb_drain(&wb, true), 0);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(nloaded, NWORKERS);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(loaded[i], i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_early_bound, setup),
		cmocka_unit_test_setup(test_small_not_early, setup),
		cmocka_unit_test_setup(test_error_to_next_write, setup),
		cmocka_unit_test_setup(test_error_to_close, setup),
		cmocka_unit_test_setup(test_nothing_loads_after_refusal, setup),
		cmocka_unit_test_setup(test_order, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * The saving engine's decisions (tools/save.c): when the dirty bytes left
 * are few enough to switch over, and what --max-rounds does when they
 * never are (QEMU's rules: a threshold, or an estimated downtime within
 * --downtime-limit at the last round's rate).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vfio-migctl.h"

static void test_converged_threshold(void **state)
{
	struct save_opts o = { .threshold = 4096 };

	(void)state;
	assert_int_equal(save_converged(&o, 0, 0, 0), PRECOPY_CONVERGED);
	assert_int_equal(save_converged(&o, 0, 4096, 0), PRECOPY_CONVERGED);
	assert_int_equal(save_converged(&o, 0, 4097, 0), PRECOPY_NONE);
	/* No downtime limit: a fast rate does not end the rounds. */
	assert_int_equal(save_converged(&o, 0, 4097, UINT64_MAX / 1000), PRECOPY_NONE);
}

/* What must go before the switch (initial_bytes) has not: never done. */
static void test_converged_initial_first(void **state)
{
	struct save_opts o = { .threshold = 4096, .downtime_ms = 1000 };

	(void)state;
	assert_int_equal(save_converged(&o, 1, 0, 1 << 30), PRECOPY_NONE);
	assert_int_equal(save_converged(&o, 1 << 20, 0, 1 << 30), PRECOPY_NONE);
}

/*
 * dirty / rate, in whole ms, within the limit; an unknown rate (0)
 * estimates nothing.
 */
static void test_converged_downtime(void **state)
{
	struct save_opts o = { .threshold = 0, .downtime_ms = 100 };

	(void)state;
	assert_int_equal(save_converged(&o, 0, 100000, 1000000), PRECOPY_DOWNTIME);
	assert_int_equal(save_converged(&o, 0, 100999, 1000000), PRECOPY_DOWNTIME);
	assert_int_equal(save_converged(&o, 0, 101000, 1000000), PRECOPY_NONE);
	assert_int_equal(save_converged(&o, 0, 100000, 0), PRECOPY_NONE);
	/* Below the threshold is said as converged, not as the downtime. */
	o.threshold = 100000;
	assert_int_equal(save_converged(&o, 0, 100000, 1000000), PRECOPY_CONVERGED);
}

/* The rounds end and the device switches over, with nothing to say. */
static void expect_switch(const struct save_opts *o, enum precopy_end want)
{
	enum precopy_end end = PRECOPY_NONE;
	struct errmsg e = { "" };

	assert_int_equal(save_round_limit(o, 0, 1 << 30, 1, 30, &end, &e), 0);
	assert_int_equal(end, want);
	assert_string_equal(e.text, "");
}

static void test_round_limit_switches(void **state)
{
	(void)state;
	expect_switch(&(struct save_opts){ .max_rounds = 30 }, PRECOPY_MAX_ROUNDS);
	expect_switch(&(struct save_opts){ .max_rounds = 30, .downtime_ms = 10,
					   .force_switchover = true }, PRECOPY_FORCED);
}

/* Over --downtime-limit without --force-switchover: the limit is kept. */
static void test_round_limit_kept(void **state)
{
	struct save_opts o = { .max_rounds = 5, .downtime_ms = 100 };
	enum precopy_end end = PRECOPY_NONE;
	struct errmsg e = { "" };

	(void)state;
	assert_int_equal(save_round_limit(&o, 1000, 2000, 1000, 5, &end, &e), -ETIME);
	assert_int_equal(end, PRECOPY_FORCED);
	assert_string_equal(e.text, "5 precopy rounds left 3000 bytes to send in stop_copy, "
			    "an estimated downtime of 3000 ms, over --downtime-limit 100 ms "
			    "(--force-switchover switches over anyway)");
	assert_int_equal(save_round_limit(&o, 0, 2000, 0, 5, &end, &e), -ETIME);
	assert_string_equal(e.text, "5 precopy rounds left 2000 bytes to send in stop_copy, "
			    "an estimated downtime of unknown (no round sent bytes), over "
			    "--downtime-limit 100 ms (--force-switchover switches over anyway)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converged_threshold),
		cmocka_unit_test(test_converged_initial_first),
		cmocka_unit_test(test_converged_downtime),
		cmocka_unit_test(test_round_limit_switches),
		cmocka_unit_test(test_round_limit_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * Every (from, to) pair for every feature set, against the paths the
 * kernel's vfio_mig_get_next_state() takes (written out by hand from the
 * kernel's table, not from our code): vfio-uapi.md section 4.4.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "migstate.h"

#define SC	MIG_F_STOP_COPY
#define P2P	MIG_F_P2P
#define PRE	MIG_F_PRE_COPY

struct path { const char *from, *to, *steps; };

/* STOP_COPY only (hisi in 6.1). */
static const struct path paths_sc[] = {
	{ "running", "stop", "stop" },
	{ "running", "stop_copy", "stop stop_copy" },
	{ "running", "resuming", "stop resuming" },
	{ "stop", "running", "running" },
	{ "stop", "stop_copy", "stop_copy" },
	{ "stop", "resuming", "resuming" },
	{ "stop_copy", "stop", "stop" },
	{ "stop_copy", "running", "stop running" },
	{ "stop_copy", "resuming", "stop resuming" },
	{ "resuming", "stop", "stop" },
	{ "resuming", "running", "stop running" },
	{ "resuming", "stop_copy", "stop stop_copy" },
	{ NULL, NULL, NULL },
};

/* STOP_COPY|P2P (mlx5 in 6.1, pds, our 6.1 test driver). */
static const struct path paths_p2p[] = {
	{ "running", "stop", "running_p2p stop" },
	{ "running", "stop_copy", "running_p2p stop stop_copy" },
	{ "running", "resuming", "running_p2p stop resuming" },
	{ "running", "running_p2p", "running_p2p" },
	{ "stop", "running", "running_p2p running" },
	{ "stop", "running_p2p", "running_p2p" },
	{ "stop", "stop_copy", "stop_copy" },
	{ "stop", "resuming", "resuming" },
	{ "stop_copy", "stop", "stop" },
	{ "stop_copy", "running", "stop running_p2p running" },
	{ "stop_copy", "resuming", "stop resuming" },
	{ "stop_copy", "running_p2p", "stop running_p2p" },
	{ "resuming", "stop", "stop" },
	{ "resuming", "running", "stop running_p2p running" },
	{ "resuming", "stop_copy", "stop stop_copy" },
	{ "resuming", "running_p2p", "stop running_p2p" },
	{ "running_p2p", "stop", "stop" },
	{ "running_p2p", "running", "running" },
	{ "running_p2p", "stop_copy", "stop stop_copy" },
	{ "running_p2p", "resuming", "stop resuming" },
	{ NULL, NULL, NULL },
};

/* STOP_COPY|PRE_COPY (hisi 6.2+). */
static const struct path paths_pre[] = {
	{ "running", "stop", "stop" },
	{ "running", "stop_copy", "stop stop_copy" },
	{ "running", "resuming", "stop resuming" },
	{ "running", "pre_copy", "pre_copy" },
	{ "stop", "running", "running" },
	{ "stop", "pre_copy", "running pre_copy" },
	{ "stop", "stop_copy", "stop_copy" },
	{ "stop", "resuming", "resuming" },
	{ "pre_copy", "running", "running" },
	{ "pre_copy", "stop", "running stop" },
	{ "pre_copy", "stop_copy", "stop_copy" },
	{ "pre_copy", "resuming", "running stop resuming" },
	{ "stop_copy", "stop", "stop" },
	{ "stop_copy", "running", "stop running" },
	{ "stop_copy", "resuming", "stop resuming" },
	{ "resuming", "stop", "stop" },
	{ "resuming", "running", "stop running" },
	{ "resuming", "stop_copy", "stop stop_copy" },
	{ "resuming", "pre_copy", "stop running pre_copy" },
	{ NULL, NULL, NULL },
};

/* STOP_COPY|P2P|PRE_COPY (mlx5 6.2+, virtio, qat, mtty). */
static const struct path paths_all[] = {
	{ "running", "stop", "running_p2p stop" },
	{ "running", "stop_copy", "running_p2p stop stop_copy" },
	{ "running", "resuming", "running_p2p stop resuming" },
	{ "running", "running_p2p", "running_p2p" },
	{ "running", "pre_copy", "pre_copy" },
	{ "running", "pre_copy_p2p", "running_p2p pre_copy_p2p" },
	{ "stop", "running", "running_p2p running" },
	{ "stop", "running_p2p", "running_p2p" },
	{ "stop", "stop_copy", "stop_copy" },
	{ "stop", "resuming", "resuming" },
	{ "stop", "pre_copy", "running_p2p running pre_copy" },
	{ "stop", "pre_copy_p2p", "running_p2p pre_copy_p2p" },
	{ "pre_copy", "running", "running" },
	{ "pre_copy", "stop", "running running_p2p stop" },
	{ "pre_copy", "stop_copy", "pre_copy_p2p stop_copy" },
	{ "pre_copy", "resuming", "running running_p2p stop resuming" },
	{ "pre_copy", "running_p2p", "running running_p2p" },
	{ "pre_copy", "pre_copy_p2p", "pre_copy_p2p" },
	{ "pre_copy_p2p", "running", "running_p2p running" },
	{ "pre_copy_p2p", "stop", "running_p2p stop" },
	{ "pre_copy_p2p", "stop_copy", "stop_copy" },
	{ "pre_copy_p2p", "resuming", "running_p2p stop resuming" },
	{ "pre_copy_p2p", "running_p2p", "running_p2p" },
	{ "pre_copy_p2p", "pre_copy", "pre_copy" },
	{ "stop_copy", "stop", "stop" },
	{ "stop_copy", "running", "stop running_p2p running" },
	{ "stop_copy", "resuming", "stop resuming" },
	{ "stop_copy", "running_p2p", "stop running_p2p" },
	{ "resuming", "stop", "stop" },
	{ "resuming", "running", "stop running_p2p running" },
	{ "resuming", "stop_copy", "stop stop_copy" },
	{ "resuming", "running_p2p", "stop running_p2p" },
	{ "resuming", "pre_copy", "stop running_p2p running pre_copy" },
	{ "resuming", "pre_copy_p2p", "stop running_p2p pre_copy_p2p" },
	{ "running_p2p", "stop", "stop" },
	{ "running_p2p", "running", "running" },
	{ "running_p2p", "stop_copy", "stop stop_copy" },
	{ "running_p2p", "resuming", "stop resuming" },
	{ "running_p2p", "pre_copy", "running pre_copy" },
	{ "running_p2p", "pre_copy_p2p", "pre_copy_p2p" },
	{ NULL, NULL, NULL },
};

/* Walk our rule from one state to another; "EINVAL" when refused. */
static void walk(unsigned int flags, enum mig_state cur, enum mig_state to,
		 char *out, size_t len)
{
	enum mig_state next;
	size_t n = 0;

	out[0] = '\0';
	for (int steps = 0; cur != to || steps == 0; steps++) {
		if (steps > MIG_NR_STATES || mig_next_state(flags, cur, to, &next)) {
			snprintf(out, len, "EINVAL");
			return;
		}
		if (next == cur)
			return;
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "",
				      mig_state_name(next));
		cur = next;
	}
}

static const char *expected(const struct path *p, enum mig_state from,
			    enum mig_state to, unsigned int flags)
{
	if (from == to && mig_state_supported(flags, from))
		return "";
	for (; p->from; p++)
		if (!strcmp(p->from, mig_state_name(from)) &&
		    !strcmp(p->to, mig_state_name(to)))
			return p->steps;
	return "EINVAL";
}

static void check_all(unsigned int flags, const struct path *paths)
{
	char got[256];

	for (int f = 0; f < MIG_NR_STATES; f++) {
		for (int t = 0; t < MIG_NR_STATES; t++) {
			const char *want = expected(paths, f, t, flags);

			walk(flags, f, t, got, sizeof(got));
			if (strcmp(got, want))
				fail_msg("flags %#x: %s -> %s: got '%s', want '%s'",
					 flags, mig_state_name(f), mig_state_name(t),
					 got, want);
		}
	}
}

static void test_stop_copy_only(void **state) { (void)state; check_all(SC, paths_sc); }
static void test_p2p(void **state) { (void)state; check_all(SC | P2P, paths_p2p); }
static void test_pre_copy(void **state) { (void)state; check_all(SC | PRE, paths_pre); }
static void test_all(void **state) { (void)state; check_all(SC | P2P | PRE, paths_all); }

/* The dirty bit is ours and must not change any path. */
static void test_dirty_flag_ignored(void **state)
{
	(void)state;
	check_all(SC | P2P | PRE | MIG_F_DIRTY, paths_all);
}

/* Without STOP_COPY a device has no migration at all. */
static void test_no_stop_copy(void **state)
{
	enum mig_state next;

	(void)state;
	for (int f = 0; f < MIG_NR_STATES; f++)
		for (int t = 0; t < MIG_NR_STATES; t++)
			assert_int_equal(mig_next_state(P2P | PRE, f, t, &next), -EINVAL);
}

/* The arc that makes 6.2+ kernels spin must come back at once. */
static void test_blocked_arc_returns(void **state)
{
	enum mig_state next = MIG_RUNNING;

	(void)state;
	assert_int_equal(mig_next_state(SC | P2P | PRE, MIG_STOP_COPY, MIG_PRE_COPY, &next), -EINVAL);
	assert_int_equal(mig_next_state(SC | P2P | PRE, MIG_STOP_COPY, MIG_PRE_COPY_P2P, &next), -EINVAL);
	assert_int_equal(mig_next_state(SC | PRE, MIG_STOP_COPY, MIG_PRE_COPY, &next), -EINVAL);
	assert_int_equal(next, MIG_RUNNING);
}

static void assert_parses(const char *text, enum mig_state want)
{
	enum mig_state s = MIG_NR_STATES;

	if (mig_state_parse(text, &s))
		fail_msg("'%s' did not parse", text);
	if (s != want)
		fail_msg("'%s' parsed as %s, want %s", text, mig_state_name(s),
			 mig_state_name(want));
}

static void test_parse_names(void **state)
{
	(void)state;
	for (int s = 0; s < MIG_NR_STATES; s++)
		assert_parses(mig_state_name(s), s);
	assert_parses("STOP_COPY\n", MIG_STOP_COPY);
	assert_parses("  Running_P2P  \n", MIG_RUNNING_P2P);
	assert_parses("Pre_Copy", MIG_PRE_COPY);
}

static void test_parse_v1_bits(void **state)
{
	(void)state;
	assert_parses("0", MIG_STOP);
	assert_parses("RUNNING", MIG_RUNNING);
	assert_parses("SAVING", MIG_STOP_COPY);
	assert_parses("SAVING|RUNNING", MIG_PRE_COPY);
	assert_parses("running|saving\n", MIG_PRE_COPY);
	assert_parses("RESUMING", MIG_RESUMING);
	assert_parses("RUNNING|NDMA", MIG_RUNNING_P2P);
	assert_parses("NDMA|SAVING|RUNNING", MIG_PRE_COPY_P2P);
	assert_parses("NDMA|SAVING", MIG_STOP_COPY);
	assert_parses("NDMA", MIG_STOP);
	assert_parses("SAVING|RESUMING", MIG_ERROR);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "\n", "runningx", "run", "stop copy", "RUNNING|RESUMING",
		"RESUMING|NDMA", "SAVING|", "|SAVING", "SAVING||RUNNING", "1",
		"0|", "-0", "RUNNING RUNNING", "stop\nstop",
	};
	enum mig_state s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mig_state_parse(bad[i], &s) != -EINVAL)
			fail_msg("'%s' should not parse", bad[i]);
}

/*
 * White space is ' ', '\t' and '\n' only, as in every other value: a
 * carriage return, vertical tab or form feed is refused, not trimmed.
 */
static void test_parse_line_endings(void **state)
{
	static const char *const bad[] = {
		"stop\r\n", "stop\r", "\rstop", "\vstop", "stop\f", "stop\v\n",
		"RUNNING|SAVING\r\n", "0\r",
	};
	enum mig_state s;

	(void)state;
	assert_parses("\t stop \t\n", MIG_STOP);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mig_state_parse(bad[i], &s) != -EINVAL)
			fail_msg("'%s' should not parse", bad[i]);
}

static void test_features_format(void **state)
{
	char buf[64];

	(void)state;
	mig_features_format(SC | P2P | PRE | MIG_F_DIRTY, buf, sizeof(buf));
	assert_string_equal(buf, "stop_copy p2p pre_copy dirty");
	mig_features_format(SC | PRE, buf, sizeof(buf));
	assert_string_equal(buf, "stop_copy pre_copy");
	mig_features_format(SC | P2P | PRE | MIG_F_DIRTY, buf, 12);
	assert_string_equal(buf, "stop_copy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_copy_only),
		cmocka_unit_test(test_p2p),
		cmocka_unit_test(test_pre_copy),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_dirty_flag_ignored),
		cmocka_unit_test(test_no_stop_copy),
		cmocka_unit_test(test_blocked_arc_returns),
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_parse_v1_bits),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_line_endings),
		cmocka_unit_test(test_features_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

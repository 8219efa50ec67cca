// SPDX-License-Identifier: MIT
/* The number, errno and boolean parsers behind every writable file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void test_u64(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("4096", &v, 0), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_u64("0x1000\n", &v, 0), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_u64("  12 ", &v, 0), 0);
	assert_int_equal(v, 12);
	/* A leading zero is decimal, not octal. */
	assert_int_equal(parse_u64("010", &v, 0), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("0XfF", &v, 0), 0);
	assert_int_equal(v, 255);
	assert_int_equal(parse_u64("18446744073709551615", &v, 0), 0);
	assert_true(v == UINT64_MAX);
}

static void test_u64_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_u64("4K", &v, 1), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_u64("1m", &v, 1), 0);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(parse_u64("2G\n", &v, 1), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(parse_u64("1T", &v, 1), 0);
	assert_true(v == 1ull << 40);
	/* Suffixes only where allowed, and never past 64 bits. */
	assert_int_equal(parse_u64("4K", &v, 0), -EINVAL);
	assert_int_equal(parse_u64("16777216T", &v, 1), -ERANGE);
}

static void test_u64_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", "-1", "+1", "x", "12x", "0x", "0x-1", "0x 1", "1KK", "1 2", "4 K",
		"1.5", "09x",
	};
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_u64(bad[i], &v, 1) == 0)
			fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)v);
	assert_int_equal(parse_u64("18446744073709551616", &v, 0), -ERANGE);
	assert_int_equal(v, 7);
}

static void test_u64_word(void **state)
{
	const char *end;
	uint64_t a, b;

	(void)state;
	assert_int_equal(parse_u64_word("0x1000 8K\n", &a, 1, &end), 0);
	assert_int_equal(parse_u64_word(end, &b, 1, &end), 0);
	assert_int_equal(a, 0x1000);
	assert_int_equal(b, 8192);
	assert_string_equal(end, "\n");
	assert_int_equal(parse_u64_word("12,3", &a, 0, &end), -EINVAL);
}

static void test_errno_names(void **state)
{
	int e;

	(void)state;
	assert_int_equal(parse_errno("EIO", &e), 0);
	assert_int_equal(e, EIO);
	assert_int_equal(parse_errno("enomem\n", &e), 0);
	assert_int_equal(e, ENOMEM);
	assert_int_equal(parse_errno("22", &e), 0);
	assert_int_equal(e, 22);
	assert_int_equal(parse_errno("EWHATEVER", &e), -EINVAL);
	assert_int_equal(parse_errno("0", &e), -EINVAL);
	assert_int_equal(parse_errno("EIO EIO", &e), -EINVAL);
	assert_string_equal(errno_name(EOPNOTSUPP), "EOPNOTSUPP");
	assert_null(errno_name(4000));
	assert_null(errno_name(0));
	assert_null(errno_name(-EIO));
}

/* Every errno the C library names, both ways: not a list of our own. */
static void test_errno_names_all(void **state)
{
	int e;

	(void)state;
	assert_string_equal(errno_name(EMFILE), "EMFILE");
	assert_string_equal(errno_name(ENOTCONN), "ENOTCONN");
	assert_string_equal(errno_name(EHWPOISON), "EHWPOISON");
	assert_int_equal(parse_errno("emfile", &e), 0);
	assert_int_equal(e, EMFILE);
	assert_int_equal(parse_errno("EKEYREJECTED", &e), 0);
	assert_int_equal(e, EKEYREJECTED);
	for (e = 1; e <= 4095; e++) {
		const char *name = errno_name(e);
		int back;

		if (!name)
			continue;
		assert_int_equal(parse_errno(name, &back), 0);
		assert_int_equal(back, e);
	}
}

static void test_bool(void **state)
{
	int b;

	(void)state;
	assert_int_equal(parse_bool("1\n", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(parse_bool("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("2", &b), -EINVAL);
	assert_int_equal(parse_bool("yes", &b), -EINVAL);
	assert_int_equal(parse_bool("", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u64_suffixes),
		cmocka_unit_test(test_u64_rejects),
		cmocka_unit_test(test_u64_word),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_errno_names_all),
		cmocka_unit_test(test_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

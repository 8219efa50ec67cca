// SPDX-License-Identifier: MIT
/* The number, errno and boolean parsers behind every writable file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
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

/*
 * The grammar is exactly: decimal digits, or 0x/0X and hex digits, then a
 * suffix where allowed.  strtoull takes more (a second 0x, signs, blanks
 * after a prefix): none of it gets through.
 */
static void test_u64_strict(void **state)
{
	static const char *const bad[] = {
		"0x0x10", "0X0x1", "0x0X1", "0x0x", "00x10", "0xx1", "0x+1", "0x 1",
		"- 1", "-0", "+0x1", "1_000", "0b1", "0o7", "1e3", "0x1.0", "1,0",
		"0xK", "K", "0x1KK", "1k1",
	};
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_u64(bad[i], &v, 1) != -EINVAL)
			fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)v);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u64("0x10K", &v, 1), 0);
	assert_int_equal(v, 16 << 10);
	assert_int_equal(parse_u64("0xffffffffffffffff", &v, 0), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("0x10000000000000000", &v, 0), -ERANGE);
	assert_int_equal(parse_u64("000000000000000000000000000001", &v, 0), 0);
	assert_int_equal(v, 1);
}

/* ' ', '\t' and '\n' are white space; '\r', '\v' and '\f' are not. */
static void test_line_endings(void **state)
{
	static const char *const bad[] = {
		"1\r", "1\r\n", "\r1", "1\v", "\f1", "4K\r\n", "0x10\r",
	};
	const char *end;
	uint64_t v = 7;
	int b, e;

	(void)state;
	assert_int_equal(parse_u64(" \t1\t \n", &v, 0), 0);
	assert_int_equal(v, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_u64(bad[i], &v, 1) != -EINVAL)
			fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)v);
	assert_int_equal(parse_u64_word("1\r 2", &v, 0, &end), -EINVAL);
	assert_int_equal(parse_bool("1\r\n", &b), -EINVAL);
	assert_int_equal(parse_errno("EIO\r\n", &e), -EINVAL);
	assert_int_equal(parse_errno("\vEIO", &e), -EINVAL);
	assert_int_equal(parse_errno("\tEIO \n", &e), 0);
	assert_int_equal(e, EIO);
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

/* An option table that records what it was given. */
struct seen {
	uint64_t size;
	int flag;
};

static int set_size(void *ctx, const char *v)
{
	return parse_u64(v, &((struct seen *)ctx)->size, 1) ? -EINVAL : 0;
}

static int set_flag(void *ctx, const char *v)
{
	(void)v;
	((struct seen *)ctx)->flag = 1;
	return 0;
}

static const struct spec_opt opts[] = {
	{ "size", set_size, 0 }, { "flag", set_flag, 1 },
};

static int parse_opts(const char *list, struct seen *seen, char *err, size_t len)
{
	err[0] = '\0';
	memset(seen, 0, sizeof(*seen));
	return parse_spec_opts(list, opts, 2, seen, "dev", err, len);
}

static void test_spec_opts(void **state)
{
	struct seen seen;
	char err[128];

	(void)state;
	assert_int_equal(parse_opts("size=4K,flag", &seen, err, sizeof(err)), 0);
	assert_int_equal(seen.size, 4096);
	assert_int_equal(seen.flag, 1);
	/* An empty option is a typo, refused with the list. */
	assert_int_equal(parse_opts("size=4K,,flag", &seen, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dev: empty option in 'size=4K,,flag'");
	assert_int_equal(parse_opts("flag,", &seen, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dev: empty option in 'flag,'");
	assert_int_equal(parse_opts(",flag", &seen, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_opts("", &seen, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_opts("size=0x0x1", &seen, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_opts("flag=1", &seen, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "dev: option 'flag' takes no value");
}

/* The devices' own options go through the same grammar. */
static void expect_spec_refused(const char *spec, const char *msg)
{
	struct migdev *dev = NULL;
	char err[160] = "";

	assert_int_equal(migdev_open(spec, &dev, err, sizeof(err)), -EINVAL);
	assert_null(dev);
	assert_string_equal(err, msg);
}

static void test_device_specs(void **state)
{
	(void)state;
	expect_spec_refused("sim:a,size=0x0x10", "sim:a: bad size '0x0x10'");
	expect_spec_refused("sim:a,size=4K\r", "sim:a: bad size '4K\r'");
	expect_spec_refused("sim:a,load_us=-0", "sim:a: bad load_us '-0' (0 to 10000000)");
	expect_spec_refused("sim:a,,size=1M", "sim:a: empty option in ',size=1M'");
	expect_spec_refused("sim:a,", "sim:a: empty option in ''");
	expect_spec_refused("fd:0x0x3", "fd:0x0x3: fd=0x0x3: not a file descriptor number");
	expect_spec_refused("fd:3,hwpt=0x0x1", "fd:3: hwpt=0x0x1: not a page table id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_u64_suffixes),
		cmocka_unit_test(test_u64_rejects),
		cmocka_unit_test(test_u64_strict),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_u64_word),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_errno_names_all),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_spec_opts),
		cmocka_unit_test(test_device_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/* CRC32C: known vectors, and the SSE4.2 and table paths against each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crc32c.h"

typedef uint32_t crc_fn(uint32_t crc, const void *buf, size_t len);

/* RFC 3720 (iSCSI) appendix B.4 vectors, plus the usual check string. */
static void check_vectors(crc_fn *fn)
{
	unsigned char buf[32];

	assert_int_equal(fn(0, "123456789", 9), 0xe3069283);
	assert_int_equal(fn(0, "", 0), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(fn(0, buf, sizeof(buf)), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(fn(0, buf, sizeof(buf)), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	assert_int_equal(fn(0, buf, sizeof(buf)), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	assert_int_equal(fn(0, buf, sizeof(buf)), 0x113fdb5c);
}

static void test_vectors_sw(void **state)
{
	(void)state;
	check_vectors(crc32c_sw);
}

static void test_vectors_hw(void **state)
{
	(void)state;
	if (!crc32c_hw_available())
		skip();
	check_vectors(crc32c_hw);
}

static void test_vectors_default(void **state)
{
	(void)state;
	check_vectors(crc32c);
}

static void fill(unsigned char *buf, size_t len)
{
	uint32_t x = 0x12345678;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (unsigned char)(x >> 16);
	}
}

/* Every length and alignment the word loops and byte tails can see. */
static void test_hw_equals_sw(void **state)
{
	static unsigned char buf[4096 + 8];

	(void)state;
	if (!crc32c_hw_available())
		skip();
	fill(buf, sizeof(buf));
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(crc32c_hw(0x1234, buf + off, len),
					 crc32c_sw(0x1234, buf + off, len));
	assert_int_equal(crc32c_hw(0, buf, 4096), crc32c_sw(0, buf, 4096));
}

/* A small xorshift generator: the same "random" buffers on every run. */
static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* hw and sw agree on len bytes at p, whole and cut in two at cut. */
static void check_long(const unsigned char *p, size_t len, size_t cut,
		       uint32_t seed)
{
	uint32_t sw = crc32c_sw(seed, p, len);

	assert_int_equal(crc32c_hw(seed, p, len), sw);
	assert_int_equal(crc32c_hw(crc32c_hw(seed, p, cut), p + cut, len - cut),
			 sw);
}

/*
 * Long buffers run as three joined lanes (of at most 8 KiB, a multiple of
 * 512): lengths around every multiple of 512 up to two rounds of the
 * longest lanes, at odd alignments, cut at random places, then random
 * lengths.
 */
#define LONG_LEN	(2 * 3 * 8192 + 17)

static void test_hw_equals_sw_long(void **state)
{
	static unsigned char buf[LONG_LEN + 8];
	uint32_t x = 0x9e3779b9;

	(void)state;
	if (!crc32c_hw_available())
		skip();
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rnd(&x);
	for (size_t off = 1; off < 8; off += 2) {
		for (size_t m = 512; m + 9 <= LONG_LEN; m += 512)
			for (size_t len = m - 9; len <= m + 9; len++)
				check_long(buf + off, len, rnd(&x) % (len + 1),
					   rnd(&x));
	}
	for (int i = 0; i < 2000; i++) {
		size_t len = rnd(&x) % (LONG_LEN + 1);

		check_long(buf + rnd(&x) % 8, len, rnd(&x) % (len + 1), rnd(&x));
	}
}

/* A CRC continues where the previous call stopped. */
static void test_chaining(void **state)
{
	static unsigned char buf[1000];
	crc_fn *fns[] = { crc32c_sw, crc32c_hw, crc32c };

	(void)state;
	fill(buf, sizeof(buf));
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		uint32_t whole = fns[f](0, buf, sizeof(buf));

		for (size_t cut = 0; cut <= sizeof(buf); cut += 37)
			assert_int_equal(fns[f](fns[f](0, buf, cut), buf + cut,
						sizeof(buf) - cut), whole);
	}
}

/* A single flipped bit anywhere changes the CRC. */
static void test_detects_flip(void **state)
{
	static unsigned char buf[256];
	uint32_t good;

	(void)state;
	fill(buf, sizeof(buf));
	good = crc32c(0, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf) * 8; i++) {
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_not_equal(crc32c(0, buf, sizeof(buf)), good);
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_sw),
		cmocka_unit_test(test_vectors_hw),
		cmocka_unit_test(test_vectors_default),
		cmocka_unit_test(test_hw_equals_sw),
		cmocka_unit_test(test_hw_equals_sw_long),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_detects_flip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

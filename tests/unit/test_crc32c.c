// SPDX-License-Identifier: MIT
/*
 * CRC32C: known vectors, and crc32c() (ISA-L underneath) against the
 * definition, a byte at a time, at every length and alignment its code
 * paths can see; chaining; long buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crc32c.h"

#define POLY	0x82f63b78u	/* 0x1edc6f41 bit-reversed */

static uint32_t table[256];

/* The definition: reflected, inverted on entry and exit. */
static uint32_t reference(uint32_t crc, const unsigned char *p, size_t len)
{
	if (!table[1]) {
		for (uint32_t b = 0; b < 256; b++) {
			uint32_t c = b;

			for (int i = 0; i < 8; i++)
				c = (c >> 1) ^ (POLY & -(c & 1));
			table[b] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xff];
	return ~crc;
}

/* RFC 3720 (iSCSI) appendix B.4 vectors, plus the usual check string. */
static void test_vectors(void **state)
{
	unsigned char buf[32];

	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	assert_int_equal(crc32c(0x1234, "", 0), 0x1234);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(crc32c(0, buf, sizeof(buf)), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(crc32c(0, buf, sizeof(buf)), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	assert_int_equal(crc32c(0, buf, sizeof(buf)), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	assert_int_equal(crc32c(0, buf, sizeof(buf)), 0x113fdb5c);
}

/* A small xorshift generator: the same "random" buffers on every run. */
static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void fill(unsigned char *buf, size_t len)
{
	uint32_t x = 0x9e3779b9;

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)rnd(&x);
}

/* Every length and alignment the word loops and byte tails can see. */
static void test_short(void **state)
{
	static unsigned char buf[300 + 16];

	(void)state;
	fill(buf, sizeof(buf));
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(crc32c(0x1234, buf + off, len),
					 reference(0x1234, buf + off, len));
}

/* len bytes at p, whole and cut in two at cut, with a seed. */
static void check_long(const unsigned char *p, size_t len, size_t cut,
		       uint32_t seed)
{
	uint32_t want = reference(seed, p, len);

	assert_int_equal(crc32c(seed, p, len), want);
	assert_int_equal(crc32c(crc32c(seed, p, cut), p + cut, len - cut), want);
}

/*
 * Long buffers go through folding loops of several block sizes: lengths
 * around every multiple of 256 up to 16 KiB at odd alignments, cut at
 * random places, then random lengths up to 64 KiB, a stream's block.
 */
#define LONG_LEN	(64 * 1024)

static void test_long(void **state)
{
	static unsigned char buf[LONG_LEN + 8];
	uint32_t x = 0x12345678;

	(void)state;
	fill(buf, sizeof(buf));
	for (size_t off = 1; off < 8; off += 2)
		for (size_t m = 256; m <= 16384; m += 256)
			for (size_t len = m - 9; len <= m + 9; len++)
				check_long(buf + off, len, rnd(&x) % (len + 1), rnd(&x));
	for (int i = 0; i < 200; i++) {
		size_t len = rnd(&x) % (LONG_LEN + 1);

		check_long(buf + rnd(&x) % 8, len, rnd(&x) % (len + 1), rnd(&x));
	}
}

/* A CRC continues where the previous call stopped. */
static void test_chaining(void **state)
{
	static unsigned char buf[1000];
	uint32_t whole;

	(void)state;
	fill(buf, sizeof(buf));
	whole = crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 37)
		assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut,
					sizeof(buf) - cut), whole);
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
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_short),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_detects_flip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

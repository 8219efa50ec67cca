// SPDX-License-Identifier: MIT
/*
 * CRC32C: the SSE4.2 crc32 instruction where the CPU has it, slice-by-8
 * tables otherwise.  Both compute the same reflected CRC, so callers never
 * need to know which one ran.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82f63b78u	/* 0x1edc6f41 bit-reversed */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* table[k][b]: the CRC of byte b followed by k zero bytes. */
static void table_init(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int i = 0; i < 8; i++)
			c = (c >> 1) ^ (CRC32C_POLY & -(c & 1));
		table[0][b] = c;
	}
	for (uint32_t b = 0; b < 256; b++)
		for (int k = 1; k < 8; k++)
			table[k][b] = (table[k - 1][b] >> 8) ^
				      table[0][table[k - 1][b] & 0xff];
}

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w = load_le64(p) ^ crc;

		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
		      table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
		      table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
		      table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/*
 * One crc32 instruction takes 3 cycles but the CPU can start one per
 * cycle, so a single chain runs at a third of the possible speed.  Long
 * buffers are cut into three adjacent lanes of LANE bytes, run as three
 * independent chains and joined: the raw (un-inverted) register is linear,
 * so the register after A then B is the register after A carried across
 * |B| zero bytes, xor the register of B run from zero.
 */
#define LANE	1024	/* short: a 64 KiB block leaves only 1 KiB to one chain */

/* shift[k][b]: the raw register b << 8k carried across LANE zero bytes. */
static uint32_t shift[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

bool crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2");
}

/* The raw register after len bytes at p (no inversion), one chain. */
__attribute__((target("sse4.2")))
static uint64_t sse42_chain(uint64_t c, const unsigned char *p, size_t len)
{
	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, load_le64(p));
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return c;
}

/* The raw register c carried across len zero bytes (len a multiple of 8). */
__attribute__((target("sse4.2")))
static uint32_t sse42_zeros(uint32_t c, size_t len)
{
	uint64_t r = c;

	for (; len; len -= 8)
		r = _mm_crc32_u64(r, 0);
	return (uint32_t)r;
}

/*
 * Carrying across zeros is linear: only the 32 single bits are run, every
 * other entry is the xor of its lowest bit's entry and the rest's.
 */
static void shift_init(void)
{
	for (int k = 0; k < 4; k++) {
		for (uint32_t b = 1; b < 256; b++) {
			uint32_t low = b & -b;

			shift[k][b] = b == low ? sse42_zeros(b << 8 * k, LANE) :
				      shift[k][low] ^ shift[k][b ^ low];
		}
	}
}

static uint32_t shift_lane(uint32_t c)
{
	return shift[0][c & 0xff] ^ shift[1][c >> 8 & 0xff] ^
	       shift[2][c >> 16 & 0xff] ^ shift[3][c >> 24];
}

/* Three lanes at a time, while at least three lanes remain. */
__attribute__((target("sse4.2")))
static uint64_t sse42_lanes(uint64_t c, const unsigned char **pp, size_t *lenp)
{
	const unsigned char *p = *pp;
	size_t len = *lenp;

	for (; len >= 3 * LANE; p += 3 * LANE, len -= 3 * LANE) {
		uint64_t c1 = 0, c2 = 0;

		for (size_t i = 0; i < LANE; i += 8) {
			c = _mm_crc32_u64(c, load_le64(p + i));
			c1 = _mm_crc32_u64(c1, load_le64(p + LANE + i));
			c2 = _mm_crc32_u64(c2, load_le64(p + 2 * LANE + i));
		}
		c = shift_lane(shift_lane((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
	}
	*pp = p;
	*lenp = len;
	return c;
}

static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = ~crc;

	if (len >= 3 * LANE) {
		pthread_once(&shift_once, shift_init);
		c = sse42_lanes(c, &p, &len);
	}
	return ~(uint32_t)sse42_chain(c, p, len);
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	if (!crc32c_hw_available())
		return crc32c_sw(crc, buf, len);
	return crc32c_sse42(crc, buf, len);
}
#else
bool crc32c_hw_available(void)
{
	return false;
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_hw(crc, buf, len);
}

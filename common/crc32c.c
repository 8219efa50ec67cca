// SPDX-License-Identifier: MIT
/*
 * CRC32C through ISA-L's crc32_iscsi, which picks the fastest code the CPU
 * has (folding with PCLMULQDQ and the crc32 instruction on x86-64).  It
 * takes and returns the raw register, without the convention's inversion
 * on entry and exit, and an int length: both are made up for here.
 */
#include <isa-l/crc.h>

#include "crc32c.h"

#define CRC_PIECE	(1u << 30)	/* below INT_MAX */

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* ISA-L's prototype lacks the const; it only reads the buffer. */
	unsigned char *p = (unsigned char *)buf;
	uint32_t reg = ~crc;

	for (; len > CRC_PIECE; p += CRC_PIECE, len -= CRC_PIECE)
		reg = crc32_iscsi(p, CRC_PIECE, reg);
	return ~crc32_iscsi(p, (int)len, reg);
}

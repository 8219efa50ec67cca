/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), the iSCSI/ext4
 * convention: crc32c(0, "123456789", 9) == 0xe3069283.  Results chain:
 * crc32c(crc32c(0, a, n), b, m) is the CRC of a followed by b.
 */
#ifndef CRC32C_H
#define CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* ISA-L's, the fastest implementation this CPU has. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/* Parsers for the text the filesystem and the command line accept. */
#ifndef PARSE_H
#define PARSE_H

#include <stdint.h>

/*
 * An unsigned number, decimal or 0x-hex, with an optional K, M, G or T
 * suffix (powers of 1024) when suffix is set.  The whole string must be
 * consumed (a trailing newline is allowed).  Returns 0, -EINVAL or -ERANGE.
 */
int parse_u64(const char *s, uint64_t *out, int suffix);

/* Like parse_u64, but stops at white space and sets *end past the number. */
int parse_u64_word(const char *s, uint64_t *out, int suffix, const char **end);

/* "EIO" -> EIO; also plain numbers.  Returns 0 or -EINVAL. */
int parse_errno(const char *name, int *err);
/* EIO -> "EIO", or NULL for an errno without a name here. */
const char *errno_name(int err);

/* A boolean attribute value: 1 or 0 (white space around allowed). */
int parse_bool(const char *s, int *out);

#endif

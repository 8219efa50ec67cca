/* SPDX-License-Identifier: MIT */
/* Parsers for the text the filesystem and the command line accept. */
#ifndef PARSE_H
#define PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * White space around and between the words of a value: ' ', '\t' and '\n'
 * and nothing else (isspace() would let '\r', '\v' and '\f' through, so
 * "stop\r\n" is refused everywhere alike).
 */
#define PARSE_SPACE	" \t\n"
bool parse_space(char c);
const char *parse_skip_space(const char *s);

/*
 * An unsigned number: decimal digits, or 0x (0X) and hex digits; with an
 * optional K, M, G or T suffix (powers of 1024) when suffix is set.  No
 * sign, no second prefix, no octal (a leading 0 is decimal).  White space
 * may surround it; nothing else.  Returns 0, -EINVAL or -ERANGE.
 */
int parse_u64(const char *s, uint64_t *out, int suffix);

/* Like parse_u64, but stops at white space and sets *end past the number. */
int parse_u64_word(const char *s, uint64_t *out, int suffix, const char **end);

/*
 * "EIO" -> EIO, case-insensitively, for every name errno_name() gives;
 * also plain numbers, 1 to 4095.  Returns 0 or -EINVAL.
 */
int parse_errno(const char *name, int *err);
/* EIO -> "EIO" (glibc's strerrorname_np), or NULL for an errno without a name. */
const char *errno_name(int err);

/* A boolean attribute value: 1 or 0 (white space around allowed). */
int parse_bool(const char *s, int *out);

/*
 * One option of a DEVICE argument ("sim:NAME,size=1M,..."): "key=value",
 * or a bare "key" when flag is set (value is then NULL).  set() writes its
 * own message with spec_error() when it refuses the value.
 */
struct spec_opt {
	const char *key;
	int (*set)(void *ctx, const char *value);
	int flag;
};

/*
 * Calls the matching set() for each option of a comma-separated list.
 * Returns 0, set()'s error, or -EINVAL with a message in err for an unknown
 * key, a value missing (or given to a flag) or an empty option.
 */
int parse_spec_opts(const char *list, const struct spec_opt *opts, size_t nopts,
		    void *ctx, const char *who, char *err, size_t errlen);

/* Formats "WHO: message" into err; returns -EINVAL. */
int spec_error(char *err, size_t errlen, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

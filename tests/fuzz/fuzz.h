/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses.  The reference grammar here is
 * written from docs/ABI.md, independently of common/parse.c, so that a
 * harness can compare the two answers instead of only watching for
 * crashes.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An oracle's verdict: say why and abort, so that libFuzzer keeps the input. */
#define fuzz_check(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "oracle: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/* The input as the C string a written value is (it ends at a NUL). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static inline bool ref_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

enum ref_result { REF_OK, REF_SYNTAX, REF_RANGE };

static inline int ref_digit(char c, unsigned int base)
{
	const char *digits = "0123456789abcdef";
	const char *p = c ? strchr(digits, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c) : NULL;

	return p && (unsigned int)(p - digits) < base ? (int)(p - digits) : -1;
}

/*
 * Exactly the n bytes at s as one number: decimal digits, or 0x/0X and
 * hex digits, then (if suffix) one of KMGT in either case.
 */
static inline enum ref_result ref_number(const char *s, size_t n, bool suffix,
					 uint64_t *v)
{
	static const char units[] = "kmgt";
	unsigned int base = 10, shift = 0;
	unsigned __int128 acc = 0;
	bool big = false;
	size_t i = 0, first;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (first = i; i < n && ref_digit(s[i], base) >= 0; i++) {
		acc = acc * base + (unsigned int)ref_digit(s[i], base);
		if (acc > UINT64_MAX) {
			big = true;
			acc = UINT64_MAX;
		}
	}
	if (i == first)
		return REF_SYNTAX;
	if (suffix && i < n && s[i] && strchr(units, s[i] | 0x20)) {
		shift = 10 * (unsigned int)(strchr(units, s[i] | 0x20) - units + 1);
		i++;
	}
	if (i != n)
		return REF_SYNTAX;
	if (big || acc > (UINT64_MAX >> shift))
		return REF_RANGE;
	*v = (uint64_t)acc << shift;
	return REF_OK;
}

/* [*start, *end) of s without the white space around it. */
static inline void ref_trim(const char *s, size_t *start, size_t *end)
{
	*start = 0;
	*end = strlen(s);
	while (*start < *end && ref_space(s[*start]))
		(*start)++;
	while (*end > *start && ref_space(s[*end - 1]))
		(*end)--;
}

#ifdef BACKEND_H
/* The attribute called name in a NULL-name terminated table, or NULL. */
static inline const struct mig_attr *fuzz_attr(const struct mig_attr *table,
					       const char *name)
{
	for (; table && table->name; table++)
		if (!strcmp(table->name, name))
			return table;
	return NULL;
}
#endif

#endif

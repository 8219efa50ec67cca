// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

bool parse_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

const char *parse_skip_space(const char *s)
{
	while (parse_space(*s))
		s++;
	return s;
}

static int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return -1;
	}
}

static int digit_value(char c, unsigned int base)
{
	int d = c >= '0' && c <= '9' ? c - '0' :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

	return d >= 0 && (unsigned int)d < base ? d : -1;
}

/*
 * Decimal digits, or 0x and hex digits; nothing else.  Not strtoull: it
 * takes a sign, leading blanks, a second 0x after ours, and octal after a
 * leading 0 (here still decimal).
 */
static int parse_digits(const char *s, uint64_t *v, const char **end)
{
	unsigned int base = 10;
	int d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (digit_value(*s, base) < 0)
		return -EINVAL;
	for (*v = 0; (d = digit_value(*s, base)) >= 0; s++) {
		if (*v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		*v = *v * base + (uint64_t)d;
	}
	*end = s;
	return 0;
}

int parse_u64_word(const char *s, uint64_t *out, int suffix, const char **end)
{
	const char *e;
	uint64_t v;
	int shift, err;

	err = parse_digits(parse_skip_space(s), &v, &e);
	if (err)
		return err;
	if (suffix && (shift = suffix_shift(*e)) >= 0) {
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
		e++;
	}
	if (*e && !parse_space(*e))
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

int parse_u64(const char *s, uint64_t *out, int suffix)
{
	const char *end;
	uint64_t v;
	int r = parse_u64_word(s, &v, suffix, &end);

	if (r)
		return r;
	if (*parse_skip_space(end))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bool(const char *s, int *out)
{
	uint64_t v;

	if (parse_u64(s, &v, 0) || v > 1)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

#define ERRNO_MAX	4095	/* the kernel's MAX_ERRNO */

const char *errno_name(int err)
{
	return err > 0 ? strerrorname_np(err) : NULL;
}

/* glibc names numbers but has no lookup by name: the reverse is a scan. */
int parse_errno(const char *name, int *err)
{
	uint64_t v;
	size_t len;

	name = parse_skip_space(name);
	len = strcspn(name, PARSE_SPACE);
	if (*parse_skip_space(name + len))
		return -EINVAL;
	for (int e = 1; e <= ERRNO_MAX; e++) {
		const char *known = strerrorname_np(e);

		if (known && strlen(known) == len && !strncasecmp(name, known, len)) {
			*err = e;
			return 0;
		}
	}
	if (parse_u64(name, &v, 0) || v == 0 || v > ERRNO_MAX)
		return -EINVAL;
	*err = (int)v;
	return 0;
}

int spec_error(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s: ", who);
	va_list ap;

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int set_opt(char *opt, const struct spec_opt *opts, size_t nopts,
		   void *ctx, const char *who, char *err, size_t errlen)
{
	char *eq = strchr(opt, '=');

	if (eq)
		*eq++ = '\0';
	for (size_t i = 0; i < nopts; i++) {
		if (strcmp(opt, opts[i].key))
			continue;
		if (!eq != !!opts[i].flag)
			return spec_error(err, errlen, who, opts[i].flag ?
					  "option '%s' takes no value" :
					  "option '%s' needs a value", opt);
		return opts[i].set(ctx, eq);
	}
	return spec_error(err, errlen, who, "unknown option '%s'", opt);
}

int parse_spec_opts(const char *list, const struct spec_opt *opts, size_t nopts,
		    void *ctx, const char *who, char *err, size_t errlen)
{
	char *copy = strdup(list), *opt, *next;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	/* Not strtok(): "a,,b" and "a," are typos, not lists of two. */
	for (opt = copy; opt && !r; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		r = *opt ? set_opt(opt, opts, nopts, ctx, who, err, errlen) :
		    spec_error(err, errlen, who, "empty option in '%s'", list);
	}
	free(copy);
	return r;
}

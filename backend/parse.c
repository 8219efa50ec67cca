// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
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

/* Decimal, or hex after 0x; a leading 0 is not octal, unlike strtoull's. */
static int parse_digits(const char *s, unsigned long long *v, char **end)
{
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
	}
	errno = 0;
	*v = strtoull(s, end, base);
	return errno == ERANGE ? -ERANGE : 0;
}

int parse_u64_word(const char *s, uint64_t *out, int suffix, const char **end)
{
	unsigned long long v;
	char *e;
	int shift, err;

	s = skip_space(s);
	/* strtoull accepts a sign and wraps negatives; we do not. */
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	err = parse_digits(s, &v, &e);
	if (err)
		return err;
	if (suffix && (shift = suffix_shift(*e)) >= 0) {
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
		e++;
	}
	if (*e && !isspace((unsigned char)*e))
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
	if (*skip_space(end))
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

	name = skip_space(name);
	len = strcspn(name, " \t\n");
	if (*skip_space(name + len))
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
	char *copy = strdup(list), *opt, *save;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (opt = strtok_r(copy, ",", &save); opt && !r;
	     opt = strtok_r(NULL, ",", &save))
		r = set_opt(opt, opts, nopts, ctx, who, err, errlen);
	free(copy);
	return r;
}

// SPDX-License-Identifier: MIT
/*
 * Numbers, sizes, booleans and errno names (common/parse.c) against the
 * reference grammar of fuzz.h: the same verdict and the same value.
 */
#include <errno.h>

#include "fuzz.h"
#include "parse.h"

/* A syntax error may be reported as ERANGE when the digits overflow first. */
static void same_verdict(const char *what, const char *s, enum ref_result ref,
			 uint64_t want, int got, uint64_t v)
{
	if (ref == REF_OK)
		fuzz_check(got == 0 && v == want, "%s('%s'): %d, %llu; want %llu", what, s,
			   got, (unsigned long long)v, (unsigned long long)want);
	else if (ref == REF_RANGE)
		fuzz_check(got == -ERANGE, "%s('%s'): %d, want ERANGE", what, s, got);
	else
		fuzz_check(got == -EINVAL || got == -ERANGE,
			   "%s('%s'): %d, want EINVAL", what, s, got);
}

static void check_whole(const char *s, bool suffix)
{
	uint64_t want = 0, v = 0;
	size_t start, end;
	enum ref_result ref;
	int got;

	ref_trim(s, &start, &end);
	ref = ref_number(s + start, end - start, suffix, &want);
	got = parse_u64(s, &v, suffix);
	same_verdict(suffix ? "parse_u64 suffix" : "parse_u64", s, ref, want, got, v);
}

static void check_word(const char *s)
{
	uint64_t want = 0, v = 0;
	const char *end = NULL;
	size_t start = 0, len;
	enum ref_result ref;
	int got;

	while (ref_space(s[start]))
		start++;
	for (len = 0; s[start + len] && !ref_space(s[start + len]); len++)
		;
	ref = ref_number(s + start, len, true, &want);
	got = parse_u64_word(s, &v, 1, &end);
	same_verdict("parse_u64_word", s, ref, want, got, v);
	if (!got)
		fuzz_check(end == s + start + len, "parse_u64_word('%s') ends at %td", s, end - s);
}

static void check_bool(const char *s)
{
	uint64_t want = 2;
	size_t start, end;
	int b = -1;
	bool ok;

	ref_trim(s, &start, &end);
	ok = ref_number(s + start, end - start, false, &want) == REF_OK && want <= 1;
	fuzz_check((parse_bool(s, &b) == 0) == ok && (!ok || b == (int)want),
		   "parse_bool('%s') = %d", s, b);
}

/* A name parsed is a name printed: the errno round trip. */
static void check_errno(const char *s)
{
	const char *name;
	int e, again;

	if (parse_errno(s, &e))
		return;
	fuzz_check(e > 0 && e <= 4095, "parse_errno('%s') = %d", s, e);
	name = errno_name(e);
	if (name)
		fuzz_check(parse_errno(name, &again) == 0 && again == e,
			   "errno %d named %s does not parse back", e, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	check_whole(s, false);
	check_whole(s, true);
	check_word(s);
	check_bool(s);
	check_errno(s);
	free(s);
	return 0;
}

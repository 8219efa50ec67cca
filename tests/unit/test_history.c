// SPDX-License-Identifier: MIT
/*
 * The history behind `log` read as a stream (history.c): every offset and
 * length reads the bytes of the lines as they were added, offsets stay put
 * once the ring drops lines, and a read of dropped bytes moves up to the
 * oldest line kept.  The expected stream is built here from the lines
 * added, not by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"

/* Every line ever added, newlines included, as a reader expects them. */
static char *want;
static size_t want_len;

static void add(struct mig_history *h, const char *fmt, ...)
{
	char msg[MIG_HISTORY_LINE];
	const char *text;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	history_add(h, msg);
	/* The line as stored (timestamp, blank, text, cut to fit), its newline. */
	text = h->lines[(h->next + MIG_HISTORY_LINES - 1) % MIG_HISTORY_LINES].text;
	n = strlen(text);
	assert_true(n < MIG_HISTORY_LINE);
	want = realloc(want, want_len + n + 1);
	assert_non_null(want);
	memcpy(want + want_len, text, n);
	want[want_len + n] = '\n';
	want_len += n + 1;
	assert_true(h->end == want_len);
}

/* Lines of varied length, one of them longer than a line can hold. */
static void fill(struct mig_history *h, unsigned int lines)
{
	char big[400];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (unsigned int i = 0; i < lines; i++)
		if (i % 997 == 5)
			add(h, "%s", big);
		else
			add(h, "event %u%.*s", i, (int)(i % 13), "abcdefghijklm");
}

/* A read of [pos, pos + len) gives exactly the expected bytes. */
static void read_at(const struct mig_history *h, uint64_t pos, size_t len)
{
	static char buf[1 << 20];
	uint64_t first, end, at = pos;
	size_t n, expect;

	history_bounds(h, &first, &end);
	n = history_read(h, &at, buf, len);
	assert_true(at == (pos < first ? first : pos));
	expect = at >= end ? 0 : (size_t)(end - at) < len ? (size_t)(end - at) : len;
	assert_int_equal(n, expect);
	assert_memory_equal(buf, want + at, n);
}

static void test_offsets(void **state)
{
	struct mig_history h = { 0 };
	uint64_t first, end;

	(void)state;
	history_bounds(&h, &first, &end);
	assert_true(first == 0 && end == 0);
	fill(&h, 100);
	history_bounds(&h, &first, &end);
	assert_true(first == 0 && end == want_len);
	for (uint64_t pos = 0; pos <= end + 2; pos++)
		for (size_t len = 1; len < 200; len += 37)
			read_at(&h, pos, len);
	read_at(&h, 0, 1 << 20);
	read_at(&h, UINT64_MAX - 3, 10);
	history_free(&h);
	free(want);
	want = NULL;
	want_len = 0;
}

/* Past the ring: offsets of the lines kept do not move. */
static void test_full(void **state)
{
	struct mig_history h = { 0 };
	uint64_t first, end;

	(void)state;
	fill(&h, MIG_HISTORY_LINES * 2 + 123);
	history_bounds(&h, &first, &end);
	assert_int_equal(h.count, MIG_HISTORY_LINES);
	assert_true(end == want_len && first > 0);
	/* first is where a line starts, and the newest ends at end */
	assert_int_equal(want[first - 1], '\n');
	read_at(&h, 0, 4096);			/* dropped: moves up to first */
	read_at(&h, first - 1, 100);
	read_at(&h, first, 1 << 20);		/* every line kept, whole */
	for (uint64_t pos = end - 500; pos <= end; pos += 7)
		read_at(&h, pos, 64);
	history_free(&h);
	free(want);
	want = NULL;
	want_len = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

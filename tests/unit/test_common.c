// SPDX-License-Identifier: MIT
/* The helpers the daemon and vfio-migctl share: PCI addresses, timestamps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pci_addr.h"
#include "timestamp.h"

static void expect_addr(const char *s, const char *canonical)
{
	char buf[PCI_ADDR_SIZE];
	struct pci_addr a;

	if (pci_addr_parse(s, &a))
		fail_msg("'%s' did not parse", s);
	pci_addr_format(&a, buf);
	assert_string_equal(buf, canonical);
}

static void test_pci_addr(void **state)
{
	static const char *const bad[] = {
		"", "3b", "3b:00", "0000:3b:00", "0000:3b:00.", "0000:3b:00.8",
		"0000:3b:20.0", "0000:3b:00.1x", "0000:3b:000.1", "0000:13b:00.1",
		"g000:3b:00.1", " 0000:3b:00.1", "0000:3b:00.1\n", ":3b:00.1",
		"0000::00.1", "000000000:3b:00.1", "1:2:3:4.5", "0000:3b.00.1",
		"0000:3b:00:1", "0000:-1:00.1",
	};
	struct pci_addr a;

	(void)state;
	assert_int_equal(pci_addr_parse("0000:3b:1f.7", &a), 0);
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 0x3b);
	assert_int_equal(a.dev, 0x1f);
	assert_int_equal(a.fn, 7);
	expect_addr("0000:3b:00.1", "0000:3b:00.1");
	expect_addr("3b:00.1", "0000:3b:00.1");
	expect_addr("0000:3B:0A.2", "0000:3b:0a.2");
	expect_addr("1:2:3.4", "0001:02:03.4");
	expect_addr("10000:00:00.0", "10000:00:00.0");
	expect_addr("ffffffff:ff:1f.7", "ffffffff:ff:1f.7");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pci_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
}

/* The timestamp a call returns, in microseconds since the epoch. */
static long long timestamp_us(void)
{
	char buf[TIMESTAMP_SIZE], frac[8];
	struct tm tm = { 0 };
	size_t n = timestamp_now(buf, sizeof(buf));

	assert_int_equal(n, TIMESTAMP_SIZE - 1);
	assert_int_equal(strlen(buf), n);
	assert_non_null(strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm));
	assert_int_equal(sscanf(buf + 19, ".%7[0-9]Z", frac), 1);
	assert_int_equal(strlen(frac), 6);
	assert_int_equal(buf[n - 1], 'Z');
	return timegm(&tm) * 1000000LL + atoll(frac);
}

/*
 * The clock the timestamp reads.  Not time(NULL): that reads the coarse
 * clock, up to a tick behind, and says 22:07:00 after 22:07:01.000001Z.
 */
static long long time_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * 2026-11-24T22:07:01.123456Z, now, in UTC: between two readings of the
 * clock around it, also across a second's turn (the loop runs until it
 * has seen one, at most a second).
 */
static void test_timestamp(void **state)
{
	long long first = time_us(), before, at, after;

	(void)state;
	do {
		before = time_us();
		at = timestamp_us();
		after = time_us();
		if (at < before || at > after)
			fail_msg("%lld.%06lld is outside [%lld.%06lld, %lld.%06lld]",
				 at / 1000000, at % 1000000, before / 1000000,
				 before % 1000000, after / 1000000, after % 1000000);
	} while (at / 1000000 == first / 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_addr),
		cmocka_unit_test(test_timestamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * P2P DMA between sim devices (backend/sim_peer.c): writes land in a
 * running peer, are lost on a stopped one and counted so, dirty a peer in
 * pre-copy, stop at once when the issuer enters a P2P state, and two
 * devices writing into each other from two threads neither deadlock nor
 * race (run under -Db_sanitize=thread).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "backend.h"
#include "sim.h"
#include "simtest.h"

/* 100 writes a millisecond: a few milliseconds make hundreds. */
#define FAST	"size=256K,dirty_rate=0,peer_rate=100000"

/* The counts of sim/peer, read at one time. */
static void peer_counts(struct migdev *dev, uint64_t *sent, uint64_t *lost)
{
	struct strbuf sb = { 0 };
	char *p;

	assert_int_equal(migdev_attr_show(dev, attr(dev, "peer"), &sb), 0);
	p = strstr(sb.buf, "\nsent: ");
	assert_non_null(p);
	*sent = strtoull(p + 7, &p, 10);
	assert_memory_equal(p, "\nlost: ", 7);
	*lost = strtoull(p + 7, NULL, 10);
	sb_free(&sb);
}

static uint64_t peer_count(struct migdev *dev, const char *key)
{
	uint64_t sent, lost;

	peer_counts(dev, &sent, &lost);
	return !strcmp(key, "sent") ? sent : lost;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool log_has(struct migdev *dev, const char *text)
{
	static char log[MIG_HISTORY_LINES * MIG_HISTORY_LINE + 1];
	uint64_t pos = 0;
	size_t n = 0, got;

	while ((got = migdev_log_read(dev, &pos, log + n, sizeof(log) - 1 - n))) {
		n += got;
		pos += got;
	}
	log[n] = '\0';
	return strstr(log, text);
}

struct buf {
	unsigned char *p;
	size_t len;
};

/* Read the whole STOP_COPY stream of dev. */
static struct buf save(struct migdev *dev)
{
	struct migdev_stream st = { 0 };
	struct buf b = { .p = malloc(1 << 20) };
	ssize_t n;

	assert_non_null(b.p);
	go(dev, MIG_STOP_COPY);
	while ((n = migdev_read(dev, &st, b.p + b.len, (1 << 20) - b.len)) > 0)
		b.len += (size_t)n;
	assert_int_equal(n, 0);
	return b;
}

static void load(struct migdev *dev, const struct buf *b)
{
	struct migdev_stream st = { 0 };

	go(dev, MIG_RESUMING);
	assert_int_equal(migdev_write(dev, &st, b->p, b->len), (ssize_t)b->len);
	go(dev, MIG_STOP);
}

static void test_pair_writes_into_each_other(void **state)
{
	struct migdev *a = open_dev("sim:pa," FAST ",peer=pb");
	struct migdev *b = open_dev("sim:pb," FAST ",peer=pa");
	uint64_t da = digest(a), db = digest(b);

	(void)state;
	sleep_ms(5);
	/* Neither device works on its own (dirty_rate=0): the peer did it. */
	assert_int_not_equal(digest(a), da);
	assert_int_not_equal(digest(b), db);
	assert_true(peer_count(a, "sent") >= 100);
	assert_true(peer_count(b, "sent") >= 100);
	assert_int_equal(peer_count(a, "lost"), 0);
	assert_int_equal(peer_count(b, "lost"), 0);
	assert_non_null(strstr(show(a, "peer"), "peer: pb\n"));
	migdev_close(a);
	migdev_close(b);
}

/*
 * The migration the barrier prevents: a stops and is saved while b still
 * writes into it.  The writes are counted lost, and a's state moves away
 * from what was saved, which a destination then lacks.
 */
static void test_stopped_peer_loses_writes(void **state)
{
	struct migdev *a = open_dev("sim:la,size=256K");
	struct migdev *b = open_dev("sim:lb," FAST ",peer=la");
	struct migdev *dst = open_dev("sim:ld,size=256K");
	struct buf s;
	uint64_t saved;

	(void)state;
	s = save(a);
	saved = digest(a);
	sleep_ms(5);
	assert_true(peer_count(b, "lost") >= 100);
	assert_true(peer_count(b, "lost") <= peer_count(b, "sent"));
	assert_true(log_has(b, "sim: peer la does not accept P2P writes: write lost"));
	/* While saving, a holds the state of the moment of stopping ... */
	assert_int_equal(digest(a), saved);
	/* ... and then the lost writes land, after the state was captured. */
	go(a, MIG_STOP);
	assert_int_not_equal(digest(a), saved);
	load(dst, &s);
	assert_int_equal(digest(dst), saved);
	free(s.p);
	migdev_close(dst);
	/* Lost writes still waiting for the session's end: reset wins. */
	go(a, MIG_STOP_COPY);
	sleep_ms(2);
	go(b, MIG_RUNNING_P2P);
	assert_int_equal(migdev_reset(a), 0);
	saved = digest(a);
	migdev_close(a);
	a = open_dev("sim:la,size=256K");
	assert_int_equal(digest(a), saved);
	migdev_close(b);
	migdev_close(a);
}

/*
 * The kernel's rule for the issuer: once the write of RUNNING_P2P has
 * returned, not one more write.  Then the peer may stop and lose none.
 */
static void test_p2p_state_issues_none(void **state)
{
	struct migdev *a = open_dev("sim:qa,size=256K");
	struct migdev *b = open_dev("sim:qb," FAST ",peer=qa");
	uint64_t sent, da;

	(void)state;
	sleep_ms(2);
	go(b, MIG_RUNNING_P2P);
	sent = peer_count(b, "sent");
	da = digest(a);
	assert_true(sent > 0);
	sleep_ms(5);
	assert_int_equal(peer_count(b, "sent"), sent);
	assert_int_equal(digest(a), da);
	go(a, MIG_STOP_COPY);
	go(b, MIG_STOP_COPY);
	sleep_ms(5);
	assert_int_equal(peer_count(b, "lost"), 0);
	assert_int_equal(digest(a), da);
	assert_false(log_has(b, "lost"));
	/* And the issuer running again writes into the stopped peer. */
	go(b, MIG_RUNNING);
	sleep_ms(5);
	assert_true(peer_count(b, "lost") > 0);
	migdev_close(b);
	migdev_close(a);
}

/* In RUNNING_P2P a device still accepts: the peer may stop after it. */
static void test_p2p_peer_accepts(void **state)
{
	struct migdev *a = open_dev("sim:ra,size=256K");
	struct migdev *b = open_dev("sim:rb," FAST ",peer=ra");
	uint64_t da;

	(void)state;
	go(a, MIG_RUNNING_P2P);
	da = digest(a);
	sleep_ms(5);
	go(b, MIG_RUNNING_P2P);
	assert_int_not_equal(digest(a), da);
	assert_int_equal(peer_count(b, "lost"), 0);
	migdev_close(b);
	migdev_close(a);
}

/* A write into a peer in pre-copy dirties its block for the next round. */
static void test_precopy_peer_dirtied(void **state)
{
	struct migdev *a = open_dev("sim:sa,size=256K");
	struct migdev *b = open_dev("sim:sb," FAST ",peer=sa");
	struct migdev_stream st = { 0 };
	unsigned char buf[64 << 10];
	uint64_t initial, dirty;

	(void)state;
	/* b quiet while a's first round is read: it would never end. */
	go(b, MIG_RUNNING_P2P);
	go(a, MIG_PRE_COPY);
	while (migdev_read(a, &st, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, 0);
	assert_int_equal(dirty, 0);
	go(b, MIG_RUNNING);
	sleep_ms(5);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_true(dirty > 0);
	assert_int_equal(peer_count(b, "lost"), 0);
	migdev_close(b);
	migdev_close(a);
}

/* A peer not open: every write is lost, and sim/peer and log say why. */
static void test_peer_not_open(void **state)
{
	struct migdev *b = open_dev("sim:nb," FAST ",peer=nowhere");
	struct migdev *a;
	uint64_t sent, lost, sent2, lost2;

	(void)state;
	sleep_ms(2);
	assert_non_null(strstr(show(b, "peer"), "peer: nowhere (not open)\n"));
	peer_counts(b, &sent, &lost);
	assert_true(lost > 0);
	assert_int_equal(lost, sent);
	assert_true(log_has(b, "sim: peer nowhere is not open: P2P write lost"));
	/* Opened later, it is found and takes the writes. */
	a = open_dev("sim:nowhere,size=256K");
	assert_non_null(strstr(show(b, "peer"), "peer: nowhere\n"));
	peer_counts(b, &sent, &lost);
	sleep_ms(5);
	peer_counts(b, &sent2, &lost2);
	assert_int_equal(lost2, lost);
	assert_true(sent2 > sent);
	migdev_close(a);
	migdev_close(b);
}

static void test_options(void **state)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "sim:a,peer=a", "sim:a: peer 'a' is the device itself" },
		{ "sim:a,peer=", "sim:a: bad peer '' (a NAME of 1 to 63 bytes)" },
		{ "sim:a,peer_rate=5", "sim:a: peer_rate needs a peer" },
		{ "sim:a,peer=b,peer_rate=0",
		  "sim:a: bad peer_rate '0' (writes a second, at least 1)" },
	};
	struct migdev *dev;
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dev = NULL;
		err[0] = '\0';
		assert_int_equal(migdev_open(bad[i].spec, &dev, err, sizeof(err)), -EINVAL);
		assert_null(dev);
		assert_string_equal(err, bad[i].msg);
	}
	dev = open_dev("sim:a");
	assert_string_equal(show(dev, "peer"), "peer: none\n");
	migdev_close(dev);
	dev = open_dev("sim:a,peer=b");
	assert_non_null(strstr(show(dev, "peer"), "rate: 100\n"));
	migdev_close(dev);
}

/* Two threads drive two devices that write into each other. */
static void *cycle(void *arg)
{
	struct migdev *dev = arg;

	for (int i = 0; i < 200; i++) {
		assert_int_equal(migdev_set_state(dev, MIG_RUNNING_P2P), 0);
		(void)digest(dev);
		assert_int_equal(migdev_set_state(dev, MIG_STOP), 0);
		(void)peer_count(dev, "sent");
		assert_int_equal(migdev_set_state(dev, MIG_RUNNING), 0);
		(void)digest(dev);
	}
	return NULL;
}

static void test_crossed_writes_threads(void **state)
{
	struct migdev *a = open_dev("sim:ta," FAST ",peer=tb");
	struct migdev *b = open_dev("sim:tb," FAST ",peer=ta");
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, cycle, b), 0);
	cycle(a);
	pthread_join(t, NULL);
	assert_true(peer_count(a, "sent") > 0);
	migdev_close(b);
	migdev_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_writes_into_each_other),
		cmocka_unit_test(test_stopped_peer_loses_writes),
		cmocka_unit_test(test_p2p_state_issues_none),
		cmocka_unit_test(test_p2p_peer_accepts),
		cmocka_unit_test(test_precopy_peer_dirtied),
		cmocka_unit_test(test_peer_not_open),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_crossed_writes_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

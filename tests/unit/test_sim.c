// SPDX-License-Identifier: MIT
/*
 * The sim backend through the generic layer: its stream, its precopy
 * accounting, its model rules, its dirty log and its options.  Ops are
 * called directly only where the migdev API hides what a test needs
 * (-ENOMSG, the armed errno, exact log_report bits).
 */
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

#include "backend.h"
#include "crc32c.h"
#include "sim.h"
#include "simtest.h"

#define PAGE		4096u
#define HDR		32u	/* stream header */
#define REC		20u	/* block record header */
#define END		24u	/* end record */

static int store(struct migdev *dev, const char *name, const char *text)
{
	return migdev_attr_store(dev, attr(dev, name), text);
}

/* Everything a saving stream has now, read in chunks of chunk bytes. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

static ssize_t drain(struct migdev *dev, struct migdev_stream *st,
		     struct buf *b, size_t chunk)
{
	size_t start = b->len;
	ssize_t n;

	for (;;) {
		if (b->cap - b->len < chunk) {
			b->cap = (b->cap + chunk) * 2;
			b->p = realloc(b->p, b->cap);
			assert_non_null(b->p);
		}
		n = migdev_read(dev, st, b->p + b->len, chunk);
		if (n <= 0)
			break;
		b->len += (size_t)n;
	}
	assert_int_equal(n, 0);
	return (ssize_t)(b->len - start);
}

/* A complete STOP_COPY stream of dev, which is left in STOP_COPY. */
static struct buf save_stop_copy(struct migdev *dev, size_t chunk)
{
	struct migdev_stream st = { 0 };
	struct buf b = { 0 };
	char c;

	go(dev, MIG_STOP_COPY);
	drain(dev, &st, &b, chunk);
	/* The end stays the end. */
	assert_int_equal(migdev_read(dev, &st, &c, 1), 0);
	return b;
}

/* Resume a stream into dev in chunks: 0, or the first error. */
static int resume(struct migdev *dev, const unsigned char *p, size_t len,
		  size_t chunk)
{
	struct migdev_stream st = { 0 };
	int err;

	go(dev, MIG_RESUMING);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = migdev_write(dev, &st, p + off, n);

		if (w < 0) {
			/* A broken stream stays broken. */
			assert_int_equal(w, -EINVAL);
			assert_int_equal(migdev_write(dev, &st, p, 1), -EINVAL);
			return (int)w;
		}
		assert_int_equal((size_t)w, n);
	}
	err = migdev_set_state(dev, MIG_STOP);
	if (err)
		assert_int_equal(migdev_state(dev), MIG_ERROR);
	return err;
}

static void test_save_resume(void **state)
{
	/* 16 full blocks and a short one. */
	struct migdev *a = open_dev("sim:a,size=1048676");
	struct migdev *b = open_dev("sim:b,size=1048676");
	uint64_t size;
	struct buf s;

	(void)state;
	assert_int_not_equal(digest(a), digest(b));
	sim_work(a, 100);
	assert_int_equal(migdev_data_size(a, &size), 0);
	s = save_stop_copy(a, 1000);
	assert_int_equal(s.len, size);
	assert_int_equal(size, HDR + 17 * REC + 1048676 + END);
	assert_int_equal(resume(b, s.p, s.len, 777), 0);
	assert_int_equal(digest(a), digest(b));
	/* Again, some records whole in a write, some split across two. */
	assert_int_equal(migdev_reset(b), 0);
	go(b, MIG_STOP);
	assert_int_equal(resume(b, s.p, s.len, 200000), 0);
	assert_int_equal(digest(a), digest(b));
	/* The destination is a working device again. */
	go(b, MIG_RUNNING);
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

static struct migdev *open_quiet(const char *spec, char *err, size_t len)
{
	struct migdev *dev = (struct migdev *)&dev;
	int r = migdev_open(spec, &dev, err, len);

	assert_int_equal(r, -EINVAL);
	/* Nothing handed out on failure. */
	assert_ptr_equal(dev, (struct migdev *)&dev);
	return NULL;
}

/* Several precopy rounds with work between them, then STOP_COPY. */
static void precopy_migrate(const char *src, enum mig_state final_pre)
{
	struct migdev *a = open_dev(src), *b = open_dev("sim:other,size=300K");
	struct migdev_stream st = { 0 };
	uint64_t size, initial, dirty;
	struct buf s = { 0 };

	assert_int_equal(migdev_data_size(a, &size), 0);
	go(a, MIG_PRE_COPY);
	for (int round = 0; round < 4; round++) {
		drain(a, &st, &s, 5000);
		assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
		assert_int_equal(initial, 0);
		assert_int_equal(dirty, 0);
		sim_work(a, 20);
		assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
		assert_true(dirty > 0);
	}
	/* The device still runs in PRE_COPY_P2P: its changes count too. */
	go(a, final_pre);
	sim_work(a, 5);
	go(a, MIG_STOP_COPY);
	drain(a, &st, &s, 4096);
	/* Blocks were sent more than once. */
	assert_true(s.len > size);
	sim_work(a, 100);	/* stopped: no effect */
	assert_int_equal(resume(b, s.p, s.len, 65536 + 3), 0);
	assert_int_equal(digest(a), digest(b));
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

static void test_precopy_rounds(void **state)
{
	(void)state;
	precopy_migrate("sim:pc,size=300K", MIG_PRE_COPY_P2P);
	precopy_migrate("sim:pc,size=300K,features=pre_copy", MIG_PRE_COPY);
}

/* Initial bytes fall as read; only blocks already sent become dirty. */
static void test_precopy_accounting(void **state)
{
	struct migdev *a = open_dev("sim:acc,size=64K");
	struct migdev *b = open_dev("sim:acc2,size=64K");
	const uint64_t rec = REC + 65536;
	struct migdev_stream st = { 0 };
	uint64_t initial, dirty;
	unsigned char tmp[100];
	struct buf s = { 0 };

	(void)state;
	assert_int_equal(migdev_precopy(a, &initial, &dirty), -ENODATA);
	go(a, MIG_PRE_COPY);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, HDR + rec);
	assert_int_equal(dirty, 0);
	assert_int_equal(a->ops->save_read(a, tmp, 10), 10);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, HDR + rec - 10);
	assert_int_equal(a->ops->save_read(a, tmp, HDR - 10), HDR - 10);
	/* Changed before it was sent: it goes out with the change. */
	sim_work(a, 1);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, rec);
	assert_int_equal(dirty, 0);
	/* Changed after it was sent (even partly): it is dirty, once. */
	assert_int_equal(a->ops->save_read(a, tmp, 100), 100);
	sim_work(a, 3);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, rec - 100);
	assert_int_equal(dirty, rec);
	/* Initial data comes first, then dirty data. */
	assert_int_equal(a->ops->save_read(a, tmp, 100), 100);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, rec - 200);
	assert_int_equal(dirty, rec);
	drain(a, &st, &s, 999);
	assert_int_equal(s.len, 2 * rec - 200);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(initial, 0);
	assert_int_equal(dirty, 0);
	/* Nothing pending: the device says ENOMSG, the layer reads 0. */
	assert_int_equal(a->ops->save_read(a, tmp, sizeof(tmp)), -ENOMSG);
	assert_int_equal(migdev_read(a, &st, tmp, sizeof(tmp)), 0);
	sim_work(a, 2);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), 0);
	assert_int_equal(dirty, rec);
	/* STOP_COPY: what is pending, the end record, then EOF. */
	go(a, MIG_STOP_COPY);
	assert_int_equal(migdev_precopy(a, &initial, &dirty), -ENODATA);
	assert_int_equal(a->ops->precopy_info(a, &initial, &dirty), -EINVAL);
	s.len = 0;
	assert_int_equal(drain(a, &st, &s, 1 << 20), rec + END);
	assert_int_equal(a->ops->save_read(a, tmp, sizeof(tmp)), 0);
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

/* A precopy stream put together by hand resumes like any other. */
static void test_precopy_stream_resumes(void **state)
{
	struct migdev *a = open_dev("sim:acc,size=64K");
	struct migdev *b = open_dev("sim:acc2,size=64K");
	struct migdev_stream st = { 0 };
	struct buf s = { 0 };

	(void)state;
	go(a, MIG_PRE_COPY);
	drain(a, &st, &s, 100);
	sim_work(a, 1);
	drain(a, &st, &s, 100);
	sim_work(a, 1);
	go(a, MIG_STOP_COPY);
	drain(a, &st, &s, 100);
	assert_int_equal(s.len, HDR + 3 * (REC + 65536) + END);
	assert_int_equal(resume(b, s.p, s.len, s.len), 0);
	assert_int_equal(digest(a), digest(b));
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

static void expect_refused(struct migdev *dst, const unsigned char *p,
			   size_t len, size_t chunk)
{
	assert_int_not_equal(resume(dst, p, len, chunk), 0);
	/* Only a reset gets the device out; it is a fresh device again. */
	assert_int_equal(migdev_reset(dst), 0);
	assert_int_equal(migdev_state(dst), MIG_RUNNING);
}

/*
 * In 4 KiB writes every record is staged; in one write the loader takes
 * each whole block record from the caller's buffer: both must refuse.
 */
static void flip_each(struct migdev *dst, struct buf *s, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < s->len; i++) {
		for (unsigned int bit = 0; bit < 8; bit += 7) {
			s->p[i] ^= (unsigned char)(1u << bit);
			expect_refused(dst, s->p, s->len, 4096);
			expect_refused(dst, s->p, s->len, s->len);
			s->p[i] ^= (unsigned char)(1u << bit);
		}
	}
}

/* A single flipped byte anywhere is refused. */
static void test_flipped_byte(void **state)
{
	struct migdev *a = open_dev("sim:x,size=100");
	struct migdev *b = open_dev("sim:x2,size=100");
	struct buf s = save_stop_copy(a, 64);

	(void)state;
	assert_int_equal(s.len, HDR + REC + 100 + END);
	flip_each(b, &s, 0, s.len);
	/* The unflipped stream still loads: the refusals were the flips. */
	assert_int_equal(resume(b, s.p, s.len, 5), 0);
	free(s.p);
	migdev_close(a);
	migdev_close(b);

	/* Several blocks, a short last one: every record boundary. */
	a = open_dev("sim:y,size=130K");
	b = open_dev("sim:y2,size=130K");
	sim_work(a, 10);
	s = save_stop_copy(a, 65536);
	for (size_t rec = HDR; rec < s.len - END; rec += REC + 65536) {
		flip_each(b, &s, rec - 2, rec + REC + 2);
		flip_each(b, &s, rec + REC + 30000, rec + REC + 30001);
	}
	flip_each(b, &s, s.len - END - 3, s.len);
	assert_int_equal(resume(b, s.p, s.len, 1000), 0);
	assert_int_equal(digest(a), digest(b));
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

static void test_truncated_and_foreign(void **state)
{
	struct migdev *a = open_dev("sim:t,size=200K");
	struct migdev *b = open_dev("sim:t2,size=200K");
	struct migdev *big = open_dev("sim:t3,size=264K");
	struct migdev *bs = open_dev("sim:t4,size=200K");
	struct buf s = save_stop_copy(a, 8192), more;
	struct migdev_stream st = { 0 };

	(void)state;
	sim_work(bs, 1);
	/* Cut anywhere: in the header, in a record, before the end record. */
	assert_int_equal(resume(b, s.p, s.len - 1, 4096), -EIO);
	assert_int_equal(migdev_state(b), MIG_ERROR);
	assert_int_equal(migdev_reset(b), 0);
	expect_refused(b, s.p, s.len - END, 4096);
	expect_refused(b, s.p, HDR + REC + 10, 4096);
	expect_refused(b, s.p, 10, 4096);
	expect_refused(b, s.p, 0, 4096);
	/* Data after the end record. */
	more.p = malloc(s.len + 1);
	memcpy(more.p, s.p, s.len);
	more.p[s.len] = 0;
	expect_refused(b, more.p, s.len + 1, 4096);
	expect_refused(b, more.p, s.len + 1, s.len + 1);
	free(more.p);
	/* A stream for another size is refused at its header. */
	go(big, MIG_RESUMING);
	assert_int_equal(migdev_write(big, &st, s.p, 4096), -EINVAL);
	assert_int_equal(migdev_write(big, &st, s.p + 4096, 4096), -EINVAL);
	assert_int_equal(migdev_set_state(big, MIG_STOP), -EIO);
	assert_int_equal(migdev_state(big), MIG_ERROR);
	/* The intact stream loads. */
	assert_int_equal(resume(bs, s.p, s.len, 3), 0);
	assert_int_equal(digest(a), digest(bs));
	free(s.p);
	migdev_close(a);
	migdev_close(b);
	migdev_close(big);
	migdev_close(bs);
}

/* After a change to the end record: its CRC again, so only its meaning is wrong. */
static void reseal_end(struct buf *s)
{
	uint32_t crc = crc32c(0, s->p + s->len - END, END - 4);

	memcpy(s->p + s->len - 4, &crc, 4);
}

/* Cut the full-size block record at off out of the stream, and count it out. */
static void drop_record(struct buf *s, size_t off)
{
	const size_t rec = REC + 65536;

	memmove(s->p + off, s->p + off + rec, s->len - off - rec);
	s->len -= rec;
	s->p[s->len - END + 4]--;
	reseal_end(s);
}

static uint64_t end_digest(const struct buf *s)
{
	uint64_t d;

	memcpy(&d, s->p + s->len - END + 12, 8);
	return d;
}

/*
 * The end record's digest as docs/sim-device.md defines it, from the
 * stream's records: XXH64 (what sim_digest computes) of the CRC of the
 * latest record of each of nblocks blocks, 4 little-endian bytes each,
 * zero for a block without one.
 */
static uint64_t expected_digest(const struct buf *s, uint64_t nblocks)
{
	struct sim_image crcs = { calloc(nblocks, 4), 4 * nblocks, 1 };
	uint64_t idx, d;
	uint32_t len;

	assert_non_null(crcs.mem);
	for (size_t off = HDR; off < s->len - END; off += REC + len) {
		memcpy(&len, s->p + off + 4, 4);
		memcpy(&idx, s->p + off + 8, 8);
		assert_true(idx < nblocks);
		memcpy(crcs.mem + 4 * idx, s->p + off + 16, 4);
	}
	d = sim_digest(&crcs);
	free(crcs.mem);
	return d;
}

/* Intact records that do not add up to the saved state are refused. */
static void test_end_record_checks(void **state)
{
	struct migdev *a = open_dev("sim:m,size=192K");
	struct migdev *b = open_dev("sim:m2,size=192K");
	struct buf s = save_stop_copy(a, 65536);
	uint64_t d;

	(void)state;
	assert_true(end_digest(&s) == expected_digest(&s, 3));
	/*
	 * Drop block 1 and make the end record's count, digest and CRC fit
	 * what is left: every record is intact, only the loader's account
	 * of blocks can tell.
	 */
	drop_record(&s, HDR + REC + 65536);
	d = expected_digest(&s, 3);
	memcpy(s.p + s.len - END + 12, &d, 8);
	reseal_end(&s);
	assert_int_equal(resume(b, s.p, s.len, 65536), -EIO);
	assert_int_equal(migdev_state(b), MIG_ERROR);
	assert_int_equal(migdev_reset(b), 0);
	free(s.p);

	/* A complete stream whose end record promises another state. */
	go(a, MIG_STOP);
	s = save_stop_copy(a, 65536);
	s.p[s.len - END + 12] ^= 1;
	reseal_end(&s);
	assert_int_equal(resume(b, s.p, s.len, 65536), -EIO);
	assert_int_equal(migdev_state(b), MIG_ERROR);
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

/*
 * A block changed after it was sent and its resend dropped: every record
 * is intact and every block was sent, but the block's latest CRC on the
 * loader's side is the old one, so the end record's digest refuses it.
 */
static void test_stale_block(void **state)
{
	struct migdev *a = open_dev("sim:s,size=192K");
	struct migdev *b = open_dev("sim:s2,size=192K");
	struct migdev_stream st = { 0 };
	struct buf s = { 0 };

	(void)state;
	go(a, MIG_PRE_COPY);
	drain(a, &st, &s, 4096);
	sim_work(a, 1);
	go(a, MIG_STOP_COPY);
	drain(a, &st, &s, 4096);
	assert_int_equal(s.len, HDR + 4 * (REC + 65536) + END);
	assert_true(end_digest(&s) == expected_digest(&s, 3));
	assert_int_equal(resume(b, s.p, s.len, 65536), 0);
	assert_true(digest(a) == digest(b));
	assert_int_equal(migdev_reset(b), 0);

	drop_record(&s, HDR + 3 * (REC + 65536));
	assert_int_equal(resume(b, s.p, s.len, 65536), -EIO);
	assert_int_equal(migdev_state(b), MIG_ERROR);
	free(s.p);
	migdev_close(a);
	migdev_close(b);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void log_all(struct migdev *dev, uint64_t guest)
{
	struct mig_range r = { 0, guest };

	assert_int_equal(dev->log_ops->log_start(dev, &r, 1, PAGE), 0);
}

/* Pages the device wrote since the last report, over [0, guest). */
static unsigned int dirty_pages(struct migdev *dev, uint64_t guest)
{
	uint64_t words = guest / PAGE / 64, *bits = calloc(words, 8);
	unsigned int n = 0;
	size_t touched;

	assert_int_equal(dev->log_ops->log_report(dev, 0, guest, bits, &touched), 0);
	for (uint64_t i = 0; i < words; i++)
		n += (unsigned int)__builtin_popcountll(bits[i]);
	free(bits);
	return n;
}

/* Work follows the clock while running, never while stopped. */
static void test_work_rules(void **state)
{
	struct migdev *dev = open_dev("sim:w,dirty_rate=100000,guest_mem=1M");
	uint64_t d;

	(void)state;
	log_all(dev, 1 << 20);
	d = digest(dev);
	sleep_ms(5);
	assert_int_not_equal(digest(dev), d);
	assert_true(dirty_pages(dev, 1 << 20) > 0);

	/* RUNNING_P2P: the device works, but does not DMA. */
	go(dev, MIG_RUNNING_P2P);
	dirty_pages(dev, 1 << 20);
	d = digest(dev);
	sleep_ms(5);
	sim_work(dev, 10);
	assert_int_not_equal(digest(dev), d);
	assert_int_equal(dirty_pages(dev, 1 << 20), 0);

	/* STOP: nothing at all. */
	go(dev, MIG_STOP);
	d = digest(dev);
	sleep_ms(5);
	sim_work(dev, 10);
	assert_true(digest(dev) == d);
	assert_int_equal(dirty_pages(dev, 1 << 20), 0);

	/* PRE_COPY_P2P: works, no DMA; STOP_COPY: nothing. */
	go(dev, MIG_PRE_COPY_P2P);
	dirty_pages(dev, 1 << 20);
	d = digest(dev);
	sim_work(dev, 10);
	assert_int_not_equal(digest(dev), d);
	assert_int_equal(dirty_pages(dev, 1 << 20), 0);
	go(dev, MIG_STOP_COPY);
	d = digest(dev);
	sleep_ms(5);
	sim_work(dev, 10);
	assert_true(digest(dev) == d);

	/* Back to RUNNING: the stopped time is not owed. */
	go(dev, MIG_RUNNING);
	sim_work(dev, 10);
	assert_true(dirty_pages(dev, 1 << 20) > 0);
	migdev_close(dev);
}

static void test_dma_attr(void **state)
{
	static const enum mig_state busy[] = {
		MIG_RUNNING_P2P, MIG_PRE_COPY_P2P, MIG_STOP_COPY, MIG_STOP,
		MIG_RESUMING,
	};
	struct migdev *dev = open_dev("sim:d,guest_mem=16M");
	size_t touched;
	uint64_t bits[4] = { 0 };

	(void)state;
	log_all(dev, 16 << 20);
	assert_int_equal(store(dev, "dma", "0x1000 8K\n"), 0);
	assert_int_equal(dev->log_ops->log_report(dev, 0, 256 * PAGE, bits, &touched), 0);
	assert_true(bits[0] == 0x6 && !bits[1] && !bits[2] && !bits[3]);
	assert_int_equal(store(dev, "dma", "16M 4096"), -EFAULT);
	assert_int_equal(store(dev, "dma", "0 16M"), 0);
	assert_int_equal(store(dev, "dma", "4096 16M"), -EFAULT);
	assert_int_equal(store(dev, "dma", "0 0"), -EINVAL);
	assert_int_equal(store(dev, "dma", "0"), -EINVAL);
	assert_int_equal(store(dev, "dma", "x 1"), -EINVAL);
	assert_int_equal(store(dev, "dma", "1 2 3"), -EINVAL);
	go(dev, MIG_PRE_COPY);
	assert_int_equal(store(dev, "dma", "0 1"), 0);
	for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
		go(dev, busy[i]);
		assert_int_equal(store(dev, "dma", "0 4096"), -EBUSY);
	}
	/* An empty stream does not load: ERROR. */
	assert_int_equal(migdev_set_state(dev, MIG_STOP), -EIO);
	assert_int_equal(migdev_state(dev), MIG_ERROR);
	assert_int_equal(store(dev, "dma", "0 4096"), -EBUSY);
	migdev_close(dev);
}

static void test_fail_injection(void **state)
{
	struct migdev *dev = open_dev("sim:f");
	uint64_t fresh = digest(dev);
	enum mig_state s;

	(void)state;
	assert_string_equal(show(dev, "fail"), "none\n");
	assert_int_equal(store(dev, "fail", "bogus EIO"), -EINVAL);
	assert_int_equal(store(dev, "fail", "stop_copy"), -EINVAL);
	assert_int_equal(store(dev, "fail", "stop_copy ENOTANERRNO"), -EINVAL);
	assert_int_equal(store(dev, "fail", "error EIO"), -EINVAL);
	assert_int_equal(store(dev, "fail", "none EIO"), -EINVAL);
	assert_string_equal(show(dev, "fail"), "none\n");
	assert_int_equal(store(dev, "fail", "stop_copy EIO\n"), 0);
	assert_string_equal(show(dev, "fail"), "stop_copy EIO\n");
	/* Disarmed by "none": the arc works. */
	assert_int_equal(store(dev, "fail", "none\n"), 0);
	go(dev, MIG_STOP_COPY);
	go(dev, MIG_RUNNING);

	/* Armed: the arc into that state fails, into ERROR, once. */
	sim_work(dev, 50);
	assert_int_not_equal(digest(dev), fresh);
	assert_int_equal(store(dev, "fail", "stop_copy EIO"), 0);
	go(dev, MIG_STOP);
	assert_int_equal(migdev_set_state(dev, MIG_STOP_COPY), -EIO);
	assert_int_equal(migdev_state(dev), MIG_ERROR);
	assert_string_equal(show(dev, "fail"), "none\n");
	assert_int_not_equal(migdev_set_state(dev, MIG_RUNNING), 0);
	/* Reset: RUNNING, with the power-on state of this NAME. */
	assert_int_equal(migdev_reset(dev), 0);
	assert_int_equal(migdev_state(dev), MIG_RUNNING);
	assert_true(digest(dev) == fresh);
	go(dev, MIG_STOP_COPY);

	/* The armed errno is what the device returns. */
	go(dev, MIG_RUNNING_P2P);
	assert_int_equal(store(dev, "fail", "stop ENOSPC"), 0);
	assert_string_equal(show(dev, "fail"), "stop ENOSPC\n");
	assert_int_equal(dev->ops->set_state(dev, MIG_STOP), -ENOSPC);
	assert_int_equal(dev->ops->get_state(dev, &s), 0);
	assert_int_equal(s, MIG_ERROR);
	assert_int_equal(migdev_reset(dev), 0);
	migdev_close(dev);
}

/* Only the kernel's direct arcs reach the device. */
static void test_direct_arcs(void **state)
{
	struct migdev *p2p = open_dev("sim:p");
	struct migdev *nop2p = open_dev("sim:n,features=pre_copy");
	enum mig_state s;

	(void)state;
	assert_int_equal(p2p->ops->set_state(p2p, MIG_STOP), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_STOP_COPY), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_RESUMING), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_PRE_COPY_P2P), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_ERROR), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_RUNNING_P2P), 0);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_PRE_COPY_P2P), 0);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_STOP_COPY), 0);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_PRE_COPY), -EINVAL);
	assert_int_equal(p2p->ops->set_state(p2p, MIG_PRE_COPY_P2P), -EINVAL);
	assert_int_equal(p2p->ops->get_state(p2p, &s), 0);
	assert_int_equal(s, MIG_STOP_COPY);

	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_RUNNING_P2P), -EINVAL);
	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_STOP), 0);
	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_RUNNING), 0);
	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_PRE_COPY), 0);
	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_PRE_COPY_P2P), -EINVAL);
	assert_int_equal(nop2p->ops->set_state(nop2p, MIG_STOP_COPY), 0);
	migdev_close(p2p);
	migdev_close(nop2p);
}

static void report(struct migdev *dev, uint64_t iova, uint64_t pages,
		   const uint64_t *expect, unsigned int words)
{
	uint64_t bits[8];
	size_t touched;

	memset(bits, 0, sizeof(bits));
	bits[words] = 0x5a5a;	/* a guard past the bitmap */
	assert_int_equal(dev->log_ops->log_report(dev, iova, pages * PAGE, bits, &touched), 0);
	for (unsigned int i = 0; i < words; i++)
		if (bits[i] != expect[i])
			fail_msg("report %#llx+%llu pages: word %u is %#llx, not %#llx",
				 (unsigned long long)iova, (unsigned long long)pages,
				 i, (unsigned long long)bits[i],
				 (unsigned long long)expect[i]);
	assert_true(bits[words] == 0x5a5a);
	/* What it says it left alone is still zero: a caller clears no more. */
	assert_in_range(touched, 0, words * 8);
	for (unsigned int i = (unsigned int)(touched / 8); i < words; i++)
		assert_true(bits[i] == 0);
}

static void dma_page(struct migdev *dev, uint64_t page)
{
	char text[64];

	snprintf(text, sizeof(text), "%llu 4096", (unsigned long long)(page * PAGE));
	assert_int_equal(store(dev, "dma", text), 0);
}

/* log_report clears exactly the pages asked, no others. */
static void test_log_report(void **state)
{
	static const uint64_t pages[] = { 0, 15, 256, 261, 296, 319, 320, 321, 385 };
	const struct mig_range r[2] = { { 0, 16 * PAGE }, { 256 * PAGE, 130 * PAGE } };
	struct migdev *dev = open_dev("sim:l,guest_mem=4M");
	uint64_t none[3] = { 0 };
	size_t touched;

	(void)state;
	assert_string_equal(dev->ops->dirty_mechanism(dev), "device DMA logging");
	assert_int_equal(dev->log_ops->log_report(dev, 0, PAGE, none, &touched), -EINVAL);
	assert_int_equal(dev->log_ops->log_start(dev, r, 2, PAGE), 0);
	assert_int_equal(dev->log_ops->log_start(dev, r, 2, PAGE), -EBUSY);
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		dma_page(dev, pages[i]);
	dma_page(dev, 100);	/* untracked */
	/* Range ends. */
	report(dev, 0, 16, (uint64_t[]){ 1ull << 0 | 1ull << 15 }, 1);
	report(dev, 0, 16, none, 1);
	/* Two reports splitting one word's pages (range 2, pages 0..63). */
	report(dev, 256 * PAGE, 32, (uint64_t[]){ 1ull << 0 | 1ull << 5 }, 1);
	report(dev, 288 * PAGE, 9, (uint64_t[]){ 1ull << 8 }, 1);
	report(dev, 297 * PAGE, 23, (uint64_t[]){ 1ull << 22 }, 1);
	report(dev, 256 * PAGE, 64, none, 1);
	/* The rest: a partial last word, and the untracked gap is zero. */
	report(dev, 0, 400, (uint64_t[]){ 0, 0, 0, 0, 0, 1ull << 0 | 1ull << 1,
					  1ull << 1 }, 7);
	report(dev, 0, 400, none, 3);
	/* Unaligned spans are refused. */
	assert_int_equal(dev->log_ops->log_report(dev, 1, PAGE, none, &touched), -EINVAL);
	assert_int_equal(dev->log_ops->log_stop(dev), 0);
	assert_int_equal(dev->log_ops->log_report(dev, 0, PAGE, none, &touched), -EINVAL);
	/* Restartable, and a reset does not touch the log. */
	assert_int_equal(dev->log_ops->log_start(dev, r, 2, PAGE), 0);
	dma_page(dev, 3);
	assert_int_equal(migdev_reset(dev), 0);
	report(dev, 0, 16, (uint64_t[]){ 1ull << 3 }, 1);
	assert_int_equal(dev->log_ops->log_stop(dev), 0);
	migdev_close(dev);
}

static void test_options(void **state)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "sim:", "sim:: the device needs a NAME (sim:NAME)" },
		{ "sim:,size=1M", "sim:: the device needs a NAME (sim:NAME)" },
		{ "sim:a,foo=1", "sim:a: unknown option 'foo'" },
		{ "sim:a,size=0", "sim:a: size must be at least 1 byte" },
		{ "sim:a,size=1M+1", "sim:a: bad size '1M+1'" },
		{ "sim:a,size", "sim:a: option 'size' needs a value" },
		{ "sim:a,features=p2p+bogus", "sim:a: unknown feature 'bogus'" },
		{ "sim:a,features=p2p+", "sim:a: unknown feature ''" },
		{ "sim:a,features=+p2p", "sim:a: unknown feature ''" },
		{ "sim:a,dirty_rate=-1", "sim:a: bad dirty_rate '-1'" },
		{ "sim:a,guest_mem=100", "sim:a: guest_mem must be a non-zero multiple of 4096" },
		{ "sim:a,guest_mem=0", "sim:a: guest_mem must be a non-zero multiple of 4096" },
		{ "sim:a,load_us=x", "sim:a: bad load_us 'x' (0 to 10000000)" },
		{ "sim:a,load_us=10000001", "sim:a: bad load_us '10000001' (0 to 10000000)" },
		{ "sim:a,quirk=reset_stop+bogus", "sim:a: unknown quirk 'bogus'" },
		{ "sim:a,quirk=reset_stop+", "sim:a: unknown quirk ''" },
		{ "sim:a,quirk=p2p", "sim:a: unknown quirk 'p2p'" },
	};
	struct migdev *dev;
	char err[160];
	uint64_t size;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		open_quiet(bad[i].spec, err, sizeof(err));
		assert_string_equal(err, bad[i].msg);
	}
	dev = open_dev("sim:a");
	assert_int_equal(dev->flags, MIG_F_STOP_COPY | MIG_F_P2P |
			 MIG_F_PRE_COPY | MIG_F_DIRTY);
	assert_string_equal(dev->name, "sim:a");
	assert_int_equal(migdev_data_size(dev, &size), 0);
	assert_int_equal(size, HDR + 16 * REC + (1 << 20) + END);
	migdev_close(dev);
	dev = open_dev("sim:a,features=p2p,size=3K,dirty_rate=5,guest_mem=8K");
	assert_int_equal(dev->flags, MIG_F_STOP_COPY | MIG_F_P2P);
	assert_null(dev->log_ops);
	assert_string_equal(dev->ops->dirty_mechanism(dev), "none");
	assert_int_equal(migdev_data_size(dev, &size), 0);
	assert_int_equal(size, HDR + REC + 3072 + END);
	migdev_close(dev);
	dev = open_dev("sim:a,features=");
	assert_int_equal(dev->flags, MIG_F_STOP_COPY);
	migdev_close(dev);
	dev = open_dev("sim:a,features=dirty+pre_copy");
	assert_int_equal(dev->flags, MIG_F_STOP_COPY | MIG_F_PRE_COPY | MIG_F_DIRTY);
	migdev_close(dev);
	/* Quirks combine; an empty list is none. */
	dev = open_dev("sim:a,quirk=size_under+reset_stop");
	assert_int_equal(migdev_data_size(dev, &size), 0);
	assert_int_equal(size, HDR + 16 * REC + (1 << 20) + END - SIM_BLOCK_SIZE);
	assert_int_equal(migdev_set_state(dev, MIG_STOP_COPY), 0);
	assert_int_equal(migdev_reset(dev), -EIO);
	assert_int_equal(migdev_state(dev), MIG_STOP);
	migdev_close(dev);
	dev = open_dev("sim:a,quirk=");
	assert_int_equal(migdev_set_state(dev, MIG_STOP_COPY), 0);
	assert_int_equal(migdev_reset(dev), 0);
	assert_int_equal(migdev_state(dev), MIG_RUNNING);
	migdev_close(dev);
}

/* Same NAME, same content (opened again); another NAME, another content. */
static void test_content_from_name(void **state)
{
	struct migdev *a = open_dev("sim:same,size=100K");
	struct migdev *c = open_dev("sim:Same,size=100K");
	uint64_t first = digest(a);

	(void)state;
	assert_int_not_equal(first, digest(c));
	sim_work(a, 1);
	assert_int_not_equal(digest(a), first);
	migdev_close(a);
	a = open_dev("sim:same,size=100K");
	assert_true(digest(a) == first);
	migdev_close(a);
	migdev_close(c);
}

/* peer=NAME binds to one sim: a second of the same name is refused. */
static void test_name_taken(void **state)
{
	struct migdev *a = open_dev("sim:dup"), *b = NULL;
	char err[160];

	(void)state;
	assert_int_equal(migdev_open("sim:dup,size=4K", &b, err, sizeof(err)), -EEXIST);
	assert_null(b);
	assert_string_equal(err, "sim:dup: another sim of this daemon has that name "
			    "(peer= names one)");
	migdev_close(a);
	a = open_dev("sim:dup,size=4K");
	migdev_close(a);
}

/* The digest is XXH64 (seed 0); reference values from libxxhash 0.8.1. */
static void test_digest_is_xxh64(void **state)
{
	static unsigned char buf[100003];
	struct sim_image img = { (unsigned char *)"abc", 3, 1 };

	(void)state;
	assert_true(sim_digest(&img) == 0x44bc2cf5ad770999ull);
	img.size = 0;
	assert_true(sim_digest(&img) == 0xef46db3751d8e999ull);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	img.mem = buf;
	img.size = sizeof(buf);
	assert_true(sim_digest(&img) == 0xb50ad3cd166fe52bull);
	img.size = 63;
	assert_true(sim_digest(&img) == 0xb7c9968c066cb6a5ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_resume),
		cmocka_unit_test(test_precopy_rounds),
		cmocka_unit_test(test_precopy_accounting),
		cmocka_unit_test(test_precopy_stream_resumes),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_truncated_and_foreign),
		cmocka_unit_test(test_end_record_checks),
		cmocka_unit_test(test_stale_block),
		cmocka_unit_test(test_work_rules),
		cmocka_unit_test(test_dma_attr),
		cmocka_unit_test(test_fail_injection),
		cmocka_unit_test(test_direct_arcs),
		cmocka_unit_test(test_log_report),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_name_taken),
		cmocka_unit_test(test_content_from_name),
		cmocka_unit_test(test_digest_is_xxh64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

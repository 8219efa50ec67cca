// SPDX-License-Identifier: MIT
/*
 * The dirty page log: which ranges are tracked, at what page size, and the
 * frozen copy that keeps the final bits readable after tracking stops.
 * Real devices free their log on stop (VFIO DMA logging, type1), so the
 * final report is taken here, before the stop, for every backend alike.
 *
 * The log has a lock of its own: a report, and above all the final one,
 * takes time in proportion to its range (8 TiB at 4 KiB pages is 256 MiB
 * of bitmap), and dev->lock, which `state`, `status` and every transition
 * take, must never wait for that.  Order: log->lock, then dev->lock.
 *
 * The bitmaps of all ranges are bounded by bitmap_max, checked by every
 * write that makes them larger.  One bitmap per range is held at a time:
 * a backend that keeps its log in our memory hands it over at the stop
 * (log_take) instead of it being copied, and a new start drops the frozen
 * log first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define MIN_PAGE_SIZE	4096ull
#define MAX_PAGE_SIZE	(1ull << 30)

uint64_t dirty_bitmap_bytes(uint64_t length, uint64_t page_size)
{
	uint64_t pages = length / page_size;

	return (pages + 63) / 64 * 8;
}

/* Bytes of bitmap the ranges take at this page size (below 2^58). */
static uint64_t bitmap_total(const struct mig_range *r, unsigned int n,
			     uint64_t page_size)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += dirty_bitmap_bytes(r[i].length, page_size);
	return total;
}

static int check_bound(struct migdev *dev, const struct mig_range *r,
		       unsigned int n, uint64_t page_size)
{
	uint64_t need = bitmap_total(r, n, page_size);

	if (need <= dev->log.bitmap_max)
		return 0;
	return migdev_fail(dev, -ENOSPC,
		"the dirty bitmaps would take %llu bytes, more than the %llu allowed",
		(unsigned long long)need, (unsigned long long)dev->log.bitmap_max);
}

static void drop_frozen(struct dirtylog *log)
{
	for (unsigned int i = 0; i < MIG_MAX_RANGES; i++) {
		free(log->frozen[i]);
		log->frozen[i] = NULL;
	}
}

static bool aligned(uint64_t v, uint64_t page_size)
{
	return (v & (page_size - 1)) == 0;
}

static bool ranges_aligned(const struct mig_range *r, unsigned int n,
			   uint64_t page_size)
{
	for (unsigned int i = 0; i < n; i++)
		if (!aligned(r[i].start, page_size) || !aligned(r[i].length, page_size))
			return false;
	return true;
}

void migdev_dirty_set_bitmap_max(struct migdev *dev, uint64_t bytes)
{
	pthread_mutex_lock(&dev->log.lock);
	dev->log.bitmap_max = bytes;
	pthread_mutex_unlock(&dev->log.lock);
}

uint64_t migdev_dirty_page_size(struct migdev *dev)
{
	uint64_t ps;

	pthread_mutex_lock(&dev->log.lock);
	ps = dev->log.page_size;
	pthread_mutex_unlock(&dev->log.lock);
	return ps;
}

bool migdev_dirty_tracking(struct migdev *dev)
{
	return __atomic_load_n(&dev->log.tracking, __ATOMIC_ACQUIRE);
}

static void set_tracking(struct dirtylog *log, bool on)
{
	__atomic_store_n(&log->tracking, on, __ATOMIC_RELEASE);
}

unsigned int migdev_dirty_ranges(struct migdev *dev, struct mig_range *out)
{
	unsigned int n;

	pthread_mutex_lock(&dev->log.lock);
	n = dev->log.nranges;
	memcpy(out, dev->log.ranges, n * sizeof(*out));
	pthread_mutex_unlock(&dev->log.lock);
	return n;
}

int migdev_dirty_set_page_size(struct migdev *dev, uint64_t page_size)
{
	struct dirtylog *log = &dev->log;
	int err = 0;

	pthread_mutex_lock(&log->lock);
	if (log->tracking)
		err = -EBUSY;
	else if (page_size < MIN_PAGE_SIZE || page_size > MAX_PAGE_SIZE ||
		 (page_size & (page_size - 1)))
		err = -EINVAL;
	else if (!ranges_aligned(log->ranges, log->nranges, page_size))
		err = migdev_fail(dev, -EINVAL, "ranges are not aligned to %llu",
					   (unsigned long long)page_size);
	else
		err = check_bound(dev, log->ranges, log->nranges, page_size);
	if (!err && page_size != log->page_size) {
		drop_frozen(log);
		log->page_size = page_size;
	}
	pthread_mutex_unlock(&log->lock);
	return err;
}

static int cmp_range(const void *a, const void *b)
{
	const struct mig_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int check_ranges(const struct mig_range *r, unsigned int n,
			uint64_t page_size)
{
	if (n > MIG_MAX_RANGES)
		return -E2BIG;
	if (!ranges_aligned(r, n, page_size))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].length || r[i].start + r[i].length < r[i].start)
			return -EINVAL;
		if (i && r[i - 1].start + r[i - 1].length > r[i].start)
			return -EINVAL;
	}
	return 0;
}

int migdev_dirty_set_ranges(struct migdev *dev, const struct mig_range *r,
			    unsigned int n)
{
	struct mig_range sorted[MIG_MAX_RANGES];
	struct dirtylog *log = &dev->log;
	int err;

	if (n > MIG_MAX_RANGES)
		return -E2BIG;
	memcpy(sorted, r, n * sizeof(*r));
	qsort(sorted, n, sizeof(*sorted), cmp_range);
	pthread_mutex_lock(&log->lock);
	err = log->tracking ? -EBUSY : check_ranges(sorted, n, log->page_size);
	if (!err)
		err = check_bound(dev, sorted, n, log->page_size);
	if (!err && (n != log->nranges ||
		     memcmp(log->ranges, sorted, n * sizeof(*sorted)))) {
		drop_frozen(log);
		memcpy(log->ranges, sorted, n * sizeof(*sorted));
		log->nranges = n;
		memset(log->read_at, 0, sizeof(log->read_at));
	}
	pthread_mutex_unlock(&log->lock);
	return err;
}

int migdev_dirty_start(struct migdev *dev)
{
	struct dirtylog *log = &dev->log;
	int err;

	pthread_mutex_lock(&log->lock);
	if (log->tracking) {
		err = -EBUSY;
		goto out;
	}
	/* Not the frozen log and a new one at once: the bound is for one. */
	drop_frozen(log);
	if (!log->nranges)
		err = migdev_fail(dev, -EINVAL, "no ranges to track");
	else if ((err = dev->log_ops->log_start(dev, log->ranges, log->nranges,
					     log->page_size)))
		migdev_fail(dev, err, "starting dirty tracking");
	if (!err) {
		set_tracking(log, true);
		migdev_event(dev, "dirty tracking on: %u ranges, %llu-byte pages, %s",
				      log->nranges, (unsigned long long)log->page_size,
				      dev->ops->dirty_mechanism(dev));
	}
out:
	pthread_mutex_unlock(&log->lock);
	return err;
}

/* The last report before stopping; a failed report is all dirty. */
static int freeze_range(struct migdev *dev, unsigned int i)
{
	const struct mig_range *r = &dev->log.ranges[i];
	uint64_t bytes = dirty_bitmap_bytes(r->length, dev->log.page_size);
	uint64_t *bits = calloc(1, bytes ? bytes : 8);
	size_t touched;
	int err;

	if (!bits)
		return -ENOMEM;
	err = dev->log_ops->log_report(dev, r->start, r->length, bits, &touched);
	if (err) {
		uint64_t pages = r->length / dev->log.page_size;

		memset(bits, 0xff, bytes);
		if (pages % 64)
			bits[pages / 64] = (1ull << (pages % 64)) - 1;
	}
	dev->log.frozen[i] = bits;
	return err;
}

/* Report every range into the frozen log, then stop; 0 or -EIO. */
static int freeze_and_stop(struct migdev *dev)
{
	struct dirtylog *log = &dev->log;
	int err = 0, e;

	if (dev->log_ops->log_take) {
		dev->log_ops->log_take(dev, log->frozen);
		return 0;
	}
	for (unsigned int i = 0; i < log->nranges; i++) {
		e = freeze_range(dev, i);
		if (e)
			err = migdev_fail(dev, e, "final dirty report (all pages marked dirty)");
	}
	e = dev->log_ops->log_stop(dev);
	if (e)
		err = migdev_fail(dev, e, "stopping dirty tracking");
	return err ? -EIO : 0;
}

int migdev_dirty_stop(struct migdev *dev)
{
	struct dirtylog *log = &dev->log;
	int err = 0;

	pthread_mutex_lock(&log->lock);
	if (log->tracking) {
		err = freeze_and_stop(dev);
		set_tracking(log, false);
		migdev_event(dev, "dirty tracking off");
	}
	pthread_mutex_unlock(&log->lock);
	return err;
}

static int find_range(const struct dirtylog *log, struct mig_range r)
{
	for (unsigned int i = 0; i < log->nranges; i++)
		if (log->ranges[i].start == r.start && log->ranges[i].length == r.length)
			return (int)i;
	return -1;
}

/* Serve [off, off + len) of the frozen bitmap (if any) into zeroed buf and clear those bytes. */
static size_t read_frozen(uint64_t *frozen, uint64_t off, void *buf, size_t len)
{
	if (!frozen)
		return 0;
	memcpy(buf, (char *)frozen + off, len);
	memset((char *)frozen + off, 0, len);
	return len;
}

static int read_live(struct migdev *dev, const struct mig_range *r,
		     uint64_t off, void *buf, size_t len, size_t *touched)
{
	uint64_t ps = dev->log.page_size;
	uint64_t first = off * 8, pages = r->length / ps;
	uint64_t count = len * 8;

	if (count > pages - first)
		count = pages - first;
	return dev->log_ops->log_report(dev, r->start + first * ps, count * ps, buf, touched);
}

/* zero: buf is not known to be zeroed, and is first. */
static ssize_t dirty_read(struct migdev *dev, struct mig_range range, uint64_t off,
			  void *buf, size_t len, size_t *touched, bool zero)
{
	struct dirtylog *log = &dev->log;
	uint64_t size;
	ssize_t n;
	int i, err;

	*touched = 0;
	if (off % 8 || len % 8)
		return -EINVAL;
	pthread_mutex_lock(&log->lock);
	i = find_range(log, range);
	if (i < 0) {
		n = -ESTALE;
		goto out;
	}
	size = dirty_bitmap_bytes(range.length, log->page_size);
	if (off >= size) {
		n = 0;
		goto out;
	}
	if (len > size - off)
		len = (size_t)(size - off);
	if (zero)
		memset(buf, 0, len);
	n = (ssize_t)len;
	if (!log->tracking)
		*touched = read_frozen(log->frozen[i], off, buf, len);
	else if ((err = read_live(dev, &range, off, buf, len, touched)))
		n = migdev_fail(dev, err, "dirty report");
	if (n > 0)
		clock_gettime(CLOCK_REALTIME, &log->read_at[i]);
out:
	pthread_mutex_unlock(&log->lock);
	return n;
}

ssize_t migdev_dirty_read(struct migdev *dev, struct mig_range range,
			  uint64_t off, void *buf, size_t len)
{
	size_t touched;

	return dirty_read(dev, range, off, buf, len, &touched, true);
}

ssize_t migdev_dirty_read_zeroed(struct migdev *dev, struct mig_range range,
				 uint64_t off, void *buf, size_t len, size_t *touched)
{
	return dirty_read(dev, range, off, buf, len, touched, false);
}

struct timespec migdev_dirty_read_at(struct migdev *dev, struct mig_range range)
{
	struct timespec at = { 0 };
	int i;

	pthread_mutex_lock(&dev->log.lock);
	i = find_range(&dev->log, range);
	if (i >= 0)
		at = dev->log.read_at[i];
	pthread_mutex_unlock(&dev->log.lock);
	return at;
}

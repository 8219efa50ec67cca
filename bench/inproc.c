// SPDX-License-Identifier: MIT
/*
 * migbench-inproc DEVICE: the in-process baselines of the benchmarks, the
 * device layer driven as vfio-migfsd drives it but with no FUSE between.
 *
 * DEVICE is opened once (faulting in a 1 GiB sim device takes seconds),
 * then each line of stdin is one command, answered by one line "AMOUNT
 * SECONDS", so that the runner can interleave these runs with runs through
 * the mounts.  Only the loop a figure compares is timed; the state changes
 * around it are not (the runs through the mounts do them untimed too).
 * Any failure ends the program with a message.
 *
 *   save BUFSIZE            the whole STOP_COPY stream in BUFSIZE reads; bytes
 *   resume FILE BUFSIZE     FILE, a saved stream, written in BUFSIZE chunks in
 *                           RESUMING, then checked by RESUMING -> STOP; bytes
 *   transitions N           N requests alternating STOP and RUNNING; N
 *   dirty LENGTH DMA BUFSIZE
 *                           the device DMA-writes [0, DMA) (nothing if DMA is
 *                           0), then the bitmap of [0, LENGTH) at 4 KiB pages
 *                           is read (test and clear) in BUFSIZE reads; bitmap
 *                           bytes
 *   freeze LENGTH DMA       the device DMA-writes [0, DMA), then tracking of
 *                           [0, LENGTH) stops (the final report, kept frozen);
 *                           LENGTH, seconds of the stop.  The frozen bitmap
 *                           is then read whole, untimed, and tracking
 *                           restarts at the next dirty or freeze
 *   open N                  N more devices like DEVICE (each of a NAME of
 *                           its own), each then moved and
 *                           asked for its status as the runner does through a
 *                           mount; N, seconds of the opens
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "benchutil.h"

#define DIRTY_PAGE	4096

static const char *spec;
static struct migdev **opened;	/* by `open`, closed at the end */
static uint64_t nopened;

/*
 * DEVICE, or with copy > 0 a device like it of a NAME of its own (a sim's
 * NAME is one device of the process): "sim:x,size=1M" -> "sim:x-3,size=1M".
 */
static struct migdev *open_device(uint64_t copy)
{
	size_t name_end = strcspn(spec, ",");
	struct migdev *dev;
	char err[512], name[4352];

	if (copy)
		snprintf(name, sizeof(name), "%.*s-%llu%s", (int)name_end, spec,
			 (unsigned long long)copy, spec + name_end);
	else
		snprintf(name, sizeof(name), "%s", spec);
	if (migdev_open(name, &dev, err, sizeof(err)))
		die("%s", err);
	return dev;
}

static void set_state(struct migdev *dev, enum mig_state s)
{
	int err = migdev_set_state(dev, s);

	if (err)
		die("%s: %s: %s", spec, mig_state_name(s), strerror(-err));
}

/* Enter a data session as the daemon's `data` does (untimed). */
static void begin_session(struct migdev *dev, enum mig_state s)
{
	set_state(dev, s);
	if (migdev_data_open(dev))
		die("data is busy");
}

/* Leave it through STOP, where a resumed stream is checked. */
static void end_session(struct migdev *dev)
{
	migdev_data_release(dev);
	set_state(dev, MIG_STOP);
}

static void cmd_save(struct migdev *dev, size_t bufsize)
{
	struct migdev_stream st = { 0 };
	void *buf = touched_buffer(bufsize);
	uint64_t total = 0;
	ssize_t n;
	double t;

	begin_session(dev, MIG_STOP_COPY);
	t = now_sec();
	while ((n = migdev_read(dev, &st, buf, bufsize)) > 0)
		total += (uint64_t)n;
	t = now_sec() - t;
	if (n < 0)
		die("reading the stream: %s", strerror((int)-n));
	end_session(dev);
	free(buf);
	print_result(total, t);
}

struct writer {
	struct migdev *dev;
	struct migdev_stream st;
};

/* As the daemon's write handler: the device may take a chunk in parts. */
static void write_chunk(void *ctx, const char *p, size_t len)
{
	struct writer *w = ctx;

	while (len) {
		ssize_t n = migdev_write(w->dev, &w->st, p, len);

		if (n <= 0)
			die("writing the stream: %s", n ? strerror((int)-n) : "no progress");
		p += n;
		len -= (size_t)n;
	}
}

static void cmd_resume(struct migdev *dev, const char *file, size_t bufsize)
{
	struct writer w = { .dev = dev };
	char *buf = touched_buffer(bufsize);
	uint64_t total;
	double t;

	begin_session(dev, MIG_RESUMING);
	t = now_sec();
	total = feed_file(file, buf, bufsize, write_chunk, &w);
	t = now_sec() - t;
	end_session(dev);
	free(buf);
	print_result(total, t);
}

static void cmd_transitions(struct migdev *dev, uint64_t n)
{
	double t = now_sec();

	for (uint64_t i = 0; i < n; i++)
		set_state(dev, i % 2 ? MIG_RUNNING : MIG_STOP);
	print_result(n, now_sec() - t);
}

static const struct mig_attr *backend_attr(struct migdev *dev, const char *name)
{
	for (const struct mig_attr *a = dev->ops->attrs; a && a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	die("%s has no attribute %s", spec, name);
}

/* Tracking starts at the first dirty command and stays on. */
static void track(struct migdev *dev, struct mig_range range)
{
	if (migdev_dirty_tracking(dev))
		return;
	if (migdev_dirty_set_ranges(dev, &range, 1) || migdev_dirty_start(dev))
		die("%s: cannot track [0, %llu)", spec, (unsigned long long)range.length);
}

/* Tracking on and the device's DMA of [0, dma), untimed. */
static void dirty_pages(struct migdev *dev, struct mig_range range, uint64_t dma)
{
	char span[64];

	track(dev, range);
	if (!dma)
		return;
	snprintf(span, sizeof(span), "0 %llu", (unsigned long long)dma);
	if (migdev_attr_store(dev, backend_attr(dev, "dma"), span))
		die("%s: DMA of %s refused", spec, span);
}

/* The whole bitmap of range in bufsize reads into a buffer kept zeroed, as the daemon's: seconds. */
static double read_bitmap(struct migdev *dev, struct mig_range range, size_t bufsize)
{
	uint64_t size = dirty_bitmap_bytes(range.length, DIRTY_PAGE), off;
	void *buf = touched_buffer(bufsize);
	size_t touched;
	ssize_t n = 0;
	double t = now_sec();

	memset(buf, 0, bufsize);
	for (off = 0; off < size; off += (uint64_t)n) {
		n = migdev_dirty_read_zeroed(dev, range, off, buf, bufsize, &touched);
		if (n <= 0)
			die("dirty report at %llu: %s", (unsigned long long)off,
			    n ? strerror((int)-n) : "short");
		memset(buf, 0, touched);
	}
	t = now_sec() - t;
	free(buf);
	return t;
}

static void cmd_dirty(struct migdev *dev, uint64_t length, uint64_t dma,
		      size_t bufsize)
{
	struct mig_range range = { 0, length };

	dirty_pages(dev, range, dma);
	print_result(dirty_bitmap_bytes(length, DIRTY_PAGE),
		     read_bitmap(dev, range, bufsize));
}

static void cmd_freeze(struct migdev *dev, uint64_t length, uint64_t dma)
{
	struct mig_range range = { 0, length };
	double t;

	dirty_pages(dev, range, dma);
	t = now_sec();
	if (migdev_dirty_stop(dev))
		die("%s: stopping dirty tracking failed", spec);
	t = now_sec() - t;
	read_bitmap(dev, range, 1 << 20);
	print_result(length, t);
}

/* What the runner does to each mounted device before it reads VmRSS. */
static void use_once(struct migdev *dev)
{
	struct strbuf sb = { 0 };

	set_state(dev, MIG_STOP);
	set_state(dev, MIG_RUNNING);
	if (migdev_status(dev, &sb))
		die("%s: status", spec);
	sb_free(&sb);
}

/* The devices stay open: the runner reads VmRSS after the answer. */
static void cmd_open(uint64_t n)
{
	struct migdev **devs = realloc(opened, (nopened + n + 1) * sizeof(*devs));
	double t;

	if (!devs)
		die("no memory for %llu devices", (unsigned long long)n);
	opened = devs;
	devs += nopened;
	t = now_sec();
	for (uint64_t i = 0; i < n; i++)
		devs[i] = open_device(nopened + i + 1);
	t = now_sec() - t;
	for (uint64_t i = 0; i < n; i++)
		use_once(devs[i]);
	nopened += n;
	print_result(n, t);
}

static void run(struct migdev *dev, char *line)
{
	char cmd[16], a[4096], b[32], c[32];
	int n = sscanf(line, "%15s %4095s %31s %31s", cmd, a, b, c);

	if (n == 2 && !strcmp(cmd, "save"))
		cmd_save(dev, parse_count(a, "BUFSIZE"));
	else if (n == 3 && !strcmp(cmd, "resume"))
		cmd_resume(dev, a, parse_count(b, "BUFSIZE"));
	else if (n == 2 && !strcmp(cmd, "transitions"))
		cmd_transitions(dev, parse_count(a, "N"));
	else if (n == 4 && !strcmp(cmd, "dirty"))
		cmd_dirty(dev, parse_count(a, "LENGTH"), parse_count(b, "DMA"),
			  parse_count(c, "BUFSIZE"));
	else if (n == 3 && !strcmp(cmd, "freeze"))
		cmd_freeze(dev, parse_count(a, "LENGTH"), parse_count(b, "DMA"));
	else if (n == 2 && !strcmp(cmd, "open"))
		cmd_open(parse_count(a, "N"));
	else
		die("unknown command: %s", line);
}

int main(int argc, char **argv)
{
	char line[4352];
	struct migdev *dev;

	if (argc != 2)
		die("usage: migbench-inproc DEVICE (commands on stdin)");
	spec = argv[1];
	dev = open_device(0);
	while (fgets(line, sizeof(line), stdin))
		run(dev, line);
	for (uint64_t i = 0; i < nopened; i++)
		migdev_close(opened[i]);
	free(opened);
	migdev_close(dev);
	return 0;
}

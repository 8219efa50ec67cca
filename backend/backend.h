/* SPDX-License-Identifier: MIT */
/*
 * The device layer between vfio-migfsd and the devices behind it.
 *
 * A backend implements struct migdev_ops: the direct arcs of one device
 * and its data stream, and struct migdev_log_ops for a device that logs
 * the pages it writes: two constant tables, as a kernel migration driver
 * has mig_ops and log_ops, the second given only when the device can log.
 * Everything a backend must not be trusted with is done once, here, in
 * migdev.c: the combination arcs, the refusal of arcs the kernel gets
 * wrong, the truth after a failed arc, data sessions, the frozen dirty log,
 * and the counters shown in `status`.  The daemon only calls migdev_*().
 *
 * Locks of the device layer, outermost first (fsd/vfio-migfsd.h places
 * the daemon's own around them):
 *   1. dev->log.lock   the dirty log: ranges, tracking, frozen bitmaps;
 *                      the log ops run under it, never under dev->lock.
 *   2. dev->lock       the device and everything in struct migdev that
 *                      is not marked atomic or constant; the mig_ops run
 *                      under it.
 *   3. leaves, taken under dev->lock and taking nothing: the sim's
 *      peer_lock (sim_peer.c), and whatever the daemon's notify() and
 *      sink() take.
 * A function named foo_locked() is called with dev->lock held; the plain
 * foo() takes it.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "clock.h"
#include "migstate.h"
#include "strbuf.h"

struct migdev;

/* One IOVA range of the dirty log, [start, start + length). */
struct mig_range {
	uint64_t start;
	uint64_t length;
};

#define MIG_MAX_RANGES	256	/* what VFIO DMA logging accepts per START */

enum mig_poll {
	MIG_POLL_NONE,		/* poll(2) says "ready", as for a regular file */
	MIG_POLL_STATE,		/* ... says POLLPRI|POLLIN once the state changed */
	MIG_POLL_EVENTS,	/* ... once anything in `status` or `log` changed */
};

/*
 * A text attribute, as in sysfs: show() renders the whole value, store()
 * takes the whole value of one write (NUL-terminated); both return 0 or
 * -errno.  A backend's attributes (migdev_ops.attrs) are called through
 * migdev_attr_show/store, with dev->lock held; the daemon's own (fsd's
 * attrs.c) are called bare, and take what they need through migdev_*().
 */
struct mig_attr {
	const char *name;
	mode_t mode;
	int (*show)(struct migdev *dev, struct strbuf *sb);
	int (*store)(struct migdev *dev, const char *buf);
	enum mig_poll poll;
	bool lines;	/* a list, one item a line: built per open, not per line */
	/* Optional: whether show() renders buf itself once buf is stored. */
	bool (*verbatim)(const char *buf);
};

struct migdev_ops {
	const char *name;	/* backend name, also its attribute directory */
	void (*destroy)(struct migdev *dev);

	int (*get_state)(struct migdev *dev, enum mig_state *state);
	/* Perform one direct arc; on failure the device may be anywhere. */
	int (*set_state)(struct migdev *dev, enum mig_state next);
	/* Return to RUNNING from any state, ending any data session. */
	int (*reset)(struct migdev *dev);

	/*
	 * The data session.  save_read returns bytes read, 0 at the end of
	 * a STOP_COPY stream, -ENOMSG when a PRE_COPY stream has nothing
	 * more for now, or -errno.  resume_write returns bytes consumed.
	 */
	ssize_t (*save_read)(struct migdev *dev, void *buf, size_t len);
	ssize_t (*resume_write)(struct migdev *dev, const void *buf, size_t len);
	int (*precopy_info)(struct migdev *dev, uint64_t *initial, uint64_t *dirty);
	/* The STOP_COPY estimate; -EOPNOTSUPP without one. */
	int (*data_size)(struct migdev *dev, uint64_t *bytes);
	/*
	 * How the device's dirty pages are tracked, or why they are not,
	 * for `status`; NULL: "none".
	 */
	const char *(*dirty_mechanism)(struct migdev *dev);

	/* Backend-specific attributes, NULL-name terminated, or NULL. */
	const struct mig_attr *attrs;
};

struct migdev_log_ops {
	/*
	 * Device dirty page logging (MIG_F_DIRTY).  log_report sets the bit
	 * of every page of [iova, iova + length) written since the last
	 * report and clears those pages, no others, in the device's log.
	 * The bitmap arrives zeroed; bit i is page i of the span.  *touched:
	 * how many of its bytes, from the start, it may have set (all of
	 * them for a backend that cannot tell), so that a caller who keeps
	 * its buffer zeroed has no more to clear.
	 *
	 * The log ops run under the dirty log's lock, never under dev->lock:
	 * their work grows with the ranges, and `state` must not wait for
	 * it.  A backend whose log shares anything with the rest of the
	 * device takes dev->lock itself, briefly.
	 */
	int (*log_start)(struct migdev *dev, const struct mig_range *ranges,
			 unsigned int nranges, uint64_t page_size);
	int (*log_stop)(struct migdev *dev);
	int (*log_report)(struct migdev *dev, uint64_t iova, uint64_t length,
			  uint64_t *bitmap, size_t *touched);
	/*
	 * Optional, instead of a final log_report of each range and
	 * log_stop: stop, handing over bitmaps[i] (from malloc) as
	 * log_report would fill it for all of range i.  For a log kept in
	 * our own memory, which then need not be copied.  Cannot fail.
	 */
	void (*log_take)(struct migdev *dev, uint64_t **bitmaps);
};

struct migdev_stats {
	uint64_t attempts;		/* transitions that reached the device */
	uint64_t transitions;		/* ... and succeeded */
	enum mig_state last_from, last_to;
	unsigned int last_steps;
	uint64_t last_usec;
	int last_result;		/* 0 or -errno of the last transition */
	uint64_t bytes_saved;		/* in the current or last session */
	uint64_t bytes_resumed;
	struct timespec data_at;	/* the stream last moved (CLOCK_REALTIME) */
};

/* 256 MiB of bitmap: 8 TiB of IOVA space at 4 KiB pages. */
#define MIG_DIRTY_BITMAP_MAX	(256ull << 20)

struct dirtylog {
	pthread_mutex_t lock;		/* the log's own, taken before dev->lock */
	uint64_t page_size;
	uint64_t bitmap_max;		/* bytes the ranges' bitmaps may take */
	struct mig_range ranges[MIG_MAX_RANGES];
	unsigned int nranges;
	bool tracking;			/* atomic: `status` reads it unlocked */
	uint64_t *frozen[MIG_MAX_RANGES];	/* final bits after a stop */
	struct timespec read_at[MIG_MAX_RANGES];	/* last read of each bitmap */
};

/*
 * The recent history behind `log`: a ring of timestamped lines, read as a
 * stream in which each line keeps its offset (history.c).
 */
#define MIG_HISTORY_LINES	4096
#define MIG_HISTORY_LINE	160
struct mig_history_line {
	uint64_t off;			/* stream offset of its first byte */
	unsigned int len;		/* of text, without the newline */
	char text[MIG_HISTORY_LINE];
};
struct mig_history {
	struct mig_history_line *lines;	/* allocated at the first event */
	unsigned int next, count;
	uint64_t end;			/* bytes ever added, newlines included */
};

/*
 * One event of `log`, as a sink sees it: the line without its time, the
 * state the device is in after it, and where they apply the arc (a
 * transition's from and target) and the errno.
 */
struct mig_event {
	const char *message;
	enum mig_state state;
	bool transition;		/* from and to are set */
	enum mig_state from, to;
	int err;			/* -errno of an error, or 0 */
};

struct migdev {
	const struct migdev_ops *ops;
	const struct migdev_log_ops *log_ops;	/* NULL: the device cannot log */
	char *name;			/* the DEVICE argument */
	unsigned int flags;		/* MIG_F_*; constant */
	pthread_mutex_t lock;		/* guards what follows, but atomics */
	enum mig_state state;		/* last state the device reported */
	uint64_t session;		/* open data session id, 0 = none */
	uint64_t sessions;		/* ids handed out */
	bool data_open;			/* `data` has an opener */
	struct migdev_stats stats;
	char last_error[160];
	uint64_t last_error_usec;	/* when, on the monotonic clock */
	uint64_t failures;		/* errors recorded (atomic) */
	struct dirtylog log;
	struct mig_history history;
	/*
	 * Change counters for poll(2): state_events moves with the state,
	 * events with anything `status` or `log` shows.  notify() runs after
	 * each move, with the lock held.
	 */
	uint64_t state_events, events;
	void (*notify)(void *arg);
	void *notify_arg;
	/* Sees every event of `log` as it is added, with the lock held. */
	void (*sink)(void *arg, const struct mig_event *ev);
	void *sink_arg;
};

/*
 * A reader or writer of `data`: bound to one session at first use.  Workers
 * serving one open file share it: session is read and set atomically.
 */
struct migdev_stream {
	uint64_t session;
};

static inline uint64_t migdev_stream_session(const struct migdev_stream *st)
{
	return __atomic_load_n(&st->session, __ATOMIC_RELAXED);
}

/* Open a device from its DEVICE argument ("sim:NAME,..."). */
int migdev_open(const char *spec, struct migdev **devp, char *err, size_t errlen);
void migdev_close(struct migdev *dev);

/* Used by backends' open functions. */
int migdev_init(struct migdev *dev, const struct migdev_ops *ops,
		const struct migdev_log_ops *log_ops, const char *spec,
		unsigned int flags);
/* The device was found in found (not running) when opened, and reset: say so in `log`. */
void migdev_opened_in(struct migdev *dev, enum mig_state found);

enum mig_state migdev_state(struct migdev *dev);
int migdev_set_state(struct migdev *dev, enum mig_state target);
int migdev_reset(struct migdev *dev);

int migdev_data_open(struct migdev *dev);
void migdev_data_release(struct migdev *dev);
/*
 * Bind st to the current session as its first read (saving) or write would,
 * or say why it cannot be: -ESTALE, -ENODATA (not saving), -EPERM (not
 * resuming).  *state is the device's state.
 */
int migdev_stream_bind(struct migdev *dev, struct migdev_stream *st,
		       bool saving, enum mig_state *state);
ssize_t migdev_read(struct migdev *dev, struct migdev_stream *st,
		    void *buf, size_t len);
ssize_t migdev_write(struct migdev *dev, struct migdev_stream *st,
		     const void *buf, size_t len);
int migdev_precopy(struct migdev *dev, uint64_t *initial, uint64_t *dirty);
int migdev_data_size(struct migdev *dev, uint64_t *bytes);
/* When the stream last moved (CLOCK_REALTIME; 0 before any byte): stat of `data`. */
struct timespec migdev_data_at(struct migdev *dev);

int migdev_status(struct migdev *dev, struct strbuf *sb);

/* Attributes (the daemon's and the backend's) run under the device lock. */
int migdev_attr_show(struct migdev *dev, const struct mig_attr *a, struct strbuf *sb);
int migdev_attr_store(struct migdev *dev, const struct mig_attr *a, const char *buf);

/*
 * Dirty log; see dirtylog.c.  Setters fail with EBUSY while tracking, and
 * with ENOSPC when the ranges' bitmaps would take more than the bound.
 */
uint64_t migdev_dirty_page_size(struct migdev *dev);
bool migdev_dirty_tracking(struct migdev *dev);
/* Copies the tracked ranges (sorted) into out[MIG_MAX_RANGES]. */
unsigned int migdev_dirty_ranges(struct migdev *dev, struct mig_range *out);
int migdev_dirty_set_page_size(struct migdev *dev, uint64_t page_size);
int migdev_dirty_set_ranges(struct migdev *dev, const struct mig_range *r,
			    unsigned int n);
int migdev_dirty_start(struct migdev *dev);
/* The bound on the bitmaps of the ranges, in bytes (MIG_DIRTY_BITMAP_MAX). */
void migdev_dirty_set_bitmap_max(struct migdev *dev, uint64_t bytes);
int migdev_dirty_stop(struct migdev *dev);
/* Bitmap size in bytes of a range: one bit a page, in 64-bit words. */
uint64_t dirty_bitmap_bytes(uint64_t length, uint64_t page_size);
/*
 * The bits of word w of a bitmap that are bits first..last.  Inline: the
 * test-and-clear loops ask it for every word of a range (4 M words per TiB).
 */
static inline uint64_t dirty_word_mask(uint64_t w, uint64_t first, uint64_t last)
{
	uint64_t mask = ~0ull;

	if (w == first / 64)
		mask &= ~0ull << (first % 64);
	if (w == last / 64)
		mask &= ~0ull >> (63 - last % 64);
	return mask;
}
/*
 * Test-and-clear read of a range's bitmap from byte offset off; off and len
 * are multiples of 8.  -ESTALE when the range is no longer tracked.
 */
ssize_t migdev_dirty_read(struct migdev *dev, struct mig_range range,
			  uint64_t off, void *buf, size_t len);
/*
 * The same into a buf of len bytes that the caller keeps zeroed: *touched,
 * how many bytes from its start the read may have set, to clear after.
 */
ssize_t migdev_dirty_read_zeroed(struct migdev *dev, struct mig_range range,
				 uint64_t off, void *buf, size_t len, size_t *touched);
/* When a range's bitmap was last read (0 if never, or not tracked). */
struct timespec migdev_dirty_read_at(struct migdev *dev, struct mig_range range);

/* Change counters (see struct migdev) and the change callback. */
uint64_t migdev_events(struct migdev *dev, bool state_only);
void migdev_set_notify(struct migdev *dev, void (*fn)(void *arg), void *arg);
void migdev_set_sink(struct migdev *dev,
		     void (*fn)(void *arg, const struct mig_event *ev), void *arg);
/*
 * `log` as a stream: the offsets of the bytes kept, [first, end); a read
 * copies from stream offset *pos, moved up to first if what was there has
 * been dropped, and returns the bytes copied (0 at the end).
 */
void migdev_log_bounds(struct migdev *dev, uint64_t *first, uint64_t *end);
size_t migdev_log_read(struct migdev *dev, uint64_t *pos, void *buf, size_t len);
/* Adds a line to the history and moves `events`. */
void migdev_event_locked(struct migdev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same with ev's fields for the sink (transitions, errors). */
void migdev_event_with_locked(struct migdev *dev, struct mig_event ev,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Moves the change counters (state too if asked) and calls notify(). */
void migdev_bump(struct migdev *dev, bool state);

/* history.c */
void history_add(struct mig_history *h, const char *msg);
void history_bounds(const struct mig_history *h, uint64_t *first, uint64_t *end);
size_t history_read(const struct mig_history *h, uint64_t *pos, char *buf, size_t len);
void history_free(struct mig_history *h);

/*
 * A write to FILE was refused with err.  Unless the refusal was recorded
 * already (failures moved past `before`), record it: in `log` always, and
 * in last_error unless the device is in error, whose cause stays there.
 */
uint64_t migdev_failures(struct migdev *dev);
void migdev_refused(struct migdev *dev, uint64_t before, const char *file,
		    const char *value, int err);

/* Record the reason of a failure for `status` and `log`; returns err. */
int migdev_fail_locked(struct migdev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int migdev_fail(struct migdev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void migdev_event(struct migdev *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Backends. */
int sim_open(const char *spec, struct migdev **devp, char *err, size_t errlen);
int vfio_open(const char *spec, struct migdev **devp, char *err, size_t errlen);
int vfio_fd_open(const char *spec, struct migdev **devp, char *err, size_t errlen);

#endif

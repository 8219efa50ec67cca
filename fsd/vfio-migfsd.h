/* SPDX-License-Identifier: MIT */
/*
 * vfio-migfsd: one FUSE filesystem per migratable device.
 *
 * main.c parses the command line and daemonizes, mount.c checks and mounts
 * mountpoints, loop.c serves every session from one pool of workers.
 * tree.c answers for the names (the node table: lookup, stat, readdir),
 * fs.c for open files (their lifetime, text values read and stored),
 * data.c for `data`, logfile.c for `log`, poll.c for poll(2); attrs.c holds the text files
 * (one show and one store function each), pump.c reads a saving stream
 * ahead of its reader, writebehind.c answers a resuming writer before the
 * device loads its bytes, log.c reports, service.c tells the service
 * manager, config.c reads --config files, iobuf.c keeps each worker's
 * I/O buffer.
 *
 * Locks, outermost first; backend.h places the device layer's (the dirty
 * log's lock, then dev->lock, then its leaves):
 *   1. handle.lock       one open file (struct handle);
 *   2. mount.pump_lock   the read-ahead of a saving stream, one reader;
 *      mount.log_lock    the heap of open `log` files, under a file's
 *                        own lock when its origin moves;
 *   3. the device layer's locks (a store, a show, a read of `data`);
 *   4. leaves, which take nothing: mount.poll_lock (the device's notify()
 *      takes it under dev->lock), service.c's queue lock (its sink()),
 *      mount.open_lock, loop.c's lock, writebehind.lock, pump.lock, and
 *      log.c's emit_lock.
 * notify() and sink() run under dev->lock: they only count, wake and
 * queue; the log's I/O is service.c's own thread's.
 */
#ifndef VFIO_MIGFSD_H
#define VFIO_MIGFSD_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "backend.h"

enum node_kind {
	NODE_DIR,
	NODE_ATTR,	/* a text attribute */
	NODE_DATA,	/* the migration data stream */
	NODE_LOG,	/* `log`, read as a stream (logfile.c) */
};

struct node {
	const char *name;
	enum node_kind kind;
	unsigned int parent;		/* index of the parent directory */
	const struct mig_attr *attr;	/* NODE_ATTR */
	bool dev_locked;		/* a backend's attribute: runs under dev->lock */
};

#define MAX_NODES	32
#define IO_SIZE		(1024 * 1024)	/* st_blksize: cat and cp read 1 MiB */
#define ROOT_NODE	0

/* Writes of `data` answered before the device loads them (writebehind.c). */
struct writebehind {
	pthread_mutex_t lock;
	pthread_cond_t moved;		/* loaded moved */
	uint64_t taken, loaded;		/* tickets given out, writes loaded */
	int error;			/* a refusal not reported yet, -errno */
};

struct wb_ticket {
	uint64_t seq;			/* its place in the stream */
	bool early;			/* answered before its load */
	bool alone;			/* no write ahead of it */
};

/*
 * One open file, behind fi->fh.  FUSE hands concurrent requests on one
 * open file to different workers, so everything here that a request
 * changes is guarded: by lock, or where marked by the mount's poll_lock.
 */
struct handle {
	pthread_mutex_t lock;
	const struct node *node;	/* NULL for a bitmap file; constant */
	struct mig_range range;		/* bitmap files; constant */
	struct handle *prev, *next;	/* the mount's open files (open_lock) */
	uint64_t seen;			/* events at the last render (poll_lock) */
	struct fuse_pollhandle *ph;	/* a poll(2) waiting (poll_lock) */
	struct handle *next_poller;	/* (poll_lock) */
	struct strbuf text;		/* the snapshot reads continue */
	bool rendered;
	struct strbuf written;		/* the value written through this open */
	uint64_t value_off;		/* the file offset it starts at */
	bool append;			/* O_APPEND: every write continues it */
	struct migdev_stream stream;	/* data: its session (atomic) */
	bool claimed;			/* data: this handle is the opener */
	uint64_t origin;		/* log: stream offset of file offset 0 (atomic) */
	unsigned int log_slot;		/* log: in the mount's log_heap (log_lock) */
	uid_t uid;			/* who opened it; constant */
};

/* Files one user opens on a mount (fs.c): bounded but for trusted users. */
struct user_opens {
	uid_t uid;
	unsigned int n;
	struct user_opens *next;
};

struct mount {
	struct migdev *dev;
	char *mountpoint;		/* absolute: the daemon leaves its cwd */
	int lock_fd;			/* its directory, locked until mounted */
	struct fuse_session *se;
	struct node nodes[MAX_NODES];
	unsigned int nnodes;
	unsigned int dirty_dir;		/* node index, or 0 without dirty/ */
	size_t shown[MAX_NODES];	/* a text file's last length (atomic) */
	bool attrs_out[MAX_NODES];	/* the kernel may hold fresh attributes (atomic) */
	bool gone;			/* unmounted or ended (loop.c's lock) */
	unsigned int busy;		/* requests being served (loop.c's lock) */
	bool parked;			/* not re-armed: busy at its share (loop.c's lock) */
	unsigned int waiting;		/* requests waiting for their user's turn (loop.c's lock) */
	pthread_mutex_t open_lock;	/* guards open and users */
	struct handle *open;		/* files open on this mount */
	struct user_opens *users;	/* how many each user holds */
	pthread_mutex_t log_lock;	/* guards the heap of log_open files */
	struct handle **log_heap;	/* open files of `log`, least origin first */
	unsigned int log_open, log_room;
	pthread_mutex_t poll_lock;	/* guards pollers */
	struct handle *pollers;		/* open files waiting for a change */
	uint64_t inval_state, inval_events;	/* counters at the last (dev->lock) */
	pthread_mutex_t pump_lock;	/* guards pump, one reader at a time */
	struct pump *pump;		/* read-ahead of a STOP_COPY session */
	uint64_t pump_after;		/* the session whose STOP_COPY filled a read */
	struct writebehind wb;		/* write-behind of a RESUMING one */
};

struct options {
	bool foreground;
	bool allow_other;
	bool force_nonempty;		/* mount over a directory that holds files */
	unsigned int threads;
	char fd_opts[64];	/* --container-fd/--iommufd-fd, for fd: devices */
	uint64_t dirty_bitmap_max;	/* --dirty-bitmap-max, bytes */
};

/* attrs.c */
extern const struct mig_attr root_attrs[];
extern const struct mig_attr dirty_attrs[];
/* Render a text file's value into sb (emptied first): 0 or -errno. */
int attr_show(struct mount *m, const struct node *n, struct strbuf *sb);
/* The length attr_show() last rendered, for a stat that must not render. */
size_t attr_shown(struct mount *m, const struct node *n);
/* Store one value: 0 or -errno. */
int attr_store(struct mount *m, const struct node *n, const char *value);

/* iobuf.c: this worker's IO_SIZE buffer (NULL without memory), freed at its end */
void *io_buffer(void);
/* This worker's IO_SIZE buffer kept all zero: its user clears what it set. */
void *io_zero_buffer(void);
void io_buffer_free(void);

/* fs.c */
extern const struct fuse_lowlevel_ops migfs_ops;
void fs_init(struct mount *m);		/* the node table, locks, poll(2) */
/* The session is over and no request is being served: free its files. */
void fs_session_end(struct mount *m);
/* The daemon's user and root: never bounded nor made to wait their turn. */
bool fs_trusted(uid_t uid);

/* tree.c: the names of a mount */
void tree_build(struct mount *m);
const struct node *tree_node(struct mount *m, fuse_ino_t ino);
int tree_bitmap_range(struct mount *m, fuse_ino_t ino, struct mig_range *out);
void tree_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void tree_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tree_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi);
void tree_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);

/* poll.c */
void poll_init(struct mount *m);
/* Mark h as up to date with its file's events, before a render. */
void poll_rendered(struct mount *m, struct handle *h);
void poll_forget(struct mount *m, struct handle *h);
void poll_request(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		  struct fuse_pollhandle *ph);
/* The kernel must ask for n's attributes again: its value changed. */
void poll_inval(struct mount *m, const struct node *n);
/* fill_attr() hands out n's attributes: a change must have the kernel forget them. */
void poll_attrs_out(struct mount *m, const struct node *n);
/* This worker stores to n (NULL: done): n's store invalidates it. */
void poll_storing(const struct node *n);

/* data.c: `data`, one opener at a time */
int data_open(struct mount *m, struct handle *h);
void data_unclaim(struct mount *m, struct handle *h);
void data_read(fuse_req_t req, struct mount *m, struct handle *h, size_t size);
void data_write(fuse_req_t req, struct mount *m, struct handle *h,
		const char *buf, size_t size);
/* A store may have ended the session: drop its read-ahead. */
void data_reap_ended(struct mount *m);
void data_reap_all(struct mount *m);

/* pump.c: callers serialize pump_read() and pump_end() */
struct pump *pump_start(struct migdev *dev, const struct migdev_stream *st);
uint64_t pump_session(const struct pump *p);
bool pump_read(struct pump *p, fuse_req_t req, size_t size);	/* false: ended */
void pump_end(struct pump *p);

/*
 * writebehind.c: wb_enter() gives a write its ticket (or the error of an
 * earlier one), wb_turn() waits for its turn to load (an error: don't),
 * wb_leave() says how the load went; wb_drain() waits for every load.
 */
void wb_init(struct writebehind *wb);
int wb_enter(struct writebehind *wb, size_t size, struct wb_ticket *t);
int wb_turn(struct writebehind *wb, const struct wb_ticket *t);
void wb_leave(struct writebehind *wb, const struct wb_ticket *t, int err);
int wb_drain(struct writebehind *wb, bool report);

/* logfile.c: `log`; logfile_size(m, NULL) is stat's size */
int logfile_open(struct mount *m, struct handle *h);
void logfile_release(struct mount *m, struct handle *h);
off_t logfile_size(struct mount *m, const struct handle *h);
void logfile_read(fuse_req_t req, struct mount *m, struct handle *h,
		  size_t size, off_t off);

/*
 * mount.c: mount_check() takes m->lock_fd (mountinfo.h's mount_canonical()
 * names m->mountpoint first), mount_session() mounts and drops it.
 */
int mount_check(struct mount *m, const struct options *o, char *err, size_t errlen);
int mount_session(struct mount *m, const struct options *o, char *err, size_t errlen);
void mount_end(struct mount *m);

/* loop.c */
void loop_init(void);
void loop_run(struct mount *mounts, unsigned int n, unsigned int threads,
	      void (*ready)(void));

/* service.c: device events to the log, readiness to the service manager */
void service_init(struct mount *m, unsigned int n);
void service_ready(void);
void service_stopping(void);
void service_end(void);

/* config.c: --config FILE; set applies an option as the command line would */
struct mount_arg {
	char *dev, *dir;		/* DEVICE MOUNTPOINT, as given */
	char *where;			/* "FILE:LINE" of a --config mount, or NULL */
};
struct mount_args {
	struct mount_arg *v;
	unsigned int n;
};
void config_read(const char *path, struct options *o, struct mount_args *ma,
		 void (*set)(int opt, const char *arg, struct options *o));
void config_make_mountpoints(const struct mount_args *ma);
void mount_args_add(struct mount_args *ma, const char *dev, const char *dir,
		    const char *where);
void mount_args_free(struct mount_args *ma);

/* log.c */
void log_init(bool foreground);
/* Messages name where they come from (a config file's line), or NULL. */
void log_where(const char *where);
/* A line to log, with the journal's fields: it needs nothing once made. */
#define LOG_FIELDS	10
struct log_line {
	int pri, err;			/* syslog priority; errno said after the text */
	char msg[512];
	unsigned int n;			/* fields */
	char field[LOG_FIELDS][640];	/* "NAME=value" */
};
/* A device's event on m (or the daemon's line about m), made ready. */
void log_event_line(struct log_line *l, const struct mount *m, const struct mig_event *ev);
/* Out, unless the log stalled (log.c says how long a line waits). */
void log_send(struct log_line *l);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* A command line that makes no sense: exit 2, as vfio-migctl does. */
#define EXIT_USAGE	2
void usage_fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif

/* SPDX-License-Identifier: MIT */
/*
 * vfio-migfsd: one FUSE filesystem per migratable device.
 *
 * main.c parses the command line and daemonizes, mount.c checks and mounts
 * mountpoints, loop.c serves every session from one pool of workers,
 * fs.c answers FUSE requests over the node table, attrs.c holds the text
 * files (one show and one store function each), pump.c reads a saving
 * stream ahead of its reader, writebehind.c answers a resuming writer
 * before the device loads its bytes, log.c reports.
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
};

struct node {
	const char *name;
	enum node_kind kind;
	unsigned int parent;		/* index of the parent directory */
	const struct mig_attr *attr;	/* NODE_ATTR */
	bool backend;			/* a backend attribute: runs locked */
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

struct mount {
	struct migdev *dev;
	char *mountpoint;		/* absolute: the daemon leaves its cwd */
	struct fuse_session *se;
	struct node nodes[MAX_NODES];
	unsigned int nnodes;
	unsigned int dirty_dir;		/* node index, or 0 without dirty/ */
	bool gone;			/* unmounted or ended */
	pthread_mutex_t poll_lock;	/* guards pollers */
	struct handle *pollers;		/* open files waiting for a change */
	pthread_mutex_t pump_lock;	/* guards pump, one reader at a time */
	struct pump *pump;		/* read-ahead of a STOP_COPY session */
	struct writebehind wb;		/* write-behind of a RESUMING one */
};

struct options {
	bool foreground;
	bool allow_other;
	unsigned int threads;
	char fd_opts[64];	/* --container-fd/--iommufd-fd, for fd: devices */
};

/* attrs.c */
extern const struct mig_attr root_attrs[];
extern const struct mig_attr dirty_attrs[];

/* fs.c */
extern const struct fuse_lowlevel_ops migfs_ops;
void fs_build_nodes(struct mount *m);	/* also sets up poll(2) */
void fs_thread_exit(void);	/* frees a worker's I/O buffer */

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

/* mount.c */
int mount_canonical(const char *path, char *out, size_t len);
int mount_check(const char *path, char *err, size_t errlen);
int mount_session(struct mount *m, const struct options *o, char *err, size_t errlen);
void mount_end(struct mount *m);

/* loop.c */
void loop_init(void);
void loop_run(struct mount *mounts, unsigned int n, unsigned int threads,
	      void (*ready)(void));

/* log.c */
void log_init(bool foreground);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif

// SPDX-License-Identifier: MIT
/*
 * migbench-ceiling THREADS SIZE MOUNTPOINT: the FUSE ceiling of the
 * benchmarks.  A minimal low-level filesystem whose files do no work, so
 * that a figure measured through it is what FUSE alone costs here:
 *
 *   source  reads return the next bytes of a 1 MiB buffer in memory, SIZE
 *           bytes in all, then 0 (the end)
 *   sink    writes are accepted and dropped; reads return 0
 *
 * It copies what vfio-migfsd does wherever FUSE's cost depends on it: the
 * mount options (default_permissions, fsname and subtype, nothing else, so
 * the same 1 MiB max_read and max_write), direct_io and nonseekable at
 * open, st_blksize 1 MiB, 1 s entry and attribute timeouts, a flush
 * handler (without one the kernel stops sending FLUSH, which `state` gets
 * at every close).  It is served by libfuse's own multithreaded loop with
 * THREADS workers, not by the daemon's epoll pool: the difference between
 * the two loops is part of what the benchmarks measure.  Runs in the
 * foreground; SIGTERM unmounts.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"

#define IO_SIZE		(1024 * 1024)	/* the daemon's st_blksize and buffer */
#define TIMEOUT		1.0		/* the daemon's entry/attr timeout */

enum { ROOT_INO = FUSE_ROOT_ID, SOURCE_INO, SINK_INO };

static const char *const names[] = { [SOURCE_INO] = "source", [SINK_INO] = "sink" };

/* Written once at start: reading the zero page would flatter the copy. */
static char source_buf[IO_SIZE];
static uint64_t source_size;

/* The attributes fsd/fs.c gives its files, for the same permission checks. */
static int fill_stat(fuse_ino_t ino, struct stat *st)
{
	*st = (struct stat){ .st_ino = ino, .st_uid = getuid(), .st_gid = getgid(),
			     .st_blksize = IO_SIZE, .st_nlink = 1 };
	if (ino == ROOT_INO) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else if (ino == SOURCE_INO || ino == SINK_INO) {
		st->st_mode = S_IFREG | 0600;
	} else {
		return ENOENT;
	}
	return 0;
}

static void ceil_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { .attr_timeout = TIMEOUT, .entry_timeout = TIMEOUT };

	for (fuse_ino_t ino = SOURCE_INO; ino <= SINK_INO; ino++) {
		if (parent == ROOT_INO && !strcmp(name, names[ino])) {
			e.ino = ino;
			fill_stat(ino, &e.attr);
			fuse_reply_entry(req, &e);
			return;
		}
	}
	fuse_reply_err(req, ENOENT);
}

static void ceil_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int err = fill_stat(ino, &st);

	(void)fi;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static void ceil_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == ROOT_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void ceil_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

/* The kernel keeps the position of a nonseekable file: it counts the bytes. */
static void ceil_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	uint64_t left = ino == SOURCE_INO && (uint64_t)off < source_size ?
			source_size - (uint64_t)off : 0;

	(void)fi;
	if (size > IO_SIZE)
		size = IO_SIZE;
	if (size > left)
		size = (size_t)left;
	fuse_reply_buf(req, source_buf, size);
}

static void ceil_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)off;
	(void)fi;
	fuse_reply_write(req, size);
}

static const struct fuse_lowlevel_ops ceil_ops = {
	.lookup = ceil_lookup,
	.getattr = ceil_getattr,
	.open = ceil_open,
	.flush = ceil_flush,
	.read = ceil_read,
	.write = ceil_write,
};

static struct fuse_session *new_session(void)
{
	char *argv[] = { "migbench-ceiling", "-o",
			 "fsname=migbench-ceiling,subtype=migbench,default_permissions" };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se = fuse_session_new(&args, &ceil_ops, sizeof(ceil_ops), NULL);

	if (!se)
		die("cannot create a FUSE session");
	return se;
}

int main(int argc, char **argv)
{
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	int r;

	if (argc != 4)
		die("usage: migbench-ceiling THREADS SIZE MOUNTPOINT");
	source_size = parse_count(argv[2], "SIZE");
	memset(source_buf, 0xa5, sizeof(source_buf));
	se = new_session();
	if (fuse_set_signal_handlers(se) || fuse_session_mount(se, argv[3]))
		die("%s: cannot mount", argv[3]);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		die("no memory");
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, (unsigned int)parse_count(argv[1], "THREADS"));
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r < 0 ? 1 : 0;
}

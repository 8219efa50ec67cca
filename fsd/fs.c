// SPDX-License-Identifier: MIT
/*
 * The FUSE low-level operations of one device directory.  Inode n + 1 is
 * node n of the mount's table; dirty/START-END bitmap files, which come
 * and go with dirty/ranges, are inodes BITMAP_INO + range index.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-migfsd.h"

#define BITMAP_INO	(1ull << 20)
#define MAX_STORE	(64 * 1024)	/* the largest value one write may carry */
#define ATTR_SIZE	4096		/* what sysfs reports for attributes */
#define STATIC_TIMEOUT	1.0

/* Per-open state behind fi->fh. */
struct handle {
	const struct node *node;	/* NULL for a bitmap file */
	uint64_t seen;			/* the change counter at the last render */
	struct fuse_pollhandle *ph;	/* a poll(2) waiting for a change */
	struct handle *next_poller;
	struct mig_range range;		/* bitmap files */
	struct strbuf text;		/* attribute snapshot for reads */
	struct strbuf written;		/* the value written through this open */
	bool rendered;
	struct migdev_stream stream;	/* data */
	bool claimed;			/* data: this handle is the opener */
};

static struct mount *req_mount(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void add_node(struct mount *m, const char *name, enum node_kind kind,
		     unsigned int parent, const struct mig_attr *attr, bool backend)
{
	m->nodes[m->nnodes++] = (struct node){ name, kind, parent, attr, backend };
}

static void add_attrs(struct mount *m, unsigned int dir,
		      const struct mig_attr *attrs, bool backend)
{
	for (const struct mig_attr *a = attrs; a->name; a++)
		add_node(m, a->name, NODE_ATTR, dir, a, backend);
}

static void notify_pollers(void *arg);

void fs_build_nodes(struct mount *m)
{
	const struct migdev_ops *ops = m->dev->ops;

	pthread_mutex_init(&m->poll_lock, NULL);
	pthread_mutex_init(&m->pump_lock, NULL);
	wb_init(&m->wb);
	migdev_set_notify(m->dev, notify_pollers, m);

	m->nnodes = 0;
	add_node(m, "", NODE_DIR, ROOT_NODE, NULL, false);
	add_attrs(m, ROOT_NODE, root_attrs, false);
	add_node(m, "data", NODE_DATA, ROOT_NODE, NULL, false);
	m->dirty_dir = 0;
	if (m->dev->flags & MIG_F_DIRTY) {
		m->dirty_dir = m->nnodes;
		add_node(m, "dirty", NODE_DIR, ROOT_NODE, NULL, false);
		add_attrs(m, m->dirty_dir, dirty_attrs, false);
	}
	if (ops->attrs) {
		unsigned int dir = m->nnodes;

		add_node(m, ops->name, NODE_DIR, ROOT_NODE, NULL, false);
		add_attrs(m, dir, ops->attrs, true);
	}
}

static void bitmap_name(const struct mig_range *r, char *buf, size_t len)
{
	snprintf(buf, len, "%08" PRIx64 "-%08" PRIx64, r->start, r->start + r->length);
}

/* The range a bitmap inode stands for now. */
static int bitmap_range(struct mount *m, fuse_ino_t ino, struct mig_range *out)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n = migdev_dirty_ranges(m->dev, r);

	if (!m->dirty_dir || ino < BITMAP_INO || ino - BITMAP_INO >= n)
		return -ENOENT;
	*out = r[ino - BITMAP_INO];
	return 0;
}

static const struct node *ino_node(struct mount *m, fuse_ino_t ino)
{
	if (ino == 0 || ino > m->nnodes)
		return NULL;
	return &m->nodes[ino - 1];
}

static mode_t node_mode(const struct node *n)
{
	switch (n->kind) {
	case NODE_DIR:
		return S_IFDIR | 0555;
	case NODE_DATA:
		return S_IFREG | 0600;
	default:
		return S_IFREG | n->attr->mode;
	}
}

static int fill_attr(struct mount *m, fuse_ino_t ino, struct stat *st)
{
	const struct node *n = ino_node(m, ino);
	struct mig_range r;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_blksize = IO_SIZE;
	st->st_nlink = 1;
	if (n) {
		st->st_mode = node_mode(n);
		st->st_nlink = n->kind == NODE_DIR ? 2 : 1;
		st->st_size = n->kind == NODE_ATTR ? ATTR_SIZE : 0;
		return 0;
	}
	if (bitmap_range(m, ino, &r))
		return -ENOENT;
	st->st_mode = S_IFREG | 0600;
	st->st_size = (off_t)dirty_bitmap_bytes(r.length, migdev_dirty_page_size(m->dev));
	return 0;
}

static void reply_entry(fuse_req_t req, struct mount *m, fuse_ino_t ino,
			double timeout)
{
	struct fuse_entry_param e = { .ino = ino, .attr_timeout = timeout,
				      .entry_timeout = timeout };
	int err = fill_attr(m, ino, &e.attr);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

/* dirty/START-END: accept exactly the names readdir shows. */
static fuse_ino_t lookup_bitmap(struct mount *m, const char *name)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n = migdev_dirty_ranges(m->dev, r);
	char buf[48];

	for (unsigned int i = 0; i < n; i++) {
		bitmap_name(&r[i], buf, sizeof(buf));
		if (!strcmp(buf, name))
			return BITMAP_INO + i;
	}
	return 0;
}

static void migfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mount *m = req_mount(req);
	fuse_ino_t ino;

	for (unsigned int i = 1; i < m->nnodes; i++) {
		if (m->nodes[i].parent + 1 == parent && !strcmp(m->nodes[i].name, name)) {
			reply_entry(req, m, i + 1, STATIC_TIMEOUT);
			return;
		}
	}
	if (m->dirty_dir && parent == m->dirty_dir + 1 &&
	    (ino = lookup_bitmap(m, name))) {
		reply_entry(req, m, ino, 0);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void migfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = req_mount(req);
	struct stat st;
	int err = fill_attr(m, ino, &st);

	(void)fi;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, ino_node(m, ino) ? STATIC_TIMEOUT : 0);
}

/* Only truncation to 0 (shell redirection with O_TRUNC) is accepted. */
static void migfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	if (to_set != FUSE_SET_ATTR_SIZE || attr->st_size != 0) {
		fuse_reply_err(req, EPERM);
		return;
	}
	migfs_getattr(req, ino, fi);
}

/* Entry idx of a directory listing, after "." and "..". */
static bool dir_entry(struct mount *m, fuse_ino_t dir, unsigned int idx,
		      char *name, size_t len, struct stat *st)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n;

	for (unsigned int i = 1; i < m->nnodes; i++) {
		if (m->nodes[i].parent + 1 != dir)
			continue;
		if (idx-- == 0) {
			snprintf(name, len, "%s", m->nodes[i].name);
			return fill_attr(m, i + 1, st) == 0;
		}
	}
	if (!m->dirty_dir || dir != m->dirty_dir + 1)
		return false;
	n = migdev_dirty_ranges(m->dev, r);
	if (idx >= n)
		return false;
	bitmap_name(&r[idx], name, len);
	return fill_attr(m, BITMAP_INO + idx, st) == 0;
}

static void migfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct mount *m = req_mount(req);
	const struct node *n = ino_node(m, ino);
	char *buf, name[64];
	size_t used = 0;
	struct stat st;

	(void)fi;
	if (!n || n->kind != NODE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off; ; i++) {
		size_t want;

		memset(&st, 0, sizeof(st));
		if (i < 2) {
			snprintf(name, sizeof(name), i ? ".." : ".");
			st.st_mode = S_IFDIR;
		} else if (!dir_entry(m, ino, (unsigned int)(i - 2), name, sizeof(name), &st)) {
			break;
		}
		want = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (want > size - used)
			break;
		used += want;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/*
 * `data` has one opener at a time.  RELEASE comes asynchronously after the
 * last close, so a script's next `cat data` could still find the last one
 * open; FLUSH comes synchronously with every close.  So a close gives up
 * the claim, and a handle still open elsewhere (a dup) claims it again on
 * its next read or write, if nobody else took it in between.
 */
static void unclaim(struct mount *m, struct handle *h)
{
	if (h->claimed)
		migdev_data_release(m->dev);
	h->claimed = false;
}

static int claim(struct mount *m, struct handle *h)
{
	int err = h->claimed ? 0 : migdev_data_open(m->dev);

	h->claimed = !err;
	return err;
}

/*
 * poll(2) on `state`, `status` and `log`, as on a sysfs attribute after
 * sysfs_notify(): a file reports POLLPRI|POLLIN once its counter moved past
 * what the file last rendered, and nothing before, so that waiting for
 * either blocks until a change.  Reading from offset 0 re-arms it.
 */
static bool pollable(const struct node *n)
{
	return n && n->kind == NODE_ATTR && n->attr->poll != MIG_POLL_NONE;
}

static uint64_t node_events(struct mount *m, const struct node *n)
{
	return pollable(n) ? migdev_events(m->dev, n->attr->poll == MIG_POLL_STATE) : 0;
}

static void poller_remove(struct mount *m, struct handle *h)
{
	for (struct handle **p = &m->pollers; *p; p = &(*p)->next_poller) {
		if (*p == h) {
			*p = h->next_poller;
			break;
		}
	}
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	h->ph = NULL;
}

/* The device's change callback: wake every poller whose file changed. */
static void notify_pollers(void *arg)
{
	struct mount *m = arg;
	struct handle **p = &m->pollers, *h;

	pthread_mutex_lock(&m->poll_lock);
	while ((h = *p)) {
		if (node_events(m, h->node) == h->seen) {
			p = &h->next_poller;
			continue;
		}
		*p = h->next_poller;
		fuse_lowlevel_notify_poll(h->ph);
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
	pthread_mutex_unlock(&m->poll_lock);
}

static void migfs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		       struct fuse_pollhandle *ph)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = req_mount(req);
	unsigned int revents = 0;

	(void)ino;
	if (!pollable(h->node)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		return;
	}
	/* Counters move before the callback takes this lock: no lost wake-up. */
	pthread_mutex_lock(&m->poll_lock);
	if (node_events(m, h->node) != h->seen) {
		revents = POLLPRI | POLLIN | POLLRDNORM;
	} else if (ph) {
		if (!h->ph) {
			h->next_poller = m->pollers;
			m->pollers = h;
		} else {
			fuse_pollhandle_destroy(h->ph);
		}
		h->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&m->poll_lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, revents);
}

static int open_check(const struct node *n, int flags)
{
	int acc = flags & O_ACCMODE;

	if (n->kind != NODE_ATTR)
		return 0;
	/* As kernfs does: no show, no reading; no store, no writing. */
	if (acc != O_WRONLY && !n->attr->show)
		return -EACCES;
	if (acc != O_RDONLY && !n->attr->store)
		return -EACCES;
	return 0;
}

static void migfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = req_mount(req);
	const struct node *n = ino_node(m, ino);
	struct handle *h;
	int err;

	if (n && n->kind == NODE_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->node = n;
	h->seen = node_events(m, n);
	err = n ? open_check(n, fi->flags) : bitmap_range(m, ino, &h->range);
	if (!err && n && n->kind == NODE_DATA) {
		err = migdev_data_open(m->dev);
		h->claimed = !err;
		fi->nonseekable = 1;
	}
	if (err) {
		free(h);
		fuse_reply_err(req, -err);
		return;
	}
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* Interrupted: release will not come. */
		unclaim(m, h);
		free(h);
	}
}

/* close(2) of `data` reports a refusal its last writes were answered before. */
static void migfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = req_mount(req);
	int err = 0;

	(void)ino;
	if (h->node && h->node->kind == NODE_DATA)
		err = wb_drain(&m->wb, true);
	unclaim(m, h);
	fuse_reply_err(req, -err);
}

static void migfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = req_mount(req);

	(void)ino;
	unclaim(m, h);
	pthread_mutex_lock(&m->poll_lock);
	poller_remove(m, h);
	pthread_mutex_unlock(&m->poll_lock);
	sb_free(&h->text);
	sb_free(&h->written);
	free(h);
	fuse_reply_err(req, 0);
}

/* One I/O buffer per worker thread: no allocation on the data path. */
static __thread void *iobuf;

static void *io_buffer(void)
{
	if (!iobuf)
		iobuf = malloc(IO_SIZE);
	return iobuf;
}

void fs_thread_exit(void)
{
	free(iobuf);
	iobuf = NULL;
}

static int attr_show(struct mount *m, const struct node *n, struct strbuf *sb)
{
	sb_reset(sb);
	if (n->backend)
		return migdev_attr_show(m->dev, n->attr, sb);
	return n->attr->show(m->dev, sb);
}

/* Render at offset 0 (or on first read); later offsets read the snapshot. */
static void read_attr(fuse_req_t req, struct handle *h, void *buf, size_t size,
		      off_t off)
{
	struct mount *m = req_mount(req);
	int err;

	if (off == 0 || !h->rendered) {
		/* Before the render: a change during it wakes the next poll. */
		pthread_mutex_lock(&m->poll_lock);
		h->seen = node_events(m, h->node);
		pthread_mutex_unlock(&m->poll_lock);
		err = attr_show(m, h->node, &h->text);
		if (err) {
			fuse_reply_err(req, -err);
			return;
		}
		h->rendered = true;
	}
	if ((size_t)off >= h->text.len)
		size = 0;
	else if (size > h->text.len - (size_t)off)
		size = h->text.len - (size_t)off;
	/*
	 * Reply from this worker's buffer: once the reader has its bytes it
	 * may close, and release (on another worker) frees the snapshot
	 * while this writev is still returning.
	 */
	if (size)
		memcpy(buf, h->text.buf + off, size);
	fuse_reply_buf(req, buf, size);
}

static void reply_io(fuse_req_t req, ssize_t n, const void *buf)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/* Drop a pump whose session is over, or any (session 0); pump_lock held. */
static void pump_reap(struct mount *m, uint64_t session)
{
	if (m->pump && pump_session(m->pump) != session) {
		pump_end(m->pump);
		m->pump = NULL;
	}
}

/* Free a read-ahead whose session the device has left (by a store or alone). */
static void pump_reap_ended(struct mount *m)
{
	struct migdev_stream st = { 0 };
	enum mig_state s;

	pthread_mutex_lock(&m->pump_lock);
	if (m->pump && migdev_stream_bind(m->dev, &st, true, &s) == 0)
		pump_reap(m, st.session);
	else
		pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
}

/*
 * The pump for h's next read, started if the session is in STOP_COPY;
 * pump_lock held.  A handle of the pump's session is not checked again:
 * the device lock would wait for the pump's fill, and the pump's own
 * reads check the session.
 */
static struct pump *pump_for(struct mount *m, struct handle *h, int *err)
{
	enum mig_state s;

	if (m->pump && pump_session(m->pump) == h->stream.session)
		return m->pump;
	*err = migdev_stream_bind(m->dev, &h->stream, true, &s);
	if (*err)
		return NULL;
	pump_reap(m, h->stream.session);
	if (!m->pump && s == MIG_STOP_COPY)
		m->pump = pump_start(m->dev, &h->stream);
	return m->pump;
}

/*
 * In STOP_COPY nothing but the reader decides how fast the stream goes, so
 * a pump reads it ahead (pump.c); elsewhere (PRE_COPY) the reader must see
 * what the device has now, and reads go straight to it.
 */
static void read_data(fuse_req_t req, struct mount *m, struct handle *h,
		      void *buf, size_t size)
{
	struct pump *p;
	int err = claim(m, h);

	pthread_mutex_lock(&m->pump_lock);
	p = err ? NULL : pump_for(m, h, &err);
	if (p && !pump_read(p, req, size))
		pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
	if (err) {
		/* The device may have left the session on its own. */
		pump_reap_ended(m);
		fuse_reply_err(req, -err);
	} else if (!p) {
		reply_io(req, migdev_read(m->dev, &h->stream, buf, size), buf);
	}
}

static void migfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = req_mount(req);
	void *buf = io_buffer();

	(void)ino;
	if (size > IO_SIZE)
		size = IO_SIZE;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
	} else if (!h->node) {
		reply_io(req, migdev_dirty_read(m->dev, h->range, (uint64_t)off, buf, size), buf);
	} else if (h->node->kind == NODE_DATA) {
		read_data(req, m, h, buf, size);
	} else {
		read_attr(req, h, buf, size, off);
	}
}

/* All of it, or the device's error: the writer may have been answered. */
static int load(struct migdev *dev, struct handle *h, const char *buf,
		size_t size)
{
	while (size) {
		ssize_t n = migdev_write(dev, &h->stream, buf, size);

		if (n <= 0)
			return n ? (int)n : -EIO;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

/*
 * Answered before its load where writebehind.c allows.  Only a write with
 * none ahead of it checks the session first: behind others the handle is
 * bound, the device lock would wait for their loads, and its own load
 * checks the session again.
 */
static void write_data(fuse_req_t req, struct mount *m, struct handle *h,
		       const char *buf, size_t size)
{
	struct wb_ticket t;
	enum mig_state s;
	int err = claim(m, h) ?: wb_enter(&m->wb, size, &t);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	if (t.alone)
		err = migdev_stream_bind(m->dev, &h->stream, false, &s);
	t.early = t.early && !err;
	if (t.early)
		fuse_reply_write(req, size);
	err = err ?: wb_turn(&m->wb, &t) ?: load(m->dev, h, buf, size);
	wb_leave(&m->wb, &t, err);
	if (t.early)
		return;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

/*
 * The value is everything written through this open since offset 0: the
 * shell's builtins write a multi-line value one line at a time, and each
 * write stores the whole value so far (storing it again is harmless).
 */
static int store_attr(struct mount *m, struct handle *h, const char *buf,
		      size_t size, off_t off)
{
	const struct node *n = h->node;
	int err;

	if (off == 0)
		sb_reset(&h->written);
	if (memchr(buf, '\0', size) || h->written.len + size > MAX_STORE)
		return -EINVAL;
	if (sb_add(&h->written, buf, size))
		return -ENOMEM;
	/* A transition comes after every byte written before it. */
	wb_drain(&m->wb, false);
	if (n->backend)
		err = migdev_attr_store(m->dev, n->attr, h->written.buf);
	else
		err = n->attr->store(m->dev, h->written.buf);
	pump_reap_ended(m);
	return err;
}

static void migfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = req_mount(req);
	int err;

	(void)ino;
	if (h->node && h->node->kind == NODE_DATA) {
		write_data(req, m, h, buf, size);
		return;
	}
	err = h->node ? store_attr(m, h, buf, size, off) : -EPERM;
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

static void migfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Each value is rendered per open; nothing may be cached. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

/* Unmounted: no reader will come for what was read ahead. */
static void migfs_destroy(void *userdata)
{
	struct mount *m = userdata;

	pthread_mutex_lock(&m->pump_lock);
	pump_reap(m, 0);
	pthread_mutex_unlock(&m->pump_lock);
}

const struct fuse_lowlevel_ops migfs_ops = {
	.init = migfs_init,
	.destroy = migfs_destroy,
	.lookup = migfs_lookup,
	.getattr = migfs_getattr,
	.setattr = migfs_setattr,
	.readdir = migfs_readdir,
	.open = migfs_open,
	.flush = migfs_flush,
	.release = migfs_release,
	.read = migfs_read,
	.write = migfs_write,
	.poll = migfs_poll,
};

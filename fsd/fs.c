// SPDX-License-Identifier: MIT
/*
 * The open files of a device directory: their lifetime, and reading and
 * writing their text values.  Names are tree.c's, `data` is data.c's and
 * poll(2) is poll.c's.
 *
 * Every open file is on its mount's list until RELEASE, so that files
 * still open when a session ends (umount -l, or the daemon's exit: no
 * RELEASE comes then) are freed with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-migfsd.h"

#define MAX_STORE	(64 * 1024)	/* the largest value one open may build */
#define MAX_USER_OPENS	1024	/* files one untrusted user may hold open */

void fs_init(struct mount *m)
{
	pthread_mutex_init(&m->pump_lock, NULL);
	pthread_mutex_init(&m->open_lock, NULL);
	pthread_mutex_init(&m->log_lock, NULL);
	wb_init(&m->wb);
	poll_init(m);
	tree_build(m);
}

static struct handle *fh_handle(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

bool fs_trusted(uid_t uid)
{
	return uid == 0 || uid == getuid();
}

static struct user_opens **user_find_locked(struct mount *m, uid_t uid)
{
	struct user_opens **p = &m->users;

	while (*p && (*p)->uid != uid)
		p = &(*p)->next;
	return p;
}

/*
 * Count a file uid opens, or refuse it (EMFILE) past MAX_USER_OPENS: with
 * -o allow_other anyone may open the 0444 files, and each open costs the
 * daemon memory and a place in the lists a stat of `log` once walked.
 */
static int user_open(struct mount *m, uid_t uid)
{
	struct user_opens **p, *u;
	int err = 0;

	if (fs_trusted(uid))
		return 0;
	pthread_mutex_lock(&m->open_lock);
	p = user_find_locked(m, uid);
	if (!*p && (u = calloc(1, sizeof(*u)))) {
		u->uid = uid;
		*p = u;
	}
	if (!*p)
		err = -ENOMEM;
	else if ((*p)->n == MAX_USER_OPENS)
		err = -EMFILE;
	else
		(*p)->n++;
	pthread_mutex_unlock(&m->open_lock);
	return err;
}

static void user_close_locked(struct mount *m, uid_t uid)
{
	struct user_opens **p, *u;

	if (fs_trusted(uid))
		return;
	p = user_find_locked(m, uid);
	u = *p;
	if (u && --u->n == 0) {
		*p = u->next;
		free(u);
	}
}

static void user_close(struct mount *m, uid_t uid)
{
	pthread_mutex_lock(&m->open_lock);
	user_close_locked(m, uid);
	pthread_mutex_unlock(&m->open_lock);
}

static void link_handle(struct mount *m, struct handle *h)
{
	pthread_mutex_lock(&m->open_lock);
	h->prev = NULL;
	h->next = m->open;
	if (m->open)
		m->open->prev = h;
	m->open = h;
	pthread_mutex_unlock(&m->open_lock);
}

static void unlink_handle(struct mount *m, struct handle *h)
{
	pthread_mutex_lock(&m->open_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		m->open = h->next;
	if (h->next)
		h->next->prev = h->prev;
	user_close_locked(m, h->uid);
	pthread_mutex_unlock(&m->open_lock);
}

static void free_handle(struct mount *m, struct handle *h)
{
	data_unclaim(m, h);
	poll_forget(m, h);
	if (h->node && h->node->kind == NODE_LOG)
		logfile_release(m, h);
	sb_free(&h->text);
	sb_free(&h->written);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void fs_session_end(struct mount *m)
{
	struct handle *h, *next;
	struct user_opens *u;

	pthread_mutex_lock(&m->open_lock);
	h = m->open;
	m->open = NULL;
	while ((u = m->users)) {
		m->users = u->next;
		free(u);
	}
	pthread_mutex_unlock(&m->open_lock);
	for (; h; h = next) {
		next = h->next;
		free_handle(m, h);
	}
	data_reap_all(m);
}

static int open_check(const struct node *n, int flags)
{
	int acc = flags & O_ACCMODE;

	if (n->kind == NODE_LOG)
		return acc == O_RDONLY ? 0 : -EACCES;
	if (n->kind != NODE_ATTR)
		return 0;
	/* As kernfs does: no show, no reading; no store, no writing. */
	if (acc != O_WRONLY && !n->attr->show)
		return -EACCES;
	if (acc != O_RDONLY && !n->attr->store)
		return -EACCES;
	return 0;
}

/* A new handle for node n (NULL: the bitmap file ino), or -errno. */
static int new_handle(struct mount *m, fuse_ino_t ino, const struct node *n,
		      struct fuse_file_info *fi, struct handle **hp)
{
	struct handle *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->node = n;
	err = n ? open_check(n, fi->flags) : tree_bitmap_range(m, ino, &h->range);
	if (!err && n && n->kind == NODE_DATA) {
		err = data_open(m, h);
		fi->nonseekable = 1;
	}
	if (!err && n && n->kind == NODE_LOG)
		err = logfile_open(m, h);
	if (err) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return err;
	}
	h->append = fi->flags & O_APPEND;
	if (n)
		poll_rendered(m, h);
	*hp = h;
	return 0;
}

static void migfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mount *m = fuse_req_userdata(req);
	const struct node *n = tree_node(m, ino);
	uid_t uid = fuse_req_ctx(req)->uid;
	struct handle *h;
	int err;

	if (n && n->kind == NODE_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	err = user_open(m, uid);
	if (!err) {
		err = new_handle(m, ino, n, fi, &h);
		if (err)
			user_close(m, uid);
	}
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	h->uid = uid;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	link_handle(m, h);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* Interrupted: release will not come. */
		unlink_handle(m, h);
		free_handle(m, h);
	}
}

/*
 * Every refusal is recorded (dash prints each errno of `echo` as "I/O
 * error"): the file and the value are what the store function lacks.
 */
static int store(struct mount *m, const struct node *n, const char *value)
{
	uint64_t failures = migdev_failures(m->dev);
	int err;

	/* A transition comes after every byte written before it. */
	wb_drain(&m->wb, false);
	poll_storing(n);
	err = attr_store(m, n, value);
	poll_storing(NULL);
	if (err)
		migdev_refused(m->dev, failures, n->name, value, err);
	/*
	 * The kernel takes the size of an O_TRUNC open for 0, and that of a
	 * write for the bytes written: the value's own size only when it
	 * shows what was written (`echo stop > state`, which then costs no
	 * new look at its attributes at the next open).
	 */
	if (err || !n->attr->verbatim || !n->attr->verbatim(value))
		poll_inval(m, n);
	data_reap_ended(m);
	return err;
}

/*
 * Store what was written through h, all of it a value (or a list) whose
 * pieces may have come in several writes.  A refused store drops the
 * writes since before; a one-value file starts a new value after a store.
 */
static int store_written(struct mount *m, struct handle *h, size_t before)
{
	int err = store(m, h->node, h->written.buf);

	if (err) {
		h->written.len = before;
		h->written.buf[before] = '\0';
	} else if (!h->node->attr->lines) {
		h->value_off += h->written.len;
		sb_reset(&h->written);
	}
	return err;
}

/* Written since the last store, without the newline that would store it. */
static bool pending(const struct handle *h)
{
	return h->written.len && h->written.buf[h->written.len - 1] != '\n';
}

/*
 * A list (dirty/ranges) is everything written through this open since
 * offset 0: the shell's builtins write a multi-line value one line at a
 * time, and each line stores the whole list so far (storing it again is
 * harmless).  A one-value file takes each newline-terminated value as a
 * store of its own, as sysfs does, so `exec 5>state; echo stop >&5; echo
 * running >&5` performs both.  Nothing is stored before its newline: the
 * pieces of a value split across writes (`dd bs=4`, `run` then `ning\n`)
 * are no values of their own, and a value without one is stored at
 * close(2) (store_at_flush).  A write must continue the value (or start
 * again at offset 0); a refused one is dropped from it, as the file
 * offset does not move.
 */
static int store_attr(struct mount *m, struct handle *h, const char *buf,
		      size_t size, off_t off)
{
	uint64_t end = h->value_off + h->written.len;
	size_t before;

	if (h->append)
		off = (off_t)end;
	if (off == 0) {
		h->value_off = 0;
		sb_reset(&h->written);
	} else if ((uint64_t)off != end) {
		return -EINVAL;
	}
	if (memchr(buf, '\0', size) || h->written.len + size > MAX_STORE)
		return -EINVAL;
	before = h->written.len;
	if (sb_add(&h->written, buf, size))
		return -ENOMEM;
	return pending(h) ? 0 : store_written(m, h, before);
}

/*
 * close(2): a value written without its newline (`echo -n running >
 * state`) is stored now, and close returns its refusal.  Its bytes were
 * accepted by write(2), and the file offset moved past them: a one-value
 * file's next value starts after them either way.
 */
static int store_at_flush(struct mount *m, struct handle *h)
{
	int err;

	if (!pending(h))
		return 0;
	err = store(m, h->node, h->written.buf);
	if (!h->node->attr->lines) {
		h->value_off += h->written.len;
		sb_reset(&h->written);
	}
	return err;
}

/*
 * close(2) of `data` reports a refusal its last writes were answered
 * before; of a text file, it stores a value written without a newline.
 */
static void migfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = fh_handle(fi);
	struct mount *m = fuse_req_userdata(req);
	int err = 0;

	(void)ino;
	if (h->node && h->node->kind == NODE_DATA)
		err = wb_drain(&m->wb, true);
	if (h->node && h->node->kind == NODE_ATTR) {
		pthread_mutex_lock(&h->lock);
		err = store_at_flush(m, h);
		pthread_mutex_unlock(&h->lock);
	}
	data_unclaim(m, h);
	fuse_reply_err(req, -err);
}

static void migfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = fh_handle(fi);
	struct mount *m = fuse_req_userdata(req);

	(void)ino;
	unlink_handle(m, h);
	free_handle(m, h);
	fuse_reply_err(req, 0);
}

/*
 * A reader at the end of its snapshot gets what was added since if the
 * value only grew; a value that changed otherwise ends where the snapshot
 * did.
 */
static int render_more(struct mount *m, struct handle *h)
{
	struct strbuf now = { 0 };
	int err = attr_show(m, h->node, &now);

	if (!err && now.len > h->text.len &&
	    !memcmp(now.buf, h->text.buf, h->text.len)) {
		sb_free(&h->text);
		h->text = now;
		return 0;
	}
	sb_free(&now);
	return err;
}

/*
 * Render at offset 0 (or on first read); later offsets read the snapshot.
 * The reply is copied out under the handle's lock: another worker may
 * render the same open file again, and once the reader has its bytes it
 * may close, and release (on another worker) frees the snapshot.
 */
static void read_attr(fuse_req_t req, struct mount *m, struct handle *h,
		      size_t size, off_t off)
{
	void *buf = io_buffer();
	int err = buf ? 0 : -ENOMEM;

	pthread_mutex_lock(&h->lock);
	if (!err && (off == 0 || !h->rendered)) {
		poll_rendered(m, h);
		err = attr_show(m, h->node, &h->text);
		h->rendered = !err;
	} else if (!err && (size_t)off >= h->text.len) {
		err = render_more(m, h);
	}
	if (err || (size_t)off >= h->text.len)
		size = 0;
	else if (size > h->text.len - (size_t)off)
		size = h->text.len - (size_t)off;
	if (size)
		memcpy(buf, h->text.buf + off, size);
	pthread_mutex_unlock(&h->lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, size);
}

static void migfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct handle *h = fh_handle(fi);
	struct mount *m = fuse_req_userdata(req);
	void *buf;

	(void)ino;
	if (size > IO_SIZE)
		size = IO_SIZE;
	if (h->node && h->node->kind == NODE_DATA) {
		data_read(req, m, h, size);
	} else if (h->node && h->node->kind == NODE_LOG) {
		logfile_read(req, m, h, size, off);
	} else if (h->node) {
		read_attr(req, m, h, size, off);
	} else if (!(buf = io_zero_buffer())) {
		fuse_reply_err(req, ENOMEM);
	} else {
		size_t touched;
		ssize_t n = migdev_dirty_read_zeroed(m->dev, h->range, (uint64_t)off, buf,
						     size, &touched);

		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		memset(buf, 0, touched);
	}
}

static void migfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = fh_handle(fi);
	struct mount *m = fuse_req_userdata(req);
	int err = -EPERM;

	(void)ino;
	if (h->node && h->node->kind == NODE_DATA) {
		data_write(req, m, h, buf, size);
		return;
	}
	if (h->node && h->node->kind == NODE_ATTR) {
		pthread_mutex_lock(&h->lock);
		err = store_attr(m, h, buf, size, off);
		pthread_mutex_unlock(&h->lock);
	}
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
	data_reap_all(userdata);
}

const struct fuse_lowlevel_ops migfs_ops = {
	.init = migfs_init,
	.destroy = migfs_destroy,
	.lookup = tree_lookup,
	.getattr = tree_getattr,
	.setattr = tree_setattr,
	.readdir = tree_readdir,
	.open = migfs_open,
	.flush = migfs_flush,
	.release = migfs_release,
	.read = migfs_read,
	.write = migfs_write,
	.poll = poll_request,
};

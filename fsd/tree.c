// SPDX-License-Identifier: MIT
/*
 * The names of one device directory.  Inode n + 1 is node n of the
 * mount's table, which is built once and never changes; dirty/START-END
 * bitmap files, which come and go with dirty/ranges, are inodes
 * BITMAP_INO + range index.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-migfsd.h"

#define BITMAP_INO	(1ull << 20)
#define STATIC_TIMEOUT	1.0
#define BITMAP_MODE	(S_IFREG | 0600)

static void add_node(struct mount *m, const char *name, enum node_kind kind,
		     unsigned int parent, const struct mig_attr *attr, bool dev_locked)
{
	m->nodes[m->nnodes++] = (struct node){ name, kind, parent, attr, dev_locked };
}

static void add_attrs(struct mount *m, unsigned int dir,
		      const struct mig_attr *attrs, bool dev_locked)
{
	for (const struct mig_attr *a = attrs; a->name; a++)
		add_node(m, a->name, NODE_ATTR, dir, a, dev_locked);
}

void tree_build(struct mount *m)
{
	const struct migdev_ops *ops = m->dev->ops;

	m->nnodes = 0;
	add_node(m, "", NODE_DIR, ROOT_NODE, NULL, false);
	add_attrs(m, ROOT_NODE, root_attrs, false);
	add_node(m, "log", NODE_LOG, ROOT_NODE, NULL, false);
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

int tree_bitmap_range(struct mount *m, fuse_ino_t ino, struct mig_range *out)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n = migdev_dirty_ranges(m->dev, r);

	if (!m->dirty_dir || ino < BITMAP_INO || ino - BITMAP_INO >= n)
		return -ENOENT;
	*out = r[ino - BITMAP_INO];
	return 0;
}

const struct node *tree_node(struct mount *m, fuse_ino_t ino)
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
	case NODE_LOG:
		return S_IFREG | 0444;
	default:
		return S_IFREG | n->attr->mode;
	}
}

/*
 * Whether the caller may open a file of this mode for reading, as the
 * kernel's default_permissions checks at open: root, the daemon's user by
 * the owner bits, anyone else by the others bits (the group bits are the
 * others bits in every mode here).  Only for such a caller does stat do
 * device work: anyone may stat a file of a mount with -o allow_other.
 */
static bool caller_reads(fuse_req_t req, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (ctx->uid == 0)
		return true;
	return ctx->uid == getuid() ? mode & S_IRUSR : mode & S_IROTH;
}

/*
 * A text file's size is the length of its value now, so that tail, less
 * and tar read it right (sysfs says 4096 whatever the value).  A value
 * that cannot be rendered now (precopy outside pre_copy) is empty.  For a
 * caller who may not read it, the length of its last rendering, with no
 * device work and no device lock.
 */
static off_t attr_length(struct mount *m, const struct node *n, bool render)
{
	struct strbuf sb = { 0 };
	off_t len = 0;

	if (!render)
		return (off_t)attr_shown(m, n);
	if (n->attr->show && !attr_show(m, n, &sb))
		len = (off_t)sb.len;
	sb_free(&sb);
	return len;
}

static void set_times(struct stat *st, struct timespec at)
{
	st->st_atim = st->st_mtim = st->st_ctim = at;
}

/*
 * `data` is a stream: size 0, as procfs says of what it makes at read, and
 * when the stream last moved (epoch to a caller who may not open it: the
 * device's lock keeps that time).  A size would be trusted: coreutils'
 * `wc -c < data` prints a regular file's size without reading it when
 * lseek fails, and tar reads exactly that many bytes.  A bitmap file has
 * its size, and when it was last read (a read clears what it reports).
 */
static void fill_data(struct mount *m, struct stat *st, bool reads)
{
	st->st_size = 0;
	if (reads)
		set_times(st, migdev_data_at(m->dev));
}

/*
 * h: the open file a getattr came with (lseek(SEEK_END)), or NULL.
 * *rendered: whether the answer is fresh, or a text file's last length.
 */
static int fill_attr(fuse_req_t req, fuse_ino_t ino, const struct handle *h,
		     struct stat *st, bool *rendered)
{
	struct mount *m = fuse_req_userdata(req);
	const struct node *n = tree_node(m, ino);
	struct mig_range r;
	bool reads;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_blksize = IO_SIZE;
	st->st_nlink = 1;
	*rendered = true;
	if (n) {
		st->st_mode = node_mode(n);
		st->st_nlink = n->kind == NODE_DIR ? 2 : 1;
		reads = caller_reads(req, st->st_mode);
		if (n->kind == NODE_ATTR && reads)
			poll_attrs_out(m, n);
		if (n->kind == NODE_ATTR)
			st->st_size = attr_length(m, n, reads);
		else if (n->kind == NODE_DATA)
			fill_data(m, st, reads);
		else if (n->kind == NODE_LOG)
			st->st_size = logfile_size(m, h);
		*rendered = reads || n->kind != NODE_ATTR;
		return 0;
	}
	if (tree_bitmap_range(m, ino, &r))
		return -ENOENT;
	st->st_mode = BITMAP_MODE;
	st->st_size = (off_t)dirty_bitmap_bytes(r.length, migdev_dirty_page_size(m->dev));
	set_times(st, migdev_dirty_read_at(m->dev, r));
	return 0;
}

/*
 * What the streams say in stat moves all the time, and `tail -f log` polls
 * it: the kernel keeps none of it.  A text file's keeps for a second: a
 * permission check at each open asks again once it is stale.  A text
 * file's last length given to a caller who may not read it is kept by the
 * kernel for no one: its owner's next stat asks again.
 */
static double attr_timeout(struct mount *m, fuse_ino_t ino, bool rendered)
{
	const struct node *n = tree_node(m, ino);

	if (!n || !rendered)
		return 0;
	return n->kind == NODE_DIR || n->kind == NODE_ATTR ? STATIC_TIMEOUT : 0;
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino, double timeout)
{
	struct fuse_entry_param e = { .ino = ino, .entry_timeout = timeout };
	bool rendered;
	int err = fill_attr(req, ino, NULL, &e.attr, &rendered);

	e.attr_timeout = attr_timeout(fuse_req_userdata(req), ino, rendered);
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

void tree_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mount *m = fuse_req_userdata(req);
	fuse_ino_t ino;

	for (unsigned int i = 1; i < m->nnodes; i++) {
		if (m->nodes[i].parent + 1 == parent && !strcmp(m->nodes[i].name, name)) {
			reply_entry(req, i + 1, STATIC_TIMEOUT);
			return;
		}
	}
	if (m->dirty_dir && parent == m->dirty_dir + 1 &&
	    (ino = lookup_bitmap(m, name))) {
		reply_entry(req, ino, 0);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

void tree_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct handle *h = fi ? (const struct handle *)(uintptr_t)fi->fh : NULL;
	struct stat st;
	bool rendered;
	int err = fill_attr(req, ino, h, &st, &rendered);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, attr_timeout(fuse_req_userdata(req), ino, rendered));
}

/* Only truncation to 0 (truncate(2) to 0; shell `>` comes with open) is accepted. */
void tree_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi)
{
	if (to_set != FUSE_SET_ATTR_SIZE || attr->st_size != 0) {
		fuse_reply_err(req, EPERM);
		return;
	}
	tree_getattr(req, ino, fi);
}

/*
 * Entry idx of a directory listing, after "." and "..": its name, inode
 * and type, all that readdir(3) gives; ls -l asks stat for the rest.
 */
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
			st->st_ino = i + 1;
			st->st_mode = node_mode(&m->nodes[i]);
			return true;
		}
	}
	if (!m->dirty_dir || dir != m->dirty_dir + 1)
		return false;
	n = migdev_dirty_ranges(m->dev, r);
	if (idx >= n)
		return false;
	bitmap_name(&r[idx], name, len);
	st->st_ino = BITMAP_INO + idx;
	st->st_mode = BITMAP_MODE;
	return true;
}

void tree_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	struct mount *m = fuse_req_userdata(req);
	const struct node *n = tree_node(m, ino);
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

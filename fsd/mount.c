// SPDX-License-Identifier: MIT
/*
 * Mountpoints: checked before anything is mounted, mounted, unmounted.
 * From the check until its mount, a mountpoint's directory is locked
 * (flock), so two daemons started on one path never both mount it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "mountinfo.h"
#include "probe.h"
#include "vfio-migfsd.h"

#define LOCK_RETRY_MS	10

/* In the probe's child: how the mount's daemon answers statfs(2). */
static ssize_t ask_statfs(const char *path, char *buf, size_t len)
{
	struct statfs sfs;

	(void)buf;
	(void)len;
	return statfs(path, &sfs) ? -errno : 0;
}

/*
 * A vfio-migfs mount on the path (mount ID id): a dead daemon's (statfs
 * answers ENOTCONN) is replaced; a live one's is busy, and so is one
 * whose daemon does not answer at all (stopped, or stuck in a driver),
 * which only a child process asks.
 */
static int replace_stale(const char *path, int id, char *err, size_t errlen)
{
	int now;

	ssize_t r = probe(ask_statfs, path, NULL, 0, PROBE_TIMEOUT_MS);

	if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "%s: busy: the vfio-migfsd serving it does not "
			 "answer (stopped or stuck for %d s)", path, PROBE_TIMEOUT_MS / 1000);
		return -EBUSY;
	}
	if (r == 0) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
	}
	if (r != -ENOTCONN) {
		snprintf(err, errlen, "%s: asking the mount there: %s", path, strerror((int)-r));
		return (int)r;
	}
	/*
	 * Another daemon starting there may have replaced it meanwhile, and
	 * mounted its own: detach only the mount that was asked.
	 */
	if (mount_kind_at(path, &now) == NOT_MOUNTED || now != id)
		return 0;
	if (umount2(path, MNT_DETACH) && errno != EINVAL) {
		snprintf(err, errlen, "%s: replacing a stale mount: %s", path, strerror(errno));
		return -errno;
	}
	log_warnx("%s: replaced the stale mount of a vfio-migfsd that died", path);
	return 0;
}

/*
 * The mountpoint's own directory, locked: daemons starting on one path
 * check and mount it one at a time (the lock is taken without waiting,
 * again and again until the deadline: whoever holds it may be stuck).
 */
static int lock_dir(const char *path, int *fd, char *err, size_t errlen)
{
	int tries = PROBE_TIMEOUT_MS / LOCK_RETRY_MS;

	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path,
			 e == ENOTDIR ? "not a directory" : strerror(e));
		return -e;
	}
	while (flock(*fd, LOCK_EX | LOCK_NB)) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || !tries--) {
			snprintf(err, errlen, "%s: busy: another vfio-migfsd is mounting it",
				 path);
			close(*fd);
			*fd = -1;
			return -EBUSY;
		}
		nanosleep(&(struct timespec){ 0, LOCK_RETRY_MS * 1000000L }, NULL);
	}
	return 0;
}

/* Whether the directory holds anything but "." and "..". */
static int dir_empty(int fd)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	struct dirent *ent;
	int empty = 1;

	if (!d) {
		int e = errno;

		if (dup_fd >= 0)
			close(dup_fd);
		return -e;
	}
	while (empty && (ent = readdir(d)))
		empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
	closedir(d);
	return empty;
}

int mount_check(struct mount *m, const struct options *o, char *err, size_t errlen)
{
	const char *path = m->mountpoint;
	int id, r;
	enum mount_kind kind = mount_kind_at(path, &id);

	if (kind == OTHER_MOUNT) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
	}
	if (kind == MIGFS_MOUNT && (r = replace_stale(path, id, err, errlen)))
		return r;
	if ((r = lock_dir(path, &m->lock_fd, err, errlen)))
		return r;
	/* Held: whoever mounted while this one waited has finished. */
	if (mount_kind_at(path, NULL) != NOT_MOUNTED) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
	}
	r = o->force_nonempty ? 1 : dir_empty(m->lock_fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!r) {
		snprintf(err, errlen, "%s: not empty: a mount would hide what it holds "
			 "(--force-nonempty mounts anyway)", path);
		return -ENOTEMPTY;
	}
	return 0;
}

/* fsname travels inside -o, where ',' and '\' must be escaped. */
static void escape_opt(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 2 < len; in++) {
		if (*in == ',' || *in == '\\')
			out[n++] = '\\';
		out[n++] = *in;
	}
	out[n] = '\0';
}

int mount_session(struct mount *m, const struct options *o, char *err, size_t errlen)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char name[512], opts[1024];
	int r;

	escape_opt(m->dev->name, name, sizeof(name));
	snprintf(opts, sizeof(opts),
		 "fsname=vfio-migfs:%s,subtype=vfio-migfs,default_permissions%s",
		 name, o->allow_other ? ",allow_other" : "");
	if (fuse_opt_add_arg(&args, "vfio-migfsd") ||
	    fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts)) {
		fuse_opt_free_args(&args);
		snprintf(err, errlen, "%s: out of memory", m->mountpoint);
		return -ENOMEM;
	}
	m->se = fuse_session_new(&args, &migfs_ops, sizeof(migfs_ops), m);
	fuse_opt_free_args(&args);
	if (!m->se) {
		snprintf(err, errlen, "%s: cannot create a FUSE session", m->mountpoint);
		return -EIO;
	}
	r = fuse_session_mount(m->se, m->mountpoint);
	/* Mounted or not: another daemon may check the path now. */
	close(m->lock_fd);
	m->lock_fd = -1;
	if (r) {
		fuse_session_destroy(m->se);
		m->se = NULL;
		snprintf(err, errlen, "%s: cannot mount (is /dev/fuse there?)", m->mountpoint);
		return -EIO;
	}
	/* Workers take requests from every session through one epoll set. */
	fcntl(fuse_session_fd(m->se), F_SETFL,
	      fcntl(fuse_session_fd(m->se), F_GETFL) | O_NONBLOCK);
	return 0;
}

void mount_end(struct mount *m)
{
	if (!m->se)
		return;
	fuse_session_unmount(m->se);
	fuse_session_destroy(m->se);
	m->se = NULL;
}

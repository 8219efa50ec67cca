// SPDX-License-Identifier: MIT
/*
 * Mountpoints: checked before anything is mounted, mounted, unmounted.
 * From the check until its mount, a mountpoint is locked (flock), so two
 * daemons started on one path never both mount it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#include <xxhash.h>

#include "mountinfo.h"
#include "probe.h"
#include "vfio-migfsd.h"

#define LOCK_RETRY_MS	10
#define LOCK_DIR	"/run/vfio-migfsd"

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
 * The file a mountpoint is locked by: named by the hash of its canonical
 * name, in a directory only root may enter, so that no other user can
 * hold it.  -1 with errno set when it cannot be made (not root).
 */
static int open_lock_file(const char *path)
{
	char name[sizeof(LOCK_DIR) + 24];

	snprintf(name, sizeof(name), LOCK_DIR "/%016" PRIx64,
		 (uint64_t)XXH64(path, strlen(path), 0));
	if (mkdir(LOCK_DIR, 0700) && errno != EEXIST)
		return -1;
	return open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/*
 * Lock fd, or close it: daemons starting on one path check and mount it
 * one at a time.  The lock is taken without waiting, again and again
 * until the deadline: whoever holds it may be stuck.
 */
static int take_lock(const char *path, int fd, char *err, size_t errlen)
{
	int tries = PROBE_TIMEOUT_MS / LOCK_RETRY_MS;

	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || !tries--) {
			snprintf(err, errlen, "%s: busy: another vfio-migfsd is mounting it",
				 path);
			close(fd);
			return -EBUSY;
		}
		nanosleep(&(struct timespec){ 0, LOCK_RETRY_MS * 1000000L }, NULL);
	}
	return 0;
}

/* Nothing mounted on the path, but a stale mount that was replaced. */
static int clear_mountpoint(const char *path, char *err, size_t errlen)
{
	int id;
	enum mount_kind kind = mount_kind_at(path, &id);

	if (kind == OTHER_MOUNT) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
	}
	return kind == MIGFS_MOUNT ? replace_stale(path, id, err, errlen) : 0;
}

/*
 * A daemon that cannot make a lock file (not root) locks the mountpoint's
 * directory itself, which anyone who may read it could hold as well (for
 * no longer than the bound), and only once a stale mount is gone from it
 * (the directory cannot be opened through one): whoever mounted while it
 * waited is seen after.
 */
static int lock_dir(const char *path, int *fd, char *err, size_t errlen)
{
	int r;

	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 r == -ENOTDIR ? "not a directory" : strerror(-r));
		return r;
	}
	if ((r = take_lock(path, *fd, err, errlen))) {
		*fd = -1;
		return r;
	}
	if (mount_kind_at(path, NULL) != NOT_MOUNTED) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
	}
	return 0;
}

/* Whether the directory holds anything but "." and "..", or -errno. */
static int dir_empty(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *ent;
	int empty = 1;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
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
	int r;

	/* Root's lock is held from the first look: a stale mount is replaced once. */
	m->lock_fd = open_lock_file(path);
	r = m->lock_fd < 0 ? -errno : 0;
	if (r && r != -EACCES && r != -EPERM && r != -EROFS) {
		snprintf(err, errlen, "%s: cannot make its lock: %s", path, strerror(-r));
		return r;
	}
	if (m->lock_fd >= 0 && (r = take_lock(path, m->lock_fd, err, errlen))) {
		m->lock_fd = -1;
		return r;
	}
	if ((r = clear_mountpoint(path, err, errlen)))
		return r;
	if (m->lock_fd < 0 && (r = lock_dir(path, &m->lock_fd, err, errlen)))
		return r;
	r = dir_empty(path);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, r == -ENOTDIR ? "not a directory" :
			 strerror(-r));
		return r;
	}
	if (!r && o->force_nonempty)
		log_warnx("%s: not empty: mounting over what it holds (--force-nonempty)", path);
	if (!r && !o->force_nonempty) {
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

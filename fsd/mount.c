// SPDX-License-Identifier: MIT
/* Mountpoints: checked before anything is mounted, mounted, unmounted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "mountinfo.h"
#include "vfio-migfsd.h"

/* "d/", "d/." and "d/./" name d: drop what adds nothing, lexically. */
static void trim_trailing_dots(char *path)
{
	size_t len = strlen(path);

	while (len > 1 && (path[len - 1] == '/' ||
			   (path[len - 1] == '.' && path[len - 2] == '/')))
		path[--len] = '\0';
}

/*
 * The one name of a mountpoint: symlinks, "." and ".." resolved.  One
 * directory given two ways is then seen as one, and libfuse, which
 * resolves a mountpoint again once it is mounted, only ever walks its
 * parent: "d/." would walk into the new mount, whose first request no
 * worker serves yet, and hang there for good.  realpath(3) asks nothing
 * of the directory itself but for a trailing "/.", which is dropped
 * first: a stale mount, which answers nothing, resolves too.
 */
int mount_canonical(const char *path, char *out, size_t len)
{
	char *trimmed, real[PATH_MAX];
	int err = 0;

	trimmed = strdup(path);
	if (!trimmed)
		return -ENOMEM;
	trim_trailing_dots(trimmed);
	if (!realpath(trimmed, real))
		err = -errno;
	else if ((size_t)snprintf(out, len, "%s", real) >= len)
		err = -ENAMETOOLONG;
	free(trimmed);
	return err;
}

/*
 * A daemon that was killed leaves its mount behind, answering ENOTCONN.
 * Replace it, but only if it is one of ours.
 */
static int clean_stale(const char *path)
{
	if (!migfs_mounted_at(path))
		return -ENOTCONN;
	if (umount2(path, MNT_DETACH))
		return -errno;
	log_warnx("%s: replaced the stale mount of a vfio-migfsd that died", path);
	return 0;
}

/* A dead FUSE daemon's mount fails statfs even while stat is cached. */
static bool is_stale(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) && errno == ENOTCONN;
}

int mount_check(const char *path, char *err, size_t errlen)
{
	struct stat st, parent;
	char up[PATH_MAX];
	int r;

	if (is_stale(path) && (r = clean_stale(path))) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -ENOTDIR;
	}
	snprintf(up, sizeof(up), "%s/..", path);
	if (stat(up, &parent) == 0 &&
	    (st.st_dev != parent.st_dev || st.st_ino == parent.st_ino)) {
		snprintf(err, errlen, "%s: busy: already a mount point", path);
		return -EBUSY;
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
	if (fuse_session_mount(m->se, m->mountpoint)) {
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

// SPDX-License-Identifier: MIT
/* The vfio-migfs mounts of this namespace, read with libmount. */
#include <errno.h>
#include <libmount.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

static bool is_migfs(struct libmnt_fs *fs)
{
	const char *type = mnt_fs_get_fstype(fs);

	return type && !strcmp(type, MIGFS_FSTYPE);
}

static int append(char ***dirs, size_t *n, const char *dir)
{
	char **grown = realloc(*dirs, (*n + 1) * sizeof(**dirs));

	if (!grown)
		return -ENOMEM;
	*dirs = grown;
	if (!(grown[*n] = strdup(dir)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

int migfs_mounts(char ***dirs, size_t *n)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	int err = 0;

	*dirs = NULL;
	*n = 0;
	if (!tb || !it)
		err = errno ? -errno : -ENOMEM;
	while (!err && mnt_table_next_fs(tb, it, &fs) == 0)
		if (is_migfs(fs))
			err = append(dirs, n, mnt_fs_get_target(fs));
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return err;
}

enum mount_kind mount_kind_at(const char *path, int *id)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs;
	enum mount_kind kind;

	if (id)
		*id = -1;
	if (!tb)
		return NOT_MOUNTED;
	/*
	 * No cache is set: the lookup compares strings and never stats a
	 * path, which on a stale or unserved FUSE mount could block.
	 */
	fs = mnt_table_find_target(tb, path, MNT_ITER_BACKWARD);
	kind = !fs ? NOT_MOUNTED : is_migfs(fs) ? MIGFS_MOUNT : OTHER_MOUNT;
	if (id)
		*id = fs ? mnt_fs_get_id(fs) : -1;
	mnt_unref_table(tb);
	return kind;
}

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
 * first: a stale or stuck mount, which answers nothing, resolves too.
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

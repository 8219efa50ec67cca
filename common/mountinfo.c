// SPDX-License-Identifier: MIT
/* The vfio-migfs mounts of this namespace, read with libmount. */
#include <errno.h>
#include <libmount.h>
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

bool migfs_mounted_at(const char *path)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_fs *fs;
	bool ours;

	if (!tb)
		return false;
	/*
	 * No cache is set: the lookup compares strings and never stats a
	 * path, which on a stale or unserved FUSE mount could block.
	 */
	fs = mnt_table_find_target(tb, path, MNT_ITER_BACKWARD);
	ours = fs && is_migfs(fs);
	mnt_unref_table(tb);
	return ours;
}

/* SPDX-License-Identifier: MIT */
/*
 * The vfio-migfs mounts of this mount namespace, from mountinfo through
 * libmount (which undoes its escapes: a space is "\040" there).  Shared
 * by the daemon, which replaces its stale mounts, and vfio-migctl, which
 * lists them and checks each DIR it is given; it opens no device.
 */
#ifndef MOUNTINFO_H
#define MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

#define MIGFS_FSTYPE	"fuse.vfio-migfs"

/*
 * The mountpoints of every vfio-migfs mount, in mount order: 0, or
 * -errno with *dirs and *n holding what was found (the caller frees them).
 */
int migfs_mounts(char ***dirs, size_t *n);
enum mount_kind {
	NOT_MOUNTED,
	MIGFS_MOUNT,		/* the topmost mount there is a vfio-migfs one */
	OTHER_MOUNT,
};

/*
 * What is mounted at the canonical path, and its mount ID (id may be
 * NULL): from mountinfo alone, so that a mount whose daemon is stale,
 * stopped or stuck is never asked.
 */
enum mount_kind mount_kind_at(const char *path, int *id);
/*
 * The canonical name of path (symlinks, "." and ".." resolved) without
 * asking the directory itself (see mountinfo.c): 0 or -errno.
 */
int mount_canonical(const char *path, char *out, size_t len);

#endif

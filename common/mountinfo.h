/* SPDX-License-Identifier: MIT */
/*
 * The vfio-migfs mounts of this mount namespace, from mountinfo through
 * libmount (which undoes its escapes: a space is "\040" there).  Shared
 * by the daemon, which replaces its stale mounts, and vfio-migctl, which
 * lists them; it opens no device.
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
/* Whether the topmost mount at the absolute path is a vfio-migfs one. */
bool migfs_mounted_at(const char *path);

#endif

/* SPDX-License-Identifier: MIT */
/* What the lane's VFIO programs share (lane-vfio.c). */
#ifndef LANE_VFIO_H
#define LANE_VFIO_H

#include <stddef.h>

/*
 * The group of an mdev (the last component of its iommu_group link),
 * opened close-on-exec and checked viable: its fd, or -1 with errno set and
 * what failed in what[len].
 */
int lane_open_group(const char *uuid, char *what, size_t len);

#endif

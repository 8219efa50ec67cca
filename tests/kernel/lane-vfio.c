// SPDX-License-Identifier: MIT
/* What the lane's VFIO programs share: see lane-vfio.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "lane-vfio.h"

int lane_open_group(const char *uuid, char *what, size_t len)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char link[PATH_MAX], path[PATH_MAX];
	const char *num;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(what, len, "%s", path);
		return -1;
	}
	link[n] = 0;
	num = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%d", atoi(num ? num + 1 : link));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(what, len, "%s", path);
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status)) {
		snprintf(what, len, "VFIO_GROUP_GET_STATUS on %s", path);
	} else if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(what, len, "%s is not viable", path);
		errno = EBUSY;
	} else {
		return fd;
	}
	n = errno;
	close(fd);
	errno = (int)n;
	return -1;
}

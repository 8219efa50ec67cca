// SPDX-License-Identifier: MIT
/*
 * migbench-direct UUID_A UUID_B: one migration of vfio_migtest device A
 * into device B with raw VFIO ioctls in one process, as a VMM does it:
 * the baseline of the kernel lane's benchmark (guest-bench-migrate.sh),
 * run interleaved with `vfio-migctl migrate` through the mounts.
 *
 * It is timed as vfio-migctl times its migration: B is made ready
 * (RESUMING) first, untimed; A's STOP_COPY stream goes to B's data_fd in 1
 * MiB reads and writes (vfio-migctl's chunk); A stops, B runs.  Downtime is
 * from A's STOP_COPY until B runs; the driver has no PRE_COPY, so the
 * total is the same span.  Prints "TOTAL DOWNTIME" in seconds and leaves A
 * in STOP, as vfio-migctl does; closing the devices makes them run again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "lane-vfio.h"

#define CHUNK	(1024 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "migbench-direct: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The device's group, attached to the container. */
static int open_group(int container, const char *uuid)
{
	char what[PATH_MAX + 64];
	int group = lane_open_group(uuid, what, sizeof(what));

	if (group < 0)
		die(what);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	return group;
}

/* SET of MIG_DEVICE_STATE (the core walks the arcs between): its data_fd or -1. */
static int set_state(int device, uint32_t state, const char *name)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) +
		      sizeof(struct vfio_device_feature_mig_state) + 7) / 8] = { 0 };
	struct vfio_device_feature *f = (void *)buf;
	struct vfio_device_feature_mig_state *st = (void *)f->data;

	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	st->device_state = state;
	st->data_fd = -1;
	if (ioctl(device, VFIO_DEVICE_FEATURE, f))
		die(name);
	return st->data_fd;
}

/* The whole stream of from into to. */
static void copy_stream(int from, int to, char *buf)
{
	ssize_t n, w;

	while ((n = read(from, buf, CHUNK)) > 0)
		for (char *p = buf; n > 0; p += w, n -= w)
			if ((w = write(to, p, (size_t)n)) < 0)
				die("writing B's data_fd");
	if (n < 0)
		die("reading A's data_fd");
}

int main(int argc, char **argv)
{
	int container, group_a, group_b, a, b, src, dst;
	char *buf = aligned_alloc(4096, CHUNK);
	double t;

	if (argc != 3) {
		fprintf(stderr, "usage: migbench-direct UUID_A UUID_B\n");
		return 2;
	}
	if (!buf)
		die("a 1 MiB buffer");
	memset(buf, 0, CHUNK);		/* faulted in before the clock starts */
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	group_a = open_group(container, argv[1]);
	group_b = open_group(container, argv[2]);
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	a = ioctl(group_a, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	b = ioctl(group_b, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
	if (a < 0 || b < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");

	dst = set_state(b, VFIO_DEVICE_STATE_RESUMING, "B: RESUMING");
	t = now();
	src = set_state(a, VFIO_DEVICE_STATE_STOP_COPY, "A: STOP_COPY");
	if (src < 0 || dst < 0)
		die("no data_fd");
	copy_stream(src, dst, buf);
	close(src);
	set_state(a, VFIO_DEVICE_STATE_STOP, "A: STOP");
	close(dst);
	set_state(b, VFIO_DEVICE_STATE_RUNNING, "B: RUNNING (the stream is loaded)");
	t = now() - t;
	printf("%.6f %.6f\n", t, t);
	return 0;
}

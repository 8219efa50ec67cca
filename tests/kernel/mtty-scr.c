// SPDX-License-Identifier: MIT
/*
 * mtty-scr: reads or writes the UART scratch register (SCR) of port 0 of an
 * mtty mdev through the device's BAR0 region, the way a guest driver would.
 * mtty carries its registers in its migration stream, so a value written on
 * the source must read back on the destination. Run as root in the kernel
 * lane, with no one else holding the device's group:
 *
 *	mtty-scr UUID		prints the register, "0x5a"
 *	mtty-scr UUID VALUE	writes it (0..255)
 *
 * Exits 0, 1 on a VFIO error (one line naming the step), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

static void die(const char *what)
{
	fprintf(stderr, "mtty-scr: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The device fd of mdev UUID, in a type1 container of its own */
static int open_device(const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char link[PATH_MAX], target[PATH_MAX], node[PATH_MAX];
	int container, group, fd;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		die(link);
	target[n] = '\0';
	snprintf(node, sizeof(node), "/dev/vfio/%s", basename(target));
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	group = open(node, O_RDWR);
	if (group < 0)
		die(node);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	return fd;
}

int main(int argc, char **argv)
{
	struct vfio_region_info bar0 = {
		.argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	unsigned long value = 0;
	unsigned char byte;
	char *end;
	int fd;

	if (argc == 3) {
		errno = 0;
		value = strtoul(argv[2], &end, 0);
		if (errno || *end || end == argv[2] || value > 255)
			argc = 0;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: mtty-scr UUID [VALUE]\n");
		return 2;
	}
	fd = open_device(argv[1]);
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &bar0))
		die("VFIO_DEVICE_GET_REGION_INFO BAR0");
	byte = value;
	if (argc == 3) {
		if (pwrite(fd, &byte, 1, bar0.offset + UART_SCR) != 1)
			die("write SCR");
		return 0;
	}
	if (pread(fd, &byte, 1, bar0.offset + UART_SCR) != 1)
		die("read SCR");
	printf("0x%02x\n", byte);
	return 0;
}

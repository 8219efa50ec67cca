// SPDX-License-Identifier: MIT
/*
 * VFIO_DEVICE_FEATURE: the one ioctl behind migration states, the data
 * size estimate and device DMA logging (vfio_mig.c, vfio_dirty.c), and the
 * device's migration flags.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vfio.h"

int vfio_feature(int device_fd, uint32_t flags, void *payload, size_t size)
{
	/* u64 words: the kernel reads the payload's u64 fields aligned. */
	uint64_t buf[(sizeof(struct vfio_device_feature) + VFIO_FEATURE_MAX) / 8];
	struct vfio_device_feature *f = (struct vfio_device_feature *)buf;

	if (size > VFIO_FEATURE_MAX)
		return -EINVAL;
	f->argsz = (uint32_t)(sizeof(*f) + size);
	f->flags = flags;
	if (size)
		memcpy(f->data, payload, size);
	if (ioctl(device_fd, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (size)
		memcpy(payload, f->data, size);
	return 0;
}

bool vfio_feature_probe(int device_fd, uint32_t flags)
{
	return !vfio_feature(device_fd, VFIO_DEVICE_FEATURE_PROBE | flags, NULL, 0);
}

int vfio_migration_flags(struct vfio_dev *v, unsigned int *flags)
{
	struct vfio_device_feature_migration mig = { 0 };
	int err = vfio_feature(v->device_fd, VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));

	/* ENOTTY: no migration driver; EINVAL: a core without the feature. */
	if (err == -ENOTTY || err == -EINVAL)
		return -EOPNOTSUPP;
	if (err)
		return err;
	if (!(mig.flags & VFIO_MIGRATION_STOP_COPY))
		return -EOPNOTSUPP;
	*flags = (unsigned int)mig.flags & (MIG_F_STOP_COPY | MIG_F_P2P | MIG_F_PRE_COPY);
	return 0;
}

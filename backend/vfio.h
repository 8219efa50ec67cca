/* SPDX-License-Identifier: MIT */
/*
 * The vfio backend: a real device driven through the VFIO migration uAPI.
 *
 *   vfio_open.c   finds and opens the device: its group and a type1
 *                 container, its cdev bound to an iommufd, or descriptors
 *                 handed over by the process that owns it;
 *   vfio_feature.c VFIO_DEVICE_FEATURE, the ioctl the others speak through;
 *   vfio_mig.c    the state machine's arcs and the data stream;
 *   vfio_dirty.c  dirty tracking: device DMA logging, the type1 container,
 *                 or an iommufd page table.
 */
#ifndef VFIO_BACKEND_H
#define VFIO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <linux/vfio.h>
#include "uapi-compat.h"

#include "backend.h"

enum vfio_dirty_kind {
	VFIO_DIRTY_NONE,
	VFIO_DIRTY_DEVICE,	/* VFIO_DEVICE_FEATURE_DMA_LOGGING_* */
	VFIO_DIRTY_TYPE1,	/* VFIO_IOMMU_DIRTY_PAGES on the container */
	VFIO_DIRTY_IOMMUFD,	/* IOMMU_HWPT_*_DIRTY_* on a page table */
	VFIO_DIRTY_AUTO,	/* dirty=auto: the best one there is */
};

struct vfio_dev {
	struct migdev dev;
	int device_fd;
	int group_fd;		/* -1 unless we opened the group */
	int container_fd;	/* type1 container, or -1 */
	int iommufd;		/* /dev/iommu, or -1 */
	uint32_t hwpt_id;	/* iommufd page table with dirty tracking, or 0 */
	int data_fd;		/* the data_fd of the open session, or -1 */
	bool data_saving;	/* ... and its direction */
	enum vfio_dirty_kind dirty;
	bool data_size;		/* the driver has MIG_DATA_SIZE (not 6.1's) */
	uint64_t iommu_pgsize;	/* the type1 bitmap granule */
	uint64_t page_size;	/* the log's, from log_start */
	/*
	 * type1 reports whole mappings only, so each tracked range is read
	 * whole and the bits not asked for yet wait here.
	 */
	struct mig_range ranges[MIG_MAX_RANGES];
	uint64_t *pending[MIG_MAX_RANGES];
	unsigned int nranges;
	char device[128];	/* the device's name: BDF, mdev UUID or fd:N */
	char iommu[64];		/* how it is attached, for vfio/iommu */
	char dirty_name[96];	/* the mechanism and why, for `status`; set at open */
};

static inline struct vfio_dev *to_vfio(struct migdev *dev)
{
	return (struct vfio_dev *)((char *)dev - offsetof(struct vfio_dev, dev));
}

/* vfio_feature.c */
#define VFIO_FEATURE_MAX	32	/* the largest payload we send */
/* VFIO_DEVICE_FEATURE: flags | index, payload copied in and back out. */
int vfio_feature(int device_fd, uint32_t flags, void *payload, size_t size);
/* Supported = a PROBE succeeds; ENOTTY and EINVAL both mean "no". */
bool vfio_feature_probe(int device_fd, uint32_t flags);
/* The device's MIG_F_* flags, or -EOPNOTSUPP without VFIO migration. */
int vfio_migration_flags(struct vfio_dev *v, unsigned int *flags);

/* vfio_mig.c */
/* A device whose fds are set up joins the device layer. */
int vfio_init_migdev(struct vfio_dev *v, const char *spec, unsigned int flags);
int vfio_get_state(struct migdev *dev, enum mig_state *state);
int vfio_reset(struct migdev *dev);
/* Closes every fd of the device and frees it. */
void vfio_free(struct vfio_dev *v);

/* vfio_dirty.c */
/* "auto", "none", "device", "type1", "iommufd"; -EINVAL for others. */
int vfio_dirty_parse(const char *name, enum vfio_dirty_kind *kind);
/* Sets v->dirty; -ENODEV when the mechanism wanted is not there. */
int vfio_dirty_select(struct vfio_dev *v, enum vfio_dirty_kind want);
const char *vfio_dirty_name(enum vfio_dirty_kind kind);
int vfio_log_start(struct migdev *dev, const struct mig_range *ranges,
		   unsigned int nranges, uint64_t page_size);
int vfio_log_stop(struct migdev *dev);
int vfio_log_report(struct migdev *dev, uint64_t iova, uint64_t length,
		    uint64_t *bitmap, size_t *touched);
const char *vfio_dirty_mechanism(struct migdev *dev);
void vfio_dirty_free(struct vfio_dev *v);

#endif

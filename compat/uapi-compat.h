/* SPDX-License-Identifier: MIT */
/*
 * Kernel uAPI definitions newer than Debian bookworm's Linux 6.1 headers.
 * Include after <linux/vfio.h> and <linux/devlink.h>; every value was
 * checked against the kernel's include/uapi/linux/{vfio,iommufd,devlink}.h.
 * A newer libc-dev's own definitions win through the #ifndef guards.
 */
#ifndef UAPI_COMPAT_H
#define UAPI_COMPAT_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ---- vfio.h, 6.2: PRE_COPY and the STOP_COPY size estimate ---- */
#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY			(1 << 2)
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE	9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO		_IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

/* ---- vfio.h, 6.6: the device cdev bound to an iommufd ---- */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD		_IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT		_IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/* ---- iommufd.h, 6.2 (IOAS) and 6.7 (HWPT dirty tracking) ---- */
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE				(';')
#define IOMMUFD_CMD_IOAS_ALLOC			0x81
#define IOMMUFD_CMD_HWPT_ALLOC			0x89
#define IOMMUFD_CMD_GET_HW_INFO			0x8a
#define IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING	0x8b
#define IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP	0x8c

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* 6.2: what a VMM maps into an IOAS (the kernel lane's migtest-owner -i) */
#define IOMMUFD_CMD_IOAS_MAP			0x85
#define IOMMU_IOAS_MAP_FIXED_IOVA		(1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE		(1 << 1)
#define IOMMU_IOAS_MAP_READABLE			(1 << 2)
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP		_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
};
#define IOMMU_HWPT_ALLOC_DIRTY_TRACKING		(1 << 1)
#define IOMMU_HWPT_ALLOC	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u32 __reserved;
	__aligned_u64 out_capabilities;
};
#define IOMMU_HW_CAP_DIRTY_TRACKING		(1 << 0)
#define IOMMU_GET_HW_INFO	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_DIRTY_TRACKING_ENABLE	1
#define IOMMU_HWPT_SET_DIRTY_TRACKING \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)
#endif

/* ---- devlink.h, 6.2: port function capabilities ---- */
#ifndef DEVLINK_PORT_FN_CAP_MIGRATABLE
#define DEVLINK_PORT_FN_ATTR_CAPS		4	/* bitfield32 */
#define DEVLINK_PORT_FN_CAP_ROCE		(1U << 0)
#define DEVLINK_PORT_FN_CAP_MIGRATABLE		(1U << 1)
#endif

#endif

// SPDX-License-Identifier: MIT
/*
 * Dirty page tracking for a VFIO device, by whichever mechanism the device
 * and its IOMMU offer: the device's own DMA logging, the type1 container,
 * or an iommufd page table allocated with dirty tracking.  Each one clears
 * what it reports (test-and-clear) and only ever sets bits, so every
 * buffer handed to the kernel is zeroed first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vfio.h"
#include "util.h"

struct dirty_ops {
	const char *name;	/* for `status` */
	const char *option;	/* for dirty= */
	bool (*available)(struct vfio_dev *v);
	int (*start)(struct vfio_dev *v, const struct mig_range *r, unsigned int n);
	int (*stop)(struct vfio_dev *v);
	int (*report)(struct vfio_dev *v, uint64_t iova, uint64_t length,
		      uint64_t *bitmap);
};

/* --- device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*) --- */

static bool device_available(struct vfio_dev *v)
{
	return vfio_feature_probe(v->device_fd, VFIO_DEVICE_FEATURE_SET |
				  VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
}

static int device_start(struct vfio_dev *v, const struct mig_range *r,
			unsigned int n)
{
	struct vfio_device_feature_dma_logging_range ranges[MIG_MAX_RANGES];
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = v->page_size, .num_ranges = n,
		.ranges = (uintptr_t)ranges,
	};

	for (unsigned int i = 0; i < n; i++) {
		ranges[i].iova = r[i].start;
		ranges[i].length = r[i].length;
	}
	/* The driver may log at another granule; REPORT converts. */
	return vfio_feature(v->device_fd, VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl));
}

static int device_stop(struct vfio_dev *v)
{
	return vfio_feature(v->device_fd, VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

static int device_report(struct vfio_dev *v, uint64_t iova, uint64_t length,
			 uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova, .length = length, .page_size = v->page_size,
		.bitmap = (uintptr_t)bitmap,
	};

	return vfio_feature(v->device_fd, VFIO_DEVICE_FEATURE_GET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep));
}

/*
 * A kernel may take START and STOP and still fail every REPORT (Debian's
 * 6.12 has no CONFIG_IOMMUFD_DRIVER, so its iova_bitmap is a stub): only a
 * report shows that the log works. One page of the first range, right
 * after the start, before anything is reported for real.
 */
static int device_verify(struct vfio_dev *v, const struct mig_range *r)
{
	uint64_t bits = 0;
	int err = device_report(v, r->start, v->page_size, &bits);

	if (err)
		device_stop(v);
	return err;
}

static int device_log_start(struct vfio_dev *v, const struct mig_range *r,
			    unsigned int n)
{
	int err = device_start(v, r, n);

	if (err || !(err = device_verify(v, r)))
		return err;
	migdev_event(&v->dev, "device DMA logging cannot report "
			      "(DMA_LOGGING_REPORT: %s): try dirty=type1 or dirty=iommufd",
			      strerror(-err));
	return err;
}

/* dirty=auto, at open: start, report one page and stop, on a page of its own. */
static int device_works(struct vfio_dev *v)
{
	const struct mig_range page = { .start = 0, .length = 4096 };
	int err;

	v->page_size = 4096;
	err = device_start(v, &page, 1);
	err = err ? err : device_verify(v, &page);
	return err ? err : device_stop(v);
}

/* --- the type1 container (VFIO_IOMMU_DIRTY_PAGES) --- */

static struct vfio_iommu_type1_info *type1_info(int container)
{
	struct vfio_iommu_type1_info *info = NULL, *grown;
	uint32_t size = sizeof(*info);

	/* The kernel says how large the capability chain is: ask twice. */
	for (int tries = 0; tries < 2; tries++) {
		grown = realloc(info, size);
		if (!grown)
			break;
		info = grown;
		memset(info, 0, size);
		info->argsz = size;
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
			break;
		if (info->argsz <= size)
			return info;
		size = info->argsz;
	}
	free(info);
	return NULL;
}

/* The smallest page of the migration capability: the bitmap's granule. */
static uint64_t type1_dirty_pgsize(int container)
{
	struct vfio_iommu_type1_info *info = type1_info(container);
	uint64_t pgsize = 0;

	if (info && (info->flags & VFIO_IOMMU_INFO_CAPS)) {
		for (uint32_t off = info->cap_offset; off && off < info->argsz - 8;) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION &&
			    off + sizeof(struct vfio_iommu_type1_info_cap_migration) <= info->argsz) {
				uint64_t bm = ((struct vfio_iommu_type1_info_cap_migration *)h)->pgsize_bitmap;

				pgsize = bm & -bm;
				break;
			}
			off = h->next;
		}
	}
	free(info);
	return pgsize;
}

static bool type1_available(struct vfio_dev *v)
{
	if (v->container_fd < 0)
		return false;
	v->iommu_pgsize = type1_dirty_pgsize(v->container_fd);
	return v->iommu_pgsize != 0;
}

static int type1_ioctl(struct vfio_dev *v, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return ioctl(v->container_fd, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

static void type1_free(struct vfio_dev *v)
{
	for (unsigned int i = 0; i < v->nranges; i++) {
		free(v->pending[i]);
		v->pending[i] = NULL;
	}
	v->nranges = 0;
}

/* Read the kernel's bits of a whole tracked range into its pending bits. */
static int type1_pull(struct vfio_dev *v, unsigned int i)
{
	const struct mig_range *r = &v->ranges[i];
	uint64_t bytes = dirty_bitmap_bytes(r->length, v->iommu_pgsize);
	uint64_t req[(sizeof(struct vfio_iommu_type1_dirty_bitmap) +
		      sizeof(struct vfio_iommu_type1_dirty_bitmap_get)) / 8] = { 0 };
	struct vfio_iommu_type1_dirty_bitmap *d = (void *)req;
	struct vfio_iommu_type1_dirty_bitmap_get *get = (void *)d->data;
	uint64_t *fresh = calloc(1, bytes);
	int err = 0;

	if (!fresh)
		return -ENOMEM;
	d->argsz = sizeof(req);
	d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	get->iova = r->start;
	get->size = r->length;
	get->bitmap.pgsize = v->iommu_pgsize;
	get->bitmap.size = bytes;
	get->bitmap.data = (__u64 *)fresh;
	if (ioctl(v->container_fd, VFIO_IOMMU_DIRTY_PAGES, d))
		err = -errno;
	for (uint64_t w = 0; !err && w < bytes / 8; w++)
		v->pending[i][w] |= fresh[w];
	free(fresh);
	return err;
}

/*
 * The bound of the log's bitmaps covers ours too: the pending bits of
 * every range at the IOMMU's granule, their fresh copy while one range is
 * pulled, and the frozen log at the log's page size.
 */
static bool type1_fits(struct vfio_dev *v, const struct mig_range *r,
		       unsigned int n)
{
	uint64_t pending = 0, largest = 0, frozen = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t bytes = dirty_bitmap_bytes(r[i].length, v->iommu_pgsize);

		pending += bytes;
		largest = bytes > largest ? bytes : largest;
		frozen += dirty_bitmap_bytes(r[i].length, v->page_size);
	}
	return pending + largest + frozen <= v->dev.log.bitmap_max;
}

static int type1_start(struct vfio_dev *v, const struct mig_range *r,
		       unsigned int n)
{
	int err;

	if (v->page_size % v->iommu_pgsize)
		return -EINVAL;
	if (!type1_fits(v, r, n))
		return -ENOSPC;
	type1_free(v);
	for (unsigned int i = 0; i < n; i++) {
		v->pending[i] = calloc(1, dirty_bitmap_bytes(r[i].length, v->iommu_pgsize));
		if (!v->pending[i]) {
			type1_free(v);
			return -ENOMEM;
		}
		v->ranges[i] = r[i];
		v->nranges = i + 1;
	}
	err = type1_ioctl(v, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	/*
	 * A START on a container that already tracks (its owner's, or a
	 * daemon's before us) keeps the old bits: drop them, since pages
	 * written before the start are not to be reported.
	 */
	for (unsigned int i = 0; !err && i < n; i++) {
		err = type1_pull(v, i);
		memset(v->pending[i], 0, dirty_bitmap_bytes(r[i].length, v->iommu_pgsize));
	}
	return err;
}

static int type1_stop(struct vfio_dev *v)
{
	type1_free(v);
	return type1_ioctl(v, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
}

/*
 * type1 refuses a window that cuts a mapping in two, and a read of the
 * bitmap file asks for a window of a range: read the range whole, serve
 * the window (folded into the log's larger pages) and keep the rest.
 */
static int type1_report(struct vfio_dev *v, uint64_t iova, uint64_t length,
			uint64_t *bitmap)
{
	uint64_t ratio = v->page_size / v->iommu_pgsize, first, last;
	unsigned int i;
	int err;

	for (i = 0; i < v->nranges; i++)
		if (iova >= v->ranges[i].start &&
		    iova + length <= v->ranges[i].start + v->ranges[i].length)
			break;
	if (i == v->nranges)
		return -EINVAL;
	err = type1_pull(v, i);
	if (err || !length)
		return err;
	first = (iova - v->ranges[i].start) / v->iommu_pgsize;
	last = first + length / v->iommu_pgsize - 1;
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t *word = &v->pending[i][w];
		uint64_t bits = *word & dirty_word_mask(w, first, last);

		*word &= ~bits;
		for (; bits; bits &= bits - 1) {
			uint64_t k = (w * 64 + (uint64_t)__builtin_ctzll(bits) - first) / ratio;

			bitmap[k / 64] |= 1ull << (k % 64);
		}
	}
	return 0;
}

/* --- an iommufd page table (IOMMU_HWPT_*_DIRTY_*) --- */

static bool iommufd_available(struct vfio_dev *v)
{
	return v->iommufd >= 0 && v->hwpt_id;
}

static int iommufd_track(struct vfio_dev *v, uint32_t flags)
{
	struct iommu_hwpt_set_dirty_tracking t = {
		.size = sizeof(t), .flags = flags, .hwpt_id = v->hwpt_id,
	};

	return ioctl(v->iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &t) ? -errno : 0;
}

static int iommufd_start(struct vfio_dev *v, const struct mig_range *r,
			 unsigned int n)
{
	(void)r;
	(void)n;	/* the page table tracks everything it maps */
	return iommufd_track(v, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
}

static int iommufd_stop(struct vfio_dev *v)
{
	return iommufd_track(v, 0);
}

static int iommufd_report(struct vfio_dev *v, uint64_t iova, uint64_t length,
			  uint64_t *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .hwpt_id = v->hwpt_id, .iova = iova,
		.length = length, .page_size = v->page_size,
		.data = (uintptr_t)bitmap,
	};

	return ioctl(v->iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get) ? -errno : 0;
}

static const struct dirty_ops mechanisms[] = {
	[VFIO_DIRTY_DEVICE] = {
		"device DMA logging", "device", device_available,
		device_log_start, device_stop, device_report,
	},
	[VFIO_DIRTY_TYPE1] = {
		"type1 container", "type1", type1_available,
		type1_start, type1_stop, type1_report,
	},
	[VFIO_DIRTY_IOMMUFD] = {
		"iommufd", "iommufd", iommufd_available,
		iommufd_start, iommufd_stop, iommufd_report,
	},
};

/* The device's own log first, as QEMU prefers it: it sees only its DMA. */
static const enum vfio_dirty_kind preference[] = {
	VFIO_DIRTY_DEVICE, VFIO_DIRTY_IOMMUFD, VFIO_DIRTY_TYPE1,
};

int vfio_dirty_parse(const char *name, enum vfio_dirty_kind *kind)
{
	if (!strcmp(name, "auto") || !strcmp(name, "none")) {
		*kind = name[0] == 'a' ? VFIO_DIRTY_AUTO : VFIO_DIRTY_NONE;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(preference); i++) {
		if (!strcmp(name, mechanisms[preference[i]].option)) {
			*kind = preference[i];
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * An explicit choice is taken as it is (a log that cannot report fails at
 * its start); dirty=auto passes over a device log that cannot report, and
 * `status` says so next to the mechanism it took instead.
 */
int vfio_dirty_select(struct vfio_dev *v, enum vfio_dirty_kind want)
{
	const char *passed = NULL;
	int err;

	v->dirty = VFIO_DIRTY_NONE;
	if (want != VFIO_DIRTY_NONE && want != VFIO_DIRTY_AUTO) {
		if (!mechanisms[want].available(v))
			return -ENODEV;
		v->dirty = want;
	}
	for (size_t i = 0; want == VFIO_DIRTY_AUTO &&
	     i < ARRAY_SIZE(preference); i++) {
		enum vfio_dirty_kind k = preference[i];

		if (!mechanisms[k].available(v))
			continue;
		if (k == VFIO_DIRTY_DEVICE && (err = device_works(v))) {
			passed = err == -EOPNOTSUPP ? "device DMA logging cannot report" :
						      "device DMA logging failed its test";
			continue;
		}
		v->dirty = k;
		break;
	}
	snprintf(v->dirty_name, sizeof(v->dirty_name), "%s%s%s",
		 vfio_dirty_name(v->dirty), passed ? "; " : "", passed ? passed : "");
	return 0;
}

const char *vfio_dirty_name(enum vfio_dirty_kind kind)
{
	return kind == VFIO_DIRTY_NONE || kind == VFIO_DIRTY_AUTO ?
		"none" : mechanisms[kind].name;
}

int vfio_log_start(struct migdev *dev, const struct mig_range *ranges,
		   unsigned int nranges, uint64_t page_size)
{
	struct vfio_dev *v = to_vfio(dev);

	v->page_size = page_size;
	return mechanisms[v->dirty].start(v, ranges, nranges);
}

int vfio_log_stop(struct migdev *dev)
{
	struct vfio_dev *v = to_vfio(dev);

	return mechanisms[v->dirty].stop(v);
}

/* The kernel says nothing of where it set bits: all of the bitmap may hold some. */
int vfio_log_report(struct migdev *dev, uint64_t iova, uint64_t length,
		    uint64_t *bitmap, size_t *touched)
{
	struct vfio_dev *v = to_vfio(dev);

	*touched = (size_t)dirty_bitmap_bytes(length, v->page_size);
	return mechanisms[v->dirty].report(v, iova, length, bitmap);
}

const char *vfio_dirty_mechanism(struct migdev *dev)
{
	return to_vfio(dev)->dirty_name;
}

void vfio_dirty_free(struct vfio_dev *v)
{
	type1_free(v);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_migtest - a test-only mediated device with VFIO migration (uAPI v2).
 *
 * Written for Debian bookworm's Linux 6.1 and 6.12 (one source, kept apart
 * by LINUX_VERSION_CODE) so that vfio-migfs can be tested against the real
 * VFIO core. Each device holds a block of pseudo-random
 * "internal state" which the STOP_COPY stream carries as a framed image:
 *
 *	struct migtest_hdr | state bytes | __le32 CRC32 of everything before
 *
 * The device "does DMA" only when a test asks for it through sysfs
 * (migtest/dma), which makes the pages show up both in device DMA logging
 * and in the type1 container's dirty bitmap.
 */
#include <linux/anon_inodes.h>
#include <linux/crc32.h>
#include <linux/file.h>
#include <linux/iova_bitmap.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/version.h>
#include <linux/vfio.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/xxhash.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.12 dropped no_llseek: a NULL .llseek gives the same ESPIPE. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define MIGTEST_NO_LLSEEK
#else
#define MIGTEST_NO_LLSEEK .llseek = no_llseek,
#endif

#define MIGTEST_NAME		"vfio_migtest"
#define MIGTEST_MAGIC		0x5447494d	/* "MIGT" in little endian */
#define MIGTEST_VERSION		1
#define MIGTEST_MAX_INSTANCES	8
#define MIGTEST_DMA_MAX		SZ_1M
#define MIGTEST_DMA_BYTE	0x5a

static unsigned int state_size = SZ_4M;
module_param(state_size, uint, 0444);
MODULE_PARM_DESC(state_size, "Bytes of internal state per device (default 4 MiB)");

/* A driver bug on purpose, for vfio-migctl check to catch (its rule 3). */
static bool broken_reset;
module_param(broken_reset, bool, 0644);
MODULE_PARM_DESC(broken_reset, "VFIO_DEVICE_RESET in STOP_COPY lands in STOP, not RUNNING (a bug, for tests)");

struct migtest_hdr {
	__le32 magic;
	__le32 version;
	__le64 size;
};

/* One migration data session: the saving (read) or resuming (write) fd */
struct migtest_file {
	struct file *filp;
	struct mutex lock;	/* serialises I/O against disabling */
	bool disabled;
	u8 *buf;
	size_t size;		/* bytes allocated: always one full image */
	size_t len;		/* saving: image length; resuming: bytes written */
};

struct migtest_dev {
	struct vfio_device vdev;
	struct mutex lock;	/* protects all fields below */
	enum vfio_device_mig_state mig_state;
	bool opened;
	u8 *state;
	struct migtest_file *saving;
	struct migtest_file *resuming;
	bool logging;
	struct xarray dirty;	/* page indexes written while logging */
};

static struct migtest_dev *to_migtest(struct vfio_device *vdev)
{
	return container_of(vdev, struct migtest_dev, vdev);
}

static size_t migtest_image_len(void)
{
	return sizeof(struct migtest_hdr) + state_size + sizeof(__le32);
}

static u32 migtest_crc(const u8 *buf, size_t len)
{
	return crc32_le(~0, buf, len) ^ ~0;
}

/* ---- migration data files ---- */

static int migtest_file_release(struct inode *inode, struct file *filp)
{
	struct migtest_file *migf = filp->private_data;

	mutex_destroy(&migf->lock);
	vfree(migf->buf);
	kfree(migf);
	return 0;
}

static ssize_t migtest_save_read(struct file *filp, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct migtest_file *migf = filp->private_data;
	loff_t *pos = &filp->f_pos;
	ssize_t ret;

	/* stream_open() files get a NULL ppos from read(); pread() has one */
	if (ppos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	if (*pos >= migf->len) {
		ret = 0;
		goto out;
	}
	count = min_t(size_t, count, migf->len - *pos);
	if (copy_to_user(ubuf, migf->buf + *pos, count)) {
		ret = -EFAULT;
		goto out;
	}
	*pos += count;
	ret = count;
out:
	mutex_unlock(&migf->lock);
	return ret;
}

static ssize_t migtest_resume_write(struct file *filp, const char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	struct migtest_file *migf = filp->private_data;
	ssize_t ret;

	if (ppos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	/* The image has a fixed length; nothing past it can be valid */
	if (count > migf->size - migf->len) {
		ret = -ENOSPC;
		goto out;
	}
	if (copy_from_user(migf->buf + migf->len, ubuf, count)) {
		ret = -EFAULT;
		goto out;
	}
	migf->len += count;
	ret = count;
out:
	mutex_unlock(&migf->lock);
	return ret;
}

static const struct file_operations migtest_save_fops = {
	.owner = THIS_MODULE,
	.read = migtest_save_read,
	.release = migtest_file_release,
	MIGTEST_NO_LLSEEK
};

static const struct file_operations migtest_resume_fops = {
	.owner = THIS_MODULE,
	.write = migtest_resume_write,
	.release = migtest_file_release,
	MIGTEST_NO_LLSEEK
};

/*
 * Creates a session file. The device keeps a reference of its own, so that it
 * can disable the file when the session ends while userspace still holds it.
 */
static struct migtest_file *migtest_file_create(const struct file_operations *fops,
						int flags)
{
	struct migtest_file *migf;
	struct file *filp;

	migf = kzalloc(sizeof(*migf), GFP_KERNEL);
	if (!migf)
		return ERR_PTR(-ENOMEM);
	migf->size = migtest_image_len();
	migf->buf = vmalloc(migf->size);
	if (!migf->buf) {
		kfree(migf);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&migf->lock);

	filp = anon_inode_getfile(MIGTEST_NAME "_mig", fops, migf, flags);
	if (IS_ERR(filp)) {
		mutex_destroy(&migf->lock);
		vfree(migf->buf);
		kfree(migf);
		return ERR_CAST(filp);
	}
	stream_open(filp->f_inode, filp);
	migf->filp = get_file(filp);
	return migf;
}

/* Ends a session: later I/O on the fd fails with ENODEV */
static void migtest_file_disable(struct migtest_file **slot)
{
	struct migtest_file *migf = *slot;

	if (!migf)
		return;
	mutex_lock(&migf->lock);
	migf->disabled = true;
	vfree(migf->buf);
	migf->buf = NULL;
	mutex_unlock(&migf->lock);
	fput(migf->filp);
	*slot = NULL;
}

static void migtest_disable_files(struct migtest_dev *mt)
{
	migtest_file_disable(&mt->saving);
	migtest_file_disable(&mt->resuming);
}

/* STOP -> STOP_COPY: the device is stopped, so one snapshot is the image */
static struct file *migtest_save_start(struct migtest_dev *mt)
{
	struct migtest_file *migf;
	struct migtest_hdr *hdr;
	size_t body = sizeof(*hdr) + state_size;

	migf = migtest_file_create(&migtest_save_fops, O_RDONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);

	hdr = (struct migtest_hdr *)migf->buf;
	hdr->magic = cpu_to_le32(MIGTEST_MAGIC);
	hdr->version = cpu_to_le32(MIGTEST_VERSION);
	hdr->size = cpu_to_le64(state_size);
	memcpy(migf->buf + sizeof(*hdr), mt->state, state_size);
	put_unaligned_le32(migtest_crc(migf->buf, body), migf->buf + body);
	migf->len = migf->size;

	mt->saving = migf;
	return migf->filp;
}

static struct file *migtest_resume_start(struct migtest_dev *mt)
{
	struct migtest_file *migf;

	migf = migtest_file_create(&migtest_resume_fops, O_WRONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);
	mt->resuming = migf;
	return migf->filp;
}

/*
 * RESUMING -> STOP: install the image only if it is complete and intact.
 * On failure the arc fails and the device stays in RESUMING; only a reset
 * (or closing the device) leaves it.
 */
static int migtest_load(struct migtest_dev *mt)
{
	struct migtest_file *migf = mt->resuming;
	const struct migtest_hdr *hdr = (const void *)migf->buf;
	size_t body = sizeof(*hdr) + state_size;
	const char *why = NULL;

	mutex_lock(&migf->lock);
	if (migf->len != migf->size)
		why = "truncated image";
	else if (le32_to_cpu(hdr->magic) != MIGTEST_MAGIC)
		why = "bad magic";
	else if (le32_to_cpu(hdr->version) != MIGTEST_VERSION)
		why = "unknown version";
	else if (le64_to_cpu(hdr->size) != state_size)
		why = "state size mismatch";
	else if (migtest_crc(migf->buf, body) != get_unaligned_le32(migf->buf + body))
		why = "checksum mismatch";
	else
		memcpy(mt->state, migf->buf + sizeof(*hdr), state_size);
	mutex_unlock(&migf->lock);

	if (why) {
		dev_notice(mt->vdev.dev, "resume refused: %s (%zu of %zu bytes)\n",
			   why, migf->len, migf->size);
		return -EINVAL;
	}
	return 0;
}

/* ---- migration state machine ---- */

#define MIGTEST_ARC(from, to)	((from) << 8 | (to))

/* Performs one arc; returns the new session file, NULL or an ERR_PTR */
static struct file *migtest_step(struct migtest_dev *mt,
				 enum vfio_device_mig_state next)
{
	int ret;

	switch (MIGTEST_ARC(mt->mig_state, next)) {
	case MIGTEST_ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_STOP_COPY):
		return migtest_save_start(mt);
	case MIGTEST_ARC(VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_STOP):
		migtest_file_disable(&mt->saving);
		return NULL;
	case MIGTEST_ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RESUMING):
		return migtest_resume_start(mt);
	case MIGTEST_ARC(VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_STOP):
		ret = migtest_load(mt);
		if (ret)
			return ERR_PTR(ret);
		migtest_file_disable(&mt->resuming);
		return NULL;
	/*
	 * DMA and state changes happen synchronously under mt->lock, so
	 * nothing is in flight that these arcs would have to quiesce; the
	 * new state alone makes sysfs refuse further DMA or mutation.
	 */
	case MIGTEST_ARC(VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING_P2P):
	case MIGTEST_ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_RUNNING):
	case MIGTEST_ARC(VFIO_DEVICE_STATE_RUNNING_P2P, VFIO_DEVICE_STATE_STOP):
	case MIGTEST_ARC(VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING_P2P):
		return NULL;
	}
	return ERR_PTR(-EINVAL);
}

static struct file *migtest_set_state(struct vfio_device *vdev,
				      enum vfio_device_mig_state new_state)
{
	struct migtest_dev *mt = to_migtest(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&mt->lock);
	while (mt->mig_state != new_state) {
		ret = vfio_mig_get_next_state(vdev, mt->mig_state, new_state, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = migtest_step(mt, next);
		if (IS_ERR(res))
			break;
		mt->mig_state = next;
		/* The core's table only opens a session on the last arc */
		if (WARN_ON(res && next != new_state)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	mutex_unlock(&mt->lock);
	return res;
}

static int migtest_get_state(struct vfio_device *vdev,
			     enum vfio_device_mig_state *curr_state)
{
	struct migtest_dev *mt = to_migtest(vdev);

	mutex_lock(&mt->lock);
	*curr_state = mt->mig_state;
	mutex_unlock(&mt->lock);
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
/* The core calls it unchecked from 6.3 on: a migration driver must have it. */
static int migtest_get_data_size(struct vfio_device *vdev,
				 unsigned long *stop_copy_length)
{
	*stop_copy_length = migtest_image_len();
	return 0;
}
#endif

static const struct vfio_migration_ops migtest_mig_ops = {
	.migration_set_state = migtest_set_state,
	.migration_get_state = migtest_get_state,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	.migration_get_data_size = migtest_get_data_size,
#endif
};

/* ---- device DMA logging ---- */

/*
 * Every page the device writes while logging is recorded, whatever ranges
 * START named (the uAPI lets a device track more than asked); a REPORT only
 * returns the pages inside its own window.
 */
static int migtest_log_start(struct vfio_device *vdev,
			     struct rb_root_cached *ranges, u32 nnodes,
			     u64 *page_size)
{
	struct migtest_dev *mt = to_migtest(vdev);
	int ret = 0;

	mutex_lock(&mt->lock);
	if (mt->logging) {
		ret = -EBUSY;
	} else {
		mt->logging = true;
		*page_size = PAGE_SIZE;
	}
	mutex_unlock(&mt->lock);
	return ret;
}

static void migtest_log_clear(struct migtest_dev *mt)
{
	mt->logging = false;
	xa_destroy(&mt->dirty);
}

static int migtest_log_stop(struct vfio_device *vdev)
{
	struct migtest_dev *mt = to_migtest(vdev);

	mutex_lock(&mt->lock);
	migtest_log_clear(mt);
	mutex_unlock(&mt->lock);
	return 0;
}

static int migtest_log_read_and_clear(struct vfio_device *vdev,
				      unsigned long iova, unsigned long length,
				      struct iova_bitmap *dirty)
{
	struct migtest_dev *mt = to_migtest(vdev);
	unsigned long idx;
	void *entry;
	int ret = 0;

	mutex_lock(&mt->lock);
	if (!mt->logging) {
		ret = -EINVAL;
		goto out;
	}
	xa_for_each_range(&mt->dirty, idx, entry, iova >> PAGE_SHIFT,
			  (iova + length - 1) >> PAGE_SHIFT) {
		iova_bitmap_set(dirty, idx << PAGE_SHIFT, PAGE_SIZE);
		xa_erase(&mt->dirty, idx);
	}
out:
	mutex_unlock(&mt->lock);
	return ret;
}

static const struct vfio_log_ops migtest_log_ops = {
	.log_start = migtest_log_start,
	.log_stop = migtest_log_stop,
	.log_read_and_clear = migtest_log_read_and_clear,
};

/* ---- fake device DMA ---- */

struct migtest_dma {
	struct work_struct work;
	struct vfio_device *vdev;
	dma_addr_t iova;
	void *data;
	size_t len;
	int ret;
};

static void migtest_dma_fn(struct work_struct *work)
{
	struct migtest_dma *dma = container_of(work, struct migtest_dma, work);

	dma->ret = vfio_dma_rw(dma->vdev, dma->iova, dma->data, dma->len, true);
}

/*
 * Writes MIGTEST_DMA_BYTE to [iova, iova + len). vfio_dma_rw() can use the
 * container owner's mm only from a kthread, so it runs on a workqueue while
 * the caller waits, holding mt->lock: no arc can stop the device mid-DMA and
 * close_device() cannot run under it.
 */
static int migtest_do_dma(struct migtest_dev *mt, u64 iova, u64 len)
{
	struct migtest_dma dma = {
		.vdev = &mt->vdev, .iova = iova, .len = len,
	};
	unsigned long idx;
	int ret;

	lockdep_assert_held(&mt->lock);
	dma.data = kvmalloc(len, GFP_KERNEL);
	if (!dma.data)
		return -ENOMEM;
	memset(dma.data, MIGTEST_DMA_BYTE, len);

	INIT_WORK_ONSTACK(&dma.work, migtest_dma_fn);
	queue_work(system_unbound_wq, &dma.work);
	flush_work(&dma.work);
	destroy_work_on_stack(&dma.work);
	kvfree(dma.data);
	if (dma.ret || !mt->logging)
		return dma.ret;

	for (idx = iova >> PAGE_SHIFT; idx <= (iova + len - 1) >> PAGE_SHIFT; idx++) {
		ret = xa_err(xa_store(&mt->dirty, idx, xa_mk_value(1), GFP_KERNEL));
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- sysfs: /sys/bus/mdev/devices/UUID/migtest/ ---- */

static int migtest_parse_pair(const char *buf, u64 *a, u64 *b)
{
	char *copy, *rest, *first;
	int ret = -EINVAL;

	copy = kstrndup(buf, PAGE_SIZE, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	rest = strim(copy);
	first = strsep(&rest, " \t");
	if (rest && !kstrtou64(first, 0, a) && !kstrtou64(skip_spaces(rest), 0, b))
		ret = 0;
	kfree(copy);
	return ret;
}

/* "IOVA LENGTH" (C integer syntax): the device DMA-writes that range */
static ssize_t dma_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct migtest_dev *mt = dev_get_drvdata(dev);
	u64 iova, len;
	int ret;

	ret = migtest_parse_pair(buf, &iova, &len);
	if (ret)
		return ret;
	if (!len || len > MIGTEST_DMA_MAX || iova + len < iova)
		return -EINVAL;

	mutex_lock(&mt->lock);
	if (!mt->opened)
		ret = -ENODEV;
	else if (mt->mig_state != VFIO_DEVICE_STATE_RUNNING)
		ret = -EBUSY;
	else
		ret = migtest_do_dma(mt, iova, len);
	mutex_unlock(&mt->lock);
	return ret ?: count;
}
static DEVICE_ATTR_WO(dma);

static ssize_t digest_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct migtest_dev *mt = dev_get_drvdata(dev);
	u64 digest;

	mutex_lock(&mt->lock);
	digest = xxh64(mt->state, state_size, 0);
	mutex_unlock(&mt->lock);
	return sysfs_emit(buf, "%016llx\n", digest);
}
static DEVICE_ATTR_RO(digest);

/* "N": a running device changes N consecutive bytes of its state */
static ssize_t mutate_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct migtest_dev *mt = dev_get_drvdata(dev);
	unsigned int n, off, i;
	int ret = 0;

	if (kstrtouint(buf, 0, &n) || !n || n > state_size)
		return -EINVAL;

	mutex_lock(&mt->lock);
	if (mt->mig_state != VFIO_DEVICE_STATE_RUNNING &&
	    mt->mig_state != VFIO_DEVICE_STATE_RUNNING_P2P) {
		ret = -EBUSY;
	} else {
		off = get_random_u32_below(state_size - n + 1);
		/* adding 1..255 changes every byte, so the digest changes */
		for (i = 0; i < n; i++)
			mt->state[off + i] += 1 + get_random_u32_below(255);
	}
	mutex_unlock(&mt->lock);
	return ret ?: count;
}
static DEVICE_ATTR_WO(mutate);

static const char * const migtest_state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
};

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct migtest_dev *mt = dev_get_drvdata(dev);
	enum vfio_device_mig_state s;

	mutex_lock(&mt->lock);
	s = mt->mig_state;
	mutex_unlock(&mt->lock);
	return sysfs_emit(buf, "%s\n", migtest_state_names[s]);
}
static DEVICE_ATTR_RO(state);

static struct attribute *migtest_attrs[] = {
	&dev_attr_dma.attr,
	&dev_attr_digest.attr,
	&dev_attr_mutate.attr,
	&dev_attr_state.attr,
	NULL,
};

static const struct attribute_group migtest_group = {
	.name = "migtest",
	.attrs = migtest_attrs,
};

static const struct attribute_group *migtest_groups[] = {
	&migtest_group,
	NULL,
};

/* ---- vfio_device ops ---- */

static int migtest_open_device(struct vfio_device *vdev)
{
	struct migtest_dev *mt = to_migtest(vdev);

	mutex_lock(&mt->lock);
	mt->opened = true;
	mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mutex_unlock(&mt->lock);
	return 0;
}

static void migtest_close_device(struct vfio_device *vdev)
{
	struct migtest_dev *mt = to_migtest(vdev);

	mutex_lock(&mt->lock);
	migtest_disable_files(mt);
	migtest_log_clear(mt);
	mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mt->opened = false;
	mutex_unlock(&mt->lock);
}

/* A plain mutex is enough: reset never runs under locks our paths take */
static void migtest_reset(struct migtest_dev *mt)
{
	mutex_lock(&mt->lock);
	migtest_disable_files(mt);
	if (broken_reset && mt->mig_state == VFIO_DEVICE_STATE_STOP_COPY)
		mt->mig_state = VFIO_DEVICE_STATE_STOP;
	else
		mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mutex_unlock(&mt->lock);
}

/*
 * A PCI-shaped device with nothing in it: regions of size 0 and no
 * interrupts, enough for a VFIO client to open and reset it.
 */
static long migtest_get_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long migtest_get_region_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	info.flags = 0;
	info.cap_offset = 0;
	info.size = 0;
	info.offset = (u64)info.index << 40;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long migtest_get_irq_info(void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	info.flags = 0;
	info.count = 0;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long migtest_ioctl(struct vfio_device *vdev, unsigned int cmd,
			  unsigned long arg)
{
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return migtest_get_info((void __user *)arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return migtest_get_region_info((void __user *)arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return migtest_get_irq_info((void __user *)arg);
	case VFIO_DEVICE_RESET:
		migtest_reset(to_migtest(vdev));
		return 0;
	}
	return -ENOTTY;
}

/* Called by vfio_alloc_device(); cleans up after itself on failure */
static int migtest_init_dev(struct vfio_device *vdev)
{
	struct migtest_dev *mt = to_migtest(vdev);

	mt->state = vmalloc(state_size);
	if (!mt->state)
		return -ENOMEM;
	get_random_bytes(mt->state, state_size);
	mutex_init(&mt->lock);
	xa_init(&mt->dirty);
	mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
	vdev->mig_ops = &migtest_mig_ops;
	vdev->log_ops = &migtest_log_ops;
	return 0;
}

static void migtest_release_dev(struct vfio_device *vdev)
{
	struct migtest_dev *mt = to_migtest(vdev);

	xa_destroy(&mt->dirty);
	mutex_destroy(&mt->lock);
	vfree(mt->state);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
	vfio_free_device(vdev);	/* later cores free the device themselves */
#endif
}

static const struct vfio_device_ops migtest_dev_ops = {
	.name = MIGTEST_NAME,
	.init = migtest_init_dev,
	.release = migtest_release_dev,
	.open_device = migtest_open_device,
	.close_device = migtest_close_device,
	.ioctl = migtest_ioctl,
#if IS_ENABLED(CONFIG_IOMMUFD)
	/* the lane's 6.12-iommufd: bound through the cdev and /dev/iommu too */
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#endif
};

/* ---- mdev driver and parent ---- */

static int migtest_probe(struct mdev_device *mdev)
{
	struct migtest_dev *mt;
	int ret;

	mt = vfio_alloc_device(migtest_dev, vdev, &mdev->dev, &migtest_dev_ops);
	if (IS_ERR(mt))
		return PTR_ERR(mt);
	ret = vfio_register_emulated_iommu_dev(&mt->vdev);
	if (ret) {
		vfio_put_device(&mt->vdev);
		return ret;
	}
	dev_set_drvdata(&mdev->dev, mt);
	return 0;
}

static void migtest_remove(struct mdev_device *mdev)
{
	struct migtest_dev *mt = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&mt->vdev);
	vfio_put_device(&mt->vdev);
}

static struct mdev_driver migtest_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.max_instances = MIGTEST_MAX_INSTANCES,
	.driver = {
		.name = MIGTEST_NAME,
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = migtest_groups,
	},
	.probe = migtest_probe,
	.remove = migtest_remove,
};

static struct mdev_type migtest_type = {
	.sysfs_name = "1",
	.pretty_name = "vfio_migtest migratable test device",
};

static struct mdev_type *migtest_types[] = { &migtest_type };

static struct class *migtest_class;
static struct device migtest_parent_dev;
static struct mdev_parent migtest_parent;

/* The parent is static; there is nothing to free */
static void migtest_parent_release(struct device *dev)
{
}

static int __init migtest_init(void)
{
	int ret;

	if (!state_size || state_size > SZ_256M)
		return -EINVAL;

	ret = mdev_register_driver(&migtest_driver);
	if (ret)
		return ret;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	migtest_class = class_create(MIGTEST_NAME);
#else
	migtest_class = class_create(THIS_MODULE, MIGTEST_NAME);
#endif
	if (IS_ERR(migtest_class)) {
		ret = PTR_ERR(migtest_class);
		goto err_driver;
	}

	migtest_parent_dev.class = migtest_class;
	migtest_parent_dev.release = migtest_parent_release;
	dev_set_name(&migtest_parent_dev, MIGTEST_NAME);
	ret = device_register(&migtest_parent_dev);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(&migtest_parent, &migtest_parent_dev,
				   &migtest_driver, migtest_types,
				   ARRAY_SIZE(migtest_types));
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_unregister(&migtest_parent_dev);
	goto err_class;
err_put:
	put_device(&migtest_parent_dev);
err_class:
	class_destroy(migtest_class);
err_driver:
	mdev_unregister_driver(&migtest_driver);
	return ret;
}

static void __exit migtest_exit(void)
{
	mdev_unregister_parent(&migtest_parent);
	device_unregister(&migtest_parent_dev);
	class_destroy(migtest_class);
	mdev_unregister_driver(&migtest_driver);
}

module_init(migtest_init);
module_exit(migtest_exit);

MODULE_LICENSE("GPL");
#if IS_ENABLED(CONFIG_IOMMUFD_DRIVER)
MODULE_IMPORT_NS(IOMMUFD);	/* iova_bitmap_set(), a stub without it */
#endif
MODULE_DESCRIPTION("VFIO migration test mdev driver for vfio-migfs");

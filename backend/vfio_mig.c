// SPDX-License-Identifier: MIT
/*
 * The migration side of a VFIO device: one SET per direct arc, and the
 * session's data_fd.
 *
 * migdev.c walks the arcs and asks for the state after any failure; what is
 * left here is what only the kernel's answers can tell: which data_fd
 * belongs to which session, and when "nothing to read" means "not yet".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfio.h"
#include "util.h"

static int mig_state_feature(struct vfio_dev *v, uint32_t dir,
			     struct vfio_device_feature_mig_state *st)
{
	return vfio_feature(v->device_fd, dir | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			    st, sizeof(*st));
}

static void close_data(struct vfio_dev *v)
{
	if (v->data_fd >= 0)
		close(v->data_fd);
	v->data_fd = -1;
}

static bool session_state(enum mig_state s, bool saving)
{
	return saving ? mig_state_saving(s) : s == MIG_RESUMING;
}

/*
 * Every answer about the state also decides the data_fd: a device found
 * outside its session's states (after a failed SET, or a reset someone
 * else did) has ended that session, and its fd only says ENODEV now.
 */
int vfio_get_state(struct migdev *dev, enum mig_state *state)
{
	struct vfio_dev *v = to_vfio(dev);
	struct vfio_device_feature_mig_state st = { .data_fd = -1 };
	int err = mig_state_feature(v, VFIO_DEVICE_FEATURE_GET, &st);

	if (err)
		return err;
	if (st.device_state >= MIG_NR_STATES)
		return -EPROTO;
	*state = (enum mig_state)st.device_state;
	if (!session_state(*state, v->data_saving))
		close_data(v);
	return 0;
}

/*
 * One direct arc.  A failed SET hands back our own request, not where the
 * device went; migdev.c asks with a GET, which drops a dead data_fd.
 */
static int vfio_set_state(struct migdev *dev, enum mig_state next)
{
	struct vfio_dev *v = to_vfio(dev);
	struct vfio_device_feature_mig_state st = {
		.device_state = next, .data_fd = -1,
	};
	int err = mig_state_feature(v, VFIO_DEVICE_FEATURE_SET, &st);

	if (err)
		return err;
	if (st.data_fd >= 0) {		/* a new session */
		close_data(v);
		v->data_fd = st.data_fd;
		v->data_saving = mig_state_saving(next);
	} else if (!session_state(next, v->data_saving)) {
		close_data(v);
	}
	return 0;
}

int vfio_reset(struct migdev *dev)
{
	struct vfio_dev *v = to_vfio(dev);

	close_data(v);		/* a reset ends every session */
	return ioctl(v->device_fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

static int vfio_precopy_info(struct migdev *dev, uint64_t *initial, uint64_t *dirty)
{
	struct vfio_dev *v = to_vfio(dev);
	struct vfio_precopy_info info = { .argsz = sizeof(info) };

	if (v->data_fd < 0)
		return -ENODEV;
	if (ioctl(v->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		return -errno;
	*initial = info.initial_bytes;
	*dirty = info.dirty_bytes;
	return 0;
}

static ssize_t read_data(struct vfio_dev *v, void *buf, size_t len)
{
	ssize_t n = read(v->data_fd, buf, len);

	if (n >= 0)
		return n;
	if (errno == ENODEV)	/* the session ended behind our back */
		close_data(v);
	return -errno;
}

/*
 * In PRE_COPY "nothing more for now" is ENOMSG on some drivers and a 0-byte
 * read on others, and mlx5 and virtio queue new data only when asked for
 * the precopy sizes: ask once before saying "nothing more".
 */
static ssize_t vfio_save_read(struct migdev *dev, void *buf, size_t len)
{
	struct vfio_dev *v = to_vfio(dev);
	uint64_t initial, dirty;
	ssize_t n;

	if (v->data_fd < 0 || !v->data_saving)
		return -ENODEV;
	n = read_data(v, buf, len);
	if (dev->state == MIG_STOP_COPY || (n != 0 && n != -ENOMSG))
		return n;
	if (vfio_precopy_info(dev, &initial, &dirty) || !(initial + dirty))
		return -ENOMSG;
	n = read_data(v, buf, len);
	return n == 0 ? -ENOMSG : n;
}

static ssize_t vfio_resume_write(struct migdev *dev, const void *buf, size_t len)
{
	struct vfio_dev *v = to_vfio(dev);
	ssize_t n;

	if (v->data_fd < 0 || v->data_saving)
		return -ENODEV;
	n = write(v->data_fd, buf, len);
	if (n >= 0)
		return n;
	if (errno == ENODEV)
		close_data(v);
	return -errno;
}

static int vfio_data_size(struct migdev *dev, uint64_t *bytes)
{
	struct vfio_device_feature_mig_data_size size = { 0 };
	int err;

	if (!to_vfio(dev)->data_size)
		return -EOPNOTSUPP;
	err = vfio_feature(to_vfio(dev)->device_fd, VFIO_DEVICE_FEATURE_GET |
			   VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &size, sizeof(size));
	*bytes = size.stop_copy_length;
	return err;
}

static int device_show(struct migdev *dev, struct strbuf *sb)
{
	return sb_printf(sb, "%s\n", to_vfio(dev)->device);
}

static int iommu_show(struct migdev *dev, struct strbuf *sb)
{
	return sb_printf(sb, "%s\n", to_vfio(dev)->iommu);
}

static const struct mig_attr vfio_attrs[] = {
	{ .name = "device", .mode = 0444, .show = device_show },
	{ .name = "iommu", .mode = 0444, .show = iommu_show },
	{ .name = NULL },
};

void vfio_free(struct vfio_dev *v)
{
	int fds[] = { v->data_fd, v->device_fd, v->group_fd, v->container_fd,
		      v->iommufd };

	vfio_dirty_free(v);
	/* The device first: the group and container outlive its users. */
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(v);
}

static void vfio_destroy(struct migdev *dev)
{
	vfio_free(to_vfio(dev));
}

static const struct migdev_ops vfio_ops = {
	.name = "vfio",
	.destroy = vfio_destroy,
	.get_state = vfio_get_state,
	.set_state = vfio_set_state,
	.reset = vfio_reset,
	.save_read = vfio_save_read,
	.resume_write = vfio_resume_write,
	.precopy_info = vfio_precopy_info,
	.data_size = vfio_data_size,
	.dirty_mechanism = vfio_dirty_mechanism,
	.attrs = vfio_attrs,
};

static const struct migdev_log_ops vfio_log_ops = {
	.log_start = vfio_log_start,
	.log_stop = vfio_log_stop,
	.log_report = vfio_log_report,
};

int vfio_init_migdev(struct vfio_dev *v, const char *spec, unsigned int flags)
{
	/* 6.1 and drivers without an estimate: `data_size` says EOPNOTSUPP. */
	v->data_size = vfio_feature_probe(v->device_fd, VFIO_DEVICE_FEATURE_GET |
					  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE);
	return migdev_init(&v->dev, &vfio_ops,
			   v->dirty == VFIO_DIRTY_NONE ? NULL : &vfio_log_ops,
			   spec, flags);
}

// SPDX-License-Identifier: MIT
/*
 * Opening a VFIO device, three ways that end in the same struct vfio_dev:
 *
 *   vfio:DEV         DEV's group and a type1 container of our own;
 *   vfio:DEV,cdev    DEV's cdev bound to an iommufd of our own (6.6+);
 *   fd:N             a device fd handed over by the process that owns the
 *                    device (a VMM), with its container or iommufd.
 *
 * DEV is a PCI address, an mdev UUID or a sysfs device path.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "parse.h"
#include "pci_addr.h"
#include "vfio.h"
#include "util.h"

struct vfio_spec {
	char who[160];		/* "vfio:DEV" or "fd:N", for messages */
	const char *dev;	/* DEV, up to the first ',' */
	size_t devlen;
	bool cdev;
	int container_fd, iommufd;
	uint64_t hwpt;
	enum vfio_dirty_kind dirty;
	char *err;
	size_t errlen;
};

#define spec_fail(s, ...) spec_error((s)->err, (s)->errlen, (s)->who, __VA_ARGS__)

/* --- options --- */

static int opt_dirty(void *ctx, const char *v)
{
	struct vfio_spec *s = ctx;

	if (vfio_dirty_parse(v, &s->dirty))
		return spec_fail(s, "dirty=%s: expected auto, device, type1, iommufd or none", v);
	return 0;
}

static int opt_cdev(void *ctx, const char *v)
{
	(void)v;
	((struct vfio_spec *)ctx)->cdev = true;
	return 0;
}

static int parse_fd(struct vfio_spec *s, const char *key, const char *v, int *fd)
{
	uint64_t n;

	if (parse_u64(v, &n, 0) || n > INT_MAX)
		return spec_fail(s, "%s=%s: not a file descriptor number", key, v);
	*fd = (int)n;
	return 0;
}

static int opt_container(void *ctx, const char *v)
{
	return parse_fd(ctx, "container", v, &((struct vfio_spec *)ctx)->container_fd);
}

static int opt_iommufd(void *ctx, const char *v)
{
	return parse_fd(ctx, "iommufd", v, &((struct vfio_spec *)ctx)->iommufd);
}

static int opt_hwpt(void *ctx, const char *v)
{
	struct vfio_spec *s = ctx;

	if (parse_u64(v, &s->hwpt, 0) || !s->hwpt || s->hwpt > UINT32_MAX)
		return spec_fail(s, "hwpt=%s: not a page table id", v);
	return 0;
}

static const struct spec_opt vfio_opts[] = {
	{ "dirty", opt_dirty, 0 }, { "cdev", opt_cdev, 1 },
};

static const struct spec_opt fd_opts[] = {
	{ "dirty", opt_dirty, 0 }, { "container", opt_container, 0 },
	{ "iommufd", opt_iommufd, 0 }, { "hwpt", opt_hwpt, 0 },
};

static int parse_spec(const char *spec, const char *prefix,
		      const struct spec_opt *opts, size_t nopts, struct vfio_spec *s)
{
	s->dev = spec + strlen(prefix);
	s->devlen = strcspn(s->dev, ",");
	s->container_fd = s->iommufd = -1;
	s->dirty = VFIO_DIRTY_AUTO;
	snprintf(s->who, sizeof(s->who), "%s%.*s", prefix, (int)s->devlen, s->dev);
	if (!s->devlen)
		return spec_fail(s, "the device is missing (%sDEVICE)", prefix);
	if (!s->dev[s->devlen])
		return 0;
	return parse_spec_opts(s->dev + s->devlen + 1, opts, nopts, s,
			       s->who, s->err, s->errlen);
}

/* --- finding the device in sysfs --- */

static bool all_of(const char *s, size_t len, const char *set)
{
	return strspn(s, set) >= len;
}

static bool is_uuid(const char *s, size_t len)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (len != 36 || !all_of(s, len, "0123456789abcdefABCDEF-"))
		return false;
	for (size_t i = 0; i < 4; i++)
		if (s[dash[i]] != '-')
			return false;
	return true;
}

/* The device's PCI address in the kernel's spelling, if it is one. */
static bool pci_name(const char *s, size_t len, char name[PCI_ADDR_SIZE])
{
	char copy[PCI_ADDR_SIZE];
	struct pci_addr addr;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (pci_addr_parse(copy, &addr))
		return false;
	pci_addr_format(&addr, name);
	return true;
}

static int find_sysfs(struct vfio_spec *s, char *dir)
{
	char raw[PATH_MAX], pci[PCI_ADDR_SIZE];
	int n;

	if (s->dev[0] == '/')
		n = snprintf(raw, sizeof(raw), "%.*s", (int)s->devlen, s->dev);
	else if (is_uuid(s->dev, s->devlen))
		n = snprintf(raw, sizeof(raw), "/sys/bus/mdev/devices/%.*s",
			     (int)s->devlen, s->dev);
	else if (pci_name(s->dev, s->devlen, pci))
		n = snprintf(raw, sizeof(raw), "/sys/bus/pci/devices/%s", pci);
	else
		return spec_fail(s, "not a PCI address, mdev UUID or sysfs device path");
	if (n < 0 || (size_t)n >= sizeof(raw) || !realpath(raw, dir))
		return spec_fail(s, "no such device (%s)", raw);
	return 0;
}

/* The last component of the link sysfs keeps at dir/name. */
static int link_name(const char *dir, const char *name, char *out, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	int w = snprintf(link, sizeof(link), "%s/%s", dir, name);

	if (w < 0 || (size_t)w >= sizeof(link))
		return -ENAMETOOLONG;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	w = snprintf(out, len, "%s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* --- who holds a device --- */

/* The device node of the device's cdev, when the kernel made one. */
static bool find_cdev(const char *dir, char *path, size_t len)
{
	char sub[PATH_MAX];
	struct dirent *e = NULL;
	DIR *d = NULL;
	int w = snprintf(sub, sizeof(sub), "%s/vfio-dev", dir);

	if (w > 0 && (size_t)w < sizeof(sub))
		d = opendir(sub);
	while (d && (e = readdir(d)) && strncmp(e->d_name, "vfio", 4))
		;
	/* 6.1 has vfio-dev/vfioN in sysfs, but no device node for it. */
	if (d && e)
		snprintf(path, len, "/dev/vfio/devices/%s", e->d_name);
	if (d)
		closedir(d);
	return d && e && !access(path, F_OK);
}

/* "process PID (COMM) through NODE" when PID has one of the nodes open. */
static bool holds(const char *pid, const char *nodes[2], char *who, size_t len)
{
	char dir[64], link[PATH_MAX], target[PATH_MAX], comm[32] = "?";
	struct dirent *e;
	bool found = false;
	DIR *d;
	FILE *f;

	snprintf(dir, sizeof(dir), "/proc/%.20s/fd", pid);
	d = opendir(dir);
	while (d && !found && (e = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		for (int i = 0; i < 2 && !found; i++)
			found = nodes[i] && !strcmp(target, nodes[i]);
	}
	if (d)
		closedir(d);
	if (!found)
		return false;
	snprintf(dir, sizeof(dir), "/proc/%.20s/comm", pid);
	if ((f = fopen(dir, "re"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(who, len, "process %.20s (%s) through %.200s", pid, comm, target);
	return true;
}

/*
 * The kernel refuses a second opener of a device with EBUSY (EINVAL for a
 * cdev bind while the group is held), whichever of its group or its cdev
 * the first one holds, and names neither: look for the holder among the
 * processes (ours excepted), the same way on both paths. Found nowhere,
 * an EINVAL is what it says: `what` and the errno.
 */
static int held_fail(struct vfio_spec *s, const char *dir, const char *what, int err)
{
	char group[32], gnode[64], cnode[PATH_MAX], who[PATH_MAX + 64], self[16];
	const char *nodes[2] = { NULL, NULL };
	struct dirent *e;
	bool found = false;
	DIR *proc;

	if (!link_name(dir, "iommu_group", group, sizeof(group))) {
		snprintf(gnode, sizeof(gnode), "/dev/vfio/%s", group);
		nodes[0] = gnode;
	}
	if (find_cdev(dir, cnode, sizeof(cnode)))
		nodes[1] = cnode;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	proc = opendir("/proc");
	while (proc && !found && (e = readdir(proc)))
		found = isdigit((unsigned char)e->d_name[0]) && strcmp(e->d_name, self) &&
			holds(e->d_name, nodes, who, sizeof(who));
	if (proc)
		closedir(proc);
	if (!found && err != EBUSY)
		return spec_fail(s, "%s: %s", what, strerror(err));
	if (!found)
		snprintf(who, sizeof(who), "another process (its group or cdev is open)");
	return spec_fail(s, "the device is held by %s; have it hand the device over (fd:N)", who);
}

/* --- the group and a type1 container --- */

static int open_container(struct vfio_spec *s, int *fd)
{
	*fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return spec_fail(s, "/dev/vfio/vfio: %s (is the vfio module loaded?)",
				 strerror(errno));
	if (ioctl(*fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(*fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return spec_fail(s, "the kernel offers no VFIO type1v2 IOMMU");
	return 0;
}

static int open_group(struct vfio_dev *v, struct vfio_spec *s, const char *dir)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char group[32], path[64];
	int err;

	if (link_name(dir, "iommu_group", group, sizeof(group)))
		return spec_fail(s, "the device has no IOMMU group");
	err = open_container(s, &v->container_fd);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->group_fd < 0 && errno == EBUSY)
		return held_fail(s, dir, path, errno);
	if (v->group_fd < 0)
		return spec_fail(s, "%s: %s (is the device bound to a VFIO driver?)",
				 path, strerror(errno));
	if (ioctl(v->group_fd, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return spec_fail(s, "IOMMU group %s is not viable: bind all its "
				 "devices to VFIO drivers", group);
	if (ioctl(v->group_fd, VFIO_GROUP_SET_CONTAINER, &v->container_fd) ||
	    ioctl(v->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return spec_fail(s, "attaching group %s to a type1 container: %s",
				 group, strerror(errno));
	v->device_fd = ioctl(v->group_fd, VFIO_GROUP_GET_DEVICE_FD, v->device);
	if (v->device_fd < 0 && errno == EBUSY)
		return held_fail(s, dir, "getting the device", errno);
	if (v->device_fd < 0)
		return spec_fail(s, "getting the device from group %s: %s",
				 group, strerror(errno));
	snprintf(v->iommu, sizeof(v->iommu), "type1 container, group %s", group);
	return 0;
}

/* --- the cdev and an iommufd --- */

static int cdev_path(struct vfio_spec *s, const char *dir, char *path, size_t len)
{
	if (!find_cdev(dir, path, len))
		return spec_fail(s, "the device has no VFIO cdev (Linux 6.6+ "
				 "with CONFIG_VFIO_DEVICE_CDEV)");
	return 0;
}

/* A page table that tracks dirty pages, when the IOMMU can. */
static uint32_t dirty_hwpt(struct vfio_dev *v, uint32_t dev_id, uint32_t ioas)
{
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = dev_id };
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_id = dev_id, .pt_id = ioas,
	};

	if (ioctl(v->iommufd, IOMMU_GET_HW_INFO, &info) ||
	    !(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) ||
	    ioctl(v->iommufd, IOMMU_HWPT_ALLOC, &alloc))
		return 0;
	return alloc.out_hwpt_id;
}

static int open_cdev(struct vfio_dev *v, struct vfio_spec *s, const char *dir)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	char path[PATH_MAX];
	int err = cdev_path(s, dir, path, sizeof(path));

	if (err)
		return err;
	v->device_fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->device_fd < 0 && errno == EBUSY)
		return held_fail(s, dir, path, errno);
	if (v->device_fd < 0)
		return spec_fail(s, "%s: %s", path, strerror(errno));
	v->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0)
		return spec_fail(s, "/dev/iommu: %s", strerror(errno));
	bind.iommufd = v->iommufd;
	if (ioctl(v->device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return held_fail(s, dir, "binding the cdev to /dev/iommu", errno);
	if (ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &ioas))
		return spec_fail(s, "allocating an IOAS on /dev/iommu: %s", strerror(errno));
	v->hwpt_id = dirty_hwpt(v, bind.out_devid, ioas.out_ioas_id);
	attach.pt_id = v->hwpt_id ? v->hwpt_id : ioas.out_ioas_id;
	if (ioctl(v->device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return spec_fail(s, "attaching %s to an IOAS: %s", path, strerror(errno));
	snprintf(v->iommu, sizeof(v->iommu), "iommufd, ioas %u, hwpt %u",
		 ioas.out_ioas_id, v->hwpt_id);
	return 0;
}

/* --- descriptors handed over --- */

/*
 * Our own copy of an inherited fd, above stdio (a daemon's stdio becomes
 * /dev/null) and closed on exec; the devices of one VMM may share a
 * container, and each closes only its copy.
 */
static int adopt(struct vfio_spec *s, const char *what, int fd, int *copy)
{
	*copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (*copy < 0)
		return spec_fail(s, "%s %d is not an open file descriptor", what, fd);
	return 0;
}

static int adopt_fds(struct vfio_dev *v, struct vfio_spec *s)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char num[16];
	int fd = -1, err;

	snprintf(num, sizeof(num), "%.*s", (int)s->devlen, s->dev);
	err = parse_fd(s, "fd", num, &fd);
	err = err ? err : adopt(s, "device fd", fd, &v->device_fd);
	if (err)
		return err;
	if (ioctl(v->device_fd, VFIO_DEVICE_GET_INFO, &info))
		return spec_fail(s, "fd %d is not a VFIO device", fd);
	if (s->container_fd >= 0 &&
	    (adopt(s, "container", s->container_fd, &v->container_fd) ||
	     ioctl(v->container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION))
		return spec_fail(s, "container=%d is not a VFIO container", s->container_fd);
	if (s->iommufd >= 0 && adopt(s, "iommufd", s->iommufd, &v->iommufd))
		return -EINVAL;
	v->hwpt_id = (uint32_t)s->hwpt;
	snprintf(v->device, sizeof(v->device), "fd:%d", fd);
	snprintf(v->iommu, sizeof(v->iommu), "handed over%s%s",
		 v->container_fd >= 0 ? ", type1 container" : "",
		 v->iommufd >= 0 ? ", iommufd" : "");
	return 0;
}

/* --- common to all three --- */

/*
 * A device we open ourselves starts in running, as the uAPI says a fresh
 * open does; a driver that keeps its state across close (mtty) is reset,
 * and one that cannot be brought there is refused. A device handed over
 * keeps what its owner left (migdev.c claims no session it did not begin).
 */
static int start_running(struct vfio_dev *v, struct vfio_spec *s,
			 enum mig_state *found)
{
	enum mig_state now;
	int err = vfio_get_state(&v->dev, found);

	if (err)
		return spec_fail(s, "reading its migration state: %s", strerror(-err));
	if (*found == MIG_RUNNING)
		return 0;
	err = vfio_reset(&v->dev);
	err = err ? err : vfio_get_state(&v->dev, &now);
	if (err || now != MIG_RUNNING)
		return spec_fail(s, "the device is in %s and a reset does not bring it to running%s%s",
				 mig_state_name(*found), err ? ": " : "",
				 err ? strerror(-err) : "");
	return 0;
}

static int finish(struct vfio_dev *v, struct vfio_spec *s, const char *spec,
		  bool own, struct migdev **devp)
{
	enum mig_state found = MIG_RUNNING;
	unsigned int flags;
	int err = vfio_migration_flags(v, &flags);

	if (err == -EOPNOTSUPP)
		return spec_fail(s, "the device does not support VFIO migration");
	if (err)
		return spec_fail(s, "reading its migration features: %s", strerror(-err));
	if (vfio_dirty_select(v, s->dirty))
		return spec_fail(s, "dirty tracking by %s is not available here",
				 vfio_dirty_name(s->dirty));
	if (v->dirty != VFIO_DIRTY_NONE)
		flags |= MIG_F_DIRTY;
	if (own && (err = start_running(v, s, &found)))
		return err;
	err = vfio_init_migdev(v, spec, flags);
	if (err)
		return spec_fail(s, "%s", strerror(-err));
	if (found != MIG_RUNNING)
		migdev_opened_in(&v->dev, found);
	/* A handed-over device's state, and what it means, goes in the log. */
	migdev_state(&v->dev);
	*devp = &v->dev;
	return 0;
}

static int open_sysfs(struct vfio_dev *v, struct vfio_spec *s)
{
	char dir[PATH_MAX];
	int err = find_sysfs(s, dir);

	if (err)
		return err;
	/* The name the kernel knows it by: the BDF or the UUID. */
	snprintf(v->device, sizeof(v->device), "%s", strrchr(dir, '/') + 1);
	return s->cdev ? open_cdev(v, s, dir) : open_group(v, s, dir);
}

struct vfio_way {
	const char *prefix;
	const struct spec_opt *opts;
	size_t nopts;
	int (*open)(struct vfio_dev *v, struct vfio_spec *s);
};

static const struct vfio_way by_sysfs = {
	"vfio:", vfio_opts, ARRAY_SIZE(vfio_opts), open_sysfs,
};

static const struct vfio_way by_fd = {
	"fd:", fd_opts, ARRAY_SIZE(fd_opts), adopt_fds,
};

static int open_way(const struct vfio_way *way, const char *spec,
		    struct migdev **devp, char *err, size_t errlen)
{
	struct vfio_spec s = { .err = err, .errlen = errlen };
	struct vfio_dev *v;
	int r = parse_spec(spec, way->prefix, way->opts, way->nopts, &s);

	if (r)
		return r;
	v = calloc(1, sizeof(*v));
	if (!v)
		return spec_fail(&s, "out of memory");
	v->device_fd = v->group_fd = v->container_fd = v->iommufd = v->data_fd = -1;
	r = way->open(v, &s);
	r = r ? r : finish(v, &s, spec, way == &by_sysfs, devp);
	if (r)
		vfio_free(v);
	return r;
}

int vfio_open(const char *spec, struct migdev **devp, char *err, size_t errlen)
{
	return open_way(&by_sysfs, spec, devp, err, errlen);
}

int vfio_fd_open(const char *spec, struct migdev **devp, char *err, size_t errlen)
{
	return open_way(&by_fd, spec, devp, err, errlen);
}

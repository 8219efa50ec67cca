// SPDX-License-Identifier: MIT
/*
 * The devices a transfer command works on, claimed for the whole command
 * (docs/ABI.md section 9.1): each directory held open, so that the files
 * opened later are those of the mount that was checked (a `umount -l`
 * mid-command takes nothing from under the command, and is seen), and
 * each `state` held open with an exclusive flock(2), so that a second
 * command on the same device is refused before it changes anything
 * instead of rolling the device back under the first.  The held `state`
 * also makes each transition one newline-terminated write: one FUSE
 * request instead of open, write, flush and release.
 *
 * This is the bottom of devdir.c: how a file of DIR is named and opened,
 * and which errno says that its daemon is gone.
 *
 * The table is filled by the main thread before a set's threads start
 * and only read after; the fds close, and the locks go, at exit.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util.h"
#include "vfio-migctl.h"

struct claim {
	const char *dir;	/* as the command line names it */
	int dirfd;		/* the directory (O_PATH) */
	int state;		/* its `state`, O_RDWR, flock(LOCK_EX) */
	dev_t dev;		/* the mount's device number */
};

static struct claim claims[2 * STREAM_SET_MAX];
static unsigned int nclaims;

int devdir_path(const char *dir, const char *file, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * A daemon that died leaves its mount, which answers everything with
 * ENOTCONN, or ECONNABORTED for a request it held when it died.
 */
bool devdir_gone_error(int err)
{
	return err == -ENOTCONN || err == -ECONNABORTED;
}

static const struct claim *claim_of(const char *dir)
{
	for (unsigned int i = 0; i < nclaims; i++)
		if (claims[i].dir == dir || !strcmp(claims[i].dir, dir))
			return &claims[i];
	return NULL;
}

int devdir_not_mount(const char *dir, struct errmsg *e)
{
	return errmsg_set(e, -ENODEV, "%s: not a vfio-migfs mount", dir);
}

/* dirfd's filesystem is FUSE (the daemon's answer), or -errno. */
static int check_fuse(const char *dir, int dirfd, struct errmsg *e)
{
	struct statfs sfs;

	if (fstatfs(dirfd, &sfs))
		return errmsg_sys(e, -errno, "%s", dir);
	return sfs.f_type == FUSE_SUPER_MAGIC ? 0 : devdir_not_mount(dir, e);
}

static int lock_state(struct claim *c, struct errmsg *e)
{
	struct stat st;
	int err;

	c->state = openat(c->dirfd, "state", O_RDWR | O_CLOEXEC);
	if (c->state < 0 && errno == ENOENT)
		return devdir_not_mount(c->dir, e);
	if (c->state < 0)
		return errmsg_sys(e, -errno, "opening %s/state", c->dir);
	err = flock(c->state, LOCK_EX | LOCK_NB) ? -errno : 0;
	if (err == -EWOULDBLOCK)
		return errmsg_set(e, -EBUSY, "%s is in use by another vfio-migctl command "
				  "(one migration per device at a time; nothing was changed)",
				  c->dir);
	if (err)
		return errmsg_sys(e, err, "locking %s/state", c->dir);
	if (fstat(c->dirfd, &st))
		return errmsg_sys(e, -errno, "%s", c->dir);
	c->dev = st.st_dev;
	return 0;
}

int devdir_claim(const char *dir, struct errmsg *e)
{
	struct claim *c = &claims[nclaims];
	int err;

	if (claim_of(dir))
		return 0;
	if (nclaims == ARRAY_SIZE(claims))
		return errmsg_set(e, -EMFILE, "%s: too many devices", dir);
	*c = (struct claim){ .dir = dir, .state = -1 };
	c->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return devdir_not_mount(dir, e);
	if (c->dirfd < 0)
		return errmsg_sys(e, -errno, "%s", dir);
	err = check_fuse(dir, c->dirfd, e);
	err = err ? err : lock_state(c, e);
	if (err) {
		if (c->state >= 0)
			close(c->state);
		close(c->dirfd);
		return err;
	}
	nclaims++;
	return 0;
}

int devdir_open(const char *dir, const char *file, int flags)
{
	const struct claim *c = claim_of(dir);
	char path[PATH_MAX];
	int fd, err;

	if (c)
		fd = openat(c->dirfd, file, flags | O_CLOEXEC);
	else if ((err = devdir_path(dir, file, path, sizeof(path))))
		return err;
	else
		fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * One newline-terminated write at offset 0 of the held `state`: one store
 * (ABI section 2), whose errno is the transition's.  EINTR means that the
 * request never reached the daemon (a signal came first; the daemon does
 * not take interrupts): nothing changed, and it is asked again.
 */
int devdir_set_state(const char *dir, const char *state)
{
	const struct claim *c = claim_of(dir);
	char line[64];
	int len = snprintf(line, sizeof(line), "%s\n", state);
	ssize_t n;

	if (!c)
		return -EBADF;	/* every device a command changes is claimed first */
	if (len < 0 || (size_t)len >= sizeof(line))
		return -EINVAL;
	while ((n = pwrite(c->state, line, (size_t)len, 0)) < 0 && errno == EINTR)
		;
	return n == len ? 0 : n < 0 ? -errno : -EIO;
}

/* The mount of a claimed DIR, asked through the held directory. */
int devdir_statfs(const char *dir, struct statfs *sfs)
{
	const struct claim *c = claim_of(dir);

	return (c ? fstatfs(c->dirfd, sfs) : statfs(dir, sfs)) ? -errno : 0;
}

bool devdir_unmounted(const char *dir)
{
	const struct claim *c = claim_of(dir);
	struct stat st;

	if (!c)
		return false;
	/* A dead daemon's mount answers ENOTCONN: gone, not unmounted. */
	if (stat(dir, &st))
		return !devdir_gone_error(-errno);
	return st.st_dev != c->dev;
}

int devdir_check_mounted(const char *dir, struct errmsg *e)
{
	if (!devdir_unmounted(dir))
		return 0;
	return errmsg_set(e, -ENODEV, "%s: its mount is gone (unmounted): its daemon "
			  "would end with the device", dir);
}

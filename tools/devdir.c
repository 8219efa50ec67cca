// SPDX-License-Identifier: MIT
/*
 * A mounted device directory, through its files only (docs/ABI.md):
 * reading and writing text files, and parsing what they hold.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "mountinfo.h"
#include "util.h"
#include "vfio-migctl.h"

#define GONE_SETTLE_TRIES	10
#define GONE_SETTLE_NS		(20 * 1000 * 1000)

/*
 * FUSE carries at most 256 pages per request: a 1 MiB read into a buffer
 * that does not start a page spans 257 and costs two requests.  cat and
 * dd align theirs too.
 */
void *devdir_buffer(size_t len)
{
	void *p;

	if (posix_memalign(&p, (size_t)sysconf(_SC_PAGESIZE), len))
		fatalx("no memory for a %zu-byte buffer", len);
	return p;
}

/*
 * DIR is a vfio-migfs mount, by the type mountinfo gives its canonical
 * name: no file of DIR is asked (a stuck daemon would hold the asker).
 */
bool devdir_mounted(const char *dir)
{
	char path[PATH_MAX];

	return !mount_canonical(dir, path, sizeof(path)) &&
	       mount_kind_at(path, NULL) == MIGFS_MOUNT;
}

int not_a_mount(const char *dir)
{
	fprintf(stderr, "vfio-migctl: %s: not a vfio-migfs mount\n", dir);
	return EXIT_FAILURE;
}

/*
 * Before anything is read or written in DIR: a write to a directory
 * where nothing is mounted would make a plain file there (`state`), which
 * the next daemon's mount would hide.
 */
void devdir_require(const char *dir)
{
	if (!devdir_mounted(dir))
		exit(not_a_mount(dir));
}

int devdir_read(const char *dir, const char *file, char *buf, size_t len)
{
	ssize_t n = 0, got = 0;
	int fd = devdir_open(dir, file, O_RDONLY), err;

	if (fd < 0)
		return fd;
	/* A text file is rendered at offset 0; read it whole. */
	while ((size_t)n < len - 1 && (got = read(fd, buf + n, len - 1 - (size_t)n)) > 0)
		n += got;
	err = got < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

/* One newline-terminated write: one store (ABI section 2). */
int devdir_write(const char *dir, const char *file, const char *value)
{
	char *line;
	int fd, len, err = 0;

	if ((len = asprintf(&line, "%s\n", value)) < 0)
		return -ENOMEM;
	fd = devdir_open(dir, file, O_WRONLY | O_TRUNC);
	if (fd < 0) {
		free(line);
		return fd;
	}
	/* The daemon answers the whole value or an error, never a part. */
	if (write(fd, line, (size_t)len) != len)
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	free(line);
	return err;
}

int devdir_state(const char *dir, char *buf, size_t len)
{
	return devdir_read(dir, "state", buf, len);
}

/* "key value" or "key: value" lines: the number after key. */
static int find_u64(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) || (l[klen] != ' ' && l[klen] != ':'))
			continue;
		l += klen + (l[klen] == ':');
		return sscanf(l, " %" SCNu64, v) == 1 ? 0 : -EPROTO;
	}
	return -EPROTO;
}

int devdir_precopy(const char *dir, uint64_t *initial, uint64_t *dirty)
{
	char buf[256];
	int err = devdir_read(dir, "precopy", buf, sizeof(buf));

	if (err)
		return err;
	err = find_u64(buf, "initial_bytes", initial);
	return err ? err : find_u64(buf, "dirty_bytes", dirty);
}

int devdir_u64(const char *dir, const char *file, uint64_t *v)
{
	char buf[64];
	int err = devdir_read(dir, file, buf, sizeof(buf));

	if (err)
		return err;
	return sscanf(buf, "%" SCNu64, v) == 1 ? 0 : -EPROTO;
}

unsigned int devdir_features(const char *dir)
{
	static const char *const names[] = { "stop_copy", "p2p", "pre_copy", "dirty" };
	char buf[256], *save, *w;
	unsigned int f = 0;

	if (devdir_read(dir, "features", buf, sizeof(buf)))
		return 0;
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(w, names[i]))
				f |= 1u << i;
	return f;
}

/* The value of "key: value" in status text, or "" */
void status_field(const char *status, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	out[0] = '\0';
	for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) || strncmp(l + klen, ": ", 2))
			continue;
		l += klen + 2;
		snprintf(out, len, "%.*s", (int)strcspn(l, "\n"), l);
		return;
	}
}

int status_u64(const char *status, const char *key, uint64_t *v)
{
	return find_u64(status, key, v);
}

bool devdir_in(const char *dir, const char *state)
{
	char now[64];

	return !devdir_state(dir, now, sizeof(now)) && !strcmp(now, state);
}

int devdir_idle(const char *dir, const char *verb, char *state, size_t len,
		struct errmsg *e)
{
	int err = devdir_state(dir, state, len);

	if (err)
		return errmsg_sys(e, err, "reading %s/state", dir);
	if (strcmp(state, "running") && strcmp(state, "stop"))
		return errmsg_set(e, -EBUSY, "%s is in %s; %s needs running or stop "
				  "(nothing was changed)", dir, state, verb);
	return 0;
}

enum recovery devdir_recover(const char *dir, bool reset_first)
{
	bool reset = reset_first || devdir_set_state(dir, "running");
	char state[64];

	if (reset)
		devdir_write(dir, "reset", "1");
	if (devdir_state(dir, state, sizeof(state)) || strcmp(state, "running"))
		return NOT_RECOVERED;
	return reset ? RECOVERED_BY_RESET : RECOVERED;
}

/*
 * Asked of the mount itself (what failed may have said something else),
 * with statfs(2), which the kernel never answers from a cache.  A daemon
 * that ends cleanly closes its session a moment before it unmounts, and
 * in that moment its mount answers as a dead daemon's: give it the moment.
 */
bool devdir_gone(const char *dir)
{
	struct statfs sfs;
	int err;

	for (int i = 0; i < GONE_SETTLE_TRIES; i++) {
		err = devdir_statfs(dir, &sfs);
		if (!err || !devdir_gone_error(err))
			return false;
		nanosleep(&(struct timespec){ 0, GONE_SETTLE_NS }, NULL);
	}
	return true;
}

int daemon_gone_then(const char *cmd, const char *dir, const char *then)
{
	fprintf(stderr, "vfio-migctl: %s%sthe vfio-migfsd serving %s is gone%s\n",
		cmd ? cmd : "", cmd ? ": " : "", dir, then);
	return EXIT_DAEMON_GONE;
}

void device_name(const char *dir, char *name, size_t len)
{
	char status[4096];

	name[0] = '\0';
	if (devdir_read(dir, "status", status, sizeof(status)) == 0)
		status_field(status, "device", name, len);
}

int daemon_gone(const char *cmd, const char *dir)
{
	return daemon_gone_then(cmd, dir, "");
}

int devdir_io_error(const char *dir, const char *verb, const char *file, int err,
		    struct errmsg *e)
{
	char state[64];

	/*
	 * ABI section 4: ESTALE is a handle whose session ended, ENODATA a
	 * read and EPERM a write of a device no longer where this command put
	 * it.  A handle binds at its first transfer, so a reset before that
	 * one gives EPERM or ENODATA, not ESTALE: all three are the same news.
	 */
	if (err != -ESTALE && err != -ENODATA && err != -EPERM)
		return errmsg_sys(e, err, "%s %s/%s", verb, dir, file);
	if (devdir_state(dir, state, sizeof(state)))
		snprintf(state, sizeof(state), "a state that cannot be read");
	return errmsg_set(e, err, "%s: its migration was cancelled under vfio-migctl "
			  "(its state or reset written by another; it is now in %s)", dir, state);
}

void devdir_left(const char *dir, struct errmsg *e)
{
	char state[64], line[PATH_MAX + 96];

	if (devdir_gone(dir))
		snprintf(line, sizeof(line), "; the vfio-migfsd serving %s is gone", dir);
	else if (devdir_unmounted(dir))
		snprintf(line, sizeof(line), "; the mount at %s is gone (unmounted)", dir);
	else if (devdir_state(dir, state, sizeof(state)))
		snprintf(line, sizeof(line), "; %s cannot be read", dir);
	else
		snprintf(line, sizeof(line), "; %s is left in %s", dir, state);
	errmsg_add(e, line);
}

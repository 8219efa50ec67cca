// SPDX-License-Identifier: MIT
/*
 * vfio-migfsd [options] DEVICE MOUNTPOINT [DEVICE MOUNTPOINT ...]
 * vfio-migfsd [options] --config FILE
 *
 * Everything that can fail is checked before anything is mounted: the
 * mountpoints are checked (and locked against another daemon starting
 * there) and the devices opened first, then all are mounted, and any
 * failure unmounts what was mounted.  Without -f the parent returns only
 * once every mount is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mountinfo.h"
#include "parse.h"
#include "vfio-migfsd.h"

#define DEFAULT_THREADS	4
#define MAX_THREADS	64

static int ready_fd = -1;	/* the waiting parent, without -f */

static void usage(FILE *f)
{
	fprintf(f,
"usage: vfio-migfsd [-f] [-o allow_other] [-t threads] DEVICE MOUNTPOINT\n"
"                   [DEVICE MOUNTPOINT ...]\n"
"       vfio-migfsd [-f] [options] --config FILE [DEVICE MOUNTPOINT ...]\n"
"\n"
"Mount one filesystem per migratable device: write a state name to `state`,\n"
"stream the migration data through `data`, read dirty pages from `dirty/`.\n"
"\n"
"Devices:\n"
"  vfio:DEV[,cdev][,dirty=MECH]\n"
"                     a VFIO device by PCI address, mdev UUID or sysfs path,\n"
"                     through its group (or its cdev and /dev/iommu)\n"
"  fd:N[,container=FD][,iommufd=FD,hwpt=ID][,dirty=MECH]\n"
"                     a VFIO device fd handed over by the process owning it\n"
"  sim:NAME[,size=BYTES][,features=LIST][,dirty_rate=N][,guest_mem=BYTES]\n"
"                     [,load_us=N][,peer=NAME][,peer_rate=N][,quirk=LIST]\n"
"                     a simulated device (LIST: p2p+pre_copy+dirty); with\n"
"                     peer=NAME it writes into sim:NAME as P2P DMA would;\n"
"                     quirk= breaks a rule of the migration contract on\n"
"                     purpose, for vfio-migctl check (vfio-migfsd(8))\n"
"  MECH: auto (default), device, type1, iommufd or none\n"
"\n"
"Options:\n"
"  -f, --foreground   stay in the foreground, log to stderr\n"
"  -o allow_other     let other users in (the file modes still apply)\n"
"  -t, --threads N    worker threads serving all mounts (default %d)\n"
"  --container-fd FD  the type1 container of every fd: device\n"
"  --iommufd-fd FD    the iommufd of every fd: device\n"
"  --config FILE      options and mounts from FILE (" SYSCONFDIR "/vfio-migfs/*.conf)\n"
"  --force-nonempty   mount over a directory that holds files (hiding them)\n"
"  --dirty-bitmap-max SIZE\n"
"                     the dirty bitmaps one device may hold (default 256M:\n"
"                     8 TiB of IOVA space at 4 KiB pages)\n"
"  -h, --help         show this help\n"
"  -V, --version      show the version\n"
"\n"
"See vfio-migfsd(8) and vfio-migfs(7).\n", DEFAULT_THREADS);
}

static void parse_mount_opts(char *arg, struct options *o)
{
	for (char *save, *opt = strtok_r(arg, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (strcmp(opt, "allow_other"))
			usage_fatalx("unknown mount option '%s'", opt);
		o->allow_other = true;
	}
}

/* Kept as DEVICE options: an fd: device's own options come after, and win. */
static void add_fd_opt(struct options *o, const char *key, const char *fd)
{
	size_t len = strlen(o->fd_opts);
	uint64_t n;

	if (parse_u64(fd, &n, 0) || n > INT_MAX)
		usage_fatalx("--%s-fd takes a file descriptor number, not '%s'", key, fd);
	snprintf(o->fd_opts + len, sizeof(o->fd_opts) - len, ",%s=%d", key, (int)n);
}

/* One option, from the command line or a --config file. */
static void set_option(int c, const char *arg, struct options *o)
{
	char *opts;
	uint64_t n;

	switch (c) {
	case 'f':
		o->foreground = true;
		break;
	case 'o':
		if (!(opts = strdup(arg)))
			fatal("options");
		parse_mount_opts(opts, o);
		free(opts);
		break;
	case 't':
		if (parse_u64(arg, &n, 0) || n < 1 || n > MAX_THREADS)
			usage_fatalx("--threads takes 1 to %d, not '%s'", MAX_THREADS, arg);
		o->threads = (unsigned int)n;
		break;
	case 'C':
	case 'I':
		add_fd_opt(o, c == 'C' ? "container" : "iommufd", arg);
		break;
	case 'N':
		o->force_nonempty = true;
		break;
	case 'B':
		if (parse_u64(arg, &o->dirty_bitmap_max, 1) ||
		    o->dirty_bitmap_max < 8)
			usage_fatalx("--dirty-bitmap-max takes a size of at least 8 bytes, not '%s'",
			       arg);
		break;
	}
}

static void parse_args(int argc, char **argv, struct options *o,
		       struct mount_args *ma)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "threads", required_argument, NULL, 't' },
		{ "container-fd", required_argument, NULL, 'C' },
		{ "iommufd-fd", required_argument, NULL, 'I' },
		{ "dirty-bitmap-max", required_argument, NULL, 'B' },
		{ "config", required_argument, NULL, 'c' },
		{ "force-nonempty", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->threads = DEFAULT_THREADS;
	o->dirty_bitmap_max = MIG_DIRTY_BITMAP_MAX;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fo:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_read(optarg, o, ma, set_option);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vfio-migfsd %s\n", VERSION);
			exit(0);
		case '?':
			usage_fatalx("unknown option '%s' (see --help)", argv[optind - 1]);
		default:
			set_option(c, optarg, o);
		}
	}
	if ((argc - optind) % 2 || (argc == optind && !ma->n))
		usage_fatalx("expected DEVICE MOUNTPOINT pairs (see --help)");
	for (int i = optind; i < argc; i += 2)
		mount_args_add(ma, argv[i], argv[i + 1], NULL);
}

static int open_device(const char *spec, const struct options *o,
		       struct migdev **dev, char *err, size_t errlen)
{
	size_t head = strcspn(spec, ",");
	char *full;
	int r;

	if (strncmp(spec, "fd:", 3) || !o->fd_opts[0]) {
		r = migdev_open(spec, dev, err, errlen);
	} else {
		if (asprintf(&full, "%.*s%s%s", (int)head, spec, o->fd_opts,
			     spec + head) < 0)
			fatal("device options");
		r = migdev_open(full, dev, err, errlen);
		free(full);
	}
	if (!r)
		migdev_dirty_set_bitmap_max(*dev, o->dirty_bitmap_max);
	return r;
}

/* Whether path lies below dir (both canonical). */
static bool below(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	if (!strcmp(dir, "/"))
		return strcmp(path, "/") != 0;
	return !strncmp(path, dir, len) && path[len] == '/';
}

/*
 * Each mountpoint by its canonical name, or exit.  One below another
 * would be reached through the other's mount, which nobody serves while
 * the daemon is still mounting.
 */
static void name_mountpoints(struct mount *m, const struct mount_args *ma)
{
	char path[PATH_MAX];
	int err;

	for (unsigned int i = 0; i < ma->n; i++) {
		const char *arg = ma->v[i].dir;

		log_where(ma->v[i].where);
		if (!*arg)
			fatalx("an empty MOUNTPOINT names no directory");
		err = mount_canonical(arg, path, sizeof(path));
		if (err == -ENOENT)
			fatalx("%s: no such directory", arg);
		if (err)
			fatalx("%s: %s", arg, strerror(-err));
		if (!(m[i].mountpoint = strdup(path)))
			fatal("mount table");
		for (unsigned int j = 0; j < i; j++) {
			if (!strcmp(m[j].mountpoint, path))
				fatalx("%s: busy: given twice", path);
			if (below(path, m[j].mountpoint) || below(m[j].mountpoint, path))
				fatalx("%s and %s: one mountpoint below another",
				       m[j].mountpoint, path);
		}
	}
	log_where(NULL);
}

/*
 * Check (and lock) every mountpoint, then open every device; exit on the
 * first error.  The checks come first: they fork, which is cheap before
 * a device's memory is filled.
 */
static struct mount *prepare(const struct mount_args *ma, const struct options *o)
{
	struct mount *m = calloc(ma->n, sizeof(*m));
	char err[512];

	if (!m)
		fatal("mount table");
	config_make_mountpoints(ma);
	name_mountpoints(m, ma);
	for (unsigned int i = 0; i < ma->n; i++) {
		m[i].lock_fd = -1;
		log_where(ma->v[i].where);
		if (mount_check(&m[i], o, err, sizeof(err)))
			fatalx("%s", err);
	}
	for (unsigned int i = 0; i < ma->n; i++) {
		log_where(ma->v[i].where);
		if (open_device(ma->v[i].dev, o, &m[i].dev, err, sizeof(err)))
			fatalx("%s", err);
		fs_init(&m[i]);
	}
	log_where(NULL);
	return m;
}

static void unmount_all(struct mount *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		mount_end(&m[i]);
}

/* After the workers: files still open are freed with their sessions. */
static void end_all(struct mount *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		fs_session_end(&m[i]);
	unmount_all(m, n);
}

static void mount_all(struct mount *m, unsigned int n, const struct options *o)
{
	char err[512];

	for (unsigned int i = 0; i < n; i++) {
		if (mount_session(&m[i], o, err, sizeof(err))) {
			unmount_all(m, i);
			fatalx("%s", err);
		}
	}
}

/*
 * Fork; the parent waits for one byte meaning "all mounted", or for the
 * child's exit status when it failed.
 */
static void daemonize(void)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) || (pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		return;
	}
	close(p[1]);
	if (read(p[0], &c, 1) == 1)
		exit(0);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
	exit(1);
}

/* Leave the terminal and log to syslog: before the workers, who log too. */
static void detach(void)
{
	int null;

	if (ready_fd < 0)
		return;
	setsid();
	if (chdir("/"))
		log_warn("chdir /");
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	log_init(false);
}

/* The workers serve every mount: systemd and the waiting parent may go on. */
static void tell_ready(void)
{
	service_ready();
	if (ready_fd < 0)
		return;
	if (write(ready_fd, "", 1) != 1)
		log_warn("telling the parent");
	close(ready_fd);
}

int main(int argc, char **argv)
{
	struct mount_args ma = { 0 };
	struct options o = { 0 };
	struct mount *m;
	unsigned int n;

	log_init(true);
	parse_args(argc, argv, &o, &ma);
	n = ma.n;
	/*
	 * Fork first: memory filled before a fork (a device's state) is
	 * copy-on-write afterwards, and every page of it faults again at its
	 * next write even once the parent is gone.
	 */
	if (!o.foreground)
		daemonize();
	m = prepare(&ma, &o);
	service_init(m, n);
	loop_init();
	mount_all(m, n, &o);
	detach();
	loop_run(m, n, o.threads, tell_ready);
	service_stopping();
	end_all(m, n);
	service_end();
	for (unsigned int i = 0; i < n; i++) {
		migdev_close(m[i].dev);
		free(m[i].mountpoint);
	}
	mount_args_free(&ma);
	free(m);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * migtest-owner: owns an mdev the way a VMM does, and runs a command that
 * inherits the open device and container. Run as root in the kernel lane:
 *
 *	migtest-owner [-i] [-r REPORT] UUID IOVA BYTES -- CMD [ARGS...]
 *
 * It sets up a type1 container with BYTES of anonymous memory mapped at
 * IOVA (read/write), opens the device, and runs CMD with `{dev}` and
 * `{container}` in ARGS replaced by the inherited fd numbers, e.g.
 *
 *	migtest-owner $UUID 0x100000 1M -- vfio-migfsd -f fd:{dev} \
 *		--container-fd {container} /mnt/dev
 *
 * The owner stays alive until CMD exits: the mapping belongs to its mm, and
 * the device's DMA (vfio_dma_rw()) lands in this process's memory. SIGTERM,
 * SIGINT and SIGHUP are passed on to CMD. With -r, REPORT receives the bytes
 * the device wrote once CMD has exited: one line "IOVA LENGTH 0xBYTE" per run
 * of equal non-zero bytes (the memory starts zeroed). Exits with CMD's status
 * (128 + N if signal N killed it), 1 on a setup error, 2 on a usage error.
 *
 * With -i the owner goes the iommufd way instead (Linux 6.6+ with
 * CONFIG_VFIO_DEVICE_CDEV): the device's cdev bound to /dev/iommu, an IOAS
 * holding the mapping, and `{container}` is the iommufd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "uapi-compat.h"	/* the cdev and iommufd, newer than 6.1's headers */
#include "lane-vfio.h"

#define PAGE	4096ULL

static volatile pid_t child;

static void usage(void)
{
	fprintf(stderr, "usage: migtest-owner [-i] [-r REPORT] UUID IOVA BYTES -- CMD [ARGS...]\n"
		"  {dev} and {container} in ARGS become the inherited fd numbers\n");
	exit(2);
}

/* One line on stderr, naming the step that failed, and exit 1 */
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fputs("migtest-owner: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

/* A page-aligned number, decimal or 0x hex, with an optional K, M or G */
static uint64_t parse_size(const char *s, const char *what)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (errno || end == s || *end || *s == '-' || v > UINT64_MAX >> shift ||
	    (v << shift) % PAGE) {
		fprintf(stderr, "migtest-owner: %s '%s' is not a page-aligned number\n", what, s);
		exit(2);
	}
	return (uint64_t)v << shift;
}

/* The group of an mdev, checked viable. */
static int open_group(const char *uuid)
{
	char what[PATH_MAX + 64];
	int fd = lane_open_group(uuid, what, sizeof(what));

	if (fd < 0)
		die("%s", what);
	return fd;
}

static int open_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/vfio/vfio");
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		errno = EPROTO;
		die("VFIO_GET_API_VERSION is not %d", VFIO_API_VERSION);
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		errno = ENOTSUP;
		die("the container has no TYPE1v2 IOMMU");
	}
	return fd;
}

/*
 * Guest memory: zeroed anonymous pages mapped for DMA. MADV_DONTFORK keeps
 * them out of the child, as QEMU does, so a copy-on-write fault after the
 * fork can never leave the device writing to pages the owner no longer sees.
 */
static uint8_t *guest_memory(uint64_t bytes)
{
	uint8_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		die("mmap of %" PRIu64 " bytes", bytes);
	if (madvise(mem, bytes, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	return mem;
}

static uint8_t *map_memory(int container, uint64_t iova, uint64_t bytes)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = iova, .size = bytes,
	};
	uint8_t *mem = guest_memory(bytes);

	map.vaddr = (uintptr_t)mem;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA of 0x%" PRIx64 "+0x%" PRIx64, iova, bytes);
	return mem;
}

/* The device's cdev bound to a new iommufd whose IOAS maps the memory */
static int open_iommufd(const char *uuid, int *dev, uint64_t iova, uint64_t bytes,
			uint8_t **mem)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = {
		.size = sizeof(map), .iova = iova, .length = bytes,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfio-dev", uuid);
	d = opendir(path);
	if (!d)
		die("%s", path);
	while ((e = readdir(d)) && strncmp(e->d_name, "vfio", 4))
		;
	if (!e) {
		errno = ENODEV;
		die("no cdev in %s", path);
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	*dev = open(path, O_RDWR | O_CLOEXEC);
	if (*dev < 0)
		die("%s", path);
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("/dev/iommu");
	bind.iommufd = fd;
	if (ioctl(*dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &ioas))
		die("IOMMU_IOAS_ALLOC");
	*mem = guest_memory(bytes);
	map.ioas_id = ioas.out_ioas_id;
	map.user_va = (uintptr_t)*mem;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		die("IOMMU_IOAS_MAP of 0x%" PRIx64 "+0x%" PRIx64, iova, bytes);
	attach.pt_id = ioas.out_ioas_id;
	if (ioctl(*dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	return fd;
}

static void inherit(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC))
		die("clearing FD_CLOEXEC on fd %d", fd);
}

/* `arg` with every {dev} and {container} replaced by the fd numbers */
static char *substitute(const char *arg, int dev, int container)
{
	static const char *const keys[] = { "{dev}", "{container}" };
	/* a key (5 bytes or more) becomes at most 10 digits */
	size_t cap = 2 * strlen(arg) + 1, len = 0, k;
	char *out = malloc(cap);

	if (!out)
		die("malloc");
	while (*arg) {
		for (k = 0; k < 2; k++)
			if (!strncmp(arg, keys[k], strlen(keys[k])))
				break;
		if (k < 2) {
			len += sprintf(out + len, "%d", k ? container : dev);
			arg += strlen(keys[k]);
		} else {
			out[len++] = *arg++;
		}
	}
	out[len] = 0;
	return out;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/*
 * Runs argv, handing it the device: the owner closes its own copy, so the
 * child's exit closes the device. The signals we forward stay blocked until
 * the handler is in.
 */
static int run(char **argv, int dev)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa = { .sa_handler = forward };
	sigset_t block, old;
	int status;
	size_t i;
	pid_t pid;

	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "migtest-owner: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	child = pid;
	close(dev);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void report(const char *path, const uint8_t *mem, uint64_t iova, uint64_t bytes)
{
	FILE *f = fopen(path, "w");
	uint64_t i = 0, start;

	if (!f)
		die("%s", path);
	while (i < bytes) {
		if (!mem[i]) {
			i++;
			continue;
		}
		for (start = i; i < bytes && mem[i] == mem[start]; i++)
			;
		fprintf(f, "0x%" PRIx64 " %" PRIu64 " 0x%02x\n", iova + start, i - start,
			mem[start]);
	}
	if (fclose(f))
		die("%s", path);
}

int main(int argc, char **argv)
{
	const char *report_path = NULL, *uuid;
	int opt, container, group, dev, i, rc;
	bool iommufd = false;
	uint64_t iova, bytes;
	uint8_t *mem;
	char **cmd;

	while ((opt = getopt(argc, argv, "+ir:h")) != -1) {
		if (opt == 'i')
			iommufd = true;
		else if (opt == 'r')
			report_path = optarg;
		else
			usage();
	}
	argv += optind;
	argc -= optind;
	if (argc < 5 || strcmp(argv[3], "--"))
		usage();
	uuid = argv[0];
	iova = parse_size(argv[1], "IOVA");
	bytes = parse_size(argv[2], "BYTES");
	if (!bytes || iova + bytes < iova) {
		fprintf(stderr, "migtest-owner: the mapping 0x%" PRIx64 "+0x%" PRIx64
			" is empty or wraps\n", iova, bytes);
		return 2;
	}

	if (iommufd) {
		container = open_iommufd(uuid, &dev, iova, bytes, &mem);
	} else {
		/* The order the uAPI demands: group into container, then the IOMMU */
		container = open_container();
		group = open_group(uuid);
		if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
			die("VFIO_GROUP_SET_CONTAINER");
		if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			die("VFIO_SET_IOMMU(TYPE1v2)");
		mem = map_memory(container, iova, bytes);
		dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
		if (dev < 0)
			die("VFIO_GROUP_GET_DEVICE_FD(%s)", uuid);
	}
	inherit(dev);
	inherit(container);

	argv += 4;
	argc -= 4;
	cmd = calloc(argc + 1, sizeof(*cmd));
	if (!cmd)
		die("calloc");
	for (i = 0; i < argc; i++)
		cmd[i] = substitute(argv[i], dev, container);

	rc = run(cmd, dev);
	if (report_path)
		report(report_path, mem, iova, bytes);
	return rc;
}

// SPDX-License-Identifier: MIT
/*
 * migtest-ioctl: proves the vfio_migtest driver against the real VFIO core,
 * with raw ioctls only. Run as root in the kernel lane:
 *
 *	migtest-ioctl UUID_A UUID_B
 *
 * Both mdevs must exist and be unused. Prints one line per check and
 * "N passed, M failed"; exits 1 if any check failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#define PAGE		4096UL
#define IOVA		0x100000ULL
#define MAP_PAGES	16
#define DMA_BYTE	0x5a
#define HDR_LEN		16	/* magic, version, size */
#define STATE_PRE_COPY	6	/* 6.2+, absent from 6.1's enum */
#define FEATURE_MIG_DATA_SIZE 9	/* 6.2+ */

#define S_ERROR		VFIO_DEVICE_STATE_ERROR
#define S_STOP		VFIO_DEVICE_STATE_STOP
#define S_RUNNING	VFIO_DEVICE_STATE_RUNNING
#define S_STOP_COPY	VFIO_DEVICE_STATE_STOP_COPY
#define S_RESUMING	VFIO_DEVICE_STATE_RESUMING
#define S_RUNNING_P2P	VFIO_DEVICE_STATE_RUNNING_P2P

struct dev {
	const char *uuid;
	char sysfs[PATH_MAX];
	int group;
	int fd;
};

static int passed, failed;
static size_t image_len;
static int container = -1;
static uint8_t *guest_mem;

/* The lane says which kernel it booted (run-lane.sh -k). */
static bool kernel_is_61(void)
{
	const char *kernel = getenv("MIGTEST_KERNEL");

	return !kernel || strcmp(kernel, "6.1") == 0;
}

/* MIG_DATA_SIZE came after 6.1. */
static bool has_data_size(void)
{
	return !kernel_is_61();
}

/*
 * Debian's 6.12 has no CONFIG_IOMMUFD_DRIVER, so iova_bitmap is a stub:
 * DMA_LOGGING_START and STOP work, every REPORT fails EOPNOTSUPP. The
 * lane's 6.12-iommufd rebuild has it.
 */
static bool has_log_report(void)
{
	const char *kernel = getenv("MIGTEST_KERNEL");

	return !kernel || strcmp(kernel, "6.12") != 0;
}

static const char *state_name(uint32_t s)
{
	static const char *const names[] = {
		[S_ERROR] = "ERROR", [S_STOP] = "STOP", [S_RUNNING] = "RUNNING",
		[S_STOP_COPY] = "STOP_COPY", [S_RESUMING] = "RESUMING",
		[S_RUNNING_P2P] = "RUNNING_P2P",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
	return ok;
}

/* A call that must fail with errno `want` */
static bool check_errno(int ret, int want, const char *what)
{
	int err = ret < 0 ? errno : 0;

	return check(ret < 0 && err == want, "%s fails with %s (got %s)", what,
		     strerrorname_np(want), ret < 0 ? strerrorname_np(err) : "success");
}

static void die(const char *what)
{
	fprintf(stderr, "migtest-ioctl: %s: %s\n", what, strerror(errno));
	printf("%d passed, %d failed\n", passed, failed + 1);
	exit(1);
}

/* ---- sysfs ---- */

static int sysfs_write(const struct dev *d, const char *attr, const char *fmt, ...)
{
	char path[PATH_MAX + 32], val[128];
	va_list ap;
	int fd, ret = 0;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/migtest/%s", d->sysfs, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

static void sysfs_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, size, f))
		die(path);
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static void digest(const struct dev *d, char *buf, size_t size)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/migtest/digest", d->sysfs);
	sysfs_read(path, buf, size);
}

static int dma(const struct dev *d, uint64_t iova, uint64_t len)
{
	return sysfs_write(d, "dma", "0x%" PRIx64 " %" PRIu64, iova, len);
}

/* ---- VFIO_DEVICE_FEATURE ---- */

static int feature(int fd, uint32_t flags, void *payload, size_t size)
{
	uint64_t buf[8] = { 0 };
	struct vfio_device_feature *f = (void *)buf;
	int ret;

	f->argsz = sizeof(*f) + size;
	f->flags = flags;
	memcpy(f->data, payload, size);
	ret = ioctl(fd, VFIO_DEVICE_FEATURE, f);
	memcpy(payload, f->data, size);
	return ret;
}

static int mig_set(int fd, uint32_t state, int *data_fd)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	int ret;

	ret = feature(fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		      &st, sizeof(st));
	if (data_fd)
		*data_fd = ret ? -1 : st.data_fd;
	else if (!ret && st.data_fd >= 0)
		close(st.data_fd);
	return ret;
}

static int mig_get(int fd)
{
	struct vfio_device_feature_mig_state st = { .data_fd = -1 };

	if (feature(fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
		    &st, sizeof(st)))
		return -1;
	return st.device_state;
}

static bool check_state(const struct dev *d, uint32_t want, const char *ctx)
{
	int s = mig_get(d->fd);

	return check(s == (int)want, "%s: device is in %s (got %s)", ctx,
		     state_name(want), s < 0 ? strerror(errno) : state_name(s));
}

static void reset(const struct dev *d)
{
	if (ioctl(d->fd, VFIO_DEVICE_RESET))
		die("VFIO_DEVICE_RESET");
}

/* Puts a device into `state` from a reset, failing hard if it cannot */
static int enter(const struct dev *d, uint32_t state)
{
	int data_fd;

	reset(d);
	if (mig_set(d->fd, state, &data_fd))
		die(state_name(state));
	return data_fd;
}

/* ---- data_fd I/O ---- */

static ssize_t read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf + total, cap - total)) > 0) {
		total += n;
		if (total == cap)
			break;
	}
	return n < 0 ? -1 : (ssize_t)total;
}

/* Writes in odd-sized chunks: the stream need not keep its chunking */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0, chunk = 100003;
	ssize_t n;

	while (off < len) {
		n = write(fd, buf + off, len - off < chunk ? len - off : chunk);
		if (n < 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Saves a device's image; leaves the device in STOP_COPY with the fd closed */
static bool save(const struct dev *d, uint8_t *img, const char *ctx)
{
	int fd = enter(d, S_STOP_COPY);
	ssize_t n = read_all(fd, img, image_len + 1);

	close(fd);
	return check(n == (ssize_t)image_len, "%s: STOP_COPY stream is %zu bytes to EOF (got %zd)",
		     ctx, image_len, n);
}

/* ---- the checks ---- */

static void test_features(const struct dev *d)
{
	struct vfio_device_feature_migration mig = { 0 };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint64_t size = 0;
	int ret;

	check(ioctl(d->fd, VFIO_DEVICE_GET_INFO, &info) == 0 &&
	      (info.flags & VFIO_DEVICE_FLAGS_RESET),
	      "DEVICE_GET_INFO reports a resettable device");
	check(feature(d->fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIGRATION, NULL, 0) == 0,
	      "PROBE of FEATURE_MIGRATION succeeds");
	ret = feature(d->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION,
		      &mig, sizeof(mig));
	check(ret == 0 && mig.flags == (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P),
	      "FEATURE_MIGRATION flags are STOP_COPY|P2P (got 0x%llx)",
	      (unsigned long long)mig.flags);
	check(feature(d->fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0) == 0,
	      "PROBE of DMA_LOGGING_START succeeds");
	check_state(d, S_RUNNING, "after open");
	check_errno(mig_set(d->fd, S_ERROR, NULL), EINVAL, "SET ERROR");
	/* The driver offers no PRE_COPY: refused by the core on both kernels */
	check_errno(mig_set(d->fd, STATE_PRE_COPY, NULL), EINVAL, "SET PRE_COPY");
	ret = feature(d->fd, VFIO_DEVICE_FEATURE_GET | FEATURE_MIG_DATA_SIZE,
		      &size, sizeof(size));
	if (has_data_size())
		check(ret == 0 && size == image_len,
		      "GET MIG_DATA_SIZE is the stream's length %zu (got %d, %llu)",
		      image_len, ret, (unsigned long long)size);
	else
		check_errno(ret, ENOTTY, "GET MIG_DATA_SIZE (not in 6.1)");
}

/* Every (from, to) pair, including the multi-arc ones the core chains */
static void test_arcs(const struct dev *d, const uint8_t *img, uint8_t *buf)
{
	static const uint32_t states[] = {
		S_STOP, S_RUNNING, S_STOP_COPY, S_RESUMING, S_RUNNING_P2P,
	};
	const size_t n = sizeof(states) / sizeof(states[0]);
	char ctx[64];
	size_t i, j;
	int fd0, fd1, ret;
	bool opens;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			uint32_t from = states[i], to = states[j];

			snprintf(ctx, sizeof(ctx), "%s -> %s", state_name(from), state_name(to));
			fd0 = enter(d, from);
			/* leaving RESUMING needs a valid image */
			if (from == S_RESUMING && write_all(fd0, img, image_len))
				die("write image");
			ret = mig_set(d->fd, to, &fd1);
			if (!check(ret == 0, "%s: SET succeeds%s%s", ctx, ret ? ": " : "",
				   ret ? strerror(errno) : "")) {
				if (fd0 >= 0)
					close(fd0);
				continue;
			}
			check_state(d, to, ctx);
			opens = (to == S_STOP_COPY || to == S_RESUMING) && from != to;
			check(opens == (fd1 >= 0), "%s: %s data_fd", ctx,
			      opens ? "returns a" : "returns no");
			/* the image just resumed must come out unchanged */
			if (to == S_STOP_COPY && fd1 >= 0 && from == S_RESUMING)
				check(read_all(fd1, buf, image_len + 1) == (ssize_t)image_len &&
				      !memcmp(buf, img, image_len),
				      "%s: saved image equals the resumed one", ctx);
			if (fd0 >= 0)
				close(fd0);
			if (fd1 >= 0)
				close(fd1);
		}
	}
	reset(d);
}

static void test_stream(const struct dev *d, uint8_t *buf)
{
	uint32_t magic;
	uint64_t size;
	char c;
	int fd;

	fd = enter(d, S_STOP_COPY);
	check_errno(lseek(fd, 0, SEEK_SET), ESPIPE, "lseek on the saving fd");
	check_errno(pread(fd, &c, 1, 0), ESPIPE, "pread on the saving fd");
	check_errno(write(fd, &c, 1), EBADF, "write on the saving fd");
	check(fcntl(fd, F_GETFD) & FD_CLOEXEC, "data_fd is close-on-exec");
	check(read_all(fd, buf, image_len + 1) == (ssize_t)image_len,
	      "saving fd streams %zu bytes to EOF", image_len);
	memcpy(&magic, buf, sizeof(magic));
	memcpy(&size, buf + 8, sizeof(size));
	check(magic == 0x5447494d && size == image_len - HDR_LEN - 4,
	      "image header: magic MIGT, state size %" PRIu64, size);
	check(read(fd, buf, 1) == 0, "read at EOF returns 0 again");
	check(mig_set(d->fd, S_STOP, NULL) == 0, "STOP_COPY -> STOP");
	check_errno(read(fd, buf, 1), ENODEV, "read on the saving fd after STOP_COPY -> STOP");
	close(fd);

	fd = enter(d, S_RESUMING);
	check_errno(read(fd, buf, 1), EBADF, "read on the resuming fd");
	check_errno(pwrite(fd, buf, 1, 0), ESPIPE, "pwrite on the resuming fd");
	close(fd);
	reset(d);
}

static void test_migrate(const struct dev *a, const struct dev *b, uint8_t *img)
{
	char da[64], db[64], after[64];
	int fd;

	digest(a, da, sizeof(da));
	digest(b, db, sizeof(db));
	check(strcmp(da, db) != 0, "devices A and B start with different state (%s, %s)", da, db);

	check(save(a, img, "A"), "A saved");
	check(mig_set(a->fd, S_RUNNING, NULL) == 0, "A: STOP_COPY -> RUNNING (via STOP, RUNNING_P2P)");
	digest(a, after, sizeof(after));
	check(!strcmp(da, after), "A's state is unchanged by saving");

	fd = enter(b, S_RESUMING);
	check(write_all(fd, img, image_len) == 0, "B: image written to the resuming fd");
	check(mig_set(b->fd, S_RUNNING, NULL) == 0, "B: RESUMING -> RUNNING (via STOP, RUNNING_P2P)");
	check_errno(write(fd, img, 1), ENODEV, "B: write on the resuming fd after RESUMING -> STOP");
	close(fd);
	digest(b, db, sizeof(db));
	check(!strcmp(da, db), "B's digest equals A's after the migration (%s)", db);

	check(sysfs_write(a, "mutate", "16") == 0, "A: mutate 16 bytes while RUNNING");
	digest(a, after, sizeof(after));
	check(strcmp(da, after) != 0, "A's digest changes after mutate (%s)", after);
	check(sysfs_write(a, "mutate", "1") == 0 && mig_set(a->fd, S_RUNNING_P2P, NULL) == 0 &&
	      sysfs_write(a, "mutate", "1") == 0, "A: mutate allowed in RUNNING_P2P");
	reset(a);
}

static void resume_expect_refused(const struct dev *d, const uint8_t *img, size_t len,
				  const char *what)
{
	char before[64], after[64], ctx[96];
	int fd;

	digest(d, before, sizeof(before));
	fd = enter(d, S_RESUMING);
	if (write_all(fd, img, len))
		die("write image");
	snprintf(ctx, sizeof(ctx), "%s image: RESUMING -> RUNNING", what);
	check_errno(mig_set(d->fd, S_RUNNING, NULL), EINVAL, ctx);
	snprintf(ctx, sizeof(ctx), "%s image refused", what);
	check_state(d, S_RESUMING, ctx);
	digest(d, after, sizeof(after));
	check(!strcmp(before, after), "%s image: state not installed", what);
	check(ioctl(d->fd, VFIO_DEVICE_RESET) == 0, "%s image: reset succeeds", what);
	check_state(d, S_RUNNING, "after reset");
	snprintf(ctx, sizeof(ctx), "%s image: write after reset", what);
	check_errno(write(fd, img, 1), ENODEV, ctx);
	close(fd);
}

static void test_bad_resume(const struct dev *d, uint8_t *img)
{
	int fd;

	img[image_len / 2] ^= 0x01;
	resume_expect_refused(d, img, image_len, "corrupt (one bit flipped)");
	img[image_len / 2] ^= 0x01;
	img[0] ^= 0xff;
	resume_expect_refused(d, img, image_len, "bad magic");
	img[0] ^= 0xff;
	resume_expect_refused(d, img, image_len - 100, "truncated");
	resume_expect_refused(d, img, 0, "empty");

	fd = enter(d, S_RESUMING);
	check(write_all(fd, img, image_len) == 0, "full image written");
	check_errno(write(fd, img, 1), ENOSPC, "one byte past the image");
	check(mig_set(d->fd, S_STOP, NULL) == 0, "the complete image still resumes");
	close(fd);
	reset(d);
}

static void test_reset(const struct dev *d, uint8_t *buf)
{
	static const uint32_t states[] = { S_STOP, S_STOP_COPY, S_RESUMING, S_RUNNING_P2P };
	char ctx[64];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		fd = enter(d, states[i]);
		snprintf(ctx, sizeof(ctx), "reset from %s", state_name(states[i]));
		check(ioctl(d->fd, VFIO_DEVICE_RESET) == 0, "%s succeeds", ctx);
		check_state(d, S_RUNNING, ctx);
		if (fd < 0)
			continue;
		check_errno(states[i] == S_STOP_COPY ? read(fd, buf, 1) : write(fd, buf, 1),
			    ENODEV, "data_fd I/O after the reset");
		close(fd);
	}
}

static void test_sysfs_refusals(const struct dev *d)
{
	static const uint32_t states[] = { S_STOP, S_STOP_COPY, S_RESUMING, S_RUNNING_P2P };
	char ctx[64], path[PATH_MAX + 32], name[32];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		fd = enter(d, states[i]);
		snprintf(path, sizeof(path), "%s/migtest/state", d->sysfs);
		sysfs_read(path, name, sizeof(name));
		check(!strcmp(name, state_name(states[i])), "sysfs state reads %s", name);
		snprintf(ctx, sizeof(ctx), "DMA in %s", state_name(states[i]));
		check_errno(dma(d, IOVA, 8), EBUSY, ctx);
		if (states[i] != S_RUNNING_P2P) {
			snprintf(ctx, sizeof(ctx), "mutate in %s", state_name(states[i]));
			check_errno(sysfs_write(d, "mutate", "1"), EBUSY, ctx);
		}
		if (fd >= 0)
			close(fd);
	}
	reset(d);
	check_errno(dma(d, IOVA, 0), EINVAL, "DMA of length 0");
	check_errno(sysfs_write(d, "dma", "junk"), EINVAL, "DMA with a malformed request");
	check_errno(sysfs_write(d, "mutate", "0"), EINVAL, "mutate 0 bytes");
}

/* ---- dirty tracking ---- */

static int log_start(const struct dev *d, uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = IOVA, .length = MAP_PAGES * PAGE,
	};
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = PAGE, .num_ranges = 1, .ranges = (uintptr_t)&range,
	};
	int ret;

	ret = feature(d->fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		      &ctl, sizeof(ctl));
	*page_size = ctl.page_size;
	return ret;
}

static int log_report(const struct dev *d, uint64_t *bits)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = IOVA, .length = MAP_PAGES * PAGE, .page_size = PAGE,
		.bitmap = (uintptr_t)bits,
	};

	*bits = 0;
	return feature(d->fd, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
		       &rep, sizeof(rep));
}

static int type1_dirty(uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db), .flags = flag };

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &db);
}

static int type1_bitmap(uint64_t *bits)
{
	uint64_t buf[(sizeof(struct vfio_iommu_type1_dirty_bitmap) +
		      sizeof(struct vfio_iommu_type1_dirty_bitmap_get)) / 8] = { 0 };
	struct vfio_iommu_type1_dirty_bitmap *db = (void *)buf;
	struct vfio_iommu_type1_dirty_bitmap_get get = {
		.iova = IOVA, .size = MAP_PAGES * PAGE,
		.bitmap = { .pgsize = PAGE, .size = sizeof(*bits), .data = (void *)bits },
	};

	*bits = 0;
	db->argsz = sizeof(buf);
	db->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	memcpy(db->data, &get, sizeof(get));
	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, db);
}

static void check_bits(int (*read_bits)(const struct dev *, uint64_t *), const struct dev *d,
		       uint64_t want, const char *what)
{
	uint64_t bits;
	int ret = read_bits(d, &bits);

	check(ret == 0 && bits == want, "%s reports 0x%" PRIx64 " (got %s0x%" PRIx64 ")",
	      what, want, ret ? "error, " : "", bits);
}

static int type1_bits(const struct dev *d, uint64_t *bits)
{
	(void)d;
	return type1_bitmap(bits);
}

static void check_log(const struct dev *d, uint64_t want, const char *ctx)
{
	uint64_t bits;

	if (has_log_report())
		check_bits(log_report, d, want, ctx);
	else
		check_errno(log_report(d, &bits), EOPNOTSUPP, ctx);
}

static bool mem_is(size_t off, size_t len, uint8_t val)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (guest_mem[off + i] != val)
			return false;
	return true;
}

static void test_dirty(const struct dev *d)
{
	uint64_t page_size = 0, bits;
	int ret;

	memset(guest_mem, 0, MAP_PAGES * PAGE);
	check(dma(d, IOVA + 2 * PAGE, 100) == 0, "DMA 100 bytes to page 2 while RUNNING");
	check(mem_is(2 * PAGE, 100, DMA_BYTE) && guest_mem[2 * PAGE + 100] == 0,
	      "the DMA wrote exactly those bytes of the mapped memory");
	check_errno(dma(d, IOVA + MAP_PAGES * PAGE, 8), EINVAL, "DMA outside the mapping");

	ret = log_start(d, &page_size);
	check(ret == 0 && page_size == PAGE,
	      "DMA_LOGGING_START over the mapping (page size %" PRIu64 ")", page_size);
	check_errno(log_start(d, &page_size), EBUSY, "second DMA_LOGGING_START");
	check(type1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_START) == 0, "type1 DIRTY_PAGES START");
	check_log(d, 0, "DMA logging, before any DMA while logging,");
	check_bits(type1_bits, d, 0, "type1, before any DMA while tracking,");

	check(dma(d, IOVA + 2 * PAGE, 100) == 0 && dma(d, IOVA + 7 * PAGE - 10, 20) == 0,
	      "DMA to page 2 and across pages 6-7");
	check_log(d, 0xc4, "DMA logging");
	check_log(d, 0, "DMA logging, read again (test-and-clear),");
	check_bits(type1_bits, d, 0xc4, "type1 GET_BITMAP");
	check_bits(type1_bits, d, 0, "type1 GET_BITMAP, read again,");

	check(dma(d, IOVA + 9 * PAGE, PAGE) == 0, "DMA one full page 9");
	mig_set(d->fd, S_STOP, NULL);
	check_errno(dma(d, IOVA + 11 * PAGE, 8), EBUSY, "DMA to page 11 while STOP");
	mig_set(d->fd, S_RUNNING, NULL);
	check_log(d, 1 << 9, "DMA logging, refused DMA not logged,");
	check_bits(type1_bits, d, 1 << 9, "type1, refused DMA not dirty,");

	check(feature(d->fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
		      NULL, 0) == 0, "DMA_LOGGING_STOP");
	check_errno(log_report(d, &bits), has_log_report() ? EINVAL : EOPNOTSUPP,
		    "DMA_LOGGING_REPORT after STOP");
	check(log_start(d, &page_size) == 0, "DMA_LOGGING_START again after STOP");
	check_log(d, 0, "DMA logging, restarted,");
	check(feature(d->fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
		      NULL, 0) == 0, "DMA_LOGGING_STOP again");
	check(type1_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) == 0, "type1 DIRTY_PAGES STOP");
	check_errno(type1_bitmap(&bits), EINVAL, "type1 GET_BITMAP after STOP");
}

static void open_device(struct dev *d);

/* Closing the device ends its session; it can no longer DMA until reopened */
static void test_close(struct dev *d, uint8_t *buf)
{
	int fd = enter(d, S_STOP_COPY);

	check(close(d->fd) == 0, "device fd closed while in STOP_COPY");
	check_errno(read(fd, buf, 1), ENODEV, "read on the saving fd after close_device");
	close(fd);
	check_errno(dma(d, IOVA, 8), ENODEV, "DMA from a closed device");
	open_device(d);
	check_state(d, S_RUNNING, "reopened after close");
	close(d->fd);
}

/* ---- setup ---- */

static void open_group(struct dev *d, const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char link[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n;
	char *slash;

	d->uuid = uuid;
	snprintf(d->sysfs, sizeof(d->sysfs), "/sys/bus/mdev/devices/%s", uuid);
	snprintf(path, sizeof(path), "%s/iommu_group", d->sysfs);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = 0;
	slash = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", slash ? slash + 1 : link);
	d->group = open(path, O_RDWR);
	if (d->group < 0)
		die(path);
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	check(status.flags & VFIO_GROUP_FLAGS_VIABLE, "%s: group %s is viable", uuid, path);
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
}

static void open_device(struct dev *d)
{
	d->fd = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->uuid);
	if (d->fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
}

static void setup(struct dev *a, struct dev *b, const char *ua, const char *ub)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA, .size = MAP_PAGES * PAGE,
	};
	char buf[32];

	sysfs_read("/sys/module/vfio_migtest/parameters/state_size", buf, sizeof(buf));
	image_len = HDR_LEN + strtoull(buf, NULL, 10) + 4;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	check(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO API version");
	check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
	      "container supports TYPE1v2");
	open_group(a, ua);
	open_group(b, ub);
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");

	guest_mem = mmap(NULL, MAP_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_mem == MAP_FAILED)
		die("mmap");
	map.vaddr = (uintptr_t)guest_mem;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
	open_device(a);
	open_device(b);
}

int main(int argc, char **argv)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA, .size = MAP_PAGES * PAGE,
	};
	struct dev a, b;
	uint8_t *img, *buf;

	if (argc != 3) {
		fprintf(stderr, "usage: %s UUID_A UUID_B\n", argv[0]);
		return 2;
	}
	setup(&a, &b, argv[1], argv[2]);
	img = malloc(image_len + 1);
	buf = malloc(image_len + 1);
	if (!img || !buf)
		die("malloc");

	test_features(&a);
	test_stream(&a, buf);
	test_migrate(&a, &b, img);
	test_arcs(&a, img, buf);
	test_bad_resume(&b, img);
	test_reset(&a, buf);
	test_sysfs_refusals(&a);
	test_dirty(&a);
	test_close(&b, buf);

	close(a.fd);
	check(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 &&
	      unmap.size == MAP_PAGES * PAGE, "UNMAP_DMA of the whole mapping");
	close(a.group);
	close(b.group);
	close(container);
	free(img);
	free(buf);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: MIT
/*
 * What the rules of `vfio-migctl check` share: moving a device through
 * its `state` file and bringing it home, reading `status` and `log`, and
 * the stream saved from stop, kept in an unlinked file so that a device
 * of gigabytes costs no memory.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "vfio-migctl.h"

/* `log` keeps 4096 lines of at most 160 bytes, and a timestamp each. */
#define LOG_TEXT_MAX	(4096 * 200)
#define TRAILING_BYTES	16

volatile sig_atomic_t check_signal;

const char *ck_errname(int err)
{
	static char buf[32];
	const char *name;

	if (!err)
		return "ok";
	name = strerrorname_np(-err);
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", -err);
	return buf;
}

bool ck_has(const struct check_ctx *c, unsigned int feature)
{
	return (c->features & feature) != 0;
}

static void vset(char *dst, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(dst, len, fmt, ap);
}

void ck_fail(struct verdict_text *out, const char *did, const char *fmt, ...)
{
	va_list ap;

	/* The first failure of a rule is its evidence; later ones follow from it. */
	if (out->v == V_FAIL)
		return;
	out->v = V_FAIL;
	snprintf(out->did, sizeof(out->did), "%s", did);
	va_start(ap, fmt);
	vset(out->got, sizeof(out->got), fmt, ap);
	va_end(ap);
}

void ck_note(struct verdict_text *out, const char *fmt, ...)
{
	size_t n = strlen(out->detail);
	va_list ap;

	if (n && n < sizeof(out->detail) - 2) {
		strcpy(out->detail + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vset(out->detail + n, sizeof(out->detail) - n, fmt, ap);
	va_end(ap);
}

void ck_skip(struct verdict_text *out, const char *fmt, ...)
{
	va_list ap;

	out->v = V_SKIP;
	va_start(ap, fmt);
	vset(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
}

static bool p2p_state(const char *s)
{
	return !strcmp(s, "running_p2p") || !strcmp(s, "pre_copy_p2p");
}

/* Every state read goes through here: a P2P state on a device without p2p is noted. */
int ck_state(struct check_ctx *c, const char *dir, char *buf, size_t len)
{
	int err = devdir_state(dir, buf, len);

	if (err)
		snprintf(buf, len, "(unreadable: %s)", ck_errname(err));
	else if (c && !strcmp(dir, c->dir) && !ck_has(c, FEATURE_P2P) && p2p_state(buf) &&
		 !c->saw_p2p_state) {
		c->saw_p2p_state = true;
		snprintf(c->p2p_seen, sizeof(c->p2p_seen), "%s", buf);
	}
	return err;
}

int ck_set(const char *dir, const char *state)
{
	char line[64];

	snprintf(line, sizeof(line), "%s\n", state);
	return devdir_write(dir, "state", line);
}

int ck_reset(const char *dir)
{
	return devdir_write(dir, "reset", "1\n");
}

int ck_reach(struct check_ctx *c, const char *dir, const char *state,
	     struct verdict_text *out)
{
	char now[64], did[128], err_text[256];
	int err = ck_set(dir, state);

	ck_state(c, dir, now, sizeof(now));
	if (!err && !strcmp(now, state))
		return 0;
	snprintf(did, sizeof(did), "echo %s > %s/state", state, dir);
	ck_last_error(dir, err_text, sizeof(err_text));
	ck_fail(out, did, "write: %s; state: %s; last_error: %s", ck_errname(err),
		now, err_text);
	return err ? err : -EPROTO;
}

bool ck_home(const char *dir)
{
	char now[64];

	/* After a signal only the end's reset touches the devices. */
	if (check_signal)
		return false;
	if (!devdir_state(dir, now, sizeof(now)) && !strcmp(now, "running"))
		return true;
	/* Leaving resuming needs a stream: only a reset aborts it. */
	if (strcmp(now, "resuming") && strcmp(now, "error") && !ck_set(dir, "running"))
		return true;
	return ck_bring_back(dir);
}

bool ck_bring_back(const char *dir)
{
	char now[64];

	ck_reset(dir);
	if (!devdir_state(dir, now, sizeof(now)) && !strcmp(now, "running"))
		return true;
	/* A reset that stopped short of running (a driver's bug): the arcs may get there. */
	return !ck_set(dir, "running") && !devdir_state(dir, now, sizeof(now)) &&
	       !strcmp(now, "running");
}

int ck_last_transition(const char *dir, unsigned int *arcs, uint64_t *usec,
		       char *result, size_t len)
{
	char status[4096], field[256], res[32];
	int err = devdir_read(dir, "status", status, sizeof(status));

	if (err)
		return err;
	status_field(status, "last_transition", field, sizeof(field));
	if (sscanf(field, "%*s -> %*[^,], %u arcs, %" SCNu64 " us, %31s",
		   arcs, usec, res) != 3)
		return -EPROTO;
	snprintf(result, len, "%s", res);
	return 0;
}

void ck_last_error(const char *dir, char *buf, size_t len)
{
	char status[4096];

	if (devdir_read(dir, "status", status, sizeof(status)))
		snprintf(buf, len, "(status unreadable)");
	else
		status_field(status, "last_error", buf, len);
}

bool ck_log_has(const char *dir, const char *text, char *line, size_t len)
{
	char *log = malloc(LOG_TEXT_MAX), *hit, *end;
	bool found = false;

	if (!log)
		fatalx("out of memory");
	if (!devdir_read(dir, "log", log, LOG_TEXT_MAX) && (hit = strstr(log, text))) {
		while (hit > log && hit[-1] != '\n')
			hit--;
		end = strchr(hit, '\n');
		snprintf(line, len, "%.*s", end ? (int)(end - hit) : (int)strlen(hit), hit);
		found = true;
	}
	free(log);
	return found;
}

void ck_digest(const char *dir, char *buf, size_t len)
{
	if (devdir_read(dir, "sim/digest", buf, len))
		buf[0] = '\0';
}

static int open_data(const char *dir, int flags)
{
	char path[PATH_MAX];
	int fd, err = devdir_path(dir, "data", path, sizeof(path));

	if (err)
		return err;
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int ck_drain(const char *dir, int fd, uint64_t *bytes, uint64_t limit)
{
	void *buf = devdir_buffer(SAVE_BUF_SIZE);
	int in = open_data(dir, O_RDONLY), err = 0;
	ssize_t n;

	*bytes = 0;
	if (in < 0) {
		free(buf);
		return in;
	}
	while (!check_signal && (n = read(in, buf, SAVE_BUF_SIZE)) != 0) {
		if (n < 0 || (fd >= 0 && write_all(fd, buf, (size_t)n, &interrupted))) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		*bytes += (uint64_t)n;
		if (*bytes > limit) {
			err = -EFBIG;
			break;
		}
	}
	close(in);
	free(buf);
	return check_signal ? -EINTR : err;
}

static int stream_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/vfio-migctl-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* The read after EOF: 0 again, or what it gave. */
static void read_after_eof(struct check_ctx *c)
{
	char byte;
	int fd = open_data(c->dir, O_RDONLY);
	ssize_t n = fd < 0 ? fd : read(fd, &byte, 1);

	c->after_eof = n < 0 && fd >= 0 ? -errno : n;
	if (fd >= 0)
		close(fd);
}

static int save_from_stop(struct check_ctx *c)
{
	struct verdict_text *out = &c->save_fail;
	uint64_t t0, limit = 1ull << 40;
	int err;

	if (ck_reach(c, c->dir, "stop", out))
		return -1;
	ck_digest(c->dir, c->digest, sizeof(c->digest));
	c->t.has_data_size = !devdir_u64(c->dir, "data_size", &c->t.data_size);
	if (c->t.has_data_size)
		limit = 4 * c->t.data_size + (64u << 20);
	if (ck_reach(c, c->dir, "stop_copy", out))
		return -1;
	t0 = now_usec();
	err = ck_drain(c->dir, c->stream_fd, &c->stream_len, limit);
	c->t.save_usec = now_usec() - t0;
	c->t.stop_copy_bytes = c->stream_len;
	if (err) {
		ck_fail(out, "cat data > stream (in stop_copy, from stop)",
			"read: %s after %" PRIu64 " bytes%s", ck_errname(err), c->stream_len,
			err == -EFBIG ? " (more than 4 x data_size: no end of stream)" : "");
		return -1;
	}
	read_after_eof(c);
	if (ck_reach(c, c->dir, "stop", out))
		return -1;
	return 0;
}

int ck_saved_stream(struct check_ctx *c)
{
	int err;

	if (c->saved)
		return c->save_fail.v == V_FAIL ? -1 : 0;
	c->saved = true;
	c->stream_fd = stream_file();
	if (c->stream_fd < 0) {
		ck_fail(&c->save_fail, "a temporary file for the stream", "%s",
			strerror(errno));
		return -1;
	}
	err = save_from_stop(c);
	if (!ck_home(c->dir) && !err)
		ck_fail(&c->save_fail, "echo running > state (after saving)",
			"the device did not return to running");
	return c->save_fail.v == V_FAIL ? -1 : 0;
}

/* How many bytes of the saved stream a load sends, and what it changes. */
static uint64_t load_length(const struct check_ctx *c, enum damage how)
{
	return how == DAMAGE_TRUNCATE ? c->stream_len / 2 : c->stream_len;
}

static void damage_chunk(const struct check_ctx *c, enum damage how,
			 unsigned char *buf, uint64_t off, size_t n)
{
	uint64_t at = how == DAMAGE_CORRUPT ? c->stream_len / 2 : 0;

	if ((how == DAMAGE_CORRUPT || how == DAMAGE_HEADER) && at >= off && at < off + n)
		buf[at - off] ^= 0xff;
}

/* Write the stream into fd; the first refused write's -errno. */
static int write_stream(struct check_ctx *c, int fd, enum damage how,
			uint64_t *written)
{
	unsigned char *buf = devdir_buffer(SAVE_BUF_SIZE);
	uint64_t len = load_length(c, how), off = 0;
	int err = 0;

	while (!err && off < len && !check_signal) {
		size_t n = len - off < SAVE_BUF_SIZE ? (size_t)(len - off) : SAVE_BUF_SIZE;
		ssize_t got = pread(c->stream_fd, buf, n, (off_t)off);

		if (got != (ssize_t)n) {
			err = -EIO;
			break;
		}
		damage_chunk(c, how, buf, off, n);
		err = write_all(fd, buf, n, &interrupted);
		off += err ? 0 : n;
	}
	if (!err && how == DAMAGE_TRAILING) {
		memset(buf, 0x5a, TRAILING_BYTES);
		err = write_all(fd, buf, TRAILING_BYTES, &interrupted);
		off += err ? 0 : TRAILING_BYTES;
	}
	free(buf);
	*written = off;
	return check_signal ? -EINTR : err;
}

int ck_load(struct check_ctx *c, const char *dir, enum damage how,
	    struct load_result *r)
{
	unsigned int arcs;
	char result[32];
	int fd;

	memset(r, 0, sizeof(*r));
	r->enter = ck_set(dir, "resuming");
	if (r->enter)
		return r->enter;
	fd = open_data(dir, O_WRONLY);
	if (fd < 0) {
		r->write = fd;
	} else {
		r->write = write_stream(c, fd, how, &r->written);
		/* A refusal of bytes answered early comes with the close. */
		if (close(fd) && !r->write)
			r->write = -errno;
	}
	if (check_signal)
		return -EINTR;
	r->stop = ck_set(dir, "stop");
	ck_state(c, dir, r->stop_state, sizeof(r->stop_state));
	if (!r->stop && ck_last_transition(dir, &arcs, &r->stop_usec, result, sizeof(result)))
		r->stop_usec = 0;
	return 0;
}

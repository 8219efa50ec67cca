// SPDX-License-Identifier: MIT
/*
 * The resuming side: check the stream's header before touching the
 * device, then resuming, each chunk checked before its payload reaches
 * `data`, and stop, where the device itself validates what it got.  Once
 * the device is resuming, any failure resets it: it is never left
 * half-loaded.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "parse.h"
#include "vfio-migctl.h"

int check_destination(const char *dir, struct errmsg *e)
{
	char state[64];

	return devdir_idle(dir, "loading", state, sizeof(state), e);
}

/* The kind of device a DEVICE argument names (docs/ABI.md), or NULL. */
static const char *device_kind(const char *device)
{
	if (!strncmp(device, "sim:", 4))
		return "sim";
	if (!strncmp(device, "vfio:", 5) || !strncmp(device, "fd:", 3))
		return "vfio";
	return NULL;
}

/* A sim's bytes of state: its size= option, 1M by default (docs/sim-device.md); 0 unknown. */
static uint64_t sim_size(const char *device)
{
	uint64_t size = 1 << 20;
	char value[32];

	for (const char *opt = strchr(device, ','); opt; opt = strchr(opt + 1, ',')) {
		if (strncmp(opt + 1, "size=", 5))
			continue;
		snprintf(value, sizeof(value), "%.*s", (int)strcspn(opt + 6, ","), opt + 6);
		if (parse_u64(value, &size, 1))
			return 0;
	}
	return size;
}

/*
 * Whether DIR can take the state of source (the `device:` line of the
 * source's status, as a stream's header carries it), as far as the two
 * names tell: another kind of device, or a sim of another size, would
 * refuse the first bytes with no word of why.
 */
int check_fits(const char *source, const char *dir, struct errmsg *e)
{
	char device[PATH_MAX];
	const char *from = device_kind(source), *to;
	uint64_t from_size, to_size;

	device_name(dir, device, sizeof(device));
	to = device_kind(device);
	if (!from || !to)
		return 0;
	if (strcmp(from, to))
		return errmsg_set(e, -EINVAL, "%s is a %s device (%s), the source a %s "
				  "device (%s): it cannot load its state (nothing was changed)",
				  dir, to, device, from, source);
	if (strcmp(from, "sim"))
		return 0;	/* a vfio device's own stream says, when it is loaded */
	from_size = sim_size(source);
	to_size = sim_size(device);
	if (from_size && to_size && from_size != to_size)
		return errmsg_set(e, -EINVAL, "%s holds %" PRIu64 " bytes of state (%s), the "
				  "source %" PRIu64 " (%s): it cannot load its state "
				  "(nothing was changed)", dir, to_size, device, from_size, source);
	return 0;
}

/* A write of the stream's bytes refused: by which device, of what source. */
int refused_data(struct errmsg *e, int err, const char *dir, const char *source)
{
	char device[PATH_MAX];

	if (err != -EINVAL)
		return devdir_io_error(dir, "writing", "data", err, e);
	errmsg_sys(e, err, "writing %s/data", dir);
	device_name(dir, device, sizeof(device));
	errmsg_add(e, " (the device refused the state of ");
	errmsg_add(e, source[0] ? source : "an unnamed source");
	if (device[0]) {
		errmsg_add(e, "; it is ");
		errmsg_add(e, device);
	}
	errmsg_add(e, ")");
	return err;
}

int open_resuming(const char *dir, int *fd, struct errmsg *e)
{
	int err = devdir_set_state(dir, "resuming");

	*fd = -1;
	if (err)
		return errmsg_sys(e, err, "%s: resuming", dir);
	err = devdir_open(dir, "data", O_WRONLY);
	if (err < 0)
		return errmsg_sys(e, err, "opening %s/data", dir);
	*fd = err;
	return 0;
}

/*
 * The daemon answers a write before the device loads it, so a refusal of
 * the last bytes comes with close(2): a load is whole only if it is clean.
 * err is the feed's result, whose message close's would hide.
 */
int close_resuming(const char *dir, int fd, int err, struct errmsg *e)
{
	if (close(fd) && !err)
		return devdir_io_error(dir, "writing", "data", -errno, e);
	return err;
}

/*
 * Leave resuming through stop: this is where the device checks the whole
 * of what it was given.
 */
int finish_resuming(const char *dir, bool run, struct errmsg *e)
{
	char status[4096], why[256] = "";
	int err = devdir_set_state(dir, "stop");

	if (err) {
		if (devdir_read(dir, "status", status, sizeof(status)) == 0)
			status_field(status, "last_error", why, sizeof(why));
		return errmsg_set(e, err, "%s refused the stream (%s)", dir, why);
	}
	return run ? run_destination(dir, e) : 0;
}

int run_destination(const char *dir, struct errmsg *e)
{
	int err = devdir_set_state(dir, "running");

	return err ? errmsg_sys(e, err, "%s: running", dir) : 0;
}

static int feed(struct load_job *job, int fd, const char *source)
{
	uint32_t len;
	int type, err;

	while ((type = stream_read_chunk(&job->reader, job->buf, &len)) != CHUNK_END) {
		if (interrupted)
			return interrupt_error(&job->err);
		if (type < 0)
			return errmsg_set(&job->err, -EBADMSG, "%s", job->reader.error);
		err = write_all(fd, job->buf, len, &interrupted);
		if (err)
			return refused_data(&job->err, err, job->dir, source);
		progress_update(&job->progress, job->reader.offset);
	}
	return 0;
}

/* Reset a device that failed to load, and say so, naming it. */
bool abandon_resuming(const char *dir, struct errmsg *e)
{
	bool ok = devdir_recover(dir, true) != NOT_RECOVERED;
	char line[PATH_MAX + 32];

	if (!ok && devdir_gone(dir))
		return true;	/* the line says that its daemon is gone */
	snprintf(line, sizeof(line), "; %s %s", dir, ok ? "was reset" : "is left in error");
	errmsg_add(e, line);
	return !ok;
}

int load_device(struct load_job *job)
{
	struct stream_header h;
	int fd = -1, err;

	if (stream_read_header(&job->reader, &h))
		return errmsg_set(&job->err, interrupted ? -EINTR : -EBADMSG,
				  "%s (nothing was changed)",
				  interrupted ? "interrupted" : job->reader.error);
	snprintf(job->source, sizeof(job->source), "%s", h.dev[0].source);
	if (h.count > 1)
		return errmsg_set(&job->err, -EINVAL, "the stream holds a set of %u devices: "
				  "load it with --input and %u DIRs (nothing was changed)",
				  h.count, h.count);
	err = check_destination(job->dir, &job->err);
	err = err ? err : check_fits(h.dev[0].source, job->dir, &job->err);
	if (err)
		return err;
	job->t_start = now_usec();
	err = open_resuming(job->dir, &fd, &job->err);
	progress_phase(&job->progress, "resuming", job->size);
	err = err ? err : feed(job, fd, h.dev[0].source);
	if (fd >= 0)
		err = close_resuming(job->dir, fd, err, &job->err);
	err = err ? err : finish_resuming(job->dir, false, &job->err);
	if (!err && job->run)
		err = devdir_check_mounted(job->dir, &job->err);
	if (!err && interrupted)
		err = interrupt_error(&job->err);
	/* The commit point: the destination running, the last step. */
	err = err || !job->run ? err : run_destination(job->dir, &job->err);
	job->t_end = now_usec();
	progress_done(&job->progress);
	if (err)
		job->device_error = abandon_resuming(job->dir, &job->err);
	return err;
}

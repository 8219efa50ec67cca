// SPDX-License-Identifier: MIT
/*
 * The saving side of a migration: precopy rounds while the device runs,
 * then stop_copy and a drain, handed chunk by chunk to a sink (a stream
 * for `save`, the destination's `data` for `migrate`).  Before the commit
 * point (the stream whole, or the destination running) any failure or
 * signal takes the source back to running: a failed migration must never
 * strand the workload.  After it nothing is undone: the source's last
 * step, to stop, comes only then, and its failure costs nothing moved.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migctl.h"

/* Whether to give up: a signal, or (in a set) another device failed. */
static bool cancelled(const struct save_job *job)
{
	return interrupted || (job->cancel && atomic_load(job->cancel));
}

static int cancel_error(struct save_job *job)
{
	if (interrupted)
		return interrupt_error(&job->err);
	return errmsg_set(&job->err, -EINTR, "stopped: another device of the set failed");
}

/* A failed write to the sink, in words; one a signal cut short is the interrupt. */
static int sink_error(struct save_job *job, int err)
{
	/* A reader that went away: SIGPIPE, said with its cause. */
	if (interrupted == SIGPIPE) {
		errmsg_sys(&job->err, -EPIPE, "writing %s", job->sink->name);
		errmsg_add(&job->err, " (SIGPIPE)");
		return err;
	}
	if (cancelled(job))
		return cancel_error(job);
	if (job->sink->dir)
		return devdir_io_error(job->sink->dir, "writing", "data", err, &job->err);
	return errmsg_sys(&job->err, err, "writing %s", job->sink->name);
}

/*
 * Read `data` until it has nothing more for now (or, in stop_copy, ever),
 * or until limit bytes are read.
 */
static int drain(struct save_job *job, uint32_t type, uint64_t limit, uint64_t *bytes)
{
	const struct save_opts *o = job->opts;
	ssize_t n;
	int err;

	*bytes = 0;
	while (*bytes < limit &&
	       (n = read(job->fd, job->buf, limit - *bytes < SAVE_BUF_SIZE ?
			 (size_t)(limit - *bytes) : SAVE_BUF_SIZE)) != 0) {
		if (cancelled(job))
			return cancel_error(job);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return devdir_io_error(o->dir, "reading", "data", -errno, &job->err);
		err = job->sink->put(job->sink, type, job->buf, (uint32_t)n);
		if (err)
			return sink_error(job, err);
		*bytes += (uint64_t)n;
		progress_update(&job->progress, (type == CHUNK_PRECOPY ?
				job->stats.precopy_bytes : job->stats.stopcopy_bytes) + *bytes);
	}
	return 0;
}

enum precopy_end save_converged(const struct save_opts *o, uint64_t initial,
				uint64_t dirty, uint64_t rate)
{
	if (initial)
		return PRECOPY_NONE;	/* what must go before the switch has not */
	if (dirty <= o->threshold)
		return PRECOPY_CONVERGED;
	if (o->downtime_ms && rate && dirty * 1000 / rate <= o->downtime_ms)
		return PRECOPY_DOWNTIME;
	return PRECOPY_NONE;
}

int save_round_limit(const struct save_opts *o, uint64_t initial, uint64_t dirty,
		     uint64_t rate, unsigned int rounds, enum precopy_end *end,
		     struct errmsg *e)
{
	char estimate[64] = "unknown (no round sent bytes)";

	*end = PRECOPY_MAX_ROUNDS;
	if (!o->downtime_ms)
		return 0;
	*end = PRECOPY_FORCED;
	if (o->force_switchover)
		return 0;
	if (rate)
		snprintf(estimate, sizeof(estimate), "%" PRIu64 " ms",
			 (initial + dirty) * 1000 / rate);
	return errmsg_set(e, -ETIME, "%u precopy rounds left %" PRIu64 " bytes to send "
			  "in stop_copy, an estimated downtime of %s, over --downtime-limit "
			  "%" PRIu64 " ms (--force-switchover switches over anyway)",
			  rounds, initial + dirty, estimate, o->downtime_ms);
}

static int read_precopy(struct save_job *job)
{
	int err = devdir_precopy(job->opts->dir, &job->initial, &job->dirty);

	return err ? devdir_io_error(job->opts->dir, "reading", "precopy", err, &job->err) : 0;
}

/*
 * A round sends what `precopy` said was pending when it began: a device
 * that dirties its state faster than it is read always has more, and a
 * round that waited for "nothing more for now" would never end.
 */
int save_round(struct save_job *job)
{
	uint64_t got, t0 = now_usec();
	/* A round with nothing to read never looks at the signal. */
	int err = cancelled(job) ? cancel_error(job) :
		  drain(job, CHUNK_PRECOPY, job->initial + job->dirty, &got);

	if (err)
		return err;
	job->stats.rounds++;
	job->stats.precopy_bytes += got;
	job->round_bytes = got;
	job->round_usec = now_usec() - t0 + 1;
	if (got)
		job->rate = got * 1000000 / job->round_usec;
	return read_precopy(job);
}

/*
 * The round's numbers: what precopy says is pending after it is what was
 * dirtied while it ran (what was pending before, it sent).
 */
void save_round_progress(struct save_job *job)
{
	struct precopy_round r = {
		.round = job->stats.rounds,
		.sent = job->stats.precopy_bytes,
		.remaining = job->initial + job->dirty,
		.rate = job->rate,
		.dirty_rate = job->round_usec ? job->dirty * 1000000 / job->round_usec : 0,
	};

	progress_round(&job->progress, &r);
}

static int precopy_rounds(struct save_job *job)
{
	const struct save_opts *o = job->opts;
	int err;

	while (!(err = save_round(job))) {
		save_round_progress(job);
		job->stats.end = save_converged(o, job->initial, job->dirty, job->rate);
		if (job->stats.end != PRECOPY_NONE)
			break;
		if (job->stats.rounds >= o->max_rounds) {
			err = save_round_limit(o, job->initial, job->dirty, job->rate,
					       job->stats.rounds, &job->stats.end, &job->err);
			break;
		}
		if (!job->round_bytes)	/* give the device time to dirty something */
			nanosleep(&(struct timespec){ 0, IDLE_WAIT_NS }, NULL);
	}
	return err;
}

static int open_data(struct save_job *job, int flags)
{
	int fd = devdir_open(job->opts->dir, "data", flags);

	job->fd = fd < 0 ? -1 : fd;
	return fd < 0 ? errmsg_sys(&job->err, fd, "opening %s/data", job->opts->dir) : 0;
}

int save_enter(struct save_job *job, const char *state)
{
	int err = devdir_set_state(job->opts->dir, state);

	return err ? errmsg_sys(&job->err, err, "%s: %s", job->opts->dir, state) : 0;
}

int save_begin(struct save_job *job)
{
	const struct save_opts *o = job->opts;
	char state[64];
	int err;

	job->fd = -1;
	err = devdir_idle(o->dir, "saving", state, sizeof(state), &job->err);
	if (err)
		return err;
	job->running = !strcmp(state, "running");
	/* From stop there is nothing to pre-copy: the device does not run. */
	job->precopy = job->running && (devdir_features(o->dir) & FEATURE_PRE_COPY);
	if (devdir_u64(o->dir, "data_size", &job->stats.size_hint))
		job->stats.size_hint = 0;
	job->stats.t_start = now_usec();
	if (!job->precopy)
		return 0;
	job->touched = true;
	err = save_enter(job, "pre_copy");
	err = err ? err : open_data(job, O_RDONLY);
	progress_phase(&job->progress, "precopy", 0);
	return err ? err : read_precopy(job);
}

int save_stop_copy(struct save_job *job)
{
	uint64_t got;
	int err;

	job->stats.t_stopcopy = now_usec();
	job->touched = true;
	/* From pre_copy the session goes on: the same open `data` drains it. */
	err = save_enter(job, "stop_copy");
	if (!err && job->fd < 0)
		err = open_data(job, O_RDONLY);
	if (!err) {
		progress_phase(&job->progress, "stop_copy", job->stats.size_hint);
		err = drain(job, CHUNK_STOPCOPY, UINT64_MAX, &got);
		job->stats.stopcopy_bytes = got;
	}
	save_close(job);
	return err;
}

void save_close(struct save_job *job)
{
	if (job->fd >= 0)
		close(job->fd);
	job->fd = -1;
}

/* Back to running, by a reset if need be, and say how (naming DIR). */
enum recovery restore_source(const char *dir, struct errmsg *e)
{
	static const char *const how[] = {
		[RECOVERED] = "is running again",
		[RECOVERED_BY_RESET] = "was reset to run again (its state is lost)",
		[NOT_RECOVERED] = "is left in error",
	};
	enum recovery r = devdir_recover(dir, false);
	char line[PATH_MAX + 64];

	if (r == NOT_RECOVERED && devdir_gone(dir))
		return r;	/* the line says that its daemon is gone */
	snprintf(line, sizeof(line), "; %s %s", dir, how[r]);
	errmsg_add(e, line);
	return r;
}

int save_transfer(struct save_job *job)
{
	int err = save_begin(job);

	if (job->precopy && !err)
		err = precopy_rounds(job);
	if (!err)
		err = save_stop_copy(job);
	save_close(job);
	if (interrupted && !err)
		err = interrupt_error(&job->err);
	job->stats.t_end = now_usec();
	progress_done(&job->progress);
	return err;
}

void save_roll_back(struct save_job *job, struct errmsg *undo)
{
	save_close(job);
	if (job->touched)
		job->recovery = restore_source(job->opts->dir, undo);
}

int save_finish(struct save_job *job)
{
	const struct save_opts *o = job->opts;

	if (!o->keep_running)
		return save_enter(job, "stop");
	/* --abort: the stream is whole, but the source must keep its state. */
	job->recovery = devdir_recover(o->dir, false);
	job->stats.t_end = now_usec();
	if (job->recovery == RECOVERED)
		return 0;
	return errmsg_set(&job->err, -EIO, "%s could not go back to running%s", o->dir,
			  job->recovery == NOT_RECOVERED ? "" :
			  " but by a reset (its state is lost)");
}

/* --- one device into a stream --- */

/*
 * The end chunk, and a FILE closed: only then is the stream whole, and
 * that is save's commit point.  The source, drained in stop_copy, stops
 * only after it: a source that fails its stop then loses nothing.
 */
static int finish_output(struct save_job *job, struct stream_sink *out)
{
	int err = stream_write_end(&out->w);

	if (!err && out->w.fd != STDOUT_FILENO && close(out->w.fd))
		err = -errno;
	return err ? sink_error(job, err) : 0;
}

int save_to_stream(struct save_job *job, struct stream_sink *out)
{
	struct stream_header h;
	int err = stream_header_init(&h, 1);

	stream_describe(&h.dev[0], job->opts->dir);
	err = err ? err : stream_write_header(&out->w, &h);
	if (err)
		return sink_error(job, err);
	err = save_transfer(job);
	return err ? err : finish_output(job, out);
}

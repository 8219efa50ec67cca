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
#include <sys/stat.h>
#include <unistd.h>

#include "vfio-migctl.h"

int data_sink_put(struct sink *s, uint32_t type, const void *buf, uint32_t len)
{
	(void)type;
	return write_all(((struct data_sink *)s)->fd, buf, len);
}

int check_destination(const char *dir, struct errmsg *e)
{
	char state[64];

	return devdir_idle(dir, "loading", state, sizeof(state), e);
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

static int feed(struct load_job *job, int fd)
{
	uint32_t len;
	int type, err;

	while ((type = stream_read_chunk(&job->reader, job->buf, &len)) != CHUNK_END) {
		if (interrupted)
			return interrupt_error(&job->err);
		if (type < 0)
			return errmsg_set(&job->err, -EBADMSG, "%s", job->reader.error);
		err = write_all(fd, job->buf, len);
		if (err)
			return devdir_io_error(job->dir, "writing", "data", err, &job->err);
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
	if (h.count > 1)
		return errmsg_set(&job->err, -EINVAL, "the stream holds a set of %u devices: "
				  "load it with --input and %u DIRs (nothing was changed)",
				  h.count, h.count);
	err = check_destination(job->dir, &job->err);
	if (err)
		return err;
	job->t_start = now_usec();
	err = open_resuming(job->dir, &fd, &job->err);
	progress_phase(&job->progress, "resuming", job->size);
	err = err ? err : feed(job, fd);
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

/* --- vfio-migctl load --- */

/*
 * The input, and its size when it has one (a regular file, also on
 * stdin): the progress line then shows how much is left.
 */
int open_input(const char *file, uint64_t *size)
{
	struct stat st;
	int fd;

	if (!strcmp(file, "-")) {
		if (isatty(STDIN_FILENO))
			usage_error("will not read a stream from a terminal (give a FILE or a pipe)");
		fd = STDIN_FILENO;
	} else if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		fatal("%s", file);
	}
	*size = !fstat(fd, &st) && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	return fd;
}

static void print_summary(const struct load_job *job, const char *file)
{
	const struct stream_totals *t = &job->reader.totals;

	printf("loaded %s from %s: %" PRIu64 " bytes (%" PRIu64 " precopy, %" PRIu64
	       " stop_copy, in %" PRIu64 " chunks), %.3f s, %s\n", job->dir,
	       strcmp(file, "-") ? file : "standard input",
	       t->precopy_bytes + t->stopcopy_bytes, t->precopy_bytes,
	       t->stopcopy_bytes, t->chunks, (double)(job->t_end - job->t_start) / 1e6,
	       job->run ? "running" : "in stop");
}

int cmd_load(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "run", no_argument, NULL, 'r' },
		{ "input", required_argument, NULL, 'i' },
		SET_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct load_job job = { 0 };
	const char *file = NULL;
	bool no_p2p = false;
	int c, err;

	while ((c = next_option(argc, argv, longopts)) != -1) {
		if (c == 'r')
			job.run = true;
		else if (c == 'i')
			file = optarg;
		else
			no_p2p = true;
	}
	if (file && argc > optind)
		return load_set(argc - optind, argv + optind, job.run, no_p2p, file);
	if (file || no_p2p)
		usage_error("load takes DIR [FILE|-], or --input FILE|- DIR...");
	if (argc - optind < 1 || argc - optind > 2)
		usage_error("load takes DIR [FILE|-]");
	job.dir = argv[optind];
	file = argc - optind == 2 ? argv[optind + 1] : "-";
	err = devdir_claim(job.dir, &job.err);
	if (err)
		return claim_failed("load", job.dir, err, &job.err);
	job.reader.fd = open_input(file, &job.size);
	job.buf = devdir_buffer(STREAM_CHUNK_MAX);
	transfer_signals();
	progress_init(&job.progress, job.dir);
	err = load_device(&job);
	free(job.buf);
	if (err && devdir_gone(job.dir))
		return daemon_gone("load", job.dir);
	if (err) {
		fprintf(stderr, "vfio-migctl: load %s: %s\n", job.dir, job.err.text);
		return transfer_failed(job.device_error ? NOT_RECOVERED : RECOVERED);
	}
	print_summary(&job, file);
	return 0;
}

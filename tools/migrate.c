// SPDX-License-Identifier: MIT
/*
 * vfio-migctl migrate SRC DST: both devices on this host, the saving side
 * writing straight into the destination's `data` (no stream framing: no
 * transport in between to damage it).  The destination is made ready
 * first, so that a destination that cannot resume costs the source
 * nothing; if the destination refuses the data, the source runs again.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio-migctl.h"

/* Whether save_device would take the source: running or stop. */
static bool source_ready(const char *src)
{
	struct errmsg e;
	char state[64];

	return devdir_idle(src, "saving", state, sizeof(state), &e) == 0;
}

/* *device_error: the destination is left in error. */
static int migrate(struct save_job *job, const char *dst, uint64_t *t_running,
		   bool *device_error)
{
	struct data_sink *sink = (struct data_sink *)job->sink;
	char source[PATH_MAX];
	int err;

	/*
	 * save_device refuses such a source before it changes anything, but
	 * once the destination is resuming a failure resets it: refuse first.
	 */
	if (!source_ready(job->opts->dir))
		return save_device(job);
	device_name(job->opts->dir, source, sizeof(source));
	err = check_destination(dst, &job->err);
	err = err ? err : check_fits(source, dst, &job->err);
	if (err)
		return err;
	err = open_resuming(dst, &sink->fd, &job->err);
	err = err ? err : save_device(job);
	if (sink->fd >= 0)
		err = close_resuming(dst, sink->fd, err, &job->err);
	if (err) {
		*device_error = abandon_resuming(dst, &job->err);
		return err;
	}
	err = finish_resuming(dst, true, &job->err);
	*t_running = now_usec();
	if (err) {
		*device_error = abandon_resuming(dst, &job->err);
		job->source_error = restore_source(job->opts->dir, &job->err) == NOT_RECOVERED;
	}
	return err;
}

/*
 * Whether SRC and DST are one mount, however spelt: each mount of
 * vfio-migfsd has a device number of its own, shared by its bind mounts.
 * Loading a device from itself would reset it first; a path that cannot
 * be stat'ed is left for the migration to name.
 */
static bool same_mount(const char *src, const char *dst)
{
	struct stat a, b;

	return !stat(src, &a) && !stat(dst, &b) && a.st_dev == b.st_dev;
}

/* The set form: every operand a pair SRC=DST. */
static bool is_set(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strchr(argv[i], '='))
			return false;
	return true;
}

static void print_summary(const struct save_job *job, const char *dst, uint64_t t_running)
{
	const struct save_stats *st = &job->stats;
	char counts[160];

	save_summary(st, counts, sizeof(counts));
	printf("migrated %s -> %s: %" PRIu64 " bytes (%s), %.3f s, downtime %.1f ms\n",
	       job->opts->dir, dst, st->precopy_bytes + st->stopcopy_bytes, counts,
	       (double)(t_running - st->t_start) / 1e6,
	       (double)(t_running - st->t_stopcopy) / 1e3);
}

/* --json: the downtime is from the source's stop to the destination running. */
static void report_migrate(const struct save_job *job, const char *dst, uint64_t t_running,
			   int status)
{
	const struct save_stats *st = &job->stats;

	report_transfer(&(struct transfer_report){
		.source = job->opts->dir, .destination = dst, .saved = st,
		.t_start = st->t_start, .t_switch = st->t_stopcopy,
		.t_end = t_running ? t_running : st->t_end, .downtime = true,
		.exit_status = status, .error = status ? job->err.text : NULL });
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		SAVE_LONGOPTS,
		SET_LONGOPTS,
		{ "keep-source", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct save_opts o = SAVE_DEFAULTS;
	struct data_sink sink = { .sink.put = data_sink_put, .fd = -1 };
	struct save_job job = { .opts = &o, .sink = &sink.sink };
	uint64_t t_running = 0;
	bool device_error = false;
	char dst_data[PATH_MAX];
	int c, err, status = 0;

	while ((c = next_option(argc, argv, longopts)) != -1)
		save_option(c, optarg, &o);
	report_init("migrate", o.json, stdout);
	/* Two operands with one '=' are one pair (a path may hold '='). */
	if (argc - optind > 2 || (argc > optind && is_set(argc - optind, argv + optind)))
		return migrate_set(argc - optind, argv + optind, &o);
	if (argc - optind != 2)
		usage_error("migrate takes SRC DST, or pairs SRC=DST");
	if (o.no_p2p || o.keep_source)
		usage_error("--no-p2p and --keep-source are for pairs SRC=DST");
	devdir_require(argv[optind]);
	devdir_require(argv[optind + 1]);
	if (same_mount(argv[optind], argv[optind + 1]))
		usage_error("migrate: %s and %s are on one mount: a device cannot "
			    "migrate into itself",
			    argv[optind], argv[optind + 1]);
	o.dir = argv[optind];
	snprintf(dst_data, sizeof(dst_data), "%s/data", argv[optind + 1]);
	sink.sink.name = dst_data;
	job.buf = devdir_buffer(SAVE_BUF_SIZE);
	transfer_signals();
	progress_init(&job.progress, o.dir);
	err = migrate(&job, argv[optind + 1], &t_running, &device_error);
	free(job.buf);
	if (err && devdir_gone(o.dir)) {
		status = daemon_gone("migrate", o.dir);
	} else if (err && devdir_gone(argv[optind + 1])) {
		status = daemon_gone("migrate", argv[optind + 1]);
	} else if (err) {
		fprintf(stderr, "vfio-migctl: migrate %s %s: %s\n", o.dir,
			argv[optind + 1], job.err.text);
		status = transfer_failed(device_error || job.source_error);
	}
	if (status || o.json)
		report_migrate(&job, argv[optind + 1], t_running, status);
	else
		print_summary(&job, argv[optind + 1], t_running);
	return status;
}

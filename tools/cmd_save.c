// SPDX-License-Identifier: MIT
/*
 * vfio-migctl save: one device into a stream (the set form is setcmd.c's).
 * The stream is whole, and save committed, once its end chunk is written
 * and FILE closed; only then does the source stop.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "vfio-migctl.h"

void save_option(int c, const char *arg, struct save_opts *o)
{
	uint64_t v;

	switch (c) {
	case 'r':
		if (parse_u64(arg, &v, 0) || !v || v > 100000)
			usage_error("--max-rounds takes 1 to 100000, not '%s'", arg);
		o->max_rounds = (unsigned int)v;
		break;
	case 't':
		if (parse_u64(arg, &o->threshold, 1))
			usage_error("--threshold takes a byte count, not '%s'", arg);
		break;
	case 'd':
		if (parse_u64(arg, &o->downtime_ms, 0) || !o->downtime_ms)
			usage_error("--downtime-limit takes milliseconds, not '%s'", arg);
		break;
	case 'F':
		o->force_switchover = true;
		break;
	case 'a':
		o->keep_running = true;
		break;
	case 'P':
		o->no_p2p = true;
		break;
	case 'j':
		o->json = true;
		break;
	case 'k':
		o->keep_source = true;
		break;
	}
}

static int stream_put(struct sink *s, uint32_t type, const void *buf, uint32_t len)
{
	return stream_write_data(&((struct stream_sink *)s)->w, 0, type, buf, len);
}

/* The --json record of a save of one device: with --abort, the stop_copy time was a downtime. */
static void report_save(const struct save_job *job, int status)
{
	const struct save_stats *st = &job->stats;

	report_transfer(&(struct transfer_report){
		.source = job->opts->dir, .saved = st, .t_start = st->t_start,
		.t_switch = st->t_stopcopy, .t_end = st->t_end,
		.downtime = job->opts->keep_running, .exit_status = status,
		.error = status ? job->err.text : NULL });
}

/*
 * The stop_copy time is the part of the downtime that save knows (the rest
 * is the load's); with --abort the source ran again, and the whole of it is.
 */
static void print_summary(const struct save_job *job, const char *file)
{
	const struct save_stats *st = &job->stats;
	bool to_stdout = !strcmp(file, "-");
	char counts[160];

	if (report_json()) {
		report_save(job, 0);
		return;
	}
	save_summary(st, counts, sizeof(counts));
	fprintf(summary_file(to_stdout), "saved %s to %s: %" PRIu64 " bytes (%s), %.3f s, %s %.1f ms\n",
		job->opts->dir, to_stdout ? "standard output" : file,
		st->precopy_bytes + st->stopcopy_bytes, counts,
		(double)(st->t_end - st->t_start) / 1e6,
		job->opts->keep_running ? "downtime" : "stop_copy",
		(double)(st->t_end - st->t_stopcopy) / 1e3);
}

/* Before the commit point: the source put back, and the one line. */
static int save_failed(struct save_job *job)
{
	struct errmsg undo = { "" };
	const char *dir = job->opts->dir;

	save_roll_back(job, &undo);
	if (devdir_gone(dir))
		return daemon_gone("save", dir);
	fprintf(stderr, "vfio-migctl: save %s: %s%s\n", dir, job->err.text, undo.text);
	return transfer_failed(job->recovery);
}

static int save_commit_failed(const struct save_job *job, const char *file)
{
	char cmd[PATH_MAX + 8], done[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "save %s", job->opts->dir);
	snprintf(done, sizeof(done), "the stream to %s is whole",
		 strcmp(file, "-") ? file : "standard output");
	return commit_failed(cmd, &job->err, done, &job->opts->dir, 1);
}

int cmd_save(int argc, char **argv)
{
	static const struct option longopts[] = {
		SAVE_LONGOPTS,
		SET_LONGOPTS,
		{ "abort", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct save_opts o = SAVE_DEFAULTS;
	struct stream_sink out = { .sink = { stream_put, "the stream", NULL } };
	struct save_job job = { .opts = &o, .sink = &out.sink };
	const char *file = NULL;
	bool created;
	int c, err, status = 0;

	while ((c = next_option(argc, argv, longopts)) != -1)
		if (c == 'o')
			file = optarg;
		else
			save_option(c, optarg, &o);
	if (file && argc > optind) {
		report_init("save", o.json, summary_file(!strcmp(file, "-")));
		return save_set(argc - optind, argv + optind, &o, file);
	}
	if (file || o.no_p2p)
		usage_error("save takes DIR [FILE|-], or --output FILE|- DIR...");
	if (argc - optind < 1 || argc - optind > 2)
		usage_error("save takes DIR [FILE|-]");
	o.dir = argv[optind];
	file = argc - optind == 2 ? argv[optind + 1] : "-";
	report_init("save", o.json, summary_file(!strcmp(file, "-")));
	claim_device("save", o.dir);
	out.w = (struct stream_writer){ .fd = open_output(file, &created), .cancel = &interrupted };
	job.buf = devdir_buffer(SAVE_BUF_SIZE);
	transfer_signals();
	progress_init(&job.progress, o.dir);
	err = save_to_stream(&job, &out);
	free(job.buf);
	if (err) {
		if (created)
			unlink(file);	/* no half stream left to be loaded */
		status = save_failed(&job);
	} else if (save_finish(&job)) {
		status = save_commit_failed(&job, file);
	}
	if (status)
		report_save(&job, status);
	else
		print_summary(&job, file);
	return status;
}

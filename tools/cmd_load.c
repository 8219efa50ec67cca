// SPDX-License-Identifier: MIT
/*
 * vfio-migctl load: a stream into one device (the set form is setcmd.c's).
 */
#include <inttypes.h>
#include <string.h>

#include "vfio-migctl.h"

static void report_load(const struct load_job *job, const char *source, int status)
{
	report_transfer(&(struct transfer_report){
		.destination = job->dir, .stream_source = source, .loaded = &job->reader.totals,
		.t_start = job->t_start, .t_end = job->t_end, .exit_status = status,
		.error = status ? job->err.text : NULL });
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
		{ "json", no_argument, NULL, 'j' },
		SET_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct load_job job = { 0 };
	const char *file = NULL;
	bool no_p2p = false, json = false;
	int c, err, status = 0;

	while ((c = next_option(argc, argv, longopts)) != -1) {
		if (c == 'r')
			job.run = true;
		else if (c == 'i')
			file = optarg;
		else if (c == 'j')
			json = true;
		else
			no_p2p = true;
	}
	report_init("load", json, stdout);
	if (file && argc > optind)
		return load_set(argc - optind, argv + optind, job.run, no_p2p, file);
	if (file || no_p2p)
		usage_error("load takes DIR [FILE|-], or --input FILE|- DIR...");
	if (argc - optind < 1 || argc - optind > 2)
		usage_error("load takes DIR [FILE|-]");
	job.dir = argv[optind];
	claim_device("load", job.dir);
	file = argc - optind == 2 ? argv[optind + 1] : "-";
	job.reader = (struct stream_reader){ .fd = open_input(file, &job.size), .cancel = &interrupted };
	job.buf = devdir_buffer(STREAM_CHUNK_MAX);
	transfer_signals();
	progress_init(&job.progress, job.dir);
	err = load_device(&job);
	free(job.buf);
	if (err && devdir_gone(job.dir)) {
		status = daemon_gone("load", job.dir);
	} else if (err) {
		fprintf(stderr, "vfio-migctl: load %s: %s\n", job.dir, job.err.text);
		status = transfer_failed(job.device_error ? NOT_RECOVERED : RECOVERED);
	}
	if (status || json)
		report_load(&job, job.source[0] ? job.source : NULL, status);
	else
		print_summary(&job, file);
	return status;
}

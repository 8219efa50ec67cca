// SPDX-License-Identifier: MIT
/*
 * vfio-migctl migrate SRC DST: both devices on this host, the saving side
 * writing straight into the destination's `data` (no stream framing: no
 * transport in between to damage it).  The destination is made ready
 * first, so that a destination that cannot resume costs the source
 * nothing; if the destination refuses the data, the source runs again.
 * The destination running is the commit point: the source stops after it.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migctl.h"

/* Whether save_transfer would take the source: running or stop. */
static bool source_ready(const char *src)
{
	struct errmsg e;
	char state[64];

	return devdir_idle(src, "saving", state, sizeof(state), &e) == 0;
}

/* Where a migration got to, for its roll-back. */
struct migration {
	const char *src, *dst;
	bool dst_touched;	/* resuming was asked of the destination */
	bool dst_whole;		/* it took the whole stream, and checked it in stop */
	uint64_t t_running;	/* now_usec() when it ran */
	struct errmsg undo;	/* what the roll-back did */
	enum recovery worst;
};

/*
 * Up to the commit point, the destination running.  The source is drained
 * in stop_copy, the destination checks the whole stream in stop and runs;
 * the source stops only after that (save_finish), so nothing it does can
 * cost the state that the destination runs.
 */
static int migrate_to_commit(struct save_job *job, struct migration *m)
{
	struct data_sink *sink = (struct data_sink *)job->sink;
	char source[PATH_MAX];
	int err;

	/*
	 * save_transfer refuses such a source before it changes anything, but
	 * once the destination is resuming a failure resets it: refuse first.
	 */
	if (!source_ready(m->src))
		return save_transfer(job);
	device_name(m->src, source, sizeof(source));
	err = check_destination(m->dst, &job->err);
	err = err ? err : check_fits(source, m->dst, &job->err);
	if (err)
		return err;
	m->dst_touched = true;
	err = open_resuming(m->dst, &sink->fd, &job->err);
	err = err ? err : save_transfer(job);
	if (sink->fd >= 0)
		err = close_resuming(m->dst, sink->fd, err, &job->err);
	sink->fd = -1;
	err = err ? err : finish_resuming(m->dst, false, &job->err);
	m->dst_whole = !err;
	err = err ? err : devdir_check_mounted(m->dst, &job->err);
	if (!err && interrupted)
		err = interrupt_error(&job->err);
	err = err ? err : run_destination(m->dst, &job->err);
	m->t_running = now_usec();
	return err;
}

/*
 * Before the commit point: the source back to running, the destination
 * reset, unless the source could not get its state back and the
 * destination holds it whole: then that is the only copy, kept in stop.
 */
static void migrate_roll_back(struct save_job *job, struct migration *m)
{
	save_roll_back(job, &m->undo);
	m->worst = job->recovery;
	if (!m->dst_touched)
		return;
	if (m->dst_whole && job->touched && job->recovery != RECOVERED &&
	    devdir_in(m->dst, "stop")) {
		errmsg_add(&m->undo, "; ");
		errmsg_add(&m->undo, m->dst);
		errmsg_add(&m->undo, " keeps the migrated state (the only copy: not reset)");
		return;
	}
	if (abandon_resuming(m->dst, &m->undo))
		m->worst = NOT_RECOVERED;
}

static int migrate_failed(struct save_job *job, struct migration *m)
{
	migrate_roll_back(job, m);
	if (devdir_gone(m->src))
		return daemon_gone_then("migrate", m->src, m->undo.text);
	if (m->dst_touched && devdir_gone(m->dst))
		return daemon_gone_then("migrate", m->dst, m->undo.text);
	fprintf(stderr, "vfio-migctl: migrate %s %s: %s%s\n", m->src, m->dst,
		job->err.text, m->undo.text);
	return transfer_failed(m->worst);
}

/* After the commit point: the source's stop failed; nothing is undone. */
static int migrate_commit_failed(struct save_job *job, const struct migration *m)
{
	const char *dirs[] = { m->src, m->dst };
	char cmd[2 * PATH_MAX + 16], done[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "migrate %s %s", m->src, m->dst);
	snprintf(done, sizeof(done), "%s runs the migrated state", m->dst);
	return commit_failed(cmd, &job->err, done, dirs, 2);
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
	struct migration m = { .undo = { "" } };
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
	o.dir = m.src = argv[optind];
	m.dst = argv[optind + 1];
	claim_device("migrate", m.src);
	claim_device("migrate", m.dst);
	snprintf(dst_data, sizeof(dst_data), "%s/data", m.dst);
	sink.sink.name = dst_data;
	sink.sink.dir = m.dst;
	job.buf = devdir_buffer(SAVE_BUF_SIZE);
	transfer_signals();
	progress_init(&job.progress, o.dir);
	err = migrate_to_commit(&job, &m);
	free(job.buf);
	if (err)
		status = migrate_failed(&job, &m);
	else if (save_finish(&job))
		status = migrate_commit_failed(&job, &m);
	if (status || o.json)
		report_migrate(&job, m.dst, m.t_running, status);
	else
		print_summary(&job, m.dst, m.t_running);
	return status;
}

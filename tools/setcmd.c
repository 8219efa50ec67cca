// SPDX-License-Identifier: MIT
/*
 * The set forms of the transfer commands (set.c runs the phases):
 *
 *   migrate SRC1=DST1 SRC2=DST2 ...   every phase, on this host
 *   save --output FILE|- DIR...        the sources' phases, one stream
 *   load --input FILE|- DIR...         the destinations' phases (setload.c)
 *
 * Everything that can be refused is refused before any device changes.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migctl.h"

void set_init(struct dev_set *s, unsigned int n, const struct save_opts *o)
{
	if (n > STREAM_SET_MAX)
		usage_error("a set holds at most %u devices, not %u", STREAM_SET_MAX, n);
	/* A set of one has no peer to lose a write. */
	*s = (struct dev_set){ .n = n, .opts = o, .p2p = !o->no_p2p && n > 1,
			       .keep_source = o->keep_source };
	s->dev = calloc(n, sizeof(*s->dev));
	if (!s->dev)
		fatalx("no memory for a set of %u devices", n);
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned int i = 0; i < n; i++) {
		struct set_dev *d = &s->dev[i];

		d->set = s;
		d->opts = *o;
		d->save = (struct save_job){ .opts = &d->opts, .cancel = &s->cancel, .fd = -1 };
		d->to_dst = (struct data_sink){ .sink.put = data_sink_put, .fd = -1 };
	}
}

void set_free(struct dev_set *s)
{
	progress_done(&s->progress);
	if (s->threads)
		set_pool_stop(s);
	for (unsigned int i = 0; i < s->n; i++)
		free(s->dev[i].save.buf);
	free(s->dev);
	pthread_mutex_destroy(&s->lock);
}

/*
 * Every path of the set a vfio-migfs mount, and no two on one mount (each
 * mount of vfio-migfsd has a device number of its own, shared by its bind
 * mounts): a device cannot be two members, nor migrate into itself.
 */
void check_mounts(const char *const *dirs, unsigned int n)
{
	dev_t *devs = calloc(n, sizeof(*devs));
	struct stat st;

	for (unsigned int i = 0; i < n; i++)
		devdir_require(dirs[i]);
	for (unsigned int i = 0; devs && i < n; i++) {
		if (stat(dirs[i], &st))
			continue;	/* left for the check of its state to name */
		devs[i] = st.st_dev;
		for (unsigned int j = 0; j < i; j++)
			if (devs[j] == st.st_dev)
				usage_error("%s and %s are on one mount: a device can be "
					    "in a set only once", dirs[j], dirs[i]);
	}
	free(devs);
}

/* A member that can keep the barrier: it has running_p2p. */
static int check_p2p(const struct dev_set *s, const char *dir, struct errmsg *e)
{
	if (!s->p2p || (devdir_features(dir) & FEATURE_P2P))
		return 0;
	return errmsg_set(e, -EOPNOTSUPP, "%s has no p2p feature, so the set cannot keep "
			  "the P2P barrier (--no-p2p stops the devices one after another; "
			  "nothing was changed)", dir);
}

/* A destination that can take its source's state, as far as the names tell. */
static int check_fits_source(const struct set_dev *d, struct errmsg *e)
{
	char source[PATH_MAX];

	if (d->source)
		return check_fits(d->source, d->dst, e);
	device_name(d->src, source, sizeof(source));
	return check_fits(source, d->dst, e);
}

static int check_source(const struct dev_set *s, const char *dir, struct errmsg *e)
{
	char state[64];

	return devdir_idle(dir, "saving", state, sizeof(state), e) ?: check_p2p(s, dir, e);
}

/* Claim every member (claim.c); the exit status of a refusal, or 0. */
int claim_set(const char *const *dirs, unsigned int n, const char *cmd)
{
	struct errmsg e;
	int err;

	for (unsigned int i = 0; i < n; i++) {
		err = devdir_claim(dirs[i], &e);
		if (err)
			return claim_failed(cmd, dirs[i], err, &e);
	}
	return 0;
}

/* Each member, before anything changes; the exit status of a refusal, or 0. */
int check_set(struct dev_set *s, const char *cmd, bool dst_p2p)
{
	struct errmsg e = { "" };
	const char *dir = NULL;	/* the one checked last: a refusal's */
	int err = 0;

	for (unsigned int i = 0; i < s->n && !err; i++) {
		struct set_dev *d = &s->dev[i];

		if (d->src)
			err = check_source(s, dir = d->src, &e);
		if (!err && d->dst)
			err = check_destination(dir = d->dst, &e);
		if (!err && d->dst)
			err = check_fits_source(d, &e);
		if (!err && d->dst && dst_p2p)
			err = check_p2p(s, d->dst, &e);
		if (err && devdir_gone_error(err))
			return daemon_gone(cmd, dir);
	}
	if (!err)
		return 0;
	fprintf(stderr, "vfio-migctl: %s: %s\n", cmd, e.text);
	return EXIT_FAILURE;
}

void print_barrier(FILE *f, const struct dev_set *s)
{
	if (s->n > 1)
		fprintf(f, ", %s", s->p2p ? "P2P barrier kept" :
			"P2P barrier not kept (--no-p2p: the devices stopped one after another)");
	fputc('\n', f);
}

/*
 * The set's progress (a line on a terminal, or records); each device's
 * are records only: its thread's redraws would garble the set's line.
 */
static void set_progress_init(struct dev_set *s)
{
	progress_init(&s->progress, NULL);
	for (unsigned int i = 0; i < s->n; i++) {
		progress_init(&s->dev[i].save.progress, s->dev[i].src);
		s->dev[i].save.progress.on = false;
	}
}

/*
 * --json: a record per device and one for the set, how it ended (status);
 * r: a load's stream, whose totals are its devices'.
 */
void report_set(const struct dev_set *s, int status, const struct stream_reader *r)
{
	struct save_stats sum = { .rounds = s->rounds, .end = s->end };
	const char *error = status ? s->err.text : NULL;
	bool migrate = !r && s->dev[0].dst;

	for (unsigned int i = 0; i < s->n; i++) {
		const struct set_dev *d = &s->dev[i];
		const struct save_stats *st = &d->save.stats;

		report_transfer(&(struct transfer_report){
			.source = d->src, .destination = d->dst, .stream_source = d->source,
			.saved = r ? NULL : st, .loaded = r ? &r->dev_totals[i] : NULL,
			.t_start = r ? s->t_start : st->t_start,
			.t_switch = r ? 0 : st->t_stopcopy, .t_end = s->t_end,
			.downtime = migrate, .exit_status = status, .error = error });
		sum.precopy_bytes += st->precopy_bytes;
		sum.stopcopy_bytes += st->stopcopy_bytes;
	}
	report_transfer(&(struct transfer_report){
		.devices = s->n, .p2p = s->p2p, .saved = r ? NULL : &sum,
		.loaded = r ? &r->totals : NULL, .t_start = s->t_start,
		.t_switch = r ? 0 : s->t_down, .t_end = s->t_end, .downtime = migrate,
		.exit_status = status, .error = error, .failed_phase = error ? s->failed_phase : NULL,
		.failed_device = error ? s->failed_what : NULL });
}

/* One line per source, then the set's. */
static uint64_t print_sources(FILE *f, const struct dev_set *s, const char *verb)
{
	uint64_t total = 0;
	char counts[160];

	for (unsigned int i = 0; i < s->n; i++) {
		const struct set_dev *d = &s->dev[i];
		const struct save_stats *st = &d->save.stats;

		save_summary(st, counts, sizeof(counts));
		fprintf(f, "%s %s%s%s: %" PRIu64 " bytes (%s)\n", verb, d->src,
			d->dst ? " -> " : "", d->dst ? d->dst : "",
			st->precopy_bytes + st->stopcopy_bytes, counts);
		total += st->precopy_bytes + st->stopcopy_bytes;
	}
	return total;
}

/* --- migrate SRC=DST... --- */

static void split_pairs(struct dev_set *s, char **argv, const char **dirs)
{
	for (unsigned int i = 0; i < s->n; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i] || !eq[1])
			usage_error("migrate takes SRC DST, or pairs SRC=DST, not '%s'", argv[i]);
		*eq = '\0';
		s->dev[i].src = s->dev[i].opts.dir = dirs[2 * i] = argv[i];
		s->dev[i].dst = s->dev[i].to_dst.sink.name = dirs[2 * i + 1] = eq + 1;
		s->dev[i].to_dst.sink.dir = s->dev[i].dst;
		s->dev[i].save.sink = &s->dev[i].to_dst.sink;
	}
}

/*
 * Up to the commit point (the first destination running) a failure rolls
 * back; from there on the sources stop whatever else failed.
 */
static int run_migrate(struct dev_set *s)
{
	int err = set_open_destinations(s);

	err = err ? err : set_begin(s);
	err = err ? err : set_precopy(s);
	err = err ? err : set_stop_copy(s);
	err = err ? err : set_run(s);
	if (err && !set_committed(s))
		return err;
	return set_stop_sources(s) ?: err;
}

int migrate_set(int argc, char **argv, const struct save_opts *o)
{
	const char *dirs[2 * STREAM_SET_MAX];
	struct dev_set s;
	uint64_t total;
	int status, err;

	set_init(&s, (unsigned int)argc, o);
	split_pairs(&s, argv, dirs);
	set_progress_init(&s);
	check_mounts(dirs, 2 * s.n);
	status = claim_set(dirs, 2 * s.n, "migrate");
	status = status ? status : check_set(&s, "migrate", true);
	if (status)
		return status;
	for (unsigned int i = 0; i < s.n; i++)
		s.dev[i].save.buf = devdir_buffer(SAVE_BUF_SIZE);
	s.run = true;
	transfer_signals();
	set_pool_start(&s);
	err = run_migrate(&s);
	if (err && set_committed(&s)) {
		status = set_commit_failed(&s, "migrate", NULL);
		report_set(&s, status, NULL);
	} else if (err) {
		status = set_roll_back(&s, "migrate");
		report_set(&s, status, NULL);
	} else if (report_json()) {
		report_set(&s, 0, NULL);
	} else {
		total = print_sources(stdout, &s, "migrated");
		printf("migrated a set of %u devices: %" PRIu64 " bytes, %.3f s, downtime %.1f ms",
		       s.n, total, (double)(s.t_end - s.t_start) / 1e6,
		       (double)(s.t_end - s.t_down) / 1e3);
		print_barrier(stdout, &s);
	}
	set_free(&s);
	return status;
}

/* --- save --output FILE DIR... --- */

/* Takes s->lock: the set's devices write the one stream from their threads. */
static int set_stream_put(struct sink *sink, uint32_t type, const void *buf, uint32_t len)
{
	struct set_stream_sink *ss = (struct set_stream_sink *)sink;
	struct dev_set *s = ss->set;
	int err;

	pthread_mutex_lock(&s->lock);
	err = stream_write_data(&s->out, ss->index, type, buf, len);
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int stream_failed(struct dev_set *s, const char *phase, int err)
{
	struct errmsg e;

	if (interrupted) {
		set_interrupted(s, phase);
		return -ECANCELED;
	}
	errmsg_sys(&e, err, "writing the stream");
	set_failed(s, "the stream", phase, &e);
	return -ECANCELED;
}

/* The header, every source's phases, the end chunk and a clean close. */
static int run_save(struct dev_set *s)
{
	static struct stream_header h;	/* 16 KiB */
	int err = stream_header_init(&h, s->n);

	for (unsigned int i = 0; i < s->n; i++)
		stream_describe(&h.dev[i], s->dev[i].src);
	err = err ? err : stream_write_header(&s->out, &h);
	if (err)
		return stream_failed(s, "header", err);
	err = set_begin(s);
	err = err ? err : set_precopy(s);
	err = err ? err : set_stop_copy(s);
	s->t_end = now_usec();
	if (err)
		return err;
	err = interrupted ? -EINTR : stream_write_end(&s->out);
	if (!err && s->out.fd != STDOUT_FILENO && close(s->out.fd))
		err = -errno;
	if (err)
		return stream_failed(s, "end of stream", err);
	/*
	 * The stream is whole: the commit point.  The sources, drained in
	 * stop_copy, stop only now; one that fails then costs nothing saved.
	 */
	s->committing = true;
	return set_stop_sources(s);
}

int save_set(int argc, char **argv, const struct save_opts *o, const char *file)
{
	struct dev_set s;
	bool created;
	uint64_t total;
	char done[PATH_MAX + 32];
	FILE *f = summary_file(!strcmp(file, "-"));
	int status, err;

	if (o->keep_running)
		usage_error("--abort is for one device; a set's sources stop");
	set_init(&s, (unsigned int)argc, o);
	for (unsigned int i = 0; i < s.n; i++) {
		struct set_dev *d = &s.dev[i];

		d->src = d->opts.dir = argv[i];
		d->to_stream = (struct set_stream_sink){ { set_stream_put, "the stream", NULL },
							 &s, i };
		d->save.sink = &d->to_stream.sink;
	}
	set_progress_init(&s);
	check_mounts((const char *const *)argv, s.n);
	status = claim_set((const char *const *)argv, s.n, "save");
	status = status ? status : check_set(&s, "save", false);
	if (status)
		return status;
	s.out = (struct stream_writer){ .fd = open_output(file, &created), .cancel = &interrupted };
	for (unsigned int i = 0; i < s.n; i++)
		s.dev[i].save.buf = devdir_buffer(SAVE_BUF_SIZE);
	transfer_signals();
	set_pool_start(&s);
	err = run_save(&s);
	if (err && s.committing) {
		snprintf(done, sizeof(done), "the stream to %s is whole",
			 strcmp(file, "-") ? file : "standard output");
		status = set_commit_failed(&s, "save", done);
		report_set(&s, status, NULL);
	} else if (err) {
		if (created)
			unlink(file);	/* no half stream left to be loaded */
		status = set_roll_back(&s, "save");
		report_set(&s, status, NULL);
	} else if (report_json()) {
		report_set(&s, 0, NULL);
	} else {
		total = print_sources(f, &s, "saved");
		fprintf(f, "saved a set of %u devices to %s: %" PRIu64 " bytes, %.3f s, "
			"stop_copy %.1f ms", s.n, strcmp(file, "-") ? file : "standard output",
			total, (double)(s.t_end - s.t_start) / 1e6,
			(double)(s.t_end - s.t_down) / 1e3);
		print_barrier(f, &s);
	}
	set_free(&s);
	return status;
}

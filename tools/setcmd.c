// SPDX-License-Identifier: MIT
/*
 * The set forms of the transfer commands (set.c runs the phases):
 *
 *   migrate SRC1=DST1 SRC2=DST2 ...   every phase, on this host
 *   save --output FILE|- DIR...        the sources' phases, one stream
 *   load --input FILE|- DIR...         the destinations' phases
 *
 * Everything that can be refused is refused before any device changes.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vfio-migctl.h"

static void set_init(struct dev_set *s, unsigned int n, const struct save_opts *o)
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

static void set_free(struct dev_set *s)
{
	if (s->threads)
		set_pool_stop(s);
	for (unsigned int i = 0; i < s->n; i++)
		free(s->dev[i].save.buf);
	free(s->dev);
	pthread_mutex_destroy(&s->lock);
}

/*
 * No two paths of the set on one mount (each mount of vfio-migfsd has a
 * device number of its own, shared by its bind mounts): a device cannot
 * be two members, nor migrate into itself.
 */
static void check_mounts(const char *const *dirs, unsigned int n)
{
	dev_t *devs = calloc(n, sizeof(*devs));
	struct stat st;

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

static int check_source(const struct dev_set *s, const char *dir, struct errmsg *e)
{
	char state[64];

	return devdir_idle(dir, "saving", state, sizeof(state), e) ?: check_p2p(s, dir, e);
}

/* Claim every member (claim.c); the exit status of a refusal, or 0. */
static int claim_set(const char *const *dirs, unsigned int n, const char *cmd)
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
static int check_set(struct dev_set *s, const char *cmd, bool dst_p2p)
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

static void print_barrier(FILE *f, const struct dev_set *s)
{
	if (s->n > 1)
		fprintf(f, ", %s", s->p2p ? "P2P barrier kept" :
			"P2P barrier not kept (--no-p2p: the devices stopped one after another)");
	fputc('\n', f);
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
	} else if (err) {
		status = set_roll_back(&s, "migrate");
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

static int stream_put_locked(struct sink *sink, uint32_t type, const void *buf, uint32_t len)
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
	struct stream_header h = { .count = s->n, .created = (uint64_t)time(NULL) };
	int err;

	for (unsigned int i = 0; i < s->n; i++)
		stream_describe(&h.dev[i], s->dev[i].src);
	err = stream_write_header(&s->out, &h);
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
		d->to_stream = (struct set_stream_sink){ { stream_put_locked, "the stream", NULL },
							 &s, i };
		d->save.sink = &d->to_stream.sink;
	}
	check_mounts((const char *const *)argv, s.n);
	status = claim_set((const char *const *)argv, s.n, "save");
	status = status ? status : check_set(&s, "save", false);
	if (status)
		return status;
	s.out.fd = open_output(file, &created);
	for (unsigned int i = 0; i < s.n; i++)
		s.dev[i].save.buf = devdir_buffer(SAVE_BUF_SIZE);
	transfer_signals();
	set_pool_start(&s);
	err = run_save(&s);
	if (err && s.committing) {
		snprintf(done, sizeof(done), "the stream to %s is whole",
			 strcmp(file, "-") ? file : "standard output");
		status = set_commit_failed(&s, "save", done);
	} else if (err) {
		if (created)
			unlink(file);	/* no half stream left to be loaded */
		status = set_roll_back(&s, "save");
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

/* --- load --input FILE DIR... --- */

/* Each chunk to its device's `data`, in stream order. */
static int feed_set(struct dev_set *s, struct stream_reader *r, void *buf)
{
	struct set_dev *d;
	struct errmsg e;
	uint32_t len;
	int type, err;

	while ((type = stream_read_chunk(r, buf, &len)) != CHUNK_END) {
		if (interrupted) {
			set_interrupted(s, "resuming");
			return -ECANCELED;
		}
		if (type < 0) {
			errmsg_set(&e, type, "%s", r->error);
			set_failed(s, "the stream", "resuming", &e);
			return -ECANCELED;
		}
		d = &s->dev[r->dev];
		err = write_all(d->to_dst.fd, buf, len);
		if (err) {
			devdir_io_error(d->dst, "writing", "data", err, &d->err);
			set_failed(s, d->dst, "resuming", &d->err);
			return -ECANCELED;
		}
	}
	return 0;
}

static void print_loaded(const struct dev_set *s, const struct stream_reader *r,
			 const struct stream_header *h, const char *file, bool run)
{
	const struct stream_totals *t = &r->totals;

	for (unsigned int i = 0; i < s->n; i++) {
		const struct stream_totals *dt = &r->dev_totals[i];

		printf("loaded %s from %s: %" PRIu64 " bytes (%" PRIu64 " precopy, %" PRIu64
		       " stop_copy)\n", s->dev[i].dst, h->dev[i].source[0] ? h->dev[i].source :
		       "(unnamed)", dt->precopy_bytes + dt->stopcopy_bytes, dt->precopy_bytes,
		       dt->stopcopy_bytes);
	}
	printf("loaded a set of %u devices from %s: %" PRIu64 " bytes in %" PRIu64
	       " chunks, %.3f s, %s", s->n, strcmp(file, "-") ? file : "standard input",
	       t->precopy_bytes + t->stopcopy_bytes, t->chunks,
	       (double)(s->t_end - s->t_start) / 1e6, run ? "running" : "in stop");
	if (run)
		print_barrier(stdout, s);	/* in stop, none was needed */
	else
		putchar('\n');
}

int load_set(int argc, char **argv, bool run, bool no_p2p, const char *file)
{
	static struct stream_header h;	/* 16 KiB */
	struct save_opts o = { .no_p2p = no_p2p };
	struct stream_reader r = { 0 };
	struct dev_set s;
	uint64_t size;
	void *buf;
	int status;

	set_init(&s, (unsigned int)argc, &o);
	for (unsigned int i = 0; i < s.n; i++)
		s.dev[i].dst = argv[i];
	check_mounts((const char *const *)argv, s.n);
	status = claim_set((const char *const *)argv, s.n, "load");
	if (status)
		return status;
	r.fd = open_input(file, &size);
	transfer_signals();
	if (stream_read_header(&r, &h))
		die(interrupted ? EXIT_SIGNAL + interrupted : EXIT_FAILURE, 0,
		    "load: %s (nothing was changed)", interrupted ? "interrupted" : r.error);
	if (h.count != s.n)
		die(EXIT_FAILURE, 0, "load: the stream holds %u device%s, not %u (nothing "
		    "was changed)", h.count, h.count == 1 ? "" : "s", s.n);
	status = check_set(&s, "load", run);
	if (status)
		return status;
	buf = devdir_buffer(STREAM_CHUNK_MAX);
	s.run = run;
	set_pool_start(&s);
	s.t_start = now_usec();
	if (set_open_destinations(&s) || feed_set(&s, &r, buf) || set_settle(&s) ||
	    (run && set_run(&s)))
		status = set_committed(&s) ? set_commit_failed(&s, "load", NULL) :
			 set_roll_back(&s, "load");
	else
		print_loaded(&s, &r, &h, file, run);
	free(buf);
	set_free(&s);
	return status;
}

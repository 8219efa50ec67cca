// SPDX-License-Identifier: MIT
/*
 * vfio-migctl load --input FILE|- DIR...: a set's stream into its
 * destinations, each device by the name it was saved under or #N, with
 * the destinations' phases (set.c) and what the set forms share
 * (setcmd.c).  The header is checked and mapped before any device
 * changes.
 */
#include <inttypes.h>
#include <string.h>

#include "clock.h"
#include "vfio-migctl.h"

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
		err = write_all(d->to_dst.fd, buf, len, &interrupted);
		if (err) {
			refused_data(&d->err, err, d->dst, d->source);
			set_failed(s, d->dst, "resuming", &d->err);
			return -ECANCELED;
		}
		progress_update(&s->progress, r->offset);
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

/*
 * Which device of the stream an operand maps: SOURCE=DIR, SOURCE the
 * name the stream gives it (the longest that fits: a name may hold '='),
 * or #N=DIR, N its place from 1.  Returns its index and sets *dir, or -1.
 */
static int map_operand(const struct stream_header *h, const char *arg, const char **dir)
{
	unsigned long n;
	size_t best_len = 0;
	char *end;
	int best = -1;

	if (arg[0] == '#' && arg[1] >= '0' && arg[1] <= '9') {
		n = strtoul(arg + 1, &end, 10);
		*dir = end + 1;
		return *end == '=' && end[1] && n >= 1 && n <= h->count ? (int)n - 1 : -1;
	}
	for (uint32_t i = 0; i < h->count; i++) {
		size_t len = strlen(h->dev[i].source);

		if ((best < 0 || len > best_len) && !strncmp(arg, h->dev[i].source, len) &&
		    arg[len] == '=' && arg[len + 1]) {
			best = (int)i;
			best_len = len;
		}
	}
	*dir = best < 0 ? NULL : arg + best_len + 1;
	return best;
}

/* The stream's names, for a refusal: "NAME, NAME, ..." */
static void list_names(const struct stream_header *h, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < h->count && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
				       h->dev[i].source[0] ? h->dev[i].source : "(unnamed)");
}

static bool named_twice(const struct stream_header *h, uint32_t i)
{
	for (uint32_t j = 0; j < h->count; j++)
		if (j != i && !strcmp(h->dev[j].source, h->dev[i].source))
			return true;
	return false;
}

/*
 * Each operand to its device of the stream, by the source's name: a set
 * loaded by position would take any order given, and swap states without
 * a word.  A stream of one device takes a plain DIR too.
 */
static void map_set(struct dev_set *s, const struct stream_header *h, char **argv)
{
	static char names[STREAM_SET_MAX * (STREAM_NAME_MAX + 2) + 1];
	const char *dir;
	int i;

	list_names(h, names, sizeof(names));
	for (unsigned int k = 0; k < s->n; k++) {
		i = map_operand(h, argv[k], &dir);
		if (i < 0 && h->count == 1) {	/* one device: nothing to cross */
			i = 0;
			dir = argv[k];
		}
		if (i < 0 && !strchr(argv[k], '='))
			die(EXIT_FAILURE, 0, "load: a set's stream is loaded by its sources' "
			    "names, not by position: give SOURCE=DIR for each of %s (or #N=DIR, "
			    "N from 1; nothing was changed)", names);
		if (i < 0)
			die(EXIT_FAILURE, 0, "load: '%s' names no device of the stream (it holds "
			    "%s; nothing was changed)", argv[k], names);
		if (argv[k][0] != '#' && named_twice(h, (uint32_t)i))
			die(EXIT_FAILURE, 0, "load: the stream holds two devices named '%s': "
			    "map them by place, #N=DIR (nothing was changed)", h->dev[i].source);
		if (s->dev[i].dst)
			die(EXIT_FAILURE, 0, "load: device %d of the stream (%s) is mapped "
			    "twice (nothing was changed)", i + 1, h->dev[i].source);
		s->dev[i].dst = dir;
		s->dev[i].source = h->dev[i].source;
	}
}

/* Which device goes where, before any changes: a line, or a record, each. */
static void print_map(const struct dev_set *s)
{
	struct json j;

	for (unsigned int i = 0; i < s->n && report_json(); i++) {
		json_begin(&j, report_file(), "map");
		json_str(&j, "command", report_command());
		json_u64(&j, "device", i + 1);
		json_str(&j, "stream_source", s->dev[i].source);
		json_str(&j, "destination", s->dev[i].dst);
		json_end(&j);
	}
	for (unsigned int i = 0; i < s->n && !report_json(); i++)
		printf("device %u: %s -> %s\n", i + 1,
		       s->dev[i].source[0] ? s->dev[i].source : "(unnamed)", s->dev[i].dst);
	fflush(stdout);
}

int load_set(int argc, char **argv, bool run, bool no_p2p, const char *file)
{
	static struct stream_header h;	/* 16 KiB */
	const char *dirs[STREAM_SET_MAX];
	struct save_opts o = { .no_p2p = no_p2p };
	struct stream_reader r = { .cancel = &interrupted };
	struct dev_set s;
	uint64_t size;
	void *buf;
	int status;

	r.fd = open_input(file, &size);
	transfer_signals();
	if (stream_read_header(&r, &h))
		die(interrupted ? EXIT_SIGNAL + interrupted : EXIT_FAILURE, 0,
		    "load: %s (nothing was changed)", interrupted ? "interrupted" : r.error);
	if (h.count != (unsigned int)argc)
		die(EXIT_FAILURE, 0, "load: the stream holds %u device%s, not %d (nothing "
		    "was changed)", h.count, h.count == 1 ? "" : "s", argc);
	set_init(&s, h.count, &o);
	map_set(&s, &h, argv);
	for (unsigned int i = 0; i < s.n; i++)
		dirs[i] = s.dev[i].dst;
	check_mounts(dirs, s.n);
	status = claim_set(dirs, s.n, "load");
	status = status ? status : check_set(&s, "load", run);
	if (status)
		return status;
	print_map(&s);
	buf = devdir_buffer(STREAM_CHUNK_MAX);
	s.run = run;
	progress_init(&s.progress, NULL);
	set_pool_start(&s);
	s.t_start = now_usec();
	progress_phase(&s.progress, "resuming", size);
	if (set_open_destinations(&s) || feed_set(&s, &r, buf) || set_settle(&s) ||
	    (run && set_run(&s))) {
		status = set_committed(&s) ? set_commit_failed(&s, "load", NULL) :
			 set_roll_back(&s, "load");
		report_set(&s, status, &r);
	} else if (report_json()) {
		report_set(&s, 0, &r);
	} else {
		print_loaded(&s, &r, &h, file, run);
	}
	free(buf);
	set_free(&s);
	return status;
}

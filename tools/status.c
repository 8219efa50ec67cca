// SPDX-License-Identifier: MIT
/*
 * vfio-migctl status [--json] [DIR...]
 *
 * Where every mounted device stands, from its `status` file alone (ABI
 * 6): an aligned table for people, or a JSON array for programs.  Each
 * file is read by a child process, all at once and within one bound
 * (probe.h), so that a daemon that answers nothing is named, not waited
 * for.  The parser (devstatus.c) serves `watch` too.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"
#include "probe.h"
#include "vfio-migctl.h"

/* ---- collecting ---- */

struct entry {
	const char *dir;
	struct dev_status st;
};

struct entries {
	struct entry *v;
	size_t n;
	int failed;		/* a DIR could not be shown: the exit status */
};

/*
 * One DIR's status, asked by a child process (probe.h): a daemon that is
 * stopped or stuck answers nothing, and only the child waits on it.
 */
struct asked {
	const char *dir;
	bool gone_ok;		/* found in mountinfo: it may be gone by now */
	bool mounted;
	struct probe probe;
	char text[STATUS_TEXT_MAX];
};

/* In the probe's child: the text of DIR/status. */
static ssize_t ask_status(const char *dir, char *buf, size_t len)
{
	int fd, err = dev_status_open(dir, &fd);
	ssize_t n;

	if (err)
		return err;
	n = pread(fd, buf, len, 0);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static void note_failure(struct entries *es, int status)
{
	/* That a daemon is gone is the news to tell. */
	if (es->failed != EXIT_DAEMON_GONE)
		es->failed = status;
}

/*
 * A mount found in mountinfo may be gone by the time it is read (its
 * daemon ended meanwhile): gone_ok skips it instead of calling it an error.
 */
static void add(struct entries *es, struct asked *a)
{
	ssize_t n = a->probe.result;
	int err;

	if (n == -ETIMEDOUT) {
		fprintf(stderr, "vfio-migctl: %s: the vfio-migfsd serving it does not "
			"answer (stopped or stuck for %d s)\n", a->dir, PROBE_TIMEOUT_MS / 1000);
		note_failure(es, EXIT_FAILURE);
		return;
	}
	a->text[n < 0 ? 0 : n] = '\0';
	err = n < 0 ? (int)n : dev_status_parse(a->text, &es->v[es->n].st);
	if (!err)
		es->v[es->n++].dir = a->dir;
	else if (!(a->gone_ok && err == -ENOENT))
		note_failure(es, status_error(a->dir, err));
}

/* Ask every DIR at once, and wait for them all within one bound. */
static void collect(struct entries *es, const char *const *dirs, size_t n, bool gone_ok)
{
	struct asked *a = calloc(n ? n : 1, sizeof(*a));
	struct probe *probes = calloc(n ? n : 1, sizeof(*probes));
	size_t asked = 0;

	es->v = calloc(n ? n : 1, sizeof(*es->v));
	if (!a || !probes || !es->v)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++) {
		a[i].dir = dirs[i];
		a[i].gone_ok = gone_ok;
		a[i].mounted = gone_ok || devdir_mounted(dirs[i]);
		if (a[i].mounted &&
		    probe_start(&probes[asked++], ask_status, dirs[i], a[i].text,
				sizeof(a[i].text) - 1))
			fatal("asking %s", dirs[i]);
	}
	probe_wait(probes, asked, PROBE_TIMEOUT_MS);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (!a[i].mounted) {
			note_failure(es, not_a_mount(dirs[i]));
			continue;
		}
		a[i].probe = probes[j++];
		add(es, &a[i]);
	}
	free(probes);
	free(a);
}

/* ---- the table ---- */

enum { COL_DIR, COL_DEVICE, COL_STATE, COL_FEATURES, COL_SAVED, COL_RESUMED,
       COL_TRANSITION, COL_TOOK, COL_ERROR, NCOLS };

static const struct column {
	const char *title;
	bool right;		/* numbers line up on their last digit */
} columns[NCOLS] = {
	[COL_DIR] = { "DIR", false },
	[COL_DEVICE] = { "DEVICE", false },
	[COL_STATE] = { "STATE", false },
	[COL_FEATURES] = { "FEATURES", false },
	[COL_SAVED] = { "SAVED", true },
	[COL_RESUMED] = { "RESUMED", true },
	[COL_TRANSITION] = { "LAST TRANSITION", false },
	[COL_TOOK] = { "TOOK", true },
	[COL_ERROR] = { "LAST ERROR", false },
};

typedef char *row_t[NCOLS];

static char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cell(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("out of memory");
	return s;
}

static char *duration(uint64_t usec)
{
	if (usec < 1000)
		return cell("%" PRIu64 " us", usec);
	if (usec < 1000000)
		return cell("%.1f ms", (double)usec / 1e3);
	return cell("%.1f s", (double)usec / 1e6);
}

static void fill_row(row_t row, const struct entry *e)
{
	const struct dev_status *s = &e->st;
	const bool t = s->transitioned;

	row[COL_DIR] = cell("%s", e->dir);
	row[COL_DEVICE] = cell("%s", s->device);
	row[COL_STATE] = cell("%s", s->state);
	/* Commas: a column holds one word. */
	row[COL_FEATURES] = cell("%s", s->features);
	for (char *c = strchr(row[COL_FEATURES], ' '); c; c = strchr(c, ' '))
		*c = ',';
	row[COL_SAVED] = cell("%" PRIu64, s->bytes_saved);
	row[COL_RESUMED] = cell("%" PRIu64, s->bytes_resumed);
	row[COL_TRANSITION] = t ? cell("%s -> %s: %s", s->from, s->to, s->result) : cell("-");
	row[COL_TOOK] = t ? duration(s->usec) : cell("-");
	if (s->error_aged)	/* an old error is no news: say how old */
		row[COL_ERROR] = cell("%s (%" PRIu64 " s ago)", s->last_error, s->error_age);
	else
		row[COL_ERROR] = cell("%s", s->last_error[0] ? s->last_error : "-");
}

static void print_row(const char *const row[NCOLS], const size_t width[NCOLS])
{
	for (int c = 0; c < NCOLS - 1; c++)
		printf(columns[c].right ? "%*s  " : "%-*s  ", (int)width[c], row[c]);
	printf("%s\n", row[NCOLS - 1]);
}

/* A header line always, so that the columns are known in logs too. */
static void print_table(const struct entries *es)
{
	row_t *rows = calloc(es->n + 1, sizeof(*rows));
	size_t width[NCOLS] = { 0 };

	if (!rows)
		fatalx("out of memory");
	for (int c = 0; c < NCOLS; c++)
		rows[0][c] = cell("%s", columns[c].title);
	for (size_t i = 0; i < es->n; i++)
		fill_row(rows[i + 1], &es->v[i]);
	for (size_t i = 0; i <= es->n; i++)
		for (int c = 0; c < NCOLS; c++)
			if (strlen(rows[i][c]) > width[c])
				width[c] = strlen(rows[i][c]);
	for (size_t i = 0; i <= es->n; i++) {
		print_row((const char *const *)rows[i], width);
		for (int c = 0; c < NCOLS; c++)
			free(rows[i][c]);
	}
	free(rows);
}

/* ---- JSON ---- */

/* SEP "KEY": "VALUE" (or null for an empty VALUE when nullable) */
static void json_field(const char *sep, const char *key, const char *value, bool nullable)
{
	printf("%s\"%s\": ", sep, key);
	if (nullable && !*value)
		fputs("null", stdout);
	else
		json_string(stdout, value);
}

static void json_features(const struct dev_status *s)
{
	char words[sizeof(s->features)], *save;
	const char *sep = "";

	snprintf(words, sizeof(words), "%s", s->features);
	fputs(", \"features\": [", stdout);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), sep = ", ") {
		fputs(sep, stdout);
		json_string(stdout, w);
	}
	putchar(']');
}

static void json_transition(const struct dev_status *s)
{
	if (!s->transitioned) {
		fputs(", \"last_transition\": null", stdout);
		return;
	}
	json_field(", \"last_transition\": {", "from", s->from, false);
	json_field(", ", "to", s->to, false);
	printf(", \"arcs\": %u, \"usec\": %" PRIu64, s->arcs, s->usec);
	json_field(", ", "result", s->result, false);
	putchar('}');
}

static void json_entry(const struct entry *e)
{
	const struct dev_status *s = &e->st;

	json_field("{", "dir", e->dir, false);
	json_field(", ", "device", s->device, false);
	json_field(", ", "state", s->state, false);
	json_features(s);
	json_field(", ", "session", s->session, false);
	printf(", \"bytes_saved\": %" PRIu64 ", \"bytes_resumed\": %" PRIu64,
	       s->bytes_saved, s->bytes_resumed);
	json_transition(s);
	json_field(", ", "last_error", s->last_error, true);
	if (s->error_aged)
		printf(", \"last_error_age\": %" PRIu64, s->error_age);
	else
		fputs(", \"last_error_age\": null", stdout);
	putchar('}');
}

/* One object a line, inside one array: an empty machine says []. */
static void print_json(const struct entries *es)
{
	putchar('[');
	for (size_t i = 0; i < es->n; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		json_entry(&es->v[i]);
	}
	fputs(es->n ? "\n]\n" : "]\n", stdout);
}

/* ---- the command ---- */

static void add_mounts(struct entries *es, char ***mounts, size_t *n)
{
	int err = migfs_mounts(mounts, n);

	if (err) {
		errno = -err;
		fatal("reading /proc/self/mountinfo");
	}
	collect(es, (const char *const *)*mounts, *n, true);
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct entries es = { 0 };
	char **mounts = NULL;
	size_t nmounts = 0;
	bool json = false;
	int c;

	while ((c = next_option(argc, argv, longopts)) != -1)
		json = c == 'j';
	if (optind == argc)
		add_mounts(&es, &mounts, &nmounts);
	else
		collect(&es, (const char *const *)argv + optind, (size_t)(argc - optind), false);
	if (json)
		print_json(&es);
	else
		print_table(&es);
	if (fflush(stdout))
		fatal("writing the output");
	for (size_t i = 0; i < nmounts; i++)
		free(mounts[i]);
	free(mounts);
	free(es.v);
	return es.failed;
}

// SPDX-License-Identifier: MIT
/*
 * vfio-migctl status [--json] [DIR...]
 *
 * Where every mounted device stands, from its `status` file alone (ABI
 * 6): an aligned table for people, or a JSON array for programs.  The
 * parser here serves `watch` too.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"
#include "vfio-migctl.h"

/* More than `status` holds: a device name can be a long sysfs path. */
#define STATUS_TEXT_MAX	(PATH_MAX + 1024)

/* "running -> stop_copy, 3 arcs, 82 us, ok", or "none" */
static int parse_transition(const char *text, struct dev_status *s)
{
	s->transitioned = strcmp(text, "none") != 0;
	if (!s->transitioned)
		return 0;
	return sscanf(text, "%31s -> %31[^,], %u arcs, %" SCNu64 " us, %31s",
		      s->from, s->to, &s->arcs, &s->usec, s->result) == 5 ? 0 : -EPROTO;
}

static int dev_status_parse(const char *text, struct dev_status *s)
{
	char transition[256];
	int err;

	memset(s, 0, sizeof(*s));
	status_field(text, "device", s->device, sizeof(s->device));
	status_field(text, "state", s->state, sizeof(s->state));
	status_field(text, "features", s->features, sizeof(s->features));
	status_field(text, "session", s->session, sizeof(s->session));
	status_field(text, "last_transition", transition, sizeof(transition));
	status_field(text, "last_error", s->last_error, sizeof(s->last_error));
	if (!strcmp(s->last_error, "none"))
		s->last_error[0] = '\0';
	if (!s->state[0] || !s->session[0])
		return -EPROTO;
	err = status_u64(text, "bytes_saved", &s->bytes_saved);
	err = err ? err : status_u64(text, "bytes_resumed", &s->bytes_resumed);
	return err ? err : parse_transition(transition, s);
}

int dev_status_read(int fd, struct dev_status *s)
{
	char text[STATUS_TEXT_MAX];
	/* Rendered afresh at offset 0, in one piece: it is far below a read's 1 MiB. */
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n < 0)
		return -errno;
	text[n] = '\0';
	return dev_status_parse(text, s);
}

int status_error(const char *dir, int err)
{
	if (devdir_gone_error(err))
		return daemon_gone(NULL, dir);
	if (err == -ENOENT || err == -ENOTDIR)
		fprintf(stderr, "vfio-migctl: %s: not a vfio-migfs mount (no status file)\n", dir);
	else if (err == -EPROTO)
		fprintf(stderr, "vfio-migctl: %s: its status file is not vfio-migfsd's\n", dir);
	else
		fprintf(stderr, "vfio-migctl: %s: reading status: %s\n", dir, strerror(-err));
	return EXIT_FAILURE;
}

int dev_status_open(const char *dir, int *fd)
{
	char path[PATH_MAX];
	int err = devdir_path(dir, "status", path, sizeof(path));

	*fd = err ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? (err ? err : -errno) : 0;
}

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

static int read_dir(const char *dir, struct dev_status *st)
{
	int fd, err = dev_status_open(dir, &fd);

	if (err)
		return err;
	err = dev_status_read(fd, st);
	close(fd);
	return err;
}

/*
 * A mount found in mountinfo may be gone by the time it is read (its
 * daemon ended meanwhile): gone_ok skips it instead of calling it an error.
 */
static void add(struct entries *es, const char *dir, bool gone_ok)
{
	struct entry *grown = realloc(es->v, (es->n + 1) * sizeof(*es->v));
	int err;

	if (!grown)
		fatalx("out of memory");
	es->v = grown;
	err = read_dir(dir, &grown[es->n].st);
	if (!err) {
		grown[es->n++].dir = dir;
	} else if (!(gone_ok && err == -ENOENT)) {
		err = status_error(dir, err);
		/* That a daemon is gone is the news to tell. */
		if (es->failed != EXIT_DAEMON_GONE)
			es->failed = err;
	}
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

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF), or 0.
 */
static size_t utf8_length(const unsigned char *s)
{
	size_t len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;	/* a continuation byte, or overlong or too big at once */
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also the NUL that ends s */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * A JSON string: quotes, backslashes and control characters escaped.
 * JSON is Unicode, a path any bytes: each byte that is not part of valid
 * UTF-8 becomes U+FFFD, the replacement character, as a decoder would
 * show it.
 */
void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;

	putchar('"');
	for (; *s; s += len) {
		len = *s < 0x80 ? 1 : utf8_length(s);
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else if (len)
			fwrite(s, 1, len, stdout);
		else
			fputs("\\ufffd", stdout);
		len = len ? len : 1;
	}
	putchar('"');
}

/* SEP "KEY": "VALUE" (or null for an empty VALUE when nullable) */
static void json_field(const char *sep, const char *key, const char *value, bool nullable)
{
	printf("%s\"%s\": ", sep, key);
	if (nullable && !*value)
		fputs("null", stdout);
	else
		json_string(value);
}

static void json_features(const struct dev_status *s)
{
	char words[sizeof(s->features)], *save;
	const char *sep = "";

	snprintf(words, sizeof(words), "%s", s->features);
	fputs(", \"features\": [", stdout);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), sep = ", ") {
		fputs(sep, stdout);
		json_string(w);
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
	for (size_t i = 0; i < *n; i++)
		add(es, (*mounts)[i], true);
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
	for (int i = optind; i < argc; i++)
		add(&es, argv[i], false);
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

// SPDX-License-Identifier: MIT
/*
 * --config FILE: what a service instance mounts, one statement a line.
 *
 *	# a comment
 *	mount DEVICE MOUNTPOINT
 *	threads N
 *	dirty-bitmap-max SIZE
 *	allow_other
 *	force-nonempty
 *
 * Words are separated by blanks (the space and the tab), so neither a
 * DEVICE nor a MOUNTPOINT can hold one.  The whole file is read and
 * checked before anything is made: it is a regular file (a FIFO would
 * block the start for good, /dev/zero fill memory), of at most
 * CONFIG_MAX bytes and lines of at most LINE_MAX, with no NUL byte or
 * other control character (a CRLF line end included).  A missing
 * mountpoint is created (not its parents) once every mount has been
 * checked, and removed at exit: a service mounts under its
 * RuntimeDirectory, its working directory, which is empty at each start.
 * Errors name the file and line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio-migfsd.h"
#include "util.h"

#define MAX_WORDS	4
#define CONFIG_MAX	(1 << 20)
#define LINE_MAX_LEN	(2 * PATH_MAX)

/* The options a file may set, as the command line spells them. */
static const struct {
	const char *name;
	int opt;
	bool takes_arg;
} keywords[] = {
	{ "threads", 't', true },
	{ "dirty-bitmap-max", 'B', true },
	{ "allow_other", 'o', false },
	{ "force-nonempty", 'N', false },
};

/* The mountpoints config_make_mountpoints() created, removed at exit. */
static char **made;
static unsigned int nmade;

void mount_args_add(struct mount_args *ma, const char *dev, const char *dir,
		    const char *where)
{
	struct mount_arg *v = realloc(ma->v, (ma->n + 1) * sizeof(*v));

	if (!v)
		fatal("mount table");
	ma->v = v;
	v += ma->n;
	v->where = NULL;
	if (!(v->dev = strdup(dev)) || !(v->dir = strdup(dir)) ||
	    (where && !(v->where = strdup(where))))
		fatal("mount table");
	ma->n++;
}

void mount_args_free(struct mount_args *ma)
{
	for (unsigned int i = 0; i < ma->n; i++) {
		free(ma->v[i].dev);
		free(ma->v[i].dir);
		free(ma->v[i].where);
	}
	free(ma->v);
}

static unsigned int split(char *line, char **words)
{
	unsigned int n = 0;

	for (char *save, *w = strtok_r(line, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS)
			return MAX_WORDS + 1;
		words[n++] = w;
	}
	return n;
}

static void statement(char **words, unsigned int n, const char *where,
		      struct options *o, struct mount_args *ma,
		      void (*set)(int opt, const char *arg, struct options *o))
{
	if (!strcmp(words[0], "mount")) {
		if (n != 3)
			fatalx("mount takes DEVICE MOUNTPOINT");
		mount_args_add(ma, words[1], words[2], where);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strcmp(words[0], keywords[i].name))
			continue;
		if (n != (keywords[i].takes_arg ? 2u : 1u))
			fatalx("%s takes %s", words[0],
			       keywords[i].takes_arg ? "one value" : "no value");
		set(keywords[i].opt, keywords[i].takes_arg ? words[1] : words[0], o);
		return;
	}
	fatalx("unknown statement '%s' (see vfio-migfsd(8))", words[0]);
}

/* A line (its newline cut) holds text only: say what else it holds. */
static void check_text(const char *line, size_t len)
{
	if (len > LINE_MAX_LEN)
		fatalx("a line longer than %d bytes", LINE_MAX_LEN);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c == '\0')
			fatalx("a NUL byte");
		if (c == '\r')
			fatalx("a carriage return (save the file with LF line ends)");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fatalx("a control character (0x%02x)", c);
	}
}

/*
 * The whole file, NUL-terminated, or exit.  Opened without blocking (a
 * FIFO's open waits for a writer) and refused unless regular.
 */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char *buf = malloc(CONFIG_MAX + 1);
	struct stat st;
	ssize_t got;

	if (fd < 0 || fstat(fd, &st))
		fatal("%s", path);
	if (!S_ISREG(st.st_mode))
		fatalx("%s: not a regular file", path);
	if (!buf)
		fatal("%s", path);
	/* Read past the limit by one byte: a file that grows is caught too. */
	*len = 0;
	do {
		got = read(fd, buf + *len, CONFIG_MAX + 1 - *len);
		*len += got > 0 ? (size_t)got : 0;
	} while (got > 0 && *len <= CONFIG_MAX);
	if (got < 0)
		fatal("%s", path);
	if (*len > CONFIG_MAX)
		fatalx("%s: larger than %d bytes", path, CONFIG_MAX);
	buf[*len] = '\0';
	close(fd);
	return buf;
}

void config_read(const char *path, struct options *o, struct mount_args *ma,
		 void (*set)(int opt, const char *arg, struct options *o))
{
	char where[PATH_MAX + 32], *words[MAX_WORDS], *line, *end;
	size_t len, linelen;
	unsigned int lineno = 0, n;
	char *text = slurp(path, &len);

	for (line = text; line < text + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (!end)
			end = text + len;
		linelen = (size_t)(end - line);
		*end = '\0';
		snprintf(where, sizeof(where), "%s:%u", path, ++lineno);
		log_where(where);
		check_text(line, linelen);
		line[strcspn(line, "#")] = '\0';
		n = split(line, words);
		if (n > MAX_WORDS)
			fatalx("too many words");
		if (n)
			statement(words, n, where, o, ma, set);
	}
	log_where(NULL);
	free(text);
}

static void remove_made(void)
{
	for (unsigned int i = 0; i < nmade; i++) {
		rmdir(made[i]);
		free(made[i]);
	}
	free(made);
	made = NULL;
	nmade = 0;
}

/*
 * Create each missing mountpoint of a --config mount, all of the file
 * checked first; each is removed at exit (rmdir: only while empty and
 * not mounted).  Call it in the process that mounts.
 */
void config_make_mountpoints(const struct mount_args *ma)
{
	atexit(remove_made);
	for (unsigned int i = 0; i < ma->n; i++) {
		const struct mount_arg *a = &ma->v[i];
		char **grown, path[PATH_MAX];

		if (!a->where)
			continue;
		if (mkdir(a->dir, 0755)) {
			if (errno == EEXIST)
				continue;
			log_where(a->where);
			fatal("%s: cannot create it", a->dir);
		}
		/* By its absolute name: the daemon leaves its directory. */
		grown = realloc(made, (nmade + 1) * sizeof(*made));
		if (grown)
			made = grown;
		if (!grown || !realpath(a->dir, path) || !(made[nmade] = strdup(path))) {
			rmdir(a->dir);
			fatal("%s", a->dir);
		}
		nmade++;
	}
}

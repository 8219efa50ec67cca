// SPDX-License-Identifier: MIT
/*
 * --config FILE: what a service instance mounts, one statement a line.
 *
 *	# a comment
 *	mount DEVICE MOUNTPOINT
 *	threads N
 *	dirty-bitmap-max SIZE
 *	allow_other
 *
 * Words are separated by blanks, so neither a DEVICE nor a MOUNTPOINT can
 * hold one.  A missing mountpoint is created (not its parents): a service
 * mounts under its RuntimeDirectory, its working directory, which is
 * empty at each start.
 * Errors name the file and line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfio-migfsd.h"
#include "util.h"

#define MAX_WORDS	4

/* The options a file may set, as the command line spells them. */
static const struct {
	const char *name;
	int opt;
	bool takes_arg;
} keywords[] = {
	{ "threads", 't', true },
	{ "dirty-bitmap-max", 'B', true },
	{ "allow_other", 'o', false },
};

void mount_args_add(struct mount_args *ma, const char *dev, const char *dir)
{
	char **pairs = realloc(ma->pairs, (ma->n + 1) * 2 * sizeof(*pairs));

	if (!pairs || !(pairs[2 * ma->n] = strdup(dev)) ||
	    !(pairs[2 * ma->n + 1] = strdup(dir)))
		fatal("mount table");
	ma->pairs = pairs;
	ma->n++;
}

static unsigned int split(char *line, char **words)
{
	unsigned int n = 0;

	for (char *save, *w = strtok_r(line, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == MAX_WORDS)
			return MAX_WORDS + 1;
		words[n++] = w;
	}
	return n;
}

static void add_mount(char **words, unsigned int n, struct mount_args *ma)
{
	if (n != 3)
		fatalx("mount takes DEVICE MOUNTPOINT");
	if (mkdir(words[2], 0755) && errno != EEXIST)
		fatal("%s", words[2]);
	mount_args_add(ma, words[1], words[2]);
}

static void statement(char **words, unsigned int n, struct options *o,
		      struct mount_args *ma,
		      void (*set)(int opt, const char *arg, struct options *o))
{
	if (!strcmp(words[0], "mount")) {
		add_mount(words, n, ma);
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

void config_read(const char *path, struct options *o, struct mount_args *ma,
		 void (*set)(int opt, const char *arg, struct options *o))
{
	FILE *f = fopen(path, "re");
	char *line = NULL, where[512], *words[MAX_WORDS];
	unsigned int lineno = 0, n;
	size_t cap = 0;

	if (!f)
		fatal("%s", path);
	while (getline(&line, &cap, f) > 0) {
		snprintf(where, sizeof(where), "%s:%u", path, ++lineno);
		log_where(where);
		line[strcspn(line, "#")] = '\0';
		n = split(line, words);
		if (n > MAX_WORDS)
			fatalx("too many words");
		if (n)
			statement(words, n, o, ma, set);
	}
	log_where(NULL);
	if (ferror(f))
		fatal("%s", path);
	free(line);
	fclose(f);
}

// SPDX-License-Identifier: MIT
/*
 * The one-line errors every command uses: die() for a line and an exit,
 * struct errmsg for a line built where the failure is and printed by the
 * command that knows its exit status.
 */
#include <stdarg.h>
#include <string.h>

#include "vfio-migctl.h"

void die(int status, int err, const char *fmt, ...)
{
	va_list ap;

	fputs("vfio-migctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(status);
}

static int errmsg_vset(struct errmsg *e, int err, const char *fmt, va_list ap)
{
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	return err;
}

int errmsg_set(struct errmsg *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vset(e, err, fmt, ap);
	va_end(ap);
	return err;
}

int errmsg_sys(struct errmsg *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_vset(e, err, fmt, ap);
	va_end(ap);
	errmsg_add(e, ": ");
	errmsg_add(e, strerror(-err));
	return err;
}

void errmsg_add(struct errmsg *e, const char *text)
{
	size_t len = strlen(e->text);

	snprintf(e->text + len, sizeof(e->text) - len, "%s", text);
}

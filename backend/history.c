// SPDX-License-Identifier: MIT
/*
 * A device's recent history, behind `log`: a ring of timestamped lines,
 * the oldest overwritten first.  The ring is allocated at the first event,
 * so an idle device costs nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"

void history_add(struct mig_history *h, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char *line;
	int n;

	if (!h->lines && !(h->lines = calloc(MIG_HISTORY_LINES, MIG_HISTORY_LINE)))
		return;		/* history is best effort */
	line = h->lines[h->next];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(line, MIG_HISTORY_LINE, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, MIG_HISTORY_LINE - (size_t)n, ".%06ldZ ",
		      ts.tv_nsec / 1000);
	vsnprintf(line + n, MIG_HISTORY_LINE - (size_t)n, fmt, ap);
	h->next = (h->next + 1) % MIG_HISTORY_LINES;
	if (h->count < MIG_HISTORY_LINES)
		h->count++;
}

int history_show(const struct mig_history *h, struct strbuf *sb)
{
	unsigned int first = (h->next + MIG_HISTORY_LINES - h->count) % MIG_HISTORY_LINES;
	int err = 0;

	for (unsigned int i = 0; i < h->count && !err; i++)
		err = sb_printf(sb, "%s\n", h->lines[(first + i) % MIG_HISTORY_LINES]);
	return err;
}

void history_free(struct mig_history *h)
{
	free(h->lines);
	h->lines = NULL;
	h->next = h->count = 0;
}

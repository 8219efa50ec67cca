// SPDX-License-Identifier: MIT
/*
 * A device's recent history, behind `log`: a ring of timestamped lines,
 * the oldest overwritten first.  The ring is allocated at the first event,
 * so an idle device costs nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "timestamp.h"

void history_add(struct mig_history *h, const char *fmt, va_list ap)
{
	char *line;
	size_t n;

	if (!h->lines && !(h->lines = calloc(MIG_HISTORY_LINES, MIG_HISTORY_LINE)))
		return;		/* history is best effort */
	line = h->lines[h->next];
	n = timestamp_now(line, MIG_HISTORY_LINE);
	line[n++] = ' ';
	vsnprintf(line + n, MIG_HISTORY_LINE - n, fmt, ap);
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

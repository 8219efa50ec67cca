// SPDX-License-Identifier: MIT
/*
 * A device's recent history, behind `log`: a ring of timestamped lines,
 * the oldest overwritten first.  The lines are a stream of bytes, each
 * line and its newline at a stream offset that never changes: the offset
 * of the newest byte only grows, and dropping the oldest line moves the
 * first offset kept, not the others.  So a reader that follows the end
 * (tail -f) keeps its place after the ring is full.  The ring is
 * allocated at the first event, so an idle device costs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "timestamp.h"

/* Line i of the history, 0 the oldest kept. */
static const struct mig_history_line *line(const struct mig_history *h, unsigned int i)
{
	return &h->lines[(h->next + MIG_HISTORY_LINES - h->count + i) % MIG_HISTORY_LINES];
}

void history_add(struct mig_history *h, const char *msg)
{
	struct mig_history_line *l;
	size_t n, len;

	if (!h->lines && !(h->lines = calloc(MIG_HISTORY_LINES, sizeof(*h->lines))))
		return;		/* history is best effort */
	l = &h->lines[h->next];
	n = timestamp_now(l->text, sizeof(l->text));
	l->text[n++] = ' ';
	len = strnlen(msg, sizeof(l->text) - n - 1);
	memcpy(l->text + n, msg, len);
	l->text[n + len] = '\0';
	l->len = (unsigned int)(n + len);
	l->off = h->end;
	h->end += l->len + 1;
	h->next = (h->next + 1) % MIG_HISTORY_LINES;
	if (h->count < MIG_HISTORY_LINES)
		h->count++;
}

void history_bounds(const struct mig_history *h, uint64_t *first, uint64_t *end)
{
	*first = h->count ? line(h, 0)->off : h->end;
	*end = h->end;
}

/* The index of the line holding stream offset pos, first <= pos < end. */
static unsigned int line_at(const struct mig_history *h, uint64_t pos)
{
	unsigned int lo = 0, hi = h->count - 1;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo + 1) / 2;

		if (line(h, mid)->off <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

size_t history_read(const struct mig_history *h, uint64_t *pos, char *buf, size_t len)
{
	uint64_t first, end, at;
	size_t n = 0;

	history_bounds(h, &first, &end);
	if (*pos < first)
		*pos = first;
	if (*pos >= end)
		return 0;
	at = *pos;
	for (unsigned int i = line_at(h, at); i < h->count && n < len; i++) {
		const struct mig_history_line *l = line(h, i);
		size_t skip = (size_t)(at - l->off);	/* at most its text's length */
		size_t take = l->len + 1 - skip, text;

		if (take > len - n)
			take = len - n;
		/* The text, then its newline if the reader gets that far. */
		text = take < l->len - skip ? take : l->len - skip;
		memcpy(buf + n, l->text + skip, text);
		if (text < take)
			buf[n + text] = '\n';
		n += take;
		at += take;
	}
	return n;
}

void history_free(struct mig_history *h)
{
	free(h->lines);
	h->lines = NULL;
	h->next = h->count = 0;
	h->end = 0;
}

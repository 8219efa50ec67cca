// SPDX-License-Identifier: MIT
/*
 * A progress line on a terminal's stderr for save and load: phase, bytes,
 * rate and, when the total is known, a bar and the time left.  Nothing at
 * all when stderr is not a terminal (pipes, logs).
 */
#include <string.h>
#include <unistd.h>

#include "vfio-migctl.h"

#define REDRAW_USEC	100000	/* at most ten lines a second */
#define BAR_WIDTH	24

void progress_init(struct progress *p, const char *label)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO);
	p->label = label;
}

void progress_phase(struct progress *p, const char *phase, uint64_t total)
{
	p->phase = phase;
	p->total = total;
	p->t0 = now_usec();
	/* drawn stays: progress_done must clear a line an earlier phase drew */
}

static void draw(struct progress *p, uint64_t bytes, uint64_t now)
{
	double secs = (double)(now - p->t0) / 1e6, mib = (double)bytes / (1 << 20);
	double rate = secs > 0 ? mib / secs : 0;

	fprintf(stderr, "\r\033[K%s: %s %.1f MiB %.1f MiB/s", p->label, p->phase, mib, rate);
	if (p->total && bytes <= p->total) {
		unsigned int fill = (unsigned int)(BAR_WIDTH * bytes / p->total);

		fprintf(stderr, " [%.*s%*s] %3u%%", (int)fill,
			"########################", (int)(BAR_WIDTH - fill), "",
			(unsigned int)(100 * bytes / p->total));
		if (rate > 0)
			fprintf(stderr, " ETA %.0fs",
				(double)(p->total - bytes) / (1 << 20) / rate);
	}
	p->drawn = now;
}

void progress_update(struct progress *p, uint64_t bytes)
{
	uint64_t now;

	if (!p->on || !p->phase)
		return;
	now = now_usec();
	if (now - p->drawn >= REDRAW_USEC)
		draw(p, bytes, now);
}

void progress_done(struct progress *p)
{
	if (p->on && p->drawn)
		fprintf(stderr, "\r\033[K");
	p->phase = NULL;
}

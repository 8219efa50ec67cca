// SPDX-License-Identifier: MIT
/*
 * Progress, as a transfer goes: on a terminal's stderr a line redrawn in
 * place (phase, bytes, rate and, when the total is known, a bar and the
 * time left; in precopy the round, the percent sent, what is left, the
 * dirty rate and the downtime expected, as virsh domjobinfo shows them);
 * with --json, progress records instead, for a program to follow.
 * Nothing at all otherwise (pipes, logs).
 */
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "vfio-migctl.h"

#define REDRAW_USEC	100000		/* at most ten lines a second */
#define RECORD_USEC	1000000		/* and a record a second */
#define BAR_WIDTH	24

void progress_init(struct progress *p, const char *label)
{
	memset(p, 0, sizeof(*p));
	p->json = report_json() ? report_file() : NULL;
	p->on = !p->json && isatty(STDERR_FILENO);
	p->label = label;
}

void progress_phase(struct progress *p, const char *phase, uint64_t total)
{
	p->phase = phase;
	p->total = total;
	p->t0 = now_usec();
	/* drawn stays: progress_done must clear a line an earlier phase drew */
}

/* Of what precopy has seen, the percent sent. */
static unsigned int round_percent(const struct precopy_round *r)
{
	return r->sent + r->remaining ? (unsigned int)(100 * r->sent / (r->sent + r->remaining)) :
	       100;
}

/* What is left, sent at the last round's rate: the switch-over's time; 0 unknown. */
static uint64_t expected_downtime_ms(const struct precopy_round *r)
{
	return r->rate ? r->remaining * 1000 / r->rate : 0;
}

static void draw_round(const struct precopy_round *r)
{
	fprintf(stderr, " round %u %u%%, left %.1f MiB, dirty %.1f MiB/s", r->round,
		round_percent(r), (double)r->remaining / (1 << 20),
		(double)r->dirty_rate / (1 << 20));
	if (r->rate)
		fprintf(stderr, ", downtime ~%llu ms",
			(unsigned long long)expected_downtime_ms(r));
}

static void draw(struct progress *p, uint64_t bytes, uint64_t now)
{
	double secs = (double)(now - p->t0) / 1e6, mib = (double)bytes / (1 << 20);
	double rate = secs > 0 ? mib / secs : 0;

	fprintf(stderr, "\r\033[K%s: %s %.1f MiB %.1f MiB/s", p->label ? p->label : "set",
		p->phase, mib, rate);
	if (p->round.round && !strcmp(p->phase, "precopy"))
		draw_round(&p->round);
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

static void record_begin(struct json *j, const struct progress *p)
{
	json_begin(j, p->json, "progress");
	json_str(j, "command", report_command());
	json_str(j, "dir", p->label);	/* a set's: null */
	json_str(j, "phase", p->phase);
}

/* A phase's bytes so far, and of how many when known. */
static void record(struct progress *p, uint64_t bytes, uint64_t now)
{
	struct json j;

	record_begin(&j, p);
	json_u64(&j, "bytes", bytes);
	if (p->total)
		json_u64(&j, "total", p->total);
	else
		json_null(&j, "total");
	if (p->total && bytes <= p->total)
		json_u64(&j, "percent", 100 * bytes / p->total);
	else
		json_null(&j, "percent");
	json_u64(&j, "rate", now > p->t0 ? bytes * 1000000 / (now - p->t0) : 0);
	json_end(&j);
	p->drawn = now;
}

void progress_round(struct progress *p, const struct precopy_round *r)
{
	struct json j;

	p->round = *r;
	if (p->on && p->phase)
		draw(p, r->sent, now_usec());
	if (!p->json)
		return;
	record_begin(&j, p);
	json_u64(&j, "round", r->round);
	json_u64(&j, "bytes", r->sent);
	json_u64(&j, "remaining", r->remaining);
	json_u64(&j, "percent", round_percent(r));
	json_u64(&j, "rate", r->rate);
	json_u64(&j, "dirty_rate", r->dirty_rate);
	if (r->rate)
		json_u64(&j, "expected_downtime_ms", expected_downtime_ms(r));
	else
		json_null(&j, "expected_downtime_ms");
	json_end(&j);
}

void progress_update(struct progress *p, uint64_t bytes)
{
	uint64_t now;

	if ((!p->on && !p->json) || !p->phase)
		return;
	now = now_usec();
	if (p->on && now - p->drawn >= REDRAW_USEC)
		draw(p, bytes, now);
	else if (p->json && now - p->drawn >= RECORD_USEC)
		record(p, bytes, now);
}

void progress_done(struct progress *p)
{
	if (p->on && p->drawn)
		fprintf(stderr, "\r\033[K");
	p->phase = NULL;
}

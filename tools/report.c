// SPDX-License-Identifier: MIT
/*
 * --json for save, load and migrate: instead of the summary lines, one
 * record a line (vfio-migctl(1), JSON OUTPUT): progress records as the
 * transfer goes (progress.c), then one per device and, for a set, one
 * for the set, each with its outcome.  Records go to standard output,
 * or to standard error when the stream has standard output.
 */
#include <stdio.h>

#include "vfio-migctl.h"

static struct {
	const char *command;
	bool json;
	FILE *f;
} report = { .command = "", .f = NULL };

void report_init(const char *command, bool json, FILE *f)
{
	report.command = command;
	report.json = json;
	report.f = f;
}

bool report_json(void)
{
	return report.json;
}

FILE *report_file(void)
{
	return report.f;
}

const char *report_command(void)
{
	return report.command;
}

static const char *precopy_end_name(enum precopy_end end)
{
	static const char *const names[] = {
		[PRECOPY_NONE] = "none",
		[PRECOPY_CONVERGED] = "converged",
		[PRECOPY_DOWNTIME] = "downtime_limit",
		[PRECOPY_MAX_ROUNDS] = "max_rounds",
	};

	return names[end];
}

/* Each phase's time: the saving side's precopy and stop_copy, or a load's resuming. */
static void phases(struct json *j, const struct transfer_report *t)
{
	bool switched = t->t_switch && t->t_end >= t->t_switch;

	json_object(j, "phases");
	if (t->saved) {
		json_ms(j, "precopy_ms", switched ? t->t_switch - t->t_start : 0);
		if (switched)
			json_ms(j, "stop_copy_ms", t->t_end - t->t_switch);
		else
			json_null(j, "stop_copy_ms");
	} else {
		json_ms(j, "resuming_ms", t->t_end >= t->t_start ? t->t_end - t->t_start : 0);
	}
	json_object_end(j);
	if (t->downtime && switched)
		json_ms(j, "downtime_ms", t->t_end - t->t_switch);
	else
		json_null(j, "downtime_ms");
}

static void counts(struct json *j, const struct transfer_report *t)
{
	uint64_t pre = t->saved ? t->saved->precopy_bytes : t->loaded->precopy_bytes;
	uint64_t stop = t->saved ? t->saved->stopcopy_bytes : t->loaded->stopcopy_bytes;

	json_u64(j, "bytes", pre + stop);
	json_u64(j, "precopy_bytes", pre);
	json_u64(j, "stopcopy_bytes", stop);
	if (t->saved) {
		json_u64(j, "rounds", t->saved->rounds);
		json_str(j, "precopy_end", precopy_end_name(t->saved->end));
	} else {
		json_null(j, "rounds");
		json_null(j, "precopy_end");
	}
	if (t->loaded)
		json_u64(j, "chunks", t->loaded->chunks);
}

void report_transfer(const struct transfer_report *t)
{
	struct json j;

	if (!report.json)
		return;
	json_begin(&j, report.f, t->devices ? "set" : "device");
	json_str(&j, "command", report.command);
	if (t->devices) {
		json_u64(&j, "devices", t->devices);
		json_bool(&j, "p2p_barrier", t->p2p);
	} else {
		json_str(&j, "source", t->source);
		json_str(&j, "destination", t->destination);
		json_str(&j, "stream_source", t->stream_source);
	}
	json_str(&j, "outcome", t->error ? "failed" : "ok");
	json_u64(&j, "exit_status", (uint64_t)t->exit_status);
	json_str(&j, "error", t->error);
	if (t->devices) {
		json_str(&j, "failed_phase", t->failed_phase);
		json_str(&j, "failed_device", t->failed_device);
	}
	counts(&j, t);
	json_ms(&j, "total_ms", t->t_end >= t->t_start ? t->t_end - t->t_start : 0);
	phases(&j, t);
	json_end(&j);
}

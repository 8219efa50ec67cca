// SPDX-License-Identifier: MIT
/*
 * The rules of `vfio-migctl check` about resuming (docs/conformance.md,
 * rules 7 to 9): a saved stream loads and the device runs; damaged
 * streams are refused; a refused write leaves nothing a STOP accepts.
 * They write into the peer (--peer), or into the device itself with
 * --destructive, and every load ends in a reset or in running: no device
 * is left in resuming.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#include "util.h"
#include "vfio-migctl.h"

static const char *target_name(const struct check_ctx *c)
{
	return c->target == c->peer ? "the peer" : "the device";
}

/* The target, saved stream and a running target: false and out set if not. */
static bool load_ready(struct check_ctx *c, struct verdict_text *out)
{
	char did[128];

	if (!c->target) {
		ck_skip(out, "needs a device to load into: --peer DIR, or --destructive");
		return false;
	}
	if (ck_saved_stream(c)) {
		*out = c->save_fail;
		return false;
	}
	if (ck_home(c->target))
		return true;
	snprintf(did, sizeof(did), "echo running > %s/state", c->target);
	ck_fail(out, did, "%s cannot be brought to running", target_name(c));
	return false;
}

/* After a damaged load: a reset must bring the target back. */
static void recover_target(struct check_ctx *c, const char *what,
			   struct verdict_text *out)
{
	char now[64], did[160];
	int err = ck_reset(c->target);

	ck_state(c, c->target, now, sizeof(now));
	if (!err && !strcmp(now, "running"))
		return;
	snprintf(did, sizeof(did), "echo 1 > reset (after the %s stream)", what);
	ck_fail(out, did, "write: %s; state: %s", ck_errname(err), now);
}

static void one_load(struct check_ctx *c, unsigned int run, struct verdict_text *out)
{
	struct load_result r;
	char did[160], now[64], digest[32];
	int err = ck_load(c, c->target, DAMAGE_NONE, &r);

	snprintf(did, sizeof(did), "load %" PRIu64 " saved bytes into %s (run %u): "
		 "resuming, write data, stop, running", c->stream_len, target_name(c), run);
	if (err || r.write || r.stop || strcmp(r.stop_state, "stop")) {
		ck_fail(out, did, "resuming: %s; writes: %s after %" PRIu64 " bytes; "
			"resuming -> stop: %s, state %s", ck_errname(r.enter),
			ck_errname(r.write), r.written, ck_errname(r.stop), r.stop_state);
		return;
	}
	if (c->t.nloads < ARC_MAX_RUNS)
		c->t.load_usec[c->t.nloads++] = r.stop_usec;
	err = ck_set(c->target, "running");
	ck_state(c, c->target, now, sizeof(now));
	ck_digest(c->target, digest, sizeof(digest));
	if (err || strcmp(now, "running"))
		ck_fail(out, did, "stop -> running: %s, state %s", ck_errname(err), now);
	else if (*c->digest && *digest && strcmp(c->digest, digest))
		ck_fail(out, did, "the device runs, but its state is not the saved one: "
			"sim/digest %s, the source's was %s", digest, c->digest);
}

void rule_load(struct check_ctx *c, struct verdict_text *out)
{
	if (!load_ready(c, out))
		return;
	for (unsigned int run = 1; run <= c->runs && out->v != V_FAIL && !check_signal; run++)
		one_load(c, run, out);
	if (out->v != V_FAIL)
		ck_note(out, "%u loads into %s%s", c->t.nloads, target_name(c),
			*c->digest ? ", digests equal" : "");
	ck_home(c->target);
}

static const struct {
	enum damage how;
	const char *name;
} damages[] = {
	{ DAMAGE_TRUNCATE, "truncated (first half)" },
	{ DAMAGE_CORRUPT, "corrupted (a byte in the middle flipped)" },
	{ DAMAGE_TRAILING, "trailing (16 bytes past its end)" },
};

void rule_damaged(struct check_ctx *c, struct verdict_text *out)
{
	struct load_result r = { 0 };
	char did[200];

	if (!load_ready(c, out))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(damages) && !check_signal; i++) {
		if (!ck_home(c->target) || ck_load(c, c->target, damages[i].how, &r)) {
			ck_fail(out, "echo resuming > state", "%s did not enter resuming: %s",
				target_name(c), ck_errname(r.enter));
			break;
		}
		snprintf(did, sizeof(did), "load the %s stream into %s, then resuming -> stop",
			 damages[i].name, target_name(c));
		if (!r.write && !r.stop)
			ck_fail(out, did, "accepted: %" PRIu64 " bytes written, resuming -> stop "
				"ok, state %s", r.written, r.stop_state);
		else
			ck_note(out, "%s refused by %s (%s)", damages[i].name,
				r.write ? "a write" : "resuming -> stop",
				ck_errname(r.write ? r.write : r.stop));
		recover_target(c, damages[i].name, out);
	}
}

void rule_refused_write(struct check_ctx *c, struct verdict_text *out)
{
	struct load_result r;
	const char *did = "load the stream with its first byte flipped, then resuming -> stop";

	if (!load_ready(c, out))
		return;
	if (ck_load(c, c->target, DAMAGE_HEADER, &r)) {
		ck_fail(out, "echo resuming > state", "%s did not enter resuming: %s",
			target_name(c), ck_errname(r.enter));
		return;
	}
	if (r.write && !r.stop)
		ck_fail(out, did, "a write was refused (%s after %" PRIu64 " bytes), yet "
			"resuming -> stop succeeded: the refused bytes stayed behind",
			ck_errname(r.write), r.written);
	else if (!r.write && !r.stop)
		ck_fail(out, did, "no write refused, and resuming -> stop succeeded");
	else
		ck_note(out, "refused by %s (%s); resuming -> stop: %s",
			r.write ? "a write" : "resuming -> stop",
			ck_errname(r.write ? r.write : r.stop), ck_errname(r.stop));
	recover_target(c, "damaged-header", out);
}

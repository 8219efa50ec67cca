// SPDX-License-Identifier: MIT
/*
 * The rules of `vfio-migctl check` about the state machine and the saving
 * side: a fresh open, every path, reset, STOP_COPY, PRE_COPY and the P2P
 * states (docs/conformance.md, rules 1 to 6).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "vfio-migctl.h"

#define PRECOPY_READ	(64 * 1024)	/* small reads: initial_bytes is watched between them */
#define QUIET_NS	(50 * 1000 * 1000)

static unsigned int mig_flags(const struct check_ctx *c)
{
	return c->features & (MIG_F_STOP_COPY | MIG_F_P2P | MIG_F_PRE_COPY);
}

static bool supported(const struct check_ctx *c, enum mig_state s)
{
	return mig_state_supported(mig_flags(c), s);
}

/* Arcs of the kernel's path from a to b (vfio_mig_get_next_state). */
static unsigned int path_arcs(const struct check_ctx *c, enum mig_state a,
			      enum mig_state b)
{
	unsigned int n = 0;

	while (a != b && n < MIG_NR_STATES && !mig_next_state(mig_flags(c), a, b, &a))
		n++;
	return n;
}

static bool go_home(struct check_ctx *c, struct verdict_text *out)
{
	char now[64], did[128];

	if (ck_home(c->dir))
		return true;
	if (check_signal)
		return false;
	ck_state(c, c->dir, now, sizeof(now));
	snprintf(did, sizeof(did), "echo running > state, then echo 1 > reset");
	ck_fail(out, did, "the device is in %s", now);
	return false;
}

/* ---- 1: a fresh open is in RUNNING ---- */

void rule_fresh_open(struct check_ctx *c, struct verdict_text *out)
{
	char line[256];

	if (ck_log_has(c->dir, "opened in ", line, sizeof(line))) {
		ck_fail(out, "read log (the daemon's open of the device)",
			"the device was not in running when opened: '%s'", line);
		return;
	}
	ck_note(out, "no 'opened in STATE' line in log");
}

/* ---- 2: every path, and refusals ---- */

static bool refused_arc(enum mig_state a, enum mig_state b)
{
	return a == MIG_STOP_COPY && (b == MIG_PRE_COPY || b == MIG_PRE_COPY_P2P);
}

static void fsm_pair(struct check_ctx *c, enum mig_state a, enum mig_state b,
		     struct verdict_text *out)
{
	const char *an = mig_state_name(a), *bn = mig_state_name(b);
	unsigned int arcs = 0, want_arcs = path_arcs(c, a, b);
	int err, want_err = 0;
	char now[64], did[160], result[32];
	const char *want_state = bn;
	uint64_t usec;

	if (!go_home(c, out) || (a != MIG_RUNNING && ck_reach(c, c->dir, an, out)))
		return;
	if (!supported(c, b))
		want_err = -EOPNOTSUPP, want_state = an;
	else if (refused_arc(a, b))
		want_err = -EINVAL, want_state = an;
	err = ck_set(c->dir, bn);
	ck_state(c, c->dir, now, sizeof(now));
	if (!want_err && !err)
		ck_last_transition(c->dir, &arcs, &usec, result, sizeof(result));
	snprintf(did, sizeof(did), "echo %s > state (in %s)", bn, an);
	if (err != want_err || strcmp(now, want_state))
		ck_fail(out, did, "write: %s (expected %s); state: %s (expected %s)",
			ck_errname(err), ck_errname(want_err), now, want_state);
	else if (!want_err && arcs != want_arcs)
		ck_fail(out, did, "%u arcs taken; the kernel's path has %u", arcs, want_arcs);
	go_home(c, out);
}

void rule_fsm(struct check_ctx *c, struct verdict_text *out)
{
	unsigned int pairs = 0;
	char now[64];
	int err;

	for (enum mig_state a = MIG_STOP; a < MIG_NR_STATES; a++) {
		/* Leaving resuming needs a stream: rule 7 loads one. */
		if (!supported(c, a) || a == MIG_RESUMING)
			continue;
		for (enum mig_state b = MIG_STOP; b < MIG_NR_STATES && !check_signal; b++) {
			if (b == a)
				continue;
			fsm_pair(c, a, b, out);
			pairs++;
		}
	}
	if (!go_home(c, out))
		return;
	err = ck_set(c->dir, "error");
	ck_state(c, c->dir, now, sizeof(now));
	if (err != -EINVAL || strcmp(now, "running"))
		ck_fail(out, "echo error > state (in running)", "write: %s; state: %s",
			ck_errname(err), now);
	ck_note(out, "%u requests: every state to every other", pairs);
}

/* ---- 3: reset reaches RUNNING from everywhere ---- */

static void reset_from(struct check_ctx *c, const char *from, struct verdict_text *out)
{
	char now[64], did[128];
	int err = ck_reset(c->dir);

	ck_state(c, c->dir, now, sizeof(now));
	snprintf(did, sizeof(did), "echo 1 > reset (in %s)", from);
	if (err || strcmp(now, "running")) {
		char why[256];

		ck_last_error(c->dir, why, sizeof(why));
		ck_fail(out, did, "write: %s; state: %s; last_error: %s", ck_errname(err),
			now, why);
	}
}

/* ERROR through the mount: sim/fail, where there is one. */
static bool reach_error(struct check_ctx *c)
{
	char fail[64], now[64];

	if (devdir_read(c->dir, "sim/fail", fail, sizeof(fail)) ||
	    devdir_write(c->dir, "sim/fail", "stop_copy EIO\n"))
		return false;
	ck_set(c->dir, "stop_copy");
	devdir_write(c->dir, "sim/fail", "none\n");
	return !ck_state(c, c->dir, now, sizeof(now)) && !strcmp(now, "error");
}

void rule_reset(struct check_ctx *c, struct verdict_text *out)
{
	unsigned int n = 0;

	for (enum mig_state s = MIG_STOP; s < MIG_NR_STATES && !check_signal; s++) {
		if (!supported(c, s))
			continue;
		if (!go_home(c, out) ||
		    (s != MIG_RUNNING && ck_reach(c, c->dir, mig_state_name(s), out)))
			return;
		reset_from(c, mig_state_name(s), out);
		n++;
	}
	if (!go_home(c, out))
		return;
	if (reach_error(c)) {
		reset_from(c, "error", out);
		ck_note(out, "reset from %u states and error", n);
	} else {
		ck_note(out, "reset from %u states; error not reachable through the mount "
			"(no sim/fail)", n);
	}
}

/* ---- 4: STOP_COPY ---- */

void rule_stop_copy(struct check_ctx *c, struct verdict_text *out)
{
	uint64_t bytes;
	int err;

	if (!go_home(c, out) || ck_reach(c, c->dir, "stop", out))
		return;
	err = ck_drain(c->dir, -1, &bytes, 0);
	if (err != -ENODATA)
		ck_fail(out, "cat data (in stop)", "read: %s, %" PRIu64 " bytes; "
			"ABI 4: ENODATA outside a saving state", ck_errname(err), bytes);
	if (ck_saved_stream(c)) {
		*out = c->save_fail;
		return;
	}
	if (c->after_eof)
		ck_fail(out, "read data again after its end of stream (stop_copy)",
			"%s%" PRId64 "%s", c->after_eof < 0 ? "read: " : "",
			c->after_eof < 0 ? (int64_t)0 : c->after_eof,
			c->after_eof < 0 ? ck_errname((int)c->after_eof) : " bytes, not 0");
	if (c->t.has_data_size && c->stream_len > c->t.data_size)
		ck_fail(out, "cat data_size (in stop), then cat data to its end (stop_copy)",
			"the stream has %" PRIu64 " bytes, data_size said %" PRIu64,
			c->stream_len, c->t.data_size);
	ck_note(out, "%" PRIu64 " bytes to EOF", c->stream_len);
	if (c->t.has_data_size)
		ck_note(out, "data_size %" PRIu64, c->t.data_size);
	else
		ck_note(out, "no data_size estimate");
}

/* ---- 5: PRE_COPY ---- */

/* One step of reading initial data: what precopy says after n bytes. */
static bool precopy_step(struct check_ctx *c, uint64_t prev, ssize_t n,
			 uint64_t *initial, struct verdict_text *out)
{
	uint64_t dirty;
	int err = devdir_precopy(c->dir, initial, &dirty);

	if (err) {
		ck_fail(out, "cat precopy (in pre_copy)", "%s", ck_errname(err));
		return false;
	}
	if (*initial > prev)
		ck_fail(out, "read data, then cat precopy (in pre_copy)",
			"initial_bytes grew from %" PRIu64 " to %" PRIu64 " after a read of %zd bytes",
			prev, *initial, n);
	else if (n > 0 && prev > 0 && *initial == prev)
		ck_fail(out, "read data, then cat precopy (in pre_copy)",
			"initial_bytes stayed %" PRIu64 " after a read of %zd bytes", prev, n);
	else if (n == 0 && *initial > 0)
		ck_fail(out, "read data until nothing more (in pre_copy)",
			"a 0-byte read with initial_bytes %" PRIu64 " left", *initial);
	return out->v != V_FAIL;
}

static void read_initial(struct check_ctx *c, int fd, struct verdict_text *out)
{
	void *buf = devdir_buffer(PRECOPY_READ);
	uint64_t initial, dirty, total = 0, limit = 1ull << 40;
	ssize_t n = 1;

	if (devdir_precopy(c->dir, &initial, &dirty)) {
		ck_fail(out, "cat precopy (in pre_copy)", "no initial_bytes and dirty_bytes");
		free(buf);
		return;
	}
	ck_note(out, "initial_bytes %" PRIu64 " at entry", initial);
	if (!devdir_u64(c->dir, "data_size", &limit))
		limit = 4 * limit + (64u << 20);
	while (n > 0 && total <= limit && !check_signal) {
		uint64_t prev = initial;

		n = read(fd, buf, PRECOPY_READ);
		if (n < 0) {
			ck_fail(out, "read data (in pre_copy)", "%s", ck_errname(-errno));
			break;
		}
		total += (uint64_t)n;
		if (!precopy_step(c, prev, n, &initial, out))
			break;
	}
	free(buf);
}

void rule_pre_copy(struct check_ctx *c, struct verdict_text *out)
{
	char path[PATH_MAX];
	uint64_t rest;
	int fd, err;

	if (!ck_has(c, FEATURE_PRE_COPY)) {
		ck_skip(out, "the device has no pre_copy");
		return;
	}
	if (!go_home(c, out) || ck_reach(c, c->dir, "pre_copy", out))
		return;
	devdir_path(c->dir, "data", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ck_fail(out, "open data (in pre_copy)", "%s", ck_errname(-errno));
	} else {
		read_initial(c, fd, out);
		close(fd);
	}
	if (out->v != V_FAIL && !ck_reach(c, c->dir, "stop_copy", out)) {
		err = ck_drain(c->dir, -1, &rest, 1ull << 40);
		if (err)
			ck_fail(out, "cat data (in stop_copy, after pre_copy)",
				"read: %s after %" PRIu64 " bytes", ck_errname(err), rest);
		else
			ck_note(out, "%" PRIu64 " bytes more to EOF in stop_copy", rest);
	}
	go_home(c, out);
}

/* ---- 6: P2P states ---- */

/* A P2P state must not let the device start DMA: watched in the dirty log. */
static void p2p_quiet(struct check_ctx *c, struct verdict_text *out)
{
	uint64_t bits = 0;
	char now[64];

	if (!ck_has(c, FEATURE_DIRTY)) {
		ck_note(out, "DMA quiescence not observable (no dirty log)");
		return;
	}
	if (ck_dirty_begin(c, out) || ck_reach(c, c->dir, "running_p2p", out))
		goto out;
	/* What the device wrote before the arc returned is allowed. */
	ck_bitmap_bits(c->dir, &bits);
	nanosleep(&(struct timespec){ 0, QUIET_NS }, NULL);
	ck_state(c, c->dir, now, sizeof(now));	/* an op: a device catches up */
	if (ck_bitmap_bits(c->dir, &bits) || bits)
		ck_fail(out, "dirty tracking on, echo running_p2p > state, wait, read the bitmap",
			"%" PRIu64 " pages dirtied after the arc into running_p2p returned", bits);
	else if (ck_sim_dma(c))
		ck_note(out, "no DMA in running_p2p");
	else
		ck_note(out, "no page dirtied in running_p2p (nothing made the device DMA: "
			"the mount has no sim/dma)");
out:
	ck_dirty_end(c);
}

static bool states_lists(const char *states, const char *name)
{
	char buf[256], *save, *w;

	snprintf(buf, sizeof(buf), "%s", states);
	for (w = strtok_r(buf, " []", &save); w; w = strtok_r(NULL, " []", &save))
		if (!strcmp(w, name))
			return true;
	return false;
}

void rule_p2p(struct check_ctx *c, struct verdict_text *out)
{
	bool p2p = ck_has(c, FEATURE_P2P), pre = ck_has(c, FEATURE_PRE_COPY);
	unsigned int arcs = 0;
	char states[256], now[64], res[32];
	uint64_t usec;
	int err;

	if (devdir_read(c->dir, "states", states, sizeof(states)) ||
	    states_lists(states, "running_p2p") != p2p ||
	    states_lists(states, "pre_copy_p2p") != (p2p && pre))
		ck_fail(out, "cat states; cat features", "states '%s' with%s p2p", states,
			p2p ? "" : "out");
	if (c->saw_p2p_state)
		ck_fail(out, "cat state (during rules 1-5)",
			"the device without p2p was found in %s", c->p2p_seen);
	if (!go_home(c, out))
		return;
	err = ck_set(c->dir, p2p ? "stop" : "running_p2p");
	ck_state(c, c->dir, now, sizeof(now));
	if (!p2p && (err != -EOPNOTSUPP || strcmp(now, "running")))
		ck_fail(out, "echo running_p2p > state (without p2p)",
			"write: %s; state: %s", ck_errname(err), now);
	if (p2p && (err || ck_last_transition(c->dir, &arcs, &usec, res, sizeof(res)) ||
		    arcs != 2))
		ck_fail(out, "echo stop > state (in running)",
			"write: %s; %u arcs; the kernel's path is running_p2p, stop", ck_errname(err),
			arcs);
	if (go_home(c, out) && p2p)
		p2p_quiet(c, out);
	go_home(c, out);
}

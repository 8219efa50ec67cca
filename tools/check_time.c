// SPDX-License-Identifier: MIT
/*
 * The timings of `vfio-migctl check`: every direct arc the device has,
 * --runs times, as the daemon measured it (status: last_transition), for
 * a downtime budget.  Not a rule: an arc that fails here is reported by
 * the rules, and the cycle just ends.
 */
#include <string.h>

#include "check.h"
#include "util.h"
#include "vfio-migctl.h"

#define CYCLE_MAX	16

/* A cycle from running back to running, one direct arc a step. */
static unsigned int arc_cycle(const struct check_ctx *c, const char *cycle[CYCLE_MAX])
{
	static const char *const p2p[] = { "running_p2p", "stop", "stop_copy", "stop",
					   "running_p2p", "running" };
	static const char *const p2p_pre[] = { "pre_copy", "pre_copy_p2p", "stop_copy",
					       "stop", "running_p2p", "pre_copy_p2p",
					       "running_p2p", "running", "pre_copy", "running" };
	static const char *const plain[] = { "stop", "stop_copy", "stop", "running" };
	static const char *const plain_pre[] = { "pre_copy", "stop_copy", "stop",
						 "running", "pre_copy", "running" };
	bool has_p2p = ck_has(c, FEATURE_P2P), pre = ck_has(c, FEATURE_PRE_COPY);
	const char *const *a = has_p2p ? p2p : plain, *const *b = has_p2p ? p2p_pre : plain_pre;
	unsigned int na = has_p2p ? 6 : 4, nb = has_p2p ? 10 : 6, n = 0;

	for (unsigned int i = 0; i < na; i++)
		cycle[n++] = a[i];
	for (unsigned int i = 0; pre && i < nb; i++)
		cycle[n++] = b[i];
	return n;
}

static void add_time(struct check_timings *t, enum mig_state from, enum mig_state to,
		     uint64_t usec)
{
	unsigned int i;

	for (i = 0; i < t->narcs; i++)
		if (t->arcs[i].from == from && t->arcs[i].to == to)
			break;
	if (i == t->narcs) {
		if (t->narcs == ARRAY_SIZE(t->arcs))
			return;
		t->arcs[t->narcs++] = (struct arc_times){ .from = from, .to = to };
	}
	if (t->arcs[i].n < ARC_MAX_RUNS)
		t->arcs[i].usec[t->arcs[i].n++] = usec;
}

static bool timed_arc(struct check_ctx *c, const char *from, const char *to)
{
	enum mig_state a, b;
	unsigned int arcs;
	uint64_t usec;
	char result[32];

	if (ck_set(c->dir, to) ||
	    ck_last_transition(c->dir, &arcs, &usec, result, sizeof(result)) || arcs != 1 ||
	    mig_state_parse(from, &a) || mig_state_parse(to, &b))
		return false;
	add_time(&c->t, a, b, usec);
	return true;
}

void check_time_arcs(struct check_ctx *c)
{
	const char *cycle[CYCLE_MAX];
	unsigned int n = arc_cycle(c, cycle);

	for (unsigned int run = 0; run < c->runs && !check_signal; run++) {
		const char *from = "running";

		if (!ck_home(c->dir))
			return;
		for (unsigned int i = 0; i < n; i++) {
			if (!timed_arc(c, from, cycle[i]))
				break;
			from = cycle[i];
		}
	}
	ck_home(c->dir);
}

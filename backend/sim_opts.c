// SPDX-License-Identifier: MIT
/*
 * The sim device's argument, "sim:NAME[,key=value]...": every option
 * checked, and a one-line message naming the problem for bad input.
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "parse.h"
#include "sim.h"
#include "util.h"

#define opt_error(o, ...) spec_error((o)->err, (o)->errlen, (o)->who, __VA_ARGS__)

static int opt_size(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (parse_u64(v, &o->size, 1))
		return opt_error(o, "bad size '%s'", v);
	if (!o->size)
		return opt_error(o, "size must be at least 1 byte");
	if (o->size > SIZE_MAX / 2)
		return opt_error(o, "size '%s' is too large", v);
	return 0;
}

static int opt_dirty_rate(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (parse_u64(v, &o->dirty_rate, 0))
		return opt_error(o, "bad dirty_rate '%s'", v);
	return 0;
}

static int opt_load_us(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (parse_u64(v, &o->load_us, 0) || o->load_us > 10000000)
		return opt_error(o, "bad load_us '%s' (0 to 10000000)", v);
	return 0;
}

static int opt_guest_mem(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (parse_u64(v, &o->guest_mem, 1))
		return opt_error(o, "bad guest_mem '%s'", v);
	if (!o->guest_mem || o->guest_mem % SIM_PAGE_SIZE)
		return opt_error(o, "guest_mem must be a non-zero multiple of %u",
				 SIM_PAGE_SIZE);
	return 0;
}

static int opt_peer(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (!*v || strlen(v) >= sizeof(o->peer))
		return opt_error(o, "bad peer '%s' (a NAME of 1 to %zu bytes)",
				 v, sizeof(o->peer) - 1);
	if (strlen(v) == o->namelen && !strncmp(v, o->name, o->namelen))
		return opt_error(o, "peer '%s' is the device itself", v);
	strcpy(o->peer, v);
	return 0;
}

static int opt_peer_rate(void *ctx, const char *v)
{
	struct sim_opts *o = ctx;

	if (parse_u64(v, &o->peer_rate, 0) || !o->peer_rate)
		return opt_error(o, "bad peer_rate '%s' (writes a second, at least 1)", v);
	return 0;
}

struct named_bit {
	const char *name;
	unsigned int bit;
};

/*
 * "a+b+c": the bits of the names, or an error naming the unknown one (""
 * for an empty name: "a+", "+a").  An empty list is no name.
 */
static int plus_list(struct sim_opts *o, const char *v, const struct named_bit *names,
		     size_t n, unsigned int *bits, const char *what)
{
	if (!*v)
		return 0;
	for (;;) {
		size_t len = strcspn(v, "+"), i;

		for (i = 0; i < n; i++)
			if (strlen(names[i].name) == len && !strncmp(v, names[i].name, len))
				break;
		if (i == n)
			return opt_error(o, "unknown %s '%.*s'", what, (int)len, v);
		*bits |= names[i].bit;
		if (!v[len])
			return 0;
		v += len + 1;
	}
}

static int opt_features(void *ctx, const char *v)
{
	static const struct named_bit feat[] = {
		{ "p2p", MIG_F_P2P }, { "pre_copy", MIG_F_PRE_COPY },
		{ "dirty", MIG_F_DIRTY }, { "stop_copy", MIG_F_STOP_COPY },
	};
	struct sim_opts *o = ctx;

	/* An empty list: STOP_COPY alone. */
	o->flags = MIG_F_STOP_COPY;
	return plus_list(o, v, feat, ARRAY_SIZE(feat), &o->flags, "feature");
}

/* Deliberate breaches of the contract, one rule each (docs/sim-device.md). */
static int opt_quirk(void *ctx, const char *v)
{
	static const struct named_bit quirks[] = {
		{ "open_stop_copy", SIM_Q_OPEN_STOP_COPY }, { "arc_refused", SIM_Q_ARC_REFUSED },
		{ "reset_stop", SIM_Q_RESET_STOP }, { "size_under", SIM_Q_SIZE_UNDER },
		{ "precopy_grows", SIM_Q_PRECOPY_GROWS }, { "p2p_dma", SIM_Q_P2P_DMA },
		{ "load_loses", SIM_Q_LOAD_LOSES }, { "accept_corrupt", SIM_Q_ACCEPT_CORRUPT },
		{ "keep_refused", SIM_Q_KEEP_REFUSED }, { "dirty_no_clear", SIM_Q_DIRTY_NO_CLEAR },
	};
	struct sim_opts *o = ctx;

	o->quirks = 0;
	return plus_list(o, v, quirks, ARRAY_SIZE(quirks), &o->quirks, "quirk");
}

static const struct spec_opt sim_spec_opts[] = {
	{ "size", opt_size, 0 }, { "features", opt_features, 0 },
	{ "dirty_rate", opt_dirty_rate, 0 }, { "guest_mem", opt_guest_mem, 0 },
	{ "load_us", opt_load_us, 0 }, { "peer", opt_peer, 0 },
	{ "peer_rate", opt_peer_rate, 0 }, { "quirk", opt_quirk, 0 },
};

/* "sim:NAME[,key=value]..." */
int sim_parse_spec(const char *spec, struct sim_opts *o)
{
	int r;

	o->name = spec + strlen("sim:");
	o->namelen = strcspn(o->name, ",");
	snprintf(o->who, sizeof(o->who), "sim:%.*s", (int)o->namelen, o->name);
	if (!o->namelen)
		return opt_error(o, "the device needs a NAME (sim:NAME)");
	if (!o->name[o->namelen])
		return 0;
	r = parse_spec_opts(o->name + o->namelen + 1, sim_spec_opts,
			    ARRAY_SIZE(sim_spec_opts),
			    o, o->who, o->err, o->errlen);
	if (!r && o->peer_rate && !*o->peer)
		r = opt_error(o, "peer_rate needs a peer");
	return r;
}

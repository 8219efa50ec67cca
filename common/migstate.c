// SPDX-License-Identifier: MIT
/*
 * The VFIO migration v2 state machine.  The table and the flag rules are
 * those of the kernel's drivers/vfio/vfio_main.c (vfio_mig_get_next_state),
 * so a path computed here is the path the kernel would take.  Two kernel
 * hazards are answered here instead of reaching a device: a blocked arc
 * (STOP_COPY -> PRE_COPY*, which makes 6.2+ kernels spin) and any request
 * from or to ERROR.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "migstate.h"
#include "parse.h"
#include "util.h"

#define S(x) MIG_##x

static const char *const state_names[MIG_NR_STATES] = {
	[MIG_ERROR] = "error",
	[MIG_STOP] = "stop",
	[MIG_RUNNING] = "running",
	[MIG_STOP_COPY] = "stop_copy",
	[MIG_RESUMING] = "resuming",
	[MIG_RUNNING_P2P] = "running_p2p",
	[MIG_PRE_COPY] = "pre_copy",
	[MIG_PRE_COPY_P2P] = "pre_copy_p2p",
};

/* Features each state needs; ERROR needs every bit, so it is never valid. */
static const unsigned int state_flags[MIG_NR_STATES] = {
	[MIG_ERROR] = ~0u,
	[MIG_STOP] = MIG_F_STOP_COPY,
	[MIG_RUNNING] = MIG_F_STOP_COPY,
	[MIG_STOP_COPY] = MIG_F_STOP_COPY,
	[MIG_RESUMING] = MIG_F_STOP_COPY,
	[MIG_RUNNING_P2P] = MIG_F_STOP_COPY | MIG_F_P2P,
	[MIG_PRE_COPY] = MIG_F_STOP_COPY | MIG_F_PRE_COPY,
	[MIG_PRE_COPY_P2P] = MIG_F_STOP_COPY | MIG_F_P2P | MIG_F_PRE_COPY,
};

/* next_step[cur][target]: the kernel's vfio_from_fsm_table. */
static const enum mig_state next_step[MIG_NR_STATES][MIG_NR_STATES] = {
	[MIG_STOP] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(RUNNING_P2P), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[MIG_RUNNING] = {
		[S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(RUNNING_P2P), [S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[MIG_PRE_COPY] = {
		[S(STOP)] = S(RUNNING), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(PRE_COPY_P2P), [S(RESUMING)] = S(RUNNING),
		[S(RUNNING_P2P)] = S(RUNNING), [S(ERROR)] = S(ERROR),
	},
	[MIG_PRE_COPY_P2P] = {
		[S(STOP)] = S(RUNNING_P2P), [S(RUNNING)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(PRE_COPY), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[MIG_STOP_COPY] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
		[S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
		[S(STOP_COPY)] = S(STOP_COPY), [S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
	},
	[MIG_RESUMING] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(STOP),
		[S(PRE_COPY)] = S(STOP), [S(PRE_COPY_P2P)] = S(STOP),
		[S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(STOP), [S(ERROR)] = S(ERROR),
	},
	[MIG_RUNNING_P2P] = {
		[S(STOP)] = S(STOP), [S(RUNNING)] = S(RUNNING),
		[S(PRE_COPY)] = S(RUNNING), [S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
		[S(STOP_COPY)] = S(STOP), [S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(RUNNING_P2P), [S(ERROR)] = S(ERROR),
	},
	[MIG_ERROR] = {
		[S(STOP)] = S(ERROR), [S(RUNNING)] = S(ERROR),
		[S(PRE_COPY)] = S(ERROR), [S(PRE_COPY_P2P)] = S(ERROR),
		[S(STOP_COPY)] = S(ERROR), [S(RESUMING)] = S(ERROR),
		[S(RUNNING_P2P)] = S(ERROR), [S(ERROR)] = S(ERROR),
	},
};

const char *mig_state_name(enum mig_state s)
{
	if ((unsigned int)s >= MIG_NR_STATES)
		return "invalid";
	return state_names[s];
}

bool mig_state_supported(unsigned int flags, enum mig_state s)
{
	if ((unsigned int)s >= MIG_NR_STATES)
		return false;
	return (state_flags[s] & flags) == state_flags[s];
}

int mig_next_state(unsigned int flags, enum mig_state cur,
		   enum mig_state target, enum mig_state *next)
{
	enum mig_state n;

	if (!mig_state_supported(flags, cur) ||
	    !mig_state_supported(flags, target))
		return -EINVAL;
	/*
	 * Skip states the device lacks, as the kernel does; unlike the
	 * kernel, stop at ERROR instead of looping on it forever.
	 */
	n = next_step[cur][target];
	while (n != MIG_ERROR && !mig_state_supported(flags, n))
		n = next_step[n][target];
	if (n == MIG_ERROR)
		return -EINVAL;
	*next = n;
	return 0;
}

/* v1 device_state bits, and the NDMA bit of the RFC that became P2P. */
#define V1_RUNNING	(1u << 0)
#define V1_SAVING	(1u << 1)
#define V1_RESUMING	(1u << 2)
#define V1_NDMA		(1u << 3)
#define V1_INVALID	(-1)

static const int v1_to_state[16] = {
	[0] = MIG_STOP,
	[V1_RUNNING] = MIG_RUNNING,
	[V1_SAVING] = MIG_STOP_COPY,
	[V1_SAVING | V1_RUNNING] = MIG_PRE_COPY,
	[V1_RESUMING] = MIG_RESUMING,
	[V1_RESUMING | V1_RUNNING] = V1_INVALID,
	[V1_RESUMING | V1_SAVING] = MIG_ERROR,
	[V1_RESUMING | V1_SAVING | V1_RUNNING] = V1_INVALID,
	[V1_NDMA] = MIG_STOP,
	[V1_NDMA | V1_RUNNING] = MIG_RUNNING_P2P,
	[V1_NDMA | V1_SAVING] = MIG_STOP_COPY,
	[V1_NDMA | V1_SAVING | V1_RUNNING] = MIG_PRE_COPY_P2P,
	[V1_NDMA | V1_RESUMING] = V1_INVALID,
	[V1_NDMA | V1_RESUMING | V1_RUNNING] = V1_INVALID,
	[V1_NDMA | V1_RESUMING | V1_SAVING] = V1_INVALID,
	[V1_NDMA | V1_RESUMING | V1_SAVING | V1_RUNNING] = V1_INVALID,
};

static const struct { const char *name; unsigned int bit; } v1_bits[] = {
	{ "RUNNING", V1_RUNNING }, { "SAVING", V1_SAVING },
	{ "RESUMING", V1_RESUMING }, { "NDMA", V1_NDMA }, { "0", 0 },
};

static int v1_bit(const char *tok, size_t len, unsigned int *bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(v1_bits); i++) {
		if (strlen(v1_bits[i].name) == len &&
		    !strncasecmp(tok, v1_bits[i].name, len)) {
			*bit = v1_bits[i].bit;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_v1(const char *s, size_t len, enum mig_state *out)
{
	unsigned int bits = 0, bit;
	const char *end = s + len;

	for (;;) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		const char *tend = bar ? bar : end;

		if (v1_bit(s, (size_t)(tend - s), &bit))
			return -EINVAL;
		bits |= bit;
		if (!bar)
			break;
		s = bar + 1;
	}
	if (v1_to_state[bits] == V1_INVALID)
		return -EINVAL;
	*out = (enum mig_state)v1_to_state[bits];
	return 0;
}

int mig_state_parse(const char *text, enum mig_state *out)
{
	size_t len;

	text = parse_skip_space(text);
	len = strlen(text);
	while (len && parse_space(text[len - 1]))
		len--;
	if (!len)
		return -EINVAL;
	for (int s = 0; s < MIG_NR_STATES; s++) {
		if (strlen(state_names[s]) == len &&
		    !strncasecmp(text, state_names[s], len)) {
			*out = (enum mig_state)s;
			return 0;
		}
	}
	return parse_v1(text, len, out);
}

size_t mig_features_format(unsigned int flags, char *buf, size_t len)
{
	static const struct { unsigned int bit; const char *name; } f[] = {
		{ MIG_F_STOP_COPY, "stop_copy" }, { MIG_F_P2P, "p2p" },
		{ MIG_F_PRE_COPY, "pre_copy" }, { MIG_F_DIRTY, "dirty" },
	};
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (!(flags & f[i].bit))
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", f[i].name);
		if (w < 0 || (size_t)w >= len - n) {
			buf[n] = '\0';	/* whole words only */
			break;
		}
		n += (size_t)w;
	}
	return n;
}

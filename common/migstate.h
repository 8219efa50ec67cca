/* SPDX-License-Identifier: MIT */
/*
 * The VFIO migration v2 state machine, as Linux defines it.
 *
 * State values and feature bits equal the kernel's uAPI (enum
 * vfio_device_mig_state, VFIO_MIGRATION_*), so a backend can pass them
 * through unchanged.  The next-step rule is the kernel's
 * vfio_mig_get_next_state(), minus its known hazards (see migstate.c).
 */
#ifndef MIGSTATE_H
#define MIGSTATE_H

#include <stdbool.h>
#include <stddef.h>

enum mig_state {
	MIG_ERROR = 0,
	MIG_STOP = 1,
	MIG_RUNNING = 2,
	MIG_STOP_COPY = 3,
	MIG_RESUMING = 4,
	MIG_RUNNING_P2P = 5,
	MIG_PRE_COPY = 6,
	MIG_PRE_COPY_P2P = 7,
	MIG_NR_STATES = 8,
};

/* Device features: the first three are VFIO_MIGRATION_* bit for bit. */
#define MIG_F_STOP_COPY	(1u << 0)
#define MIG_F_P2P	(1u << 1)
#define MIG_F_PRE_COPY	(1u << 2)
#define MIG_F_DIRTY	(1u << 8)	/* device-side dirty page logging */

const char *mig_state_name(enum mig_state s);

/*
 * Parse a state as written to the `state` file: a state name in any case,
 * or the v1 migration-region notation of device_state bits joined by '|'
 * (RUNNING, SAVING, RESUMING, NDMA, or 0).  Surrounding white space and a
 * trailing newline are ignored.  Returns 0, or -EINVAL for unknown text.
 * "error" parses (as MIG_ERROR) so the caller can refuse it by policy.
 */
int mig_state_parse(const char *text, enum mig_state *out);

/* Whether a device with these MIG_F_* flags has state s. */
bool mig_state_supported(unsigned int flags, enum mig_state s);

/*
 * The next direct arc from cur towards target.  Returns 0 and sets *next,
 * or -EINVAL when either state is unsupported, target is ERROR, or the
 * kernel refuses the arc (STOP_COPY -> PRE_COPY*).  cur == target gives
 * *next = cur.
 */
int mig_next_state(unsigned int flags, enum mig_state cur,
		   enum mig_state target, enum mig_state *next);

/* The saving group: one data session spans all three. */
static inline bool mig_state_saving(enum mig_state s)
{
	return s == MIG_PRE_COPY || s == MIG_PRE_COPY_P2P || s == MIG_STOP_COPY;
}

/* States in which the device may initiate DMA (P2P states quiesce it). */
static inline bool mig_state_dma(enum mig_state s)
{
	return s == MIG_RUNNING || s == MIG_PRE_COPY;
}

/* States in which the device runs and its internal state changes. */
static inline bool mig_state_running(enum mig_state s)
{
	return s == MIG_RUNNING || s == MIG_RUNNING_P2P ||
	       s == MIG_PRE_COPY || s == MIG_PRE_COPY_P2P;
}

/* The features line: "stop_copy p2p pre_copy dirty". */
size_t mig_features_format(unsigned int flags, char *buf, size_t len);

#endif

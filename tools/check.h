/* SPDX-License-Identifier: MIT */
/*
 * vfio-migctl check: the VFIO migration contract, rule by rule, against
 * a mounted device (docs/conformance.md).
 *
 * check.c runs the command (options, safety, signals, the end), the
 * rules live in check_rules.c (the state machine and the saving side),
 * check_resume.c (loading, damaged streams) and check_dirty.c (the dirty
 * log), check_table.c numbers them; check_io.c holds what they share
 * (the device's files, the saved stream) and check_report.c prints the
 * verdicts and the timings.
 */
#ifndef CHECK_H
#define CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "migstate.h"

enum verdict { V_PASS, V_FAIL, V_SKIP };

/* A rule's result: FAIL says what was done, what came back, where it broke. */
struct verdict_text {
	enum verdict v;
	char detail[256];	/* SKIP: why; PASS: notes; FAIL: the failure */
	char did[256];		/* FAIL: what was done */
	char got[512];		/* FAIL: what came back */
};

struct check_ctx;
typedef void check_fn(struct check_ctx *c, struct verdict_text *out);

struct check_rule {
	unsigned int id;
	const char *name;
	const char *says;	/* what the rule requires, in one sentence */
	const char *source;	/* where it is written */
	check_fn *run;
};

/* check_table.c */
extern const struct check_rule check_rules[];
extern const unsigned int check_nrules;

#define CHECK_MAX_RULES	16
#define ARC_MAX_RUNS	1000

/* Per direct arc: the daemon's time of each run (status last_transition). */
struct arc_times {
	enum mig_state from, to;
	unsigned int n;
	uint64_t usec[ARC_MAX_RUNS];
};

struct check_timings {
	unsigned int narcs;
	struct arc_times arcs[16];
	uint64_t stop_copy_bytes;	/* the stream from stop */
	uint64_t data_size;		/* the estimate then, 0 none */
	bool has_data_size;
	uint64_t save_usec;		/* reading it, wall clock */
	unsigned int nloads;
	uint64_t load_usec[ARC_MAX_RUNS];	/* resuming -> stop */
};

struct check_ctx {
	const char *dir;
	const char *peer;		/* --peer, or NULL */
	const char *target;		/* where streams are loaded: peer, dir (--destructive) or NULL */
	unsigned int features;		/* FEATURE_* of dir */
	unsigned int runs;
	char device[256];		/* status device: */
	bool saw_p2p_state;		/* a P2P state was read from a device without p2p */
	char p2p_seen[64];		/* and which */
	/* The stream saved from stop (check_io.c), kept in an unlinked file. */
	int stream_fd;
	uint64_t stream_len;
	char digest[32];		/* sim/digest at the stop it was saved in, or "" */
	bool saved;
	int64_t after_eof;		/* a read after its end: 0, bytes, or -errno */
	struct verdict_text save_fail;	/* why saving failed, when it did */
	struct check_timings t;
};

/* ---- check_io.c ---- */

/* Each returns 0 or -errno. */
int ck_state(struct check_ctx *c, const char *dir, char *buf, size_t len);
/* Write STATE to DIR/state; 0 or the write's -errno. */
int ck_set(const char *dir, const char *state);
/* Bring DIR from running to STATE, checking that it got there. */
int ck_reach(struct check_ctx *c, const char *dir, const char *state,
	     struct verdict_text *out);
/* Back to running: a state write, or a reset; false if neither worked, or after a signal. */
bool ck_home(const char *dir);
/* The end: a reset, and running if the reset stopped short; whether it is running. */
bool ck_bring_back(const char *dir);
int ck_reset(const char *dir);
/* The arcs and time of the last transition in `status`; -EPROTO if none. */
int ck_last_transition(const char *dir, unsigned int *arcs, uint64_t *usec,
		       char *result, size_t len);
/* `last_error` of status, or "none". */
void ck_last_error(const char *dir, char *buf, size_t len);
/* Whether the `log` of DIR has a line containing text; the line in line. */
bool ck_log_has(const char *dir, const char *text, char *line, size_t len);
/* DIR has sim/digest: its value, else "". */
void ck_digest(const char *dir, char *buf, size_t len);
/*
 * Read DIR/data until a 0-byte read, appending to fd when fd >= 0; the
 * bytes read in *bytes.  A read error is returned (its -errno).
 */
int ck_drain(const char *dir, int fd, uint64_t *bytes, uint64_t limit);
/* The stream saved from stop, once (c->stream_fd); 0, or -1 with c->save_fail. */
int ck_saved_stream(struct check_ctx *c);
/*
 * Load the saved stream, changed by how, into DIR from running: resuming,
 * the bytes, then stop.  Fills what the writes and the stop said.
 */
enum damage { DAMAGE_NONE, DAMAGE_TRUNCATE, DAMAGE_CORRUPT, DAMAGE_TRAILING,
	      DAMAGE_HEADER };
struct load_result {
	int enter;		/* the write of resuming */
	int write;		/* the first refused write or close, 0 */
	uint64_t written;	/* bytes the writes took */
	int stop;		/* resuming -> stop */
	char stop_state[32];	/* the state after it */
	uint64_t stop_usec;	/* its time in status, 0 unknown */
};
int ck_load(struct check_ctx *c, const char *dir, enum damage how,
	    struct load_result *r);
/* Set a verdict; the f* forms take printf arguments. */
void ck_fail(struct verdict_text *out, const char *did, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ck_note(struct verdict_text *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ck_skip(struct verdict_text *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *ck_errname(int err);	/* "EIO", for -EIO; "ok" for 0 */
bool ck_has(const struct check_ctx *c, unsigned int feature);
/* Whether a signal asked the check to end (its number). */
extern volatile sig_atomic_t check_signal;

/*
 * The dirty log over CK_RANGE (check_dirty.c): begin sets the range and
 * starts tracking, end stops it and drops the frozen bits; bits reads the
 * range's bitmap (test and clear) and counts its pages.
 */
#define CK_RANGE	"0 0x100000"
#define CK_BITMAP	"dirty/00000000-00100000"
#define CK_PAGES	256
int ck_dirty_begin(struct check_ctx *c, struct verdict_text *out);
void ck_dirty_end(struct check_ctx *c);
int ck_bitmap(const char *dir, uint64_t words[CK_PAGES / 64]);
int ck_bitmap_bits(const char *dir, uint64_t *pages);
/* Whether the mount can make the device DMA (sim/dma). */
bool ck_sim_dma(const struct check_ctx *c);

/* ---- check_rules.c, check_resume.c, check_dirty.c: the rules ---- */

void rule_fresh_open(struct check_ctx *c, struct verdict_text *out);
void rule_fsm(struct check_ctx *c, struct verdict_text *out);
void rule_reset(struct check_ctx *c, struct verdict_text *out);
void rule_stop_copy(struct check_ctx *c, struct verdict_text *out);
void rule_pre_copy(struct check_ctx *c, struct verdict_text *out);
void rule_p2p(struct check_ctx *c, struct verdict_text *out);
void rule_load(struct check_ctx *c, struct verdict_text *out);
void rule_damaged(struct check_ctx *c, struct verdict_text *out);
void rule_refused_write(struct check_ctx *c, struct verdict_text *out);
void rule_dirty(struct check_ctx *c, struct verdict_text *out);
/* The timings of direct arcs over c->runs cycles (check_time.c). */
void check_time_arcs(struct check_ctx *c);

/* ---- check_report.c ---- */

struct check_report {
	const char *dir;
	const struct check_ctx *ctx;
	struct verdict_text v[CHECK_MAX_RULES];
	bool selected[CHECK_MAX_RULES];
	char features[128];		/* as `status` says them */
	bool restored;
};
void check_print_table(FILE *f, const struct check_report *r);
void check_print_json(const struct check_report *r);

/* ---- check.c ---- */

int cmd_check(int argc, char **argv);

#endif

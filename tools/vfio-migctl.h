/* SPDX-License-Identifier: MIT */
/*
 * vfio-migctl: the operator's side of VFIO migration.
 *
 * main.c parses the command line and picks a subcommand from its table;
 * msg.c holds the one-line errors they all use.
 * The migration commands use nothing but the files of a mounted device
 * directory (docs/ABI.md): devdir.c reads and writes them, claim.c holds
 * them for a transfer.  The engines know nothing of commands: save.c is
 * the saving side, load.c the resuming side, set.c the phases of a set
 * of devices and setpool.c its threads.  The commands drive them:
 * cmd_save.c, cmd_load.c, migrate.c (the two joined on one host), and
 * setcmd.c and setload.c (the set forms of all three); transfer.c is
 * what they share (signals, exit statuses, the stream's files,
 * summaries).  stream.c frames a migration for files and pipes
 * (stream.h, docs/stream-format.md), progress.c draws the progress line (or writes
 * its --json records), report.c the --json records of how a transfer
 * ended, json.c the JSON of those and of status;
 * status.c and watch.c show where devices stand (devstatus.c reads
 * their `status`), check*.c hold a device's driver to the migration
 * contract (check.h).
 * prepare.c makes a VF migratable and hands it to its vfio driver (the
 * policy: sysfs, which port, in what order) through devlink.c
 * (devlink.h).  Helpers that know nothing of devices come from common/.
 */
#ifndef VFIO_MIGCTL_H
#define VFIO_MIGCTL_H

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stream.h"

/* ---- main.c ---- */

/*
 * Exit status (vfio-migctl(1), EXIT STATUS): 0 done; 1 failed and rolled
 * back cleanly: every source touched runs again with its state, every
 * destination touched was reset; 2 a command line that makes no sense;
 * 3 failed and a device is left in error; 4 the vfio-migfsd serving a
 * DIR is gone (its mount answers ENOTCONN), the line says what became of
 * the rest; 5 failed after the commit point (a destination runs the
 * migrated state, or a saved stream is whole): nothing was rolled back,
 * the line says what was left where; 6 failed, and a source runs again
 * only after a reset: its state is lost; 128 + N a transfer that signal
 * N cut short before the commit point, rolled back cleanly.
 */
#define EXIT_USAGE		2
#define EXIT_DEVICE_ERROR	3
#define EXIT_DAEMON_GONE	4
#define EXIT_COMMITTED		5
#define EXIT_STATE_LOST		6
#define EXIT_SIGNAL		128

void usage(FILE *f);
/*
 * The next option of a command's own arguments (getopt_long; options may
 * follow the operands), or -1: --help and malformed options end here.
 */
int next_option(int argc, char **argv, const struct option *longopts);
/* What getopt_long's '?' or ':' (optstring starting ":") was about. */
void option_error(int c, char **argv) __attribute__((noreturn));

/* ---- msg.c ---- */

/* One line "vfio-migctl: ..." on stderr (and strerror(err) if err), then exit. */
void die(int status, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define fatal(...)	 die(EXIT_FAILURE, errno, __VA_ARGS__)
#define fatalx(...)	 die(EXIT_FAILURE, 0, __VA_ARGS__)
#define usage_error(...) die(EXIT_USAGE, 0, __VA_ARGS__)

/* What went wrong, in words, for the one line a command prints. */
struct errmsg {
	char text[512];
};

/* Set the message; errmsg_sys adds ": strerror(-err)".  Both return err. */
int errmsg_set(struct errmsg *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int errmsg_sys(struct errmsg *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void errmsg_add(struct errmsg *e, const char *text);

/* ---- devdir.c: a mounted device directory ---- */

void *devdir_buffer(size_t len);	/* page-aligned, for `data`; or dies */
/* Whether DIR is a vfio-migfs mount (mountinfo: no file of DIR is asked). */
bool devdir_mounted(const char *dir);
/* One line "vfio-migctl: DIR: not a vfio-migfs mount"; EXIT_FAILURE. */
int not_a_mount(const char *dir);
/* Exit with not_a_mount() unless DIR is one: before any file of DIR is used. */
void devdir_require(const char *dir);
/* Each returns 0 or -errno (-EPROTO for text it cannot parse). */
/* The whole file, without its trailing newlines. */
int devdir_read(const char *dir, const char *file, char *buf, size_t len);
int devdir_write(const char *dir, const char *file, const char *value);
int devdir_state(const char *dir, char *buf, size_t len);
/* Through the held `state` of a claimed DIR (claim.c); -EBADF unclaimed. */
int devdir_set_state(const char *dir, const char *state);
/* Whether DIR is in STATE now. */
bool devdir_in(const char *dir, const char *state);
int devdir_precopy(const char *dir, uint64_t *initial, uint64_t *dirty);
int devdir_u64(const char *dir, const char *file, uint64_t *v);
unsigned int devdir_features(const char *dir);
/*
 * DIR's state, in state, if it is running or stop; else -EBUSY and e says
 * "DIR is in STATE; VERB needs running or stop (nothing was changed)".
 */
int devdir_idle(const char *dir, const char *verb, char *state, size_t len,
		struct errmsg *e);
/* What became of a device put back after a failure, better first. */
enum recovery {
	RECOVERED,		/* running again, with its state (a destination: reset) */
	RECOVERED_BY_RESET,	/* running again after a reset: its state is lost */
	NOT_RECOVERED,		/* left in error */
};

/* Back to running, by a reset if need be (or at once). */
enum recovery devdir_recover(const char *dir, bool reset_first);
/*
 * A failed VERB (reading, writing) of DIR/FILE, in e.  ESTALE (a data
 * session ended), ENODATA (a read out of the saving states) and EPERM (a
 * write out of resuming) mean that someone else wrote DIR's state or
 * reset: a manual cancel, said as such.
 */
int devdir_io_error(const char *dir, const char *verb, const char *file, int err,
		    struct errmsg *e);
/* "; DIR is left in STATE" (or is gone, or no longer mounted) added to e. */
void devdir_left(const char *dir, struct errmsg *e);
/* Whether DIR's mount now says that its daemon is gone. */
bool devdir_gone(const char *dir);
/* One line "vfio-migctl: [CMD: ]the vfio-migfsd serving DIR is gone"; EXIT_DAEMON_GONE. */
int daemon_gone(const char *cmd, const char *dir);
/* DIR's `device:` line, "" if it cannot be read. */
void device_name(const char *dir, char *name, size_t len);
/* The same line, with what became of the other devices ("; SRC is running again"). */
int daemon_gone_then(const char *cmd, const char *dir, const char *then);

/* ---- claim.c: the devices a transfer command holds (ABI 9.1) ---- */

/*
 * Hold DIR and its `state` (flock LOCK_EX) until exit; 0 or -errno with e
 * set: -ENODEV not a mount, -EBUSY another command holds it.
 */
int devdir_claim(const char *dir, struct errmsg *e);
/* "DIR/FILE" in path: 0 or -ENAMETOOLONG. */
int devdir_path(const char *dir, const char *file, char *path, size_t len);
/* Whether err says that the daemon serving a DIR is gone. */
bool devdir_gone_error(int err);
/* FILE of DIR (through its claim, if held): an fd or -errno. */
int devdir_open(const char *dir, const char *file, int flags);
/* statfs(2) of DIR's mount (through its claim, if held): 0 or -errno. */
struct statfs;
int devdir_statfs(const char *dir, struct statfs *sfs);
/* "DIR: not a vfio-migfs mount", as status and watch say it; -ENODEV. */
int devdir_not_mount(const char *dir, struct errmsg *e);
/* Whether a claimed DIR was unmounted since (umount -l); and that, in e. */
bool devdir_unmounted(const char *dir);
int devdir_check_mounted(const char *dir, struct errmsg *e);
/* "key: value" lines of `status`. */
void status_field(const char *status, const char *key, char *out, size_t len);
int status_u64(const char *status, const char *key, uint64_t *v);

/* ---- progress.c ---- */

/* A precopy round's numbers, as virsh domjobinfo shows them. */
struct precopy_round {
	unsigned int round;	/* from 1 */
	uint64_t sent;		/* precopy bytes sent so far */
	uint64_t remaining;	/* pending after the round (precopy's initial + dirty) */
	uint64_t rate;		/* bytes a second the round sent at, 0 unknown */
	uint64_t dirty_rate;	/* bytes a second dirtied while it ran */
};

struct progress {
	bool on;		/* stderr is a terminal: a line redrawn */
	FILE *json;		/* or --json: progress records there */
	const char *label, *phase;
	uint64_t total;		/* bytes expected in this phase, 0 unknown */
	uint64_t t0, drawn;
	struct precopy_round round;	/* the last one */
};

void progress_init(struct progress *p, const char *label);
void progress_phase(struct progress *p, const char *phase, uint64_t total);
void progress_update(struct progress *p, uint64_t bytes);
/* A precopy round ended: drawn, or a record with what it says. */
void progress_round(struct progress *p, const struct precopy_round *r);
void progress_done(struct progress *p);

/* ---- report.c: --json records of a transfer's end ---- */

/* What the command is, and whether (and where) it writes records. */
void report_init(const char *command, bool json, FILE *f);
bool report_json(void);
FILE *report_file(void);
const char *report_command(void);

/* One device's transfer, or a set's, as it ended. */
struct transfer_report {
	const char *source, *destination;	/* a device's dirs, NULL: a stream */
	const char *stream_source;		/* a load's: the name the stream gives it */
	unsigned int devices;			/* a set's size; 0 for a device */
	bool p2p;				/* a set's: the P2P barrier kept */
	const struct save_stats *saved;		/* the saving side's numbers, or NULL */
	const struct stream_totals *loaded;	/* a load's, or NULL */
	uint64_t t_start, t_switch, t_end;	/* t_switch: the sources stopped, 0 never */
	bool downtime;				/* t_end - t_switch was one */
	const char *error;			/* NULL: it worked */
	const char *failed_phase, *failed_device;	/* a set's failure */
	int exit_status;
};

void report_transfer(const struct transfer_report *t);

/* ---- a transfer: save.c, load.c and their commands ---- */

#define SAVE_BUF_SIZE	(1024 * 1024)	/* one read of `data`, one chunk */
#define IDLE_WAIT_NS	(10 * 1000 * 1000)	/* between empty precopy rounds */

struct save_opts {
	const char *dir;
	bool json;			/* --json: records, not lines */
	unsigned int max_rounds;	/* precopy rounds at most */
	uint64_t threshold;		/* dirty bytes low enough to stop at */
	uint64_t downtime_ms;		/* or: estimated stop_copy time, 0 off */
	bool force_switchover;		/* switch over at --max-rounds, over that limit */
	bool keep_running;		/* --abort: the source runs on */
	bool no_p2p;			/* a set: no P2P barrier, stop one by one */
	bool keep_source;		/* a set: the sources run on at the end */
};

#define SAVE_DEFAULTS	{ .max_rounds = 30, .threshold = 1 << 20 }
#define SAVE_LONGOPTS \
	{ "max-rounds", required_argument, NULL, 'r' }, \
	{ "threshold", required_argument, NULL, 't' }, \
	{ "downtime-limit", required_argument, NULL, 'd' }, \
	{ "json", no_argument, NULL, 'j' }, \
	{ "force-switchover", no_argument, NULL, 'F' }
#define SET_LONGOPTS \
	{ "no-p2p", no_argument, NULL, 'P' }

/* Why the precopy rounds ended. */
enum precopy_end {
	PRECOPY_NONE,		/* none were run (or they have not ended) */
	PRECOPY_CONVERGED,	/* dirty bytes at or below --threshold */
	PRECOPY_DOWNTIME,	/* the estimated stop_copy within --downtime-limit */
	PRECOPY_MAX_ROUNDS,	/* --max-rounds reached */
	PRECOPY_FORCED,		/* and over --downtime-limit: --force-switchover */
};

struct save_stats {
	uint64_t precopy_bytes, stopcopy_bytes;
	uint64_t size_hint;		/* `data_size`, 0 unknown */
	unsigned int rounds;
	enum precopy_end end;
	uint64_t t_start, t_stopcopy, t_end;	/* now_usec() */
};

/* Where the saving side puts each chunk. */
struct sink {
	int (*put)(struct sink *s, uint32_t type, const void *buf, uint32_t len);
	const char *name;	/* for errors: "the stream", "DST/data" */
	const char *dir;	/* DST, for DST/data; NULL for the stream */
};

struct stream_sink {
	struct sink sink;
	struct stream_writer w;
};

struct data_sink {		/* a destination's `data`, open for writing */
	struct sink sink;
	int fd;
};

struct save_job {
	const struct save_opts *opts;
	struct sink *sink;
	void *buf;			/* SAVE_BUF_SIZE */
	atomic_bool *cancel;		/* in a set: another device failed */
	int fd;				/* the source's `data`, or -1 */
	bool running, precopy;		/* the source was running; has pre_copy */
	bool touched;			/* its state was changed */
	uint64_t initial, dirty;	/* `precopy` after the last round */
	uint64_t rate, round_bytes;	/* of the last round that sent bytes; its bytes */
	uint64_t round_usec;		/* the last round's time */
	struct save_stats stats;
	struct progress progress;
	struct errmsg err;
	enum recovery recovery;		/* how the source was put back, or stayed */
};

struct load_job {
	const char *dir;
	char source[STREAM_NAME_MAX + 1];	/* the stream's name of it */
	bool run;			/* --run: running after stop */
	struct stream_reader reader;
	uint64_t size;			/* of the input, 0 unknown */
	void *buf;			/* STREAM_CHUNK_MAX */
	struct progress progress;
	struct errmsg err;
	bool device_error;
	uint64_t t_start, t_end;	/* now_usec() */
};

/* ---- transfer.c: what the transfer commands share ---- */

/*
 * SIGINT, SIGTERM ... came (its number): the transfer gives up and rolls
 * back.  Atomic, not only volatile: a set's threads read it while the
 * handler writes it; a lock-free atomic is safe in a handler.
 */
extern atomic_int interrupted;
/*
 * Every signal that ends a process and can be caught (SIGINT, SIGTERM,
 * SIGHUP, SIGPIPE ...) sets `interrupted` to its number: a roll-back.
 */
void transfer_signals(void);
/* "interrupted by SIGHUP"; -EINTR. */
int interrupt_error(struct errmsg *e);
/*
 * The exit status of a transfer that failed before its commit point, by
 * the worst a device was put back: EXIT_DEVICE_ERROR (left in error),
 * EXIT_STATE_LOST (a source reset), or 128 + the signal that cut it
 * short, or EXIT_FAILURE.
 */
int transfer_failed(enum recovery worst);
/*
 * A failure after the commit point, in one line: why, "after the commit
 * point: DONE, nothing was rolled back" and where each of DIRS is left;
 * EXIT_COMMITTED.
 */
int commit_failed(const char *cmd, const struct errmsg *why, const char *done,
		  const char *const *dirs, unsigned int n);
/* A device the command could not claim (e says why); the exit status. */
int claim_failed(const char *cmd, const char *dir, int err, const struct errmsg *e);
/*
 * DIR a vfio-migfs mount, claimed for the whole command (ABI 9.1), or
 * exit with one line, nothing changed.
 */
void claim_device(const char *cmd, const char *dir);
/* Where a summary line goes: stdout, or stderr when stdout carries the stream. */
FILE *summary_file(bool stream_on_stdout);
/* A device's features and name (its `status` device: line), for a stream header. */
void stream_describe(struct stream_device *d, const char *dir);
/* "P precopy in R rounds, WHY, S stop_copy" for the summary lines. */
void save_summary(const struct save_stats *st, char *buf, size_t len);
/* A stream's file: "-" is stdout/stdin, refused when a terminal. */
int open_output(const char *file, bool *created);
int open_input(const char *file, uint64_t *size);
/* A destination's `data` as a sink: the bytes as they come. */
int data_sink_put(struct sink *s, uint32_t type, const void *buf, uint32_t len);

/*
 * save.c: the source's stream to its end (begin, the rounds, stop_copy and
 * its drain); 0, the source left in stop_copy with its state all read, or
 * -errno with job->err set.  Before the commit point a failure calls for
 * save_roll_back (the source to running, how in undo); after it,
 * save_finish takes the source to stop (--abort: running), undoing nothing.
 */
int save_transfer(struct save_job *job);
void save_roll_back(struct save_job *job, struct errmsg *undo);
int save_finish(struct save_job *job);
/* save_transfer framed as a stream: its header, the chunks, the end chunk, FILE closed. */
int save_to_stream(struct save_job *job, struct stream_sink *out);
/*
 * save_transfer's steps, for a set: begin (refuse a source that is not
 * running or stop before changing anything; pre_copy if it can), rounds,
 * stop_copy (and the drain), each 0 or -errno with job->err set.
 */
int save_begin(struct save_job *job);
int save_round(struct save_job *job);
/* The last round's numbers to its progress. */
void save_round_progress(struct save_job *job);
int save_stop_copy(struct save_job *job);
void save_close(struct save_job *job);
int save_enter(struct save_job *job, const char *state);
/* Whether the dirty bytes left (of a device or a set) are few enough to stop. */
enum precopy_end save_converged(const struct save_opts *o, uint64_t initial,
				uint64_t dirty, uint64_t rate);
/*
 * --max-rounds reached without converging: switch over (*end says how),
 * or, over a --downtime-limit without --force-switchover, -ETIME with e
 * saying why: a limit is kept, as QEMU keeps it.
 */
int save_round_limit(const struct save_opts *o, uint64_t initial, uint64_t dirty,
		     uint64_t rate, unsigned int rounds, enum precopy_end *end,
		     struct errmsg *e);
enum recovery restore_source(const char *dir, struct errmsg *e);

/* cmd_save.c */
/* Takes one option of SAVE_LONGOPTS or SET_LONGOPTS (or --abort, --keep-source). */
void save_option(int c, const char *arg, struct save_opts *o);

/* setcmd.c, setload.c: the set forms of migrate, save and load (o: their options) */
int migrate_set(int argc, char **argv, const struct save_opts *o);
int save_set(int argc, char **argv, const struct save_opts *o, const char *file);
int load_set(int argc, char **argv, bool run, bool no_p2p, const char *file);

/*
 * load.c: a stream into a device, and the resuming side's steps (for a
 * set and for migrate).
 */
int load_device(struct load_job *job);
int check_destination(const char *dir, struct errmsg *e);
/* Whether DIR can take a state saved from source, as far as the names tell. */
int check_fits(const char *source, const char *dir, struct errmsg *e);
/* e says a write of DIR/data failed, and of whose state; returns err. */
int refused_data(struct errmsg *e, int err, const char *dir, const char *source);
int open_resuming(const char *dir, int *fd, struct errmsg *e);
int close_resuming(const char *dir, int fd, int err, struct errmsg *e);
int finish_resuming(const char *dir, bool run, struct errmsg *e);
/* The destination to running: the commit point. */
int run_destination(const char *dir, struct errmsg *e);
bool abandon_resuming(const char *dir, struct errmsg *e);

/* ---- set.c: devices migrated together ---- */

struct set_stream_sink {	/* a set's stream, shared by its devices */
	struct sink sink;
	struct dev_set *set;
	uint32_t index;		/* the device's, in the header */
};

struct set_dev;
typedef int set_step(struct set_dev *d);

struct set_dev {
	struct dev_set *set;
	const char *src, *dst;		/* NULL: the stream is that end */
	const char *source;		/* load: the stream's name of the source */
	struct save_opts opts;		/* the set's, with this source's dir */
	struct save_job save;		/* the source */
	struct data_sink to_dst;	/* migrate: the destination's `data` */
	struct set_stream_sink to_stream;	/* save: the set's stream */
	bool dst_touched;		/* the destination's state was changed */
	bool dst_whole;			/* it took its whole stream, checked in stop */
	bool dst_running;		/* it runs: the set is committed */
	bool src_done;			/* the source's last step (stop) is done */
	struct errmsg err;
	pthread_t thread;		/* setpool.c */
	int step_err;			/* of the phase's step */
	const char *phase;		/* the step's part, for a failure */
	bool phase_dst;			/* on the destination's side */
};

struct dev_set {
	struct set_dev *dev;
	unsigned int n;
	const struct save_opts *opts;	/* rounds, threshold, downtime limit */
	bool p2p;			/* keep the P2P barrier (not --no-p2p) */
	bool keep_source;		/* the sources run on at the end */
	bool run;			/* the destinations are to run */
	atomic_bool cancel;		/* a device failed, or a signal came */
	bool committing;		/* set_run began: signals are no longer heard */
	const char *failed_what, *failed_phase;	/* the first failure (what: NULL for a signal) */
	struct errmsg err;		/* and why */
	struct progress progress;	/* the set's, drawn by the main thread */
	unsigned int rounds;
	enum precopy_end end;
	uint64_t t_start, t_down, t_end;	/* now_usec(); t_down: the first source quiesced */
	pthread_mutex_t lock;		/* out, for a save */
	struct stream_writer out;
	/* setpool.c: a thread per device, handed each phase's step */
	pthread_mutex_t pool_lock;
	pthread_cond_t go, done;
	set_step *step;			/* the phase's */
	unsigned int gen;		/* the phase's number */
	unsigned int busy;		/* devices still in it */
	unsigned int threads;		/* started */
	bool quit;
};

/* setpool.c: the threads, from the first phase to the end. */
void set_pool_start(struct dev_set *s);
void set_pool_stop(struct dev_set *s);
/* Run step on every device at once, and wait for all of them. */
void set_pool_run(struct dev_set *s, set_step *step);
/* set.c: run step on every device (parallel: at once); 0, or -ECANCELED once the set failed. */
int set_each(struct dev_set *s, const char *phase, set_step *step, bool dst_side,
	     bool parallel);

/* The phases, in their order (set_roll_back says why one failed). */
int set_open_destinations(struct dev_set *s);
int set_begin(struct dev_set *s);
int set_precopy(struct dev_set *s);
int set_stop_copy(struct dev_set *s);	/* and, in a migration, set_settle's part */
int set_settle(struct dev_set *s);	/* the destinations to stop (running_p2p if run) */
int set_run(struct dev_set *s);
int set_stop_sources(struct dev_set *s);
/* A device's step failed: the set's failure, if it is the first. */
void set_step_failed(struct set_dev *d);
/* A failure of the set that is no step's (the stream's): what failed, in which phase. */
void set_failed(struct dev_set *s, const char *what, const char *phase,
		const struct errmsg *e);
/* A signal came (before the commit point): the set's failure, in phase. */
void set_interrupted(struct dev_set *s, const char *phase);
/* Every device put back, and the one-line error; returns the exit status. */
int set_roll_back(struct dev_set *s, const char *cmd);
/* Whether a destination runs (after set_run): past the commit point. */
bool set_committed(const struct dev_set *s);
/* A failure after the commit point (done: what holds the state); EXIT_COMMITTED. */
int set_commit_failed(struct dev_set *s, const char *cmd, const char *done);

/* ---- setcmd.c: what the set forms share ---- */

/* A set of n devices with the options o (exits at more than STREAM_SET_MAX). */
void set_init(struct dev_set *s, unsigned int n, const struct save_opts *o);
void set_free(struct dev_set *s);
/* Every DIR a vfio-migfs mount, none twice; or exit with the line. */
void check_mounts(const char *const *dirs, unsigned int n);
/* Claim every member (claim.c); the exit status of a refusal, or 0. */
int claim_set(const char *const *dirs, unsigned int n, const char *cmd);
/* Each member, before anything changes; the exit status of a refusal, or 0. */
int check_set(struct dev_set *s, const char *cmd, bool dst_p2p);
/* The end of a summary line: whether the P2P barrier was kept. */
void print_barrier(FILE *f, const struct dev_set *s);
/* --json: a record per device and one for the set (r: a load's stream). */
void report_set(const struct dev_set *s, int status, const struct stream_reader *r);

/* ---- commands: argv[0] is the command's name; they return the exit status ---- */

int cmd_save(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* ---- json.c ---- */

/* A JSON string of any bytes: escaped, invalid UTF-8 as U+FFFD. */
void json_string(FILE *f, const char *str);

/* A record: {"type": TYPE, KEY: VALUE...} on one line, under f's lock. */
struct json {
	FILE *f;
	const char *sep;	/* before the next key */
};

void json_begin(struct json *j, FILE *f, const char *type);
void json_str(struct json *j, const char *key, const char *value);	/* NULL: null */
void json_u64(struct json *j, const char *key, uint64_t value);
void json_ms(struct json *j, const char *key, uint64_t usec);	/* as milliseconds */
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
void json_object(struct json *j, const char *key);	/* KEY: {... */
void json_object_end(struct json *j);
void json_end(struct json *j);

/* ---- devstatus.c: the `status` file (ABI 6), for status and watch ---- */

/* More than `status` holds: a device name can be a long sysfs path. */
#define STATUS_TEXT_MAX	(PATH_MAX + 1024)

struct dev_status {
	char device[PATH_MAX];
	char state[32], features[64], session[16];
	uint64_t bytes_saved, bytes_resumed;	/* current or last session */
	bool transitioned;			/* a last transition, and its: */
	char from[32], to[32], result[32];	/* result: ok or an errno name */
	unsigned int arcs;
	uint64_t usec;
	char last_error[256];			/* "" for none */
	bool error_aged;			/* the daemon said how old it is: */
	uint64_t error_age;			/* seconds */
};

/* Each returns 0 or -errno (-EPROTO for text that is not `status`). */
int dev_status_open(const char *dir, int *fd);
/* Reads from offset 0: a fresh rendering, which also re-arms poll(2). */
int dev_status_read(int fd, struct dev_status *s);
/* The text of `status`, as dev_status_read reads it. */
int dev_status_parse(const char *text, struct dev_status *s);
/*
 * One line "vfio-migctl: DIR: why" for a DIR whose `status` failed; the
 * exit status it calls for.
 */
int status_error(const char *dir, int err);

/* ---- prepare.c ---- */

/* argv[0] is the subcommand's name; returns the exit status. */
int cmd_prepare(int argc, char **argv);

#endif

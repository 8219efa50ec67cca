// SPDX-License-Identifier: MIT
/*
 * vfio-migctl check [--json] [--rules LIST] [--peer DIR] [--destructive]
 *                   [--runs N] DIR
 *
 * The VFIO migration contract, rule by rule, against the device mounted
 * at DIR (docs/conformance.md).  Safety first: a device with a data
 * session, or elsewhere than running or stop, is refused untouched; at
 * the end, and at SIGINT, SIGTERM or SIGHUP, every device the check used
 * is reset to running, so none is left in resuming.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "vfio-migctl.h"

static void on_signal(int sig)
{
	check_signal = sig;
}

static void check_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a blocked read of data returns to be checked. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* "1,3,dirty-log": the rules to run. */
static void parse_rules(const char *list, bool selected[CHECK_MAX_RULES])
{
	char buf[256], *save;

	if (strlen(list) >= sizeof(buf))
		usage_error("--rules: list too long");
	if (!list[strspn(list, ",")])
		usage_error("--rules: an empty list");
	strcpy(buf, list);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned int i;

		for (i = 0; i < check_nrules; i++)
			if (!strcmp(w, check_rules[i].name) ||
			    (strspn(w, "0123456789") == strlen(w) &&
			     strtoul(w, NULL, 10) == check_rules[i].id))
				break;
		if (i == check_nrules)
			usage_error("--rules: no rule '%s' (1 to %u, or a name)", w, check_nrules);
		selected[i] = true;
	}
}

static unsigned int parse_runs(const char *arg)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (!*arg || *end || arg[0] == '-' || !n || n > ARC_MAX_RUNS)
		usage_error("--runs: '%s' is not a number from 1 to %u", arg, ARC_MAX_RUNS);
	return (unsigned int)n;
}

/*
 * Whether DIR may be checked: running or stop, no data session, no dirty
 * tracking on.  Dies with one line otherwise, having changed nothing.
 */
static void refuse_busy(const char *dir, const char *what)
{
	char status[4096], state[64], session[64], tracking[64];
	int err = devdir_read(dir, "status", status, sizeof(status));

	if (err) {
		if (devdir_gone_error(err) && devdir_gone(dir))
			exit(daemon_gone("check", dir));
		exit(status_error(dir, err));
	}
	status_field(status, "state", state, sizeof(state));
	status_field(status, "session", session, sizeof(session));
	status_field(status, "dirty_tracking", tracking, sizeof(tracking));
	if (strcmp(state, "running") && strcmp(state, "stop"))
		fatalx("check: %s %s is in %s; check needs running or stop (nothing was changed)",
		       what, dir, state);
	if (strncmp(session, "none", 4))
		fatalx("check: %s %s has a data session open (%s); nothing was changed",
		       what, dir, session);
	if (!strncmp(tracking, "on", 2))
		fatalx("check: %s %s is tracking dirty pages (a migration?); nothing was changed",
		       what, dir);
}

/*
 * The dirty log's settings, which rules 6 and 10 change: kept at the
 * start and put back at the end (the log itself is not the check's).
 */
#define RANGES_TEXT_MAX	(256 * 48)
struct dirty_config {
	bool kept;
	char page_size[32];
	char ranges[RANGES_TEXT_MAX];
};

static void keep_dirty_config(const char *dir, struct dirty_config *d)
{
	d->kept = !devdir_read(dir, "dirty/page_size", d->page_size, sizeof(d->page_size)) &&
		  !devdir_read(dir, "dirty/ranges", d->ranges, sizeof(d->ranges) - 1);
	if (d->kept)
		strcat(d->ranges, "\n");
}

static void put_dirty_config(const char *dir, const struct dirty_config *d)
{
	char line[40];

	if (!d->kept)
		return;
	devdir_write(dir, "dirty/tracking", "0\n");
	/* The old ranges may not fit the check's page size, nor its ranges the old one. */
	devdir_write(dir, "dirty/ranges", "\n");
	snprintf(line, sizeof(line), "%s\n", d->page_size);
	devdir_write(dir, "dirty/page_size", line);
	devdir_write(dir, "dirty/ranges", d->ranges);
}

/* Every device used, back to running by a reset; false if one is not. */
static bool restore(const struct check_ctx *c)
{
	bool ok = ck_bring_back(c->dir);

	if (c->peer && !ck_bring_back(c->peer))
		ok = false;
	return ok;
}

/* The daemon of DIR or of the peer is gone: its line, and status 4. */
static int gone(const struct check_ctx *c)
{
	if (devdir_gone(c->dir))
		return daemon_gone("check", c->dir);
	if (c->peer && devdir_gone(c->peer))
		return daemon_gone("check", c->peer);
	return 0;
}

static void run_rules(struct check_ctx *c, struct check_report *r)
{
	for (unsigned int i = 0; i < check_nrules; i++) {
		if (!r->selected[i]) {
			ck_skip(&r->v[i], "not selected (--rules)");
			continue;
		}
		if (check_signal) {
			ck_skip(&r->v[i], "interrupted by signal %d", check_signal);
			continue;
		}
		check_rules[i].run(c, &r->v[i]);
		/* What a rule found once cut short is not a verdict. */
		if (check_signal)
			ck_skip(&r->v[i], "interrupted by signal %d", check_signal);
	}
	if (!check_signal)
		check_time_arcs(c);
}

static void describe(struct check_ctx *c, struct check_report *r)
{
	char status[4096];

	devdir_read(c->dir, "status", status, sizeof(status));
	status_field(status, "device", c->device, sizeof(c->device));
	status_field(status, "features", r->features, sizeof(r->features));
	c->features = devdir_features(c->dir);
}

/* The same mount twice, by two paths: the peer would be DIR itself. */
static bool same_mount(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev;
}

/* As a transfer command does (ABI 9.1): no migration runs under the check. */
static int check(struct check_ctx *c, struct check_report *r, bool json)
{
	static struct dirty_config dirty;
	unsigned int failed = 0;

	if (c->peer && same_mount(c->dir, c->peer))
		usage_error("check: --peer %s is DIR's mount (use --destructive)", c->peer);
	claim_device("check", c->dir);
	if (c->peer)
		claim_device("check", c->peer);
	refuse_busy(c->dir, "DIR");
	if (c->peer)
		refuse_busy(c->peer, "peer");
	describe(c, r);
	keep_dirty_config(c->dir, &dirty);
	check_signals();
	run_rules(c, r);
	put_dirty_config(c->dir, &dirty);
	r->restored = restore(c);
	if (c->stream_fd >= 0)
		close(c->stream_fd);
	if (json)
		check_print_json(r);
	else
		check_print_table(stdout, r);
	for (unsigned int i = 0; i < check_nrules; i++)
		failed += r->v[i].v == V_FAIL;
	if (!r->restored)
		return gone(c) ? EXIT_DAEMON_GONE : EXIT_DEVICE_ERROR;
	if (check_signal)
		return EXIT_SIGNAL + check_signal;
	return failed ? EXIT_FAILURE : 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "rules", required_argument, NULL, 'r' },
		{ "peer", required_argument, NULL, 'p' },
		{ "destructive", no_argument, NULL, 'D' },
		{ "runs", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static struct check_ctx c = { .runs = 5, .stream_fd = -1 };
	static struct check_report r;
	bool json = false, destructive = false, some = false;
	int ch;

	while ((ch = next_option(argc, argv, longopts)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'r':
			parse_rules(optarg, r.selected);
			some = true;
			break;
		case 'p':
			c.peer = optarg;
			break;
		case 'D':
			destructive = true;
			break;
		case 'n':
			c.runs = parse_runs(optarg);
			break;
		default:
			option_error('?', argv);
		}
	}
	if (argc - optind != 1)
		usage_error("check: needs one DIR (see --help)");
	c.dir = argv[optind];
	if (c.peer && !strcmp(c.peer, c.dir))
		usage_error("check: --peer %s is DIR itself (use --destructive)", c.peer);
	for (unsigned int i = 0; !some && i < check_nrules; i++)
		r.selected[i] = true;
	c.target = c.peer ? c.peer : destructive ? c.dir : NULL;
	r.dir = c.dir;
	r.ctx = &c;
	return check(&c, &r, json);
}

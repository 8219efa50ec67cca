// SPDX-License-Identifier: MIT
/*
 * The text files of a device directory, as sysfs attributes: one entry per
 * file name with a show and a store function.  show() renders the whole
 * value; store() gets the whole value of one write.  Both return 0 or
 * -errno, and the errno reaches the writer's write(2).
 */
#include <errno.h>
#include <string.h>

#include "parse.h"
#include "vfio-migfsd.h"
#include "util.h"

#define ATTR(n, m, sh, st, p) \
	{ .name = #n, .mode = m, .show = sh, .store = st, .poll = p }
#define ATTR_RO(n)	ATTR(n, 0444, n##_show, NULL, MIG_POLL_NONE)
#define ATTR_RW(n)	ATTR(n, 0600, n##_show, n##_store, MIG_POLL_NONE)
#define ATTR_WO(n)	ATTR(n, 0600, NULL, n##_store, MIG_POLL_NONE)
/* Files whose poll(2) waits for a change, as sysfs_notify() does. */
#define ATTR_RO_POLL(n, p)	ATTR(n, 0444, n##_show, NULL, p)
#define ATTR_RW_POLL(n, p)	ATTR(n, 0600, n##_show, n##_store, p)
/* A list, one item a line (see fs.c's store_attr). */
#define ATTR_RW_LINES(n) \
	{ .name = #n, .mode = 0600, .show = n##_show, .store = n##_store, .lines = true }

/* The order `states` lists them in. */
static const enum mig_state state_order[] = {
	MIG_RUNNING, MIG_STOP, MIG_STOP_COPY, MIG_RESUMING,
	MIG_RUNNING_P2P, MIG_PRE_COPY, MIG_PRE_COPY_P2P,
};

static int state_show(struct migdev *dev, struct strbuf *sb)
{
	return sb_printf(sb, "%s\n", mig_state_name(migdev_state(dev)));
}

static int state_store(struct migdev *dev, const char *buf)
{
	enum mig_state s;

	if (mig_state_parse(buf, &s))
		return -EINVAL;
	return migdev_set_state(dev, s);
}

/* Canonical names come back as they were written: `echo stop > state`. */
static bool state_verbatim(const char *buf)
{
	enum mig_state s;
	size_t len;

	if (mig_state_parse(buf, &s))
		return false;
	len = strlen(mig_state_name(s));
	return !strncmp(buf, mig_state_name(s), len) && !strcmp(buf + len, "\n");
}

static int states_show(struct migdev *dev, struct strbuf *sb)
{
	enum mig_state cur = migdev_state(dev);
	const char *sep = "";
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(state_order) && !err; i++) {
		enum mig_state s = state_order[i];

		if (!mig_state_supported(dev->flags, s))
			continue;
		err = sb_printf(sb, s == cur ? "%s[%s]" : "%s%s", sep, mig_state_name(s));
		sep = " ";
	}
	if (!err && cur == MIG_ERROR)
		err = sb_printf(sb, " [error]");
	return err ? err : sb_printf(sb, "\n");
}

static int features_show(struct migdev *dev, struct strbuf *sb)
{
	char buf[64];

	mig_features_format(dev->flags, buf, sizeof(buf));
	return sb_printf(sb, "%s\n", buf);
}

static int precopy_show(struct migdev *dev, struct strbuf *sb)
{
	uint64_t initial, dirty;
	int err = migdev_precopy(dev, &initial, &dirty);

	if (err)
		return err;
	return sb_printf(sb, "initial_bytes %llu\ndirty_bytes %llu\n",
			 (unsigned long long)initial, (unsigned long long)dirty);
}

static int data_size_show(struct migdev *dev, struct strbuf *sb)
{
	uint64_t bytes;
	int err = migdev_data_size(dev, &bytes);

	return err ? err : sb_printf(sb, "%llu\n", (unsigned long long)bytes);
}

static int reset_store(struct migdev *dev, const char *buf)
{
	int one;

	if (parse_bool(buf, &one) || !one)
		return -EINVAL;
	return migdev_reset(dev);
}

static int status_show(struct migdev *dev, struct strbuf *sb)
{
	return migdev_status(dev, sb);
}

const struct mig_attr root_attrs[] = {
	{ .name = "state", .mode = 0600, .show = state_show, .store = state_store,
	  .poll = MIG_POLL_STATE, .verbatim = state_verbatim },
	ATTR_RO(states),
	ATTR_RO(features),
	ATTR_RO(precopy),
	ATTR_RO(data_size),
	ATTR_WO(reset),
	ATTR_RO_POLL(status, MIG_POLL_EVENTS),
	{ .name = NULL },
};

static int page_size_show(struct migdev *dev, struct strbuf *sb)
{
	return sb_printf(sb, "%llu\n", (unsigned long long)migdev_dirty_page_size(dev));
}

static int page_size_store(struct migdev *dev, const char *buf)
{
	uint64_t ps;

	if (parse_u64(buf, &ps, 1))
		return -EINVAL;
	return migdev_dirty_set_page_size(dev, ps);
}

static int ranges_show(struct migdev *dev, struct strbuf *sb)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n = migdev_dirty_ranges(dev, r);
	int err = 0;

	for (unsigned int i = 0; i < n && !err; i++)
		err = sb_printf(sb, "0x%llx 0x%llx\n", (unsigned long long)r[i].start,
				(unsigned long long)r[i].length);
	return err;
}

/* One "START LENGTH" pair per line; blank lines are ignored. */
static int parse_range_line(const char *line, struct mig_range *r)
{
	const char *p;

	if (parse_u64_word(line, &r->start, 1, &p) ||
	    parse_u64_word(p, &r->length, 1, &p))
		return -EINVAL;
	p += strspn(p, " \t");
	return *p && *p != '\n' ? -EINVAL : 0;
}

static int ranges_store(struct migdev *dev, const char *buf)
{
	struct mig_range r[MIG_MAX_RANGES];
	unsigned int n = 0;

	for (const char *line = buf; *line; ) {
		const char *nl = strchr(line, '\n');

		if (line[strspn(line, " \t")] != '\n' && line[strspn(line, " \t")]) {
			if (n == MIG_MAX_RANGES)
				return -E2BIG;
			if (parse_range_line(line, &r[n++]))
				return -EINVAL;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return migdev_dirty_set_ranges(dev, r, n);
}

static int tracking_show(struct migdev *dev, struct strbuf *sb)
{
	return sb_printf(sb, "%d\n", migdev_dirty_tracking(dev));
}

static int tracking_store(struct migdev *dev, const char *buf)
{
	int on;

	if (parse_bool(buf, &on))
		return -EINVAL;
	return on ? migdev_dirty_start(dev) : migdev_dirty_stop(dev);
}

const struct mig_attr dirty_attrs[] = {
	ATTR_RW(page_size),
	ATTR_RW_LINES(ranges),
	ATTR_RW(tracking),
	{ .name = NULL },
};

/*
 * A file's show and store: a backend's own run under the device's lock
 * (migdev_attr_*), the daemon's above take what they need themselves.
 * What a show rendered last is kept for a stat that may not render
 * (tree.c), as a length only.
 */
int attr_show(struct mount *m, const struct node *n, struct strbuf *sb)
{
	int err;

	sb_reset(sb);
	if (n->dev_locked)
		err = migdev_attr_show(m->dev, n->attr, sb);
	else
		err = n->attr->show(m->dev, sb);
	if (!err)
		__atomic_store_n(&m->shown[n - m->nodes], sb->len, __ATOMIC_RELAXED);
	return err;
}

size_t attr_shown(struct mount *m, const struct node *n)
{
	return __atomic_load_n(&m->shown[n - m->nodes], __ATOMIC_RELAXED);
}

int attr_store(struct mount *m, const struct node *n, const char *value)
{
	if (n->dev_locked)
		return migdev_attr_store(m->dev, n->attr, value);
	return n->attr->store(m->dev, value);
}

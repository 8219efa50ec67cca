// SPDX-License-Identifier: MIT
/*
 * poll(2) on `state`, `status` and `log`, as on a sysfs attribute after
 * sysfs_notify(): every file is always readable and writable, as a
 * regular file is (select, epoll and asyncio before a read, and pv, then
 * read at once), and a file reports POLLPRI|POLLERR too once its counter
 * moved past what the open file last rendered: waiting for POLLPRI blocks
 * until a change.  Reading from offset 0 re-arms it.
 *
 * The mount's poll_lock guards the list of waiting files and each open
 * file's seen and ph.
 */
#include <poll.h>

#include "vfio-migfsd.h"

/* kernfs's DEFAULT_POLLMASK */
#define READY		(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
#define CHANGED		(POLLPRI | POLLERR)

static enum mig_poll node_poll(const struct node *n)
{
	if (n && n->kind == NODE_LOG)
		return MIG_POLL_EVENTS;
	return n && n->kind == NODE_ATTR ? n->attr->poll : MIG_POLL_NONE;
}

static bool pollable(const struct node *n)
{
	return node_poll(n) != MIG_POLL_NONE;
}

static uint64_t node_events(struct mount *m, const struct node *n)
{
	return pollable(n) ? migdev_events(m->dev, node_poll(n) == MIG_POLL_STATE) : 0;
}

/*
 * The kernel keeps a text file's size for a second, and readers that
 * splice (busybox cat, sendfile(2)) read no further than that size: once
 * a value changed, the next open must ask for its attributes again.
 * Attributes it holds fresh came from fill_attr() (its own writes and
 * truncations do not make them fresh), which sets attrs_out first: a
 * change after that reply, or during it, finds it set.  An inode it holds
 * nothing fresh of costs no notification (one syscall each, several per
 * transition).
 */
void poll_attrs_out(struct mount *m, const struct node *n)
{
	__atomic_store_n(&m->attrs_out[n - m->nodes], true, __ATOMIC_SEQ_CST);
}

static void inval(struct mount *m, const struct node *n)
{
	if (m->se)
		fuse_lowlevel_notify_inval_inode(m->se, (fuse_ino_t)(n - m->nodes) + 1, -1, 0);
}

/* The file stored to: the kernel took a size of its own from the write. */
void poll_inval(struct mount *m, const struct node *n)
{
	__atomic_store_n(&m->attrs_out[n - m->nodes], false, __ATOMIC_SEQ_CST);
	inval(m, n);
}

static void inval_if_out(struct mount *m, const struct node *n)
{
	if (__atomic_exchange_n(&m->attrs_out[n - m->nodes], false, __ATOMIC_SEQ_CST))
		inval(m, n);
}

/* The file this worker is storing to: its store says what became of it. */
static __thread const struct node *storing;

void poll_storing(const struct node *n)
{
	storing = n;
}

static void inval_changed(struct mount *m, uint64_t state_events, uint64_t events)
{
	for (unsigned int i = 0; i < m->nnodes; i++) {
		enum mig_poll p = node_poll(&m->nodes[i]);

		if (&m->nodes[i] == storing)
			continue;
		if ((p == MIG_POLL_STATE && state_events != m->inval_state) ||
		    (p == MIG_POLL_EVENTS && m->nodes[i].kind == NODE_ATTR &&
		     events != m->inval_events))
			inval_if_out(m, &m->nodes[i]);
	}
	m->inval_state = state_events;
	m->inval_events = events;
}

/*
 * The device's change callback, with its lock held: wake every poller
 * whose file changed, and have the kernel forget the changed files' sizes.
 */
static void notify_pollers(void *arg)
{
	struct mount *m = arg;
	struct handle **p = &m->pollers, *h;

	inval_changed(m, migdev_events(m->dev, true), migdev_events(m->dev, false));
	pthread_mutex_lock(&m->poll_lock);
	while ((h = *p)) {
		if (node_events(m, h->node) == h->seen) {
			p = &h->next_poller;
			continue;
		}
		*p = h->next_poller;
		fuse_lowlevel_notify_poll(h->ph);
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
	pthread_mutex_unlock(&m->poll_lock);
}

void poll_init(struct mount *m)
{
	pthread_mutex_init(&m->poll_lock, NULL);
	migdev_set_notify(m->dev, notify_pollers, m);
}

/* Before the render: a change during it wakes the next poll. */
void poll_rendered(struct mount *m, struct handle *h)
{
	pthread_mutex_lock(&m->poll_lock);
	h->seen = node_events(m, h->node);
	pthread_mutex_unlock(&m->poll_lock);
}

void poll_forget(struct mount *m, struct handle *h)
{
	pthread_mutex_lock(&m->poll_lock);
	for (struct handle **p = &m->pollers; *p; p = &(*p)->next_poller) {
		if (*p == h) {
			*p = h->next_poller;
			break;
		}
	}
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	h->ph = NULL;
	pthread_mutex_unlock(&m->poll_lock);
}

void poll_request(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		  struct fuse_pollhandle *ph)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct mount *m = fuse_req_userdata(req);
	unsigned int revents = READY;

	(void)ino;
	if (!pollable(h->node)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, revents);
		return;
	}
	/* Counters move before the callback takes this lock: no lost wake-up. */
	pthread_mutex_lock(&m->poll_lock);
	if (node_events(m, h->node) != h->seen) {
		revents |= CHANGED;
	} else if (ph) {
		if (!h->ph) {
			h->next_poller = m->pollers;
			m->pollers = h;
		} else {
			fuse_pollhandle_destroy(h->ph);
		}
		h->ph = ph;
		ph = NULL;
	}
	pthread_mutex_unlock(&m->poll_lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, revents);
}

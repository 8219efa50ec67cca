// SPDX-License-Identifier: MIT
/*
 * One pool of workers serves every mounted session.  libfuse 3.14's own
 * loops cannot be stopped from outside (fuse_session_exit does not wake
 * them) and want a thread set per session; here each session fd sits in
 * one epoll set with EPOLLONESHOT: a worker takes one request, re-arms the
 * fd so another worker can take the next, then handles its request.  A
 * slow transition on one device therefore never stalls another.
 *
 * Nor do requests piling up on a slow device (readers of `status` waiting
 * for its lock, from anyone with -o allow_other): a session being served
 * by its share of workers is not re-armed until one of them is done, so
 * its next requests wait in the kernel, holding no worker, and the other
 * devices keep at least one.
 *
 * Nor do another user's (-o allow_other): a user other than the daemon's
 * and root has one request served at a time.  A worker that receives one
 * while that user has its turn keeps a copy on the user's queue and
 * takes the next request; the worker serving the user serves the queue
 * after it.  Such a user's requests are small (it can open nothing for
 * writing), and it has as many waiting as it has threads in them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "clock.h"
#include "vfio-migfsd.h"

#define JOIN_TICK_NS	(100 * 1000 * 1000)

struct loop {
	int epfd;
	int sigfd;
	int stopfd;		/* readable once the workers must leave */
	unsigned int live;	/* sessions still mounted */
	unsigned int share;	/* workers one session may hold */
	pthread_mutex_t lock;	/* guards live, and each mount's gone, busy, parked */
};

static struct loop loop;

/* A request received while its user had its turn. */
struct waiting {
	struct waiting *next;
	struct mount *m;
	struct fuse_buf buf;	/* a copy */
};

/* A user with a request being served (loop.lock guards the list and each). */
struct turn {
	uid_t uid;
	struct waiting *head, **tail;
	struct turn *next;
};

static struct turn *turns;

static void arm(struct mount *m, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = m };

	if (epoll_ctl(loop.epfd, op, fuse_session_fd(m->se), &ev))
		log_warn("%s: epoll", m->mountpoint);
}

static void stop_workers(void)
{
	uint64_t one = 1;

	if (write(loop.stopfd, &one, sizeof(one)) != sizeof(one))
		log_warn("stopping workers");
}

/*
 * The session's open files are freed once it has ended and no worker is
 * serving one of its requests; the last one out frees them.
 */
static void leave_session(struct mount *m, bool ended)
{
	bool last = false, unmounted = false, reap;

	pthread_mutex_lock(&loop.lock);
	if (ended && !m->gone) {
		m->gone = unmounted = true;
		epoll_ctl(loop.epfd, EPOLL_CTL_DEL, fuse_session_fd(m->se), NULL);
		last = --loop.live == 0;
	} else if (!ended) {
		m->busy--;
		if (m->parked && !m->gone) {
			m->parked = false;
			arm(m, EPOLL_CTL_MOD);
		}
	}
	reap = m->gone && m->busy == 0 && m->waiting == 0;
	pthread_mutex_unlock(&loop.lock);
	/* Not under loop.lock, a leaf: a stalled log may hold a line a second. */
	if (unmounted)
		log_info("%s: unmounted", m->mountpoint);
	if (reap)
		fs_session_end(m);
	if (last)
		stop_workers();
}

static struct turn **turn_find_locked(uid_t uid)
{
	struct turn **p = &turns;

	while (*p && (*p)->uid != uid)
		p = &(*p)->next;
	return p;
}

/* Keep a copy of the request for the user's turn: false if out of memory. */
static bool wait_turn_locked(struct turn *t, struct mount *m, const struct fuse_buf *fbuf)
{
	struct waiting *w = calloc(1, sizeof(*w));

	if (!w || !(w->buf.mem = malloc(fbuf->size))) {
		free(w);
		return false;
	}
	memcpy(w->buf.mem, fbuf->mem, fbuf->size);
	w->buf.size = fbuf->size;
	w->m = m;
	*t->tail = w;
	t->tail = &w->next;
	m->waiting++;
	return true;
}

/*
 * Whether the request is this worker's to serve now: the daemon's user
 * and root always; another user if none of its requests is being served,
 * which gives the user its turn (*tp), else it waits on the turn's queue.
 */
static bool take_turn(struct mount *m, const struct fuse_buf *fbuf, struct turn **tp)
{
	uid_t uid = ((const struct fuse_in_header *)fbuf->mem)->uid;
	struct turn **p, *t;
	bool now = true;

	*tp = NULL;
	if (fs_trusted(uid))
		return true;
	pthread_mutex_lock(&loop.lock);
	p = turn_find_locked(uid);
	if (*p) {
		now = !wait_turn_locked(*p, m, fbuf);
	} else if ((t = calloc(1, sizeof(*t)))) {
		t->uid = uid;
		t->tail = &t->head;
		*p = t;
		*tp = t;
	}
	pthread_mutex_unlock(&loop.lock);
	return now;
}

/* The user's requests that came during its turn, in order; then the turn ends. */
static void serve_turn(struct turn *t)
{
	struct waiting *w;

	for (;;) {
		pthread_mutex_lock(&loop.lock);
		w = t->head;
		if (!w) {
			*turn_find_locked(t->uid) = t->next;
			pthread_mutex_unlock(&loop.lock);
			free(t);
			return;
		}
		t->head = w->next;
		if (!t->head)
			t->tail = &t->head;
		w->m->waiting--;
		w->m->busy++;
		pthread_mutex_unlock(&loop.lock);
		fuse_session_process_buf(w->m->se, &w->buf);
		leave_session(w->m, false);
		free(w->buf.mem);
		free(w);
	}
}

static void serve_one(struct mount *m, struct fuse_buf *fbuf)
{
	struct turn *t;

	int r = fuse_session_receive_buf(m->se, fbuf);

	if (r == -EAGAIN || r == -EINTR) {
		arm(m, EPOLL_CTL_MOD);
		return;
	}
	if (r <= 0) {
		leave_session(m, true);	/* the kernel ended it: unmounted or aborted */
		return;
	}
	/* Counted before the next worker can see the session end. */
	pthread_mutex_lock(&loop.lock);
	m->busy++;
	m->parked = m->busy >= loop.share;
	if (!m->parked)
		arm(m, EPOLL_CTL_MOD);
	pthread_mutex_unlock(&loop.lock);
	if (take_turn(m, fbuf, &t))
		fuse_session_process_buf(m->se, fbuf);
	leave_session(m, false);
	if (t)
		serve_turn(t);
}

static void *worker(void *arg)
{
	struct fuse_buf fbuf;
	struct epoll_event ev;

	(void)arg;
	memset(&fbuf, 0, sizeof(fbuf));
	for (;;) {
		int n = epoll_wait(loop.epfd, &ev, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fatal("epoll_wait");
		if (ev.data.ptr == &loop)
			break;
		serve_one(ev.data.ptr, &fbuf);
	}
	free(fbuf.mem);
	io_buffer_free();
	return NULL;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the workers start, so they inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Sleep until a signal arrives or the last session is unmounted. */
static void wait_for_end(int sigfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct signalfd_siginfo si;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ev.data.fd = sigfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev);
	ev.data.fd = loop.stopfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, loop.stopfd, &ev);
	while (epoll_wait(ep, &ev, 1, -1) < 0 && errno == EINTR)
		;
	if (ev.data.fd == sigfd && read(sigfd, &si, sizeof(si)) == sizeof(si))
		log_info("signal %u: unmounting", si.ssi_signo);
	close(ep);
	stop_workers();
}

/* Before mounting: a SIGTERM from then on unmounts cleanly. */
void loop_init(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &loop };

	loop.sigfd = signal_fd();
	loop.epfd = epoll_create1(EPOLL_CLOEXEC);
	loop.stopfd = eventfd(0, EFD_CLOEXEC);
	if (loop.sigfd < 0 || loop.epfd < 0 || loop.stopfd < 0)
		fatal("setting up the loop");
	pthread_mutex_init(&loop.lock, NULL);
	/* Level-triggered and never drained: it wakes every worker. */
	epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.stopfd, &ev);
}

/*
 * A second signal while a worker still holds a request (a device slow to
 * load or change state): detach every mount, so that no new request
 * reaches it and no stale mount stays, and leave without the workers.
 * Exiting closes the session fds, which fails the requests in hand, and
 * the device fds.
 */
static void leave_now(struct mount *mounts, unsigned int n,
		      pthread_t *tids, unsigned int threads)
{
	/* Left on purpose, not leaked: say so to the thread sanitizer. */
	for (unsigned int i = 0; i < threads; i++)
		pthread_detach(tids[i]);
	log_warnx("second signal with a request in hand: leaving without it");
	for (unsigned int i = 0; i < n; i++)
		if (umount2(mounts[i].mountpoint, MNT_DETACH) && errno != EINVAL)
			log_warn("%s: unmount", mounts[i].mountpoint);
	_exit(1);
}

/* Join the workers, watching for a signal while one takes long. */
static void join_workers(pthread_t *tids, unsigned int threads,
			 struct mount *mounts, unsigned int n)
{
	struct pollfd pfd = { .fd = loop.sigfd, .events = POLLIN };
	struct timespec until;

	for (unsigned int i = 0; i < threads;) {
		clock_gettime(CLOCK_REALTIME, &until);
		timespec_add_ns(&until, JOIN_TICK_NS);
		if (!pthread_timedjoin_np(tids[i], NULL, &until))
			i++;
		else if (poll(&pfd, 1, 0) == 1)
			leave_now(mounts, n, tids + i, threads - i);
	}
}

void loop_run(struct mount *mounts, unsigned int n, unsigned int threads,
	      void (*ready)(void))
{
	pthread_t *tids = calloc(threads, sizeof(*tids));
	unsigned int started = 0;

	if (!tids)
		fatal("worker table");
	for (unsigned int i = 0; i < n; i++)
		arm(&mounts[i], EPOLL_CTL_ADD);
	loop.live = n;
	/* One device alone may have them all; one of several, all but one. */
	loop.share = n > 1 && threads > 1 ? threads - 1 : threads;
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, worker, NULL))
			fatalx("cannot start worker threads");
	ready();
	wait_for_end(loop.sigfd);
	join_workers(tids, started, mounts, n);
	free(tids);
	close(loop.sigfd);
	close(loop.epfd);
	close(loop.stopfd);
	pthread_mutex_destroy(&loop.lock);
}

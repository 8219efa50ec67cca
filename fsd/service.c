// SPDX-License-Identifier: MIT
/*
 * The daemon as a service: every device event goes to the log (log.c),
 * and the service manager hears READY=1 once every mount serves,
 * STOPPING=1 when they are going away, and in STATUS= the devices and
 * their states.  Without NOTIFY_SOCKET, sd_notify() does nothing.
 *
 * A device hands its events over with its lock held, and the journal,
 * syslog or a stderr pipe may stall (journald stopped, a full pipe): so
 * the sink only copies the event into a queue, and one thread of its own
 * sends them out.  A transition never waits for a log line; when the
 * queue is full, events are counted, and the count is logged once it
 * drains.  `log` in the mount keeps every event regardless.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "clock.h"
#include "strbuf.h"
#include "vfio-migfsd.h"

#define QUEUE_LEN	1024
#define SENDER_WAIT_NS	2000000000ull	/* at the end, for a sender stuck in the log */
#define GATHER_NS	1000000		/* a woken sender's wait for the rest of a burst */

struct queued_event {
	struct mount *m;
	struct mig_event ev;		/* ev.message points to text */
	char text[MIG_HISTORY_LINE];
};

static struct mount *mounts;
static unsigned int nmounts;
static enum mig_state *states;	/* each as its device last said (queue.lock once sending) */

/*
 * queue_lock guards the queue, states and, for the sender, the mounts: it
 * makes each line ready under it, and sends it after.  So a sender that
 * the end gave up on (stuck in a stalled log's write) reads nothing of
 * ours once it wakes.  It is taken under a device's lock (the sink),
 * never the other way round; nothing else is taken under it.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;		/* an event, or stop */
	struct queued_event ring[QUEUE_LEN];
	unsigned int head, count;
	uint64_t dropped;		/* events lost to a full queue */
	bool stop;
	bool abandoned;			/* the end did not wait for the sender */
	bool running;			/* the sender thread exists */
	pthread_t sender;
} queue = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
};

/* "STATUS=dev state, ..." of every device. */
static int status_text(struct strbuf *sb)
{
	int err = sb_printf(sb, "STATUS=");

	for (unsigned int i = 0; i < nmounts && !err; i++)
		err = sb_printf(sb, "%s%s %s", i ? ", " : "", mounts[i].dev->name,
				mig_state_name(states[i]));
	return err;
}

/* What one queued event sends: its line, and STATUS= when its device's state moved. */
struct outgoing {
	struct log_line line;
	struct strbuf status;
	uint64_t dropped;
};

static void make_ready_locked(struct outgoing *o, struct queued_event *q)
{
	enum mig_state *seen = &states[q->m - mounts];

	q->ev.message = q->text;
	log_event_line(&o->line, q->m, &q->ev);
	o->status = (struct strbuf){ 0 };
	if (*seen != q->ev.state) {
		*seen = q->ev.state;
		if (status_text(&o->status))
			sb_free(&o->status);
	}
	o->dropped = queue.dropped;
	queue.dropped = 0;
}

static void send_out(struct outgoing *o)
{
	if (o->dropped)
		log_warnx("%llu device events were not logged: the log did not keep up "
			  "(each mount's log file has them)", (unsigned long long)o->dropped);
	log_send(&o->line);
	if (o->status.buf)
		sd_notify(0, o->status.buf);
	sb_free(&o->status);
}

/* struct migdev's sink: runs with the device's lock held, so it only queues. */
static void device_event(void *arg, const struct mig_event *ev)
{
	struct queued_event *q;

	pthread_mutex_lock(&queue.lock);
	if (queue.count == QUEUE_LEN) {
		queue.dropped++;
	} else {
		q = &queue.ring[(queue.head + queue.count++) % QUEUE_LEN];
		q->m = arg;
		q->ev = *ev;
		snprintf(q->text, sizeof(q->text), "%s", ev->message);
		q->ev.message = q->text;
		pthread_cond_signal(&queue.more);
	}
	pthread_mutex_unlock(&queue.lock);
}

/*
 * Woken by an event, the sender lets the rest of its burst (a migration's
 * transitions, a script's) queue before it sends: meanwhile the sink's
 * signal finds nobody waiting and costs no wake-up, which otherwise costs
 * each event two context switches, on 2 CPUs a third of a transition.
 */
static void wait_for_events_locked(void)
{
	if (queue.count || queue.stop)
		return;
	do
		pthread_cond_wait(&queue.more, &queue.lock);
	while (!queue.count && !queue.stop);
	if (queue.stop)
		return;
	pthread_mutex_unlock(&queue.lock);
	nanosleep(&(struct timespec){ .tv_nsec = GATHER_NS }, NULL);
	pthread_mutex_lock(&queue.lock);
}

static void *sender(void *arg)
{
	struct outgoing o;

	(void)arg;
	pthread_mutex_lock(&queue.lock);
	for (;;) {
		wait_for_events_locked();
		if (!queue.count || queue.abandoned)
			break;
		make_ready_locked(&o, &queue.ring[queue.head]);
		queue.head = (queue.head + 1) % QUEUE_LEN;
		queue.count--;
		pthread_mutex_unlock(&queue.lock);
		send_out(&o);
		pthread_mutex_lock(&queue.lock);
	}
	pthread_mutex_unlock(&queue.lock);
	return NULL;
}

void service_init(struct mount *m, unsigned int n)
{
	mounts = m;
	nmounts = n;
	states = calloc(n, sizeof(*states));
	if (!states)
		fatal("state table");
	for (unsigned int i = 0; i < n; i++) {
		states[i] = migdev_state(m[i].dev);
		migdev_set_sink(m[i].dev, device_event, &m[i]);
	}
}

/* Every mount serves: one line each, then READY=1. */
void service_ready(void)
{
	struct strbuf status = { 0 };
	struct log_line l;
	char line[512];

	for (unsigned int i = 0; i < nmounts; i++) {
		struct mig_event ev = {
			.message = line,
			.state = states[i],
		};

		snprintf(line, sizeof(line), "serving %s, %s", mounts[i].dev->name,
			 mig_state_name(ev.state));
		log_event_line(&l, &mounts[i], &ev);
		log_send(&l);
	}
	if (!status_text(&status))
		sd_notify(0, status.buf);
	sb_free(&status);
	sd_notify(0, "READY=1");
	/* After the daemon chose where its log goes (detach): it logs too. */
	if (pthread_create(&queue.sender, NULL, sender, NULL))
		fatal("the log's sender thread");
	queue.running = true;
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* The sender's end, waited for SENDER_WAIT_NS at most. */
static bool sender_ended(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);	/* as pthread_timedjoin_np wants */
	timespec_add_ns(&until, SENDER_WAIT_NS);
	return !pthread_timedjoin_np(queue.sender, NULL, &until);
}

/*
 * No device queues any more; what is queued goes out, then the thread
 * ends.  One stuck in a stalled log's write is left behind (the device
 * fds must still be closed, the process must still end): what it had
 * not sent is lost, and once it wakes it touches nothing of ours.
 */
void service_end(void)
{
	for (unsigned int i = 0; i < nmounts; i++)
		migdev_set_sink(mounts[i].dev, NULL, NULL);
	pthread_mutex_lock(&queue.lock);
	queue.stop = true;
	pthread_cond_signal(&queue.more);
	pthread_mutex_unlock(&queue.lock);
	if (queue.running && !sender_ended())
		pthread_detach(queue.sender);
	pthread_mutex_lock(&queue.lock);
	queue.abandoned = true;
	queue.running = false;
	free(states);
	states = NULL;
	nmounts = 0;
	pthread_mutex_unlock(&queue.lock);
}

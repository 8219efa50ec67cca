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

#include "strbuf.h"
#include "vfio-migfsd.h"

#define QUEUE_LEN	1024

struct queued_event {
	struct mount *m;
	struct mig_event ev;		/* ev.message points to text */
	char text[MIG_HISTORY_LINE];
};

static struct mount *mounts;
static unsigned int nmounts;
static enum mig_state *states;	/* the sender's: each as its device last said */

/*
 * queue_lock guards the queue and is taken under a device's lock (the
 * sink), never the other way round; nothing else is taken under it.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;		/* an event, or stop */
	struct queued_event ring[QUEUE_LEN];
	unsigned int head, count;
	uint64_t dropped;		/* events lost to a full queue */
	bool stop;
	bool running;			/* the sender thread exists */
	pthread_t sender;
} queue = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
};

static void send_status(void)
{
	struct strbuf sb = { 0 };
	int err = 0;

	for (unsigned int i = 0; i < nmounts && !err; i++)
		err = sb_printf(&sb, "%s%s %s", i ? ", " : "", mounts[i].dev->name,
				mig_state_name(states[i]));
	if (!err)
		sd_notifyf(0, "STATUS=%s", sb.buf);
	sb_free(&sb);
}

/* Out to the log, and to STATUS= when the device's state moved. */
static void send_event(struct mount *m, const struct mig_event *ev)
{
	enum mig_state *seen = &states[m - mounts];

	log_event(m, ev);
	if (*seen != ev->state) {
		*seen = ev->state;
		send_status();
	}
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

static void *sender(void *arg)
{
	struct queued_event q;
	uint64_t dropped;

	(void)arg;
	pthread_mutex_lock(&queue.lock);
	for (;;) {
		while (!queue.count && !queue.stop)
			pthread_cond_wait(&queue.more, &queue.lock);
		if (!queue.count)
			break;
		q = queue.ring[queue.head];
		q.ev.message = q.text;
		queue.head = (queue.head + 1) % QUEUE_LEN;
		queue.count--;
		dropped = queue.dropped;
		queue.dropped = 0;
		pthread_mutex_unlock(&queue.lock);
		if (dropped)
			log_warnx("%llu device events were not logged: the log did not keep up "
				  "(each mount's log file has them)", (unsigned long long)dropped);
		send_event(q.m, &q.ev);
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
	char line[512];

	for (unsigned int i = 0; i < nmounts; i++) {
		struct mig_event ev = {
			.message = line,
			.state = states[i],
		};

		snprintf(line, sizeof(line), "serving %s, %s", mounts[i].dev->name,
			 mig_state_name(ev.state));
		log_event(&mounts[i], &ev);
	}
	send_status();
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

/* No device queues any more; what is queued goes out, then the thread ends. */
void service_end(void)
{
	for (unsigned int i = 0; i < nmounts; i++)
		migdev_set_sink(mounts[i].dev, NULL, NULL);
	pthread_mutex_lock(&queue.lock);
	queue.stop = true;
	pthread_cond_signal(&queue.more);
	pthread_mutex_unlock(&queue.lock);
	if (queue.running)
		pthread_join(queue.sender, NULL);
	queue.running = false;
	free(states);
	states = NULL;
	nmounts = 0;
}

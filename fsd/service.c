// SPDX-License-Identifier: MIT
/*
 * The daemon as a service: every device event goes to the log (log.c),
 * and the service manager hears READY=1 once every mount serves,
 * STOPPING=1 when they are going away, and in STATUS= the devices and
 * their states.  Without NOTIFY_SOCKET, sd_notify() does nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "strbuf.h"
#include "vfio-migfsd.h"

static struct mount *mounts;
static unsigned int nmounts;
static enum mig_state *states;	/* atomic: each as its device last said */
/* The last STATUS= sent is rendered after every state it reports moved. */
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;

static void send_status(void)
{
	struct strbuf sb = { 0 };
	int err = 0;

	pthread_mutex_lock(&status_lock);
	for (unsigned int i = 0; i < nmounts && !err; i++)
		err = sb_printf(&sb, "%s%s %s", i ? ", " : "", mounts[i].dev->name,
				mig_state_name(__atomic_load_n(&states[i],
							       __ATOMIC_RELAXED)));
	if (!err)
		sd_notifyf(0, "STATUS=%s", sb.buf);
	pthread_mutex_unlock(&status_lock);
	sb_free(&sb);
}

/* struct migdev's sink: runs with the device's lock held. */
static void device_event(void *arg, const struct mig_event *ev)
{
	struct mount *m = arg;
	enum mig_state *seen = &states[m - mounts];

	log_event(m, ev);
	if (__atomic_exchange_n(seen, ev->state, __ATOMIC_RELAXED) != ev->state)
		send_status();
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
			.state = __atomic_load_n(&states[i], __ATOMIC_RELAXED),
		};

		snprintf(line, sizeof(line), "serving %s, %s", mounts[i].dev->name,
			 mig_state_name(ev.state));
		log_event(&mounts[i], &ev);
	}
	send_status();
	sd_notify(0, "READY=1");
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void service_end(void)
{
	for (unsigned int i = 0; i < nmounts; i++)
		migdev_set_sink(mounts[i].dev, NULL, NULL);
	free(states);
	states = NULL;
	nmounts = 0;
}

// SPDX-License-Identifier: MIT
/*
 * P2P DMA between the sim devices of one process, as between devices of
 * one VM: a device with `peer=NAME` writes into the internal state of the
 * sim called NAME, peer_rate times a second, while it may DMA.  This is
 * what the kernel's P2P states exist for: a peer that is no longer
 * running (STOP, STOP_COPY, RESUMING, ERROR) does not accept the write,
 * so it is lost to the migration.  docs/sim-device.md has the rules.
 *
 * A link's writes are issued by the clock, like the device's work, but by
 * whichever end catches up first: the issuer before it stops issuing, the
 * peer before it stops accepting.  So every write is judged by the state
 * the peer was in when the write was due, however lazily either device
 * is served.  peer_lock guards the registry, every link and every port's
 * `accepts`; it is taken with at most one device lock held (the caller's)
 * and no device lock is taken under it, so two devices writing into each
 * other cannot deadlock.  A port's state (img) changes only under its own
 * device's lock: writes wait in the link until the peer's next op.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "sim.h"

struct sim_link {
	char *name;			/* the peer's NAME */
	uint64_t rate;			/* writes a second */
	struct sim_port *peer;		/* the open sim of that NAME, or NULL */
	bool issuing;			/* the issuer's state may DMA */
	uint64_t clock_ns;		/* writes are issued up to here */
	uint64_t rng;			/* picks what a write changes */
	uint64_t accepted, stray;	/* issued, not landed yet */
	uint64_t sent, lost;
	bool losing;			/* since the last accepted write */
	bool loss_unlogged;		/* a loss the issuer has not logged */
	bool absent;			/* ... because the peer was not open */
};

static pthread_mutex_t peer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_port *registry;

static struct sim_port *lookup(const char *name, const struct sim_port *self)
{
	for (struct sim_port *p = registry; p; p = p->next)
		if (p != self && !strcmp(p->name, name))
			return p;
	return NULL;
}

static void count_loss(struct sim_link *l, uint64_t n)
{
	l->lost += n;
	if (!l->losing) {
		l->losing = true;
		l->loss_unlogged = true;
		l->absent = !l->peer;
	}
}

/*
 * Issue the writes due until now.  A peer in the running states takes
 * them; any other loses them, yet they still land in its memory, as a
 * write to a stopped device's BAR does: after its state was captured.
 */
static void link_catch_up(struct sim_link *l, const struct sim_port *self,
			  uint64_t now)
{
	uint64_t n;

	if (!l->issuing) {
		l->clock_ns = now;
		return;
	}
	n = sim_due(&l->clock_ns, now, l->rate);
	if (!n)
		return;
	if (!l->peer)
		l->peer = lookup(l->name, self);
	l->sent += n;
	if (!l->peer) {
		count_loss(l, n);
	} else if (l->peer->accepts) {
		l->accepted += n;
		l->losing = false;
	} else {
		l->stray += n;
		count_loss(l, n);
	}
}

/*
 * Writes waiting for this port land; called with its device's lock.  A
 * lost write lands after the state was captured: at once when stopped,
 * at the end of the session when saving in STOP_COPY (the stream holds
 * the state at the moment of stopping).  At most SIM_CATCHUP_MAX of
 * each land at once, like the device's own work.
 */
static void land(struct sim_link *l, struct sim_port *port,
		 struct sim_saver *saver)
{
	uint64_t n = l->accepted < SIM_CATCHUP_MAX ? l->accepted : SIM_CATCHUP_MAX;
	uint64_t m = l->stray < SIM_CATCHUP_MAX ? l->stray : SIM_CATCHUP_MAX;

	while (n--) {
		uint64_t blk = sim_scribble(port->img, &l->rng);

		if (saver)
			sim_saver_touch(saver, blk);
	}
	l->accepted = 0;
	if (saver)
		return;
	while (m--)
		sim_scribble(port->img, &l->rng);
	l->stray = 0;
}

/* The writes of self's link and into self, up to now. */
static void exchange(struct sim_port *self, struct sim_saver *saver)
{
	uint64_t now = now_ns();

	if (self->link)
		link_catch_up(self->link, self, now);
	for (struct sim_port *p = registry; p; p = p->next) {
		struct sim_link *l = p->link;

		if (!l || strcmp(l->name, self->name))
			continue;
		link_catch_up(l, p, now);
		if (l->peer == self)
			land(l, self, saver);
	}
}

void sim_port_catch_up(struct sim_port *port, struct migdev *dev,
		       struct sim_saver *saver)
{
	struct sim_link *l = port->link;
	bool log = false, absent = false;
	uint64_t lost = 0;

	pthread_mutex_lock(&peer_lock);
	exchange(port, saver);
	if (l && l->loss_unlogged) {
		l->loss_unlogged = false;
		log = true;
		absent = l->absent;
		lost = l->lost;
	}
	pthread_mutex_unlock(&peer_lock);
	/* The log's sink runs the daemon's code: not under peer_lock. */
	if (log && absent)
		migdev_event_locked(dev, "sim: peer %s is not open: P2P write lost (%" PRIu64
			     " lost so far)", l->name, lost);
	else if (log)
		migdev_event_locked(dev, "sim: peer %s does not accept P2P writes: write lost (%"
			     PRIu64 " lost so far)", l->name, lost);
}

void sim_port_state(struct sim_port *port, enum mig_state state,
		    struct sim_saver *saver)
{
	pthread_mutex_lock(&peer_lock);
	exchange(port, saver);
	port->accepts = mig_state_running(state);
	if (port->link)
		port->link->issuing = mig_state_dma(state);
	pthread_mutex_unlock(&peer_lock);
}

int sim_port_show(struct sim_port *port, struct strbuf *sb)
{
	struct sim_link *l = port->link;
	uint64_t sent, lost, rate;
	bool open;

	if (!l)
		return sb_printf(sb, "peer: none\n");
	pthread_mutex_lock(&peer_lock);
	sent = l->sent;
	lost = l->lost;
	rate = l->rate;
	open = l->peer || lookup(l->name, port);
	pthread_mutex_unlock(&peer_lock);
	return sb_printf(sb, "peer: %s%s\nrate: %" PRIu64 "\nsent: %" PRIu64
			 "\nlost: %" PRIu64 "\n", l->name, open ? "" : " (not open)",
			 rate, sent, lost);
}

int sim_port_open(struct sim_port *port, struct sim_image *img,
		  const char *name, size_t namelen, const char *peer,
		  uint64_t rate, uint64_t seed)
{
	memset(port, 0, sizeof(*port));
	port->img = img;
	port->accepts = true;		/* power-on: RUNNING */
	port->name = strndup(name, namelen);
	if (!port->name)
		return -ENOMEM;
	if (peer) {
		port->link = calloc(1, sizeof(*port->link));
		if (!port->link || !(port->link->name = strdup(peer))) {
			free(port->link);
			free(port->name);
			return -ENOMEM;
		}
		port->link->rate = rate;
		port->link->issuing = true;
		port->link->clock_ns = now_ns();
		port->link->rng = seed ^ 0x9e3779b97f4a7c15ull;
	}
	/* A name is what peer= binds to: two of one name would be a guess. */
	pthread_mutex_lock(&peer_lock);
	if (lookup(port->name, NULL)) {
		pthread_mutex_unlock(&peer_lock);
		if (port->link)
			free(port->link->name);
		free(port->link);
		free(port->name);
		return -EEXIST;
	}
	port->next = registry;
	registry = port;
	pthread_mutex_unlock(&peer_lock);
	return 0;
}

void sim_port_close(struct sim_port *port)
{
	pthread_mutex_lock(&peer_lock);
	for (struct sim_port **pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == port) {
			*pp = port->next;
			break;
		}
	}
	/* Writes on their way to a device that goes away are gone. */
	for (struct sim_port *p = registry; p; p = p->next) {
		if (p->link && p->link->peer == port) {
			p->link->peer = NULL;
			p->link->accepted = p->link->stray = 0;
		}
	}
	pthread_mutex_unlock(&peer_lock);
	if (port->link)
		free(port->link->name);
	free(port->link);
	free(port->name);
}

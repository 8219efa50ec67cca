/* SPDX-License-Identifier: MIT */
/*
 * The sim backend: a software model of a migratable VFIO device.
 *
 * sim.c is the device (arcs, work), sim_attrs.c its files; sim_opts.c is its
 * argument; sim_dirty.c is its DMA log; sim_stream.c is its migration data
 * stream, which only sees the device's internal state as a struct
 * sim_image; sim_peer.c is its P2P DMA into other sims of the process;
 * sim_work.c is the device running (its work and DMA by the clock);
 * sim_image.c what work does to a state, for sim_work.c and sim_peer.c.
 * The format is in docs/sim-device.md.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "migstate.h"


/*
 * Perform items work items now, as the running device would over time
 * (none in STOP, STOP_COPY, RESUMING or ERROR; no DMA in P2P states).
 * Takes dev->lock; for tests, which cannot wait for the clock.
 */
void sim_work(struct migdev *dev, unsigned int items);

#define SIM_BLOCK_SIZE	(64u * 1024)
#define SIM_PAGE_SIZE	4096u		/* the granule of the device's DMA */

/*
 * The DMA log (sim_dirty.c): one bitmap per range, made by dmalog_new()
 * (-EINVAL for ranges or a page size the device cannot log, -ENOMEM).
 * dmalog_mark() runs with dev->lock held, dmalog_report() with the dirty
 * log's lock only; both at once are fine.  dmalog_take() hands over the
 * bitmaps, one per range, and frees the rest.
 */
struct dmalog;
int dmalog_new(struct dmalog **logp, const struct mig_range *ranges,
	       unsigned int nranges, uint64_t page_size);
void dmalog_free(struct dmalog *log);
void dmalog_take(struct dmalog *log, uint64_t **bitmaps);
void dmalog_mark(struct dmalog *log, uint64_t iova, uint64_t len);
/* As log_report (backend.h); -EINVAL for a span not page aligned. */
int dmalog_report(struct dmalog *log, uint64_t iova, uint64_t length,
		  uint64_t *bitmap, size_t *touched);

/* The internal state of a device, cut into blocks of SIM_BLOCK_SIZE. */
struct sim_image {
	unsigned char *mem;
	uint64_t size;
	uint64_t nblocks;
};

/* Length of block idx: SIM_BLOCK_SIZE, except maybe the last one. */
uint32_t sim_block_len(const struct sim_image *img, uint64_t idx);
/* The 64-bit digest of the whole state (XXH64, seed 0): sim/digest. */
uint64_t sim_digest(const struct sim_image *img);
/* Bytes of a complete stream from STOP: header, every block, end. */
uint64_t sim_stream_size(const struct sim_image *img);

/*
 * The saving side.  A new saver has the whole state queued as initial
 * data; sim_saver_touch() tells it a block changed, which queues the
 * block again if it was already sent.  sim_saver_read() returns bytes,
 * or when nothing is queued: 0 after the end record if final (STOP_COPY),
 * else -ENOMSG.
 */
struct sim_saver;
struct sim_saver *sim_saver_new(const struct sim_image *img);
void sim_saver_free(struct sim_saver *s);
void sim_saver_touch(struct sim_saver *s, uint64_t block);
ssize_t sim_saver_read(struct sim_saver *s, void *buf, size_t len, bool final);
void sim_saver_pending(const struct sim_saver *s, uint64_t *initial,
		       uint64_t *dirty);

/*
 * The resuming side: writes verified blocks into img as records complete.
 * sim_loader_write() returns len, or -EINVAL for a stream that does not
 * fit img or is damaged (and -EINVAL for every later write).
 * sim_loader_finish() returns 0 only if a complete, intact stream was
 * loaded, every block included, and the digest of its end record matches
 * the block records loaded, else -EIO.
 */
struct sim_loader;
struct sim_loader *sim_loader_new(struct sim_image *img);
void sim_loader_free(struct sim_loader *l);
ssize_t sim_loader_write(struct sim_loader *l, const void *buf, size_t len);
/* The quirk accept_corrupt: block payloads are loaded without their CRC checked. */
void sim_loader_trust_payload(struct sim_loader *l);
int sim_loader_finish(const struct sim_loader *l);

/*
 * Shared by the device's work and its P2P writes (sim_image.c).  sim_rand()
 * steps a splitmix64 generator: a sim's content and work follow from its
 * NAME's seed.  sim_due()
 * returns the items due at rate per second from *clock_ns to now (at most
 * SIM_CATCHUP_MAX; an idle hour costs nothing) and advances *clock_ns by
 * the time they took.  sim_scribble() changes up to 8 bytes of one block
 * of img picked by rng (the first byte always changes) and returns it.
 */
#define SIM_CATCHUP_MAX	4096u
/* Inline: the power-on fill calls it for every 8 bytes of the state. */
static inline uint64_t sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
uint64_t sim_due(uint64_t *clock_ns, uint64_t now, uint64_t rate);
uint64_t sim_scribble(struct sim_image *img, uint64_t *rng);

/*
 * P2P DMA between the sims of one process (sim_peer.c).  Every sim has a
 * port, found by its NAME.  A port with a peer issues rate writes a second
 * into the peer's state while its device may DMA (RUNNING, PRE_COPY); the
 * peer accepts them in the running states and loses them in every other.
 * A write lands in the peer's state at the peer's next op (under its
 * lock); the ports' shared part is under a lock of sim_peer.c taken after
 * a device lock, never before, so no two device locks are ever held.
 *
 * sim_port_catch_up() runs at the start of every op, sim_port_state()
 * after every arc and reset (the device's new state): writes due until
 * then are issued and judged in the state being left.  saver is the
 * device's saving session or NULL; an accepted write dirties its block.
 */
struct sim_link;
struct sim_port {
	struct sim_port *next;		/* in the registry */
	char *name;
	struct sim_image *img;
	bool accepts;			/* the device is in a running state */
	struct sim_link *link;		/* to the peer, or NULL */
};

int sim_port_open(struct sim_port *port, struct sim_image *img,
		  const char *name, size_t namelen, const char *peer,
		  uint64_t rate, uint64_t seed);
void sim_port_close(struct sim_port *port);
void sim_port_catch_up(struct sim_port *port, struct migdev *dev,
		       struct sim_saver *saver);
void sim_port_state(struct sim_port *port, enum mig_state state,
		    struct sim_saver *saver);
int sim_port_show(struct sim_port *port, struct strbuf *sb);

/*
 * Quirks: each breaks one rule of the migration contract on purpose, so
 * that `vfio-migctl check` can be shown to fail it (docs/sim-device.md).
 */
#define SIM_Q_OPEN_STOP_COPY	(1u << 0)	/* found in stop_copy at open */
#define SIM_Q_ARC_REFUSED	(1u << 1)	/* refuses pre_copy_p2p -> pre_copy */
#define SIM_Q_RESET_STOP	(1u << 2)	/* a reset in stop_copy or resuming lands in stop */
#define SIM_Q_SIZE_UNDER	(1u << 3)	/* data_size a block short */
#define SIM_Q_PRECOPY_GROWS	(1u << 4)	/* initial_bytes grows as it is read */
#define SIM_Q_P2P_DMA		(1u << 5)	/* DMA in running_p2p */
#define SIM_Q_LOAD_LOSES	(1u << 6)	/* a loaded state loses a byte */
#define SIM_Q_ACCEPT_CORRUPT	(1u << 7)	/* block payloads are not checked */
#define SIM_Q_KEEP_REFUSED	(1u << 8)	/* after a refused write, stop succeeds */
#define SIM_Q_DIRTY_NO_CLEAR	(1u << 9)	/* a dirty report does not clear */

/*
 * The device itself, for sim.c and its files (sim_attrs.c).  The fields
 * below dev are guarded by dev->lock, as the rest of a migdev.
 */
struct sim_fail {
	enum mig_state state;		/* MIG_ERROR: nothing armed */
	int err;
};

struct sim {
	struct migdev dev;
	struct sim_image img;
	enum mig_state state;
	uint64_t seed;			/* from NAME: content and work */
	uint64_t rng;			/* picks what the work changes */
	uint64_t dirty_rate;		/* work items per second */
	uint64_t guest_mem;
	uint64_t load_us;		/* the least time a resume write takes */
	unsigned int quirks;		/* SIM_Q_*: rules broken on purpose */
	bool refused;			/* a resume write of this session was refused */
	uint64_t precopy_asked;		/* the quirk precopy_grows: answers given */
	uint64_t clock_ns;		/* time up to which work was done */
	struct sim_saver *saver;	/* in the saving group */
	struct sim_loader *loader;	/* in RESUMING */
	struct sim_fail fail;
	struct dmalog *dmalog;		/* while tracking */
	struct sim_port port;		/* P2P DMA, sim_peer.c */
};

static inline struct sim *to_sim(struct migdev *dev)
{
	return (struct sim *)((char *)dev - offsetof(struct sim, dev));
}

/* sim_work.c: do the work the clock says is due; dev->lock held. */
void sim_catch_up(struct sim *sim);
/* A DMA write of [iova, iova + len) of guest memory, to the log; dev->lock held. */
void sim_dma(struct sim *sim, uint64_t iova, uint64_t len);
extern const struct mig_attr sim_attrs[];

/*
 * The device argument (sim_opts.c): sim_parse_spec() fills o, whose err
 * and errlen the caller sets, or returns -EINVAL with a message in err.
 */
struct sim_opts {
	const char *name;
	size_t namelen;
	char who[64];		/* "sim:NAME", for messages */
	uint64_t size, dirty_rate, guest_mem, load_us, peer_rate;
	char peer[64];		/* NAME of the peer, or "" */
	unsigned int flags;
	unsigned int quirks;	/* SIM_Q_* */
	char *err;
	size_t errlen;
};
int sim_parse_spec(const char *spec, struct sim_opts *o);

#endif

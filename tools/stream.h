/* SPDX-License-Identifier: MIT */
/*
 * The stream format of docs/stream-format.md (stream.c): a library of its
 * own, with no policy and no process state, that the tool, the unit tests
 * and the fuzzers link.  The caller says when to give up: a reader's and
 * a writer's cancel flag (the tool's is its signal flag).
 */
#ifndef MIGCTL_STREAM_H
#define MIGCTL_STREAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FEATURE_STOP_COPY	(1u << 0)	/* bits of the `features` words */
#define FEATURE_P2P		(1u << 1)
#define FEATURE_PRE_COPY	(1u << 2)
#define FEATURE_DIRTY		(1u << 3)

#define STREAM_NAME_MAX		255
#define STREAM_SET_MAX		64	/* devices in one stream */
#define STREAM_CHUNK_HEADER	36
#define STREAM_CHUNK_MAX	(16u << 20)
#define STREAM_HEADER_MAX	(32 + STREAM_SET_MAX * (8 + STREAM_NAME_MAX) + 4)

enum {
	CHUNK_PRECOPY = 1,
	CHUNK_STOPCOPY = 2,
	CHUNK_END = 0x454E4421,
};

struct stream_device {
	uint32_t features;	/* FEATURE_* */
	char source[STREAM_NAME_MAX + 1];
};

/* One device, or a set of them. */
struct stream_header {
	uint32_t count;		/* devices, 1 to STREAM_SET_MAX */
	uint64_t created;	/* seconds since the epoch */
	uint64_t id;		/* random, this save's: in every chunk */
	struct stream_device dev[STREAM_SET_MAX];
};

struct stream_chunk {
	uint32_t type, len;
	uint32_t dev;		/* the device's index in the header */
	uint64_t seq;
	uint32_t crc;		/* of the payload, as read */
};

struct stream_totals {
	uint64_t precopy_bytes, stopcopy_bytes, chunks;
};

struct stream_writer {
	int fd;
	const atomic_int *cancel;	/* non-zero: give up (-EINTR); NULL never */
	uint32_t count;			/* of the header written */
	uint64_t id;
	struct stream_totals totals;
};

struct stream_reader {
	int fd;
	const atomic_int *cancel;	/* non-zero: give up (-EINTR); NULL never */
	uint64_t offset;		/* bytes read so far */
	uint32_t count;			/* of the header read */
	uint64_t id;
	uint32_t dev;			/* the last data chunk's device */
	struct stream_totals totals;	/* of the data chunks read so far */
	struct stream_totals dev_totals[STREAM_SET_MAX];	/* and per device */
	char error[160];		/* why the stream was refused */
};

/* A save's header: count devices (described by the caller), now, a new id. */
int stream_header_init(struct stream_header *h, uint32_t count);
/* Encoders, for the writer and for tests; out holds STREAM_HEADER_MAX. */
size_t stream_header_encode(const struct stream_header *h, uint8_t *out);
/* Returns the chunk header's size; out holds STREAM_CHUNK_HEADER. */
size_t stream_chunk_encode(uint64_t id, const struct stream_chunk *c,
			   const void *payload, uint8_t *out);
/* All of buf, or -errno; -EINTR once *cancel (if cancel).  Also for `data`. */
int write_all(int fd, const void *buf, size_t len, const atomic_int *cancel);
/* Writers return 0 or -errno. */
int stream_write_header(struct stream_writer *w, const struct stream_header *h);
int stream_write_data(struct stream_writer *w, uint32_t dev, uint32_t type,
		      const void *payload, uint32_t len);
int stream_write_end(struct stream_writer *w);

/*
 * Readers return 0 (the header), a chunk's type (CHUNK_END last: the end
 * chunk was checked and nothing follows), or -EBADMSG with r->error set.
 * buf holds STREAM_CHUNK_MAX bytes.
 */
int stream_read_header(struct stream_reader *r, struct stream_header *h);
int stream_read_chunk(struct stream_reader *r, void *buf, uint32_t *len);

#endif

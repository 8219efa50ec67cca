// SPDX-License-Identifier: MIT
/*
 * The stream format of docs/stream-format.md: encoding and checking of the
 * header, the chunks and the end chunk.  No policy here: the writer frames
 * what it is given, the reader refuses anything that is not exactly a
 * well-formed stream, with the reason in words.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "vfio-migctl.h"

#define MAGIC		"VFMIGSTR"
#define HEADER_FIXED	28	/* the header up to the source name */
#define END_PAYLOAD	24

/*
 * Set by the commands' SIGINT/SIGTERM handler.  Checked here too: a
 * signal that comes while a write to a pipe is blocked ends that write
 * with what it had written, and the next one would block again.
 */
volatile sig_atomic_t interrupted;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t stream_header_encode(const struct stream_header *h, uint8_t *out)
{
	size_t n = strnlen(h->source, STREAM_NAME_MAX);

	memcpy(out, MAGIC, 8);
	put32(out + 8, STREAM_VERSION);
	put32(out + 12, h->features);
	put64(out + 16, h->created);
	put32(out + 24, (uint32_t)n);
	memcpy(out + HEADER_FIXED, h->source, n);
	put32(out + HEADER_FIXED + n, crc32c(0, out, HEADER_FIXED + n));
	return HEADER_FIXED + n + 4;
}

void stream_chunk_encode(uint32_t type, uint64_t seq, const void *payload,
			 uint32_t len, uint8_t out[STREAM_CHUNK_HEADER])
{
	put32(out, type);
	put32(out + 4, len);
	put64(out + 8, seq);
	put32(out + 16, crc32c(0, payload, len));
	put32(out + 20, crc32c(0, out, 20));
}

/* --- writing --- */

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n;

		if (interrupted)
			return -EINTR;
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int stream_write_header(struct stream_writer *w, const struct stream_header *h)
{
	uint8_t buf[HEADER_FIXED + STREAM_NAME_MAX + 4];

	memset(&w->totals, 0, sizeof(w->totals));
	return write_all(w->fd, buf, stream_header_encode(h, buf));
}

/* Chunks are numbered from 1 in stream order, the end chunk last. */
static int write_chunk(struct stream_writer *w, uint32_t type,
		       const void *payload, uint32_t len)
{
	uint8_t head[STREAM_CHUNK_HEADER];
	int err;

	stream_chunk_encode(type, w->totals.chunks + 1, payload, len, head);
	err = write_all(w->fd, head, sizeof(head));
	return err ? err : write_all(w->fd, payload, len);
}

int stream_write_data(struct stream_writer *w, uint32_t type,
		      const void *payload, uint32_t len)
{
	int err = write_chunk(w, type, payload, len);

	if (!err) {
		w->totals.chunks++;
		if (type == CHUNK_PRECOPY)
			w->totals.precopy_bytes += len;
		else
			w->totals.stopcopy_bytes += len;
	}
	return err;
}

int stream_write_end(struct stream_writer *w)
{
	uint8_t end[END_PAYLOAD];

	put64(end, w->totals.precopy_bytes);
	put64(end + 8, w->totals.stopcopy_bytes);
	put64(end + 16, w->totals.chunks);
	return write_chunk(w, CHUNK_END, end, sizeof(end));
}

/* --- reading --- */

/* Reads exactly len bytes; returns 0, 1 at a clean end of input, or -errno. */
static int read_exact(struct stream_reader *r, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n;

		if (interrupted)
			return -EINTR;
		n = read(r->fd, p + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		*got += (size_t)n;
		r->offset += (uint64_t)n;
	}
	return 0;
}

__attribute__((format(printf, 2, 3)))
static int refuse(struct stream_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int read_or_refuse(struct stream_reader *r, void *buf, size_t len)
{
	size_t got;
	int err = read_exact(r, buf, len, &got);

	if (err < 0)
		return refuse(r, "reading the stream: %s", strerror(-err));
	if (err)
		return refuse(r, "truncated stream: it ends at byte %llu",
			      (unsigned long long)r->offset);
	return 0;
}

int stream_read_header(struct stream_reader *r, struct stream_header *h)
{
	uint8_t buf[HEADER_FIXED + STREAM_NAME_MAX + 4];
	uint32_t n;
	int err;

	memset(h, 0, sizeof(*h));
	memset(&r->totals, 0, sizeof(r->totals));
	r->offset = 0;
	err = read_or_refuse(r, buf, HEADER_FIXED);
	if (err)
		return err;
	if (memcmp(buf, MAGIC, 8))
		return refuse(r, "not a vfio-migfs stream");
	if (get32(buf + 8) == 1)
		return refuse(r, "stream format version 1 is no longer read "
			      "(its chunks have no order); save it again with this vfio-migctl");
	if (get32(buf + 8) != STREAM_VERSION)
		return refuse(r, "stream version %u is not supported (%u is)",
			      get32(buf + 8), STREAM_VERSION);
	n = get32(buf + 24);
	if (n > STREAM_NAME_MAX)
		return refuse(r, "corrupt stream header");
	err = read_or_refuse(r, buf + HEADER_FIXED, n + 4);
	if (err)
		return err;
	/* The source is a name, text: a NUL in it is not what a writer made. */
	if (get32(buf + HEADER_FIXED + n) != crc32c(0, buf, HEADER_FIXED + n) ||
	    memchr(buf + HEADER_FIXED, '\0', n))
		return refuse(r, "corrupt stream header");
	h->features = get32(buf + 12);
	h->created = get64(buf + 16);
	memcpy(h->source, buf + HEADER_FIXED, n);
	h->source[n] = '\0';
	return 0;
}

static int check_end(struct stream_reader *r, const uint8_t *end)
{
	uint8_t extra;
	size_t got;

	if (get64(end) != r->totals.precopy_bytes ||
	    get64(end + 8) != r->totals.stopcopy_bytes ||
	    get64(end + 16) != r->totals.chunks)
		return refuse(r, "the end chunk does not match the stream");
	if (!r->totals.stopcopy_bytes)
		return refuse(r, "the stream has no stop_copy data");
	if (read_exact(r, &extra, 1, &got) == 0)
		return refuse(r, "data after the end of the stream at byte %llu",
			      (unsigned long long)r->offset - 1);
	return 0;
}

static bool length_ok(uint32_t type, uint32_t len)
{
	if (type == CHUNK_END)
		return len == END_PAYLOAD;
	return (type == CHUNK_PRECOPY || type == CHUNK_STOPCOPY) &&
	       len >= 1 && len <= STREAM_CHUNK_MAX;
}

int stream_read_chunk(struct stream_reader *r, void *buf, uint32_t *len)
{
	uint8_t head[STREAM_CHUNK_HEADER];
	uint64_t at = r->offset;
	uint32_t type;
	int err = read_or_refuse(r, head, sizeof(head));

	if (err)
		return err;
	type = get32(head);
	*len = get32(head + 4);
	if (get32(head + 20) != crc32c(0, head, 20) || !length_ok(type, *len))
		return refuse(r, "corrupt chunk header at byte %llu", (unsigned long long)at);
	/* A chunk swapped, repeated or missing is refused before its payload. */
	if (get64(head + 8) != r->totals.chunks + 1)
		return refuse(r, "chunk out of order at byte %llu: chunk %llu where %llu belongs",
			      (unsigned long long)at, (unsigned long long)get64(head + 8),
			      (unsigned long long)r->totals.chunks + 1);
	if (type == CHUNK_PRECOPY && r->totals.stopcopy_bytes)
		return refuse(r, "precopy chunk after stop_copy data at byte %llu",
			      (unsigned long long)at);
	err = read_or_refuse(r, buf, *len);
	if (err)
		return err;
	if (get32(head + 16) != crc32c(0, buf, *len))
		return refuse(r, "corrupt chunk at byte %llu (CRC mismatch)",
			      (unsigned long long)at);
	if (type == CHUNK_END)
		return check_end(r, buf) ?: CHUNK_END;
	r->totals.chunks++;
	if (type == CHUNK_PRECOPY)
		r->totals.precopy_bytes += *len;
	else
		r->totals.stopcopy_bytes += *len;
	return (int)type;
}

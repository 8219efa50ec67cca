// SPDX-License-Identifier: MIT
/*
 * The stream format of docs/stream-format.md: encoding and checking of the
 * header, the chunks and the end chunk.  No policy here: the writer frames
 * what it is given, the reader refuses anything that is not exactly a
 * well-formed stream, with the reason in words.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "stream.h"
#include "util.h"

#define MAGIC		"VFMIGSTR"
#define FORMAT		4
#define HEADER_FIXED	32	/* the header up to its first device */
#define END_PAYLOAD	24

static size_t put_device(uint8_t *out, const struct stream_device *d)
{
	size_t n = strnlen(d->source, STREAM_NAME_MAX);

	put_le32(out, d->features);
	put_le32(out + 4, (uint32_t)n);
	memcpy(out + 8, d->source, n);
	return 8 + n;
}

int stream_header_init(struct stream_header *h, uint32_t count)
{
	memset(h, 0, sizeof(*h));
	h->count = count;
	h->created = (uint64_t)time(NULL);
	/* Not a secret: only unlikely to be another save's, so a short read will do. */
	if (getrandom(&h->id, sizeof(h->id), 0) != (ssize_t)sizeof(h->id))
		return -errno;
	return 0;
}

size_t stream_header_encode(const struct stream_header *h, uint8_t *out)
{
	size_t len = HEADER_FIXED;

	memcpy(out, MAGIC, 8);
	put_le32(out + 8, FORMAT);
	put_le32(out + 12, h->count);
	put_le64(out + 16, h->created);
	put_le64(out + 24, h->id);
	for (uint32_t i = 0; i < h->count; i++)
		len += put_device(out + len, &h->dev[i]);
	put_le32(out + len, crc32c(0, out, len));
	return len + 4;
}

size_t stream_chunk_encode(uint64_t id, const struct stream_chunk *c,
			   const void *payload, uint8_t *out)
{
	put_le32(out, c->type);
	put_le32(out + 4, c->len);
	put_le64(out + 8, c->seq);
	put_le64(out + 16, id);
	put_le32(out + 24, c->dev);
	put_le32(out + 28, crc32c(0, payload, c->len));
	put_le32(out + 32, crc32c(0, out, 32));
	return STREAM_CHUNK_HEADER;
}

static void count_chunk(struct stream_totals *t, uint32_t type, uint32_t len)
{
	t->chunks++;
	if (type == CHUNK_PRECOPY)
		t->precopy_bytes += len;
	else
		t->stopcopy_bytes += len;
}

/* --- writing --- */

int write_all(int fd, const void *buf, size_t len, const atomic_int *cancel)
{
	const char *p = buf;

	while (len) {
		ssize_t n;

		if (cancel && atomic_load(cancel))
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
	uint8_t buf[STREAM_HEADER_MAX];

	memset(&w->totals, 0, sizeof(w->totals));
	w->id = h->id;
	w->count = h->count;
	return write_all(w->fd, buf, stream_header_encode(h, buf), w->cancel);
}

/* Chunks are numbered from 1 in stream order, the end chunk last. */
static int write_chunk(struct stream_writer *w, uint32_t dev, uint32_t type,
		       const void *payload, uint32_t len)
{
	struct stream_chunk c = { .type = type, .len = len, .dev = dev,
				  .seq = w->totals.chunks + 1 };
	uint8_t head[STREAM_CHUNK_HEADER];
	int err;

	err = write_all(w->fd, head, stream_chunk_encode(w->id, &c, payload, head), w->cancel);
	return err ? err : write_all(w->fd, payload, len, w->cancel);
}

int stream_write_data(struct stream_writer *w, uint32_t dev, uint32_t type,
		      const void *payload, uint32_t len)
{
	int err;

	if (dev >= w->count)
		return -EINVAL;
	err = write_chunk(w, dev, type, payload, len);
	if (!err)
		count_chunk(&w->totals, type, len);
	return err;
}

int stream_write_end(struct stream_writer *w)
{
	uint8_t end[END_PAYLOAD];

	put_le64(end, w->totals.precopy_bytes);
	put_le64(end + 8, w->totals.stopcopy_bytes);
	put_le64(end + 16, w->totals.chunks);
	return write_chunk(w, 0, CHUNK_END, end, sizeof(end));
}

/* --- reading --- */

/* Reads exactly len bytes; returns 0, 1 at a clean end of input, or -errno. */
static int read_exact(struct stream_reader *r, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n;

		if (r->cancel && atomic_load(r->cancel))
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

/*
 * The header is read a field at a time, so that each length is checked
 * before it is trusted: *at is how much of buf is read.
 */
static int read_more(struct stream_reader *r, uint8_t *buf, size_t *at, size_t len)
{
	int err = read_or_refuse(r, buf + *at, len);

	*at += len;
	return err;
}

/* A name: its length word (the last 4 bytes read), then its bytes. */
static int read_name(struct stream_reader *r, uint8_t *buf, size_t *at, char *name)
{
	uint32_t n = get_le32(buf + *at - 4);
	int err;

	if (n > STREAM_NAME_MAX)
		return refuse(r, "corrupt stream header");
	err = read_more(r, buf, at, n);
	if (err)
		return err;
	/* A name is text: a NUL in it is not what a writer made. */
	if (memchr(buf + *at - n, '\0', n))
		return refuse(r, "corrupt stream header");
	memcpy(name, buf + *at - n, n);
	name[n] = '\0';
	return 0;
}

/* The count (in the fixed part), then features and a name per device. */
static int read_devices(struct stream_reader *r, uint8_t *buf, struct stream_header *h,
			size_t *at)
{
	int err = 0;

	h->count = get_le32(buf + 12);
	if (h->count < 1 || h->count > STREAM_SET_MAX)
		return refuse(r, "corrupt stream header");
	for (uint32_t i = 0; !err && i < h->count; i++) {
		err = read_more(r, buf, at, 8);
		h->dev[i].features = get_le32(buf + *at - 8);
		err = err ? err : read_name(r, buf, at, h->dev[i].source);
	}
	return err;
}

/* Versions before this one, refused with what they lacked. */
static int refuse_version(struct stream_reader *r, uint32_t version)
{
	static const char *const lacked[] = {
		[1] = "its chunks have no order",
		[2] = "its chunks are not bound to their stream",
		[3] = "its chunks are not bound to their stream",
	};

	if (version >= 1 && version < FORMAT)
		return refuse(r, "stream format version %u is no longer read (%s); "
			      "save it again with this vfio-migctl", version, lacked[version]);
	return refuse(r, "stream version %u is not supported (%u is)", version, FORMAT);
}

int stream_read_header(struct stream_reader *r, struct stream_header *h)
{
	uint8_t buf[STREAM_HEADER_MAX];
	uint32_t version;
	size_t at = HEADER_FIXED;
	int err;

	memset(h, 0, sizeof(*h));
	memset(&r->totals, 0, sizeof(r->totals));
	memset(r->dev_totals, 0, sizeof(r->dev_totals));
	r->offset = 0;
	err = read_or_refuse(r, buf, HEADER_FIXED);
	if (err)
		return err;
	if (memcmp(buf, MAGIC, 8))
		return refuse(r, "not a vfio-migfs stream");
	version = get_le32(buf + 8);
	if (version != FORMAT)
		return refuse_version(r, version);
	err = read_devices(r, buf, h, &at);
	err = err ? err : read_more(r, buf, &at, 4);
	if (err)
		return err;
	if (get_le32(buf + at - 4) != crc32c(0, buf, at - 4))
		return refuse(r, "corrupt stream header");
	h->created = get_le64(buf + 16);
	h->id = get_le64(buf + 24);
	r->id = h->id;
	r->count = h->count;
	return 0;
}

static int check_end(struct stream_reader *r, const uint8_t *end)
{
	uint8_t extra;
	size_t got;

	if (get_le64(end) != r->totals.precopy_bytes ||
	    get_le64(end + 8) != r->totals.stopcopy_bytes ||
	    get_le64(end + 16) != r->totals.chunks)
		return refuse(r, "the end chunk does not match the stream");
	for (uint32_t i = 0; i < r->count; i++) {
		if (r->dev_totals[i].stopcopy_bytes)
			continue;
		if (r->count == 1)
			return refuse(r, "the stream has no stop_copy data");
		return refuse(r, "the stream has no stop_copy data for device %u", i + 1);
	}
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

/*
 * The chunk header at byte at, checked; *c what it says.  Its CRC covers
 * the stream's id: a chunk of another save, whole and in its place, is
 * refused before its payload as surely as a damaged one.
 */
static int read_chunk_header(struct stream_reader *r, uint64_t at, struct stream_chunk *c)
{
	uint8_t head[STREAM_CHUNK_HEADER];
	int err = read_or_refuse(r, head, sizeof(head));

	if (err)
		return err;
	c->type = get_le32(head);
	c->len = get_le32(head + 4);
	c->seq = get_le64(head + 8);
	c->dev = get_le32(head + 24);
	c->crc = get_le32(head + 28);
	/* The end chunk is the stream's, not a device's: its index is 0. */
	if (get_le32(head + 32) != crc32c(0, head, 32) || !length_ok(c->type, c->len) ||
	    c->dev >= (c->type == CHUNK_END ? 1 : r->count))
		return refuse(r, "corrupt chunk header at byte %llu", (unsigned long long)at);
	if (get_le64(head + 16) != r->id)
		return refuse(r, "chunk of another stream at byte %llu (stream %016llx, "
			      "not this one's %016llx)", (unsigned long long)at,
			      (unsigned long long)get_le64(head + 16), (unsigned long long)r->id);
	/* A chunk swapped, repeated or missing is refused before its payload. */
	if (c->seq != r->totals.chunks + 1)
		return refuse(r, "chunk out of order at byte %llu: chunk %llu where %llu belongs",
			      (unsigned long long)at, (unsigned long long)c->seq,
			      (unsigned long long)r->totals.chunks + 1);
	if (c->type == CHUNK_PRECOPY && r->dev_totals[c->dev].stopcopy_bytes)
		return refuse(r, "precopy chunk after stop_copy data at byte %llu",
			      (unsigned long long)at);
	return 0;
}

int stream_read_chunk(struct stream_reader *r, void *buf, uint32_t *len)
{
	struct stream_chunk c;
	uint64_t at = r->offset;
	int err = read_chunk_header(r, at, &c);

	if (err)
		return err;
	*len = c.len;
	err = read_or_refuse(r, buf, c.len);
	if (err)
		return err;
	if (c.crc != crc32c(0, buf, c.len))
		return refuse(r, "corrupt chunk at byte %llu (CRC mismatch)",
			      (unsigned long long)at);
	if (c.type == CHUNK_END)
		return check_end(r, buf) ?: CHUNK_END;
	r->dev = c.dev;
	count_chunk(&r->totals, c.type, c.len);
	count_chunk(&r->dev_totals[c.dev], c.type, c.len);
	return (int)c.type;
}

// SPDX-License-Identifier: MIT
/*
 * The stream format (docs/stream-format.md): the bytes the writer lays
 * down, and a reader that takes exactly well-formed streams.  Streams live
 * in a memfd, read back through the same fd calls the tool makes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "crc32c.h"
#include "stream.h"

/* A small stream: a header, two precopy chunks, one stop_copy chunk. */
static const char pre1[] = "first precopy bytes";
static const char pre2[] = "second";
static const char stop1[] = "the stop-copy part of the device state";

static int memfd(void)
{
	int fd = memfd_create("stream", 0);

	assert_true(fd >= 0);
	return fd;
}

/* The small stream, of the save whose id is id. */
static int write_stream_of(uint64_t id)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 1, .created = 1764000000, .id = id,
				   .dev[0] = { FEATURE_STOP_COPY | FEATURE_PRE_COPY, "sim:a" } };

	assert_int_equal(stream_write_header(&w, &h), 0);
	assert_int_equal(stream_write_data(&w, 0, CHUNK_PRECOPY, pre1, sizeof(pre1)), 0);
	assert_int_equal(stream_write_data(&w, 0, CHUNK_PRECOPY, pre2, sizeof(pre2)), 0);
	assert_int_equal(stream_write_data(&w, 0, CHUNK_STOPCOPY, stop1, sizeof(stop1)), 0);
	assert_int_equal(stream_write_end(&w), 0);
	return w.fd;
}

#define SMALL_ID	0x1122334455667788ull

static int write_stream(void)
{
	return write_stream_of(SMALL_ID);
}

static size_t stream_bytes(int fd, uint8_t *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, 0);

	assert_true(n > 0 && (size_t)n < len);
	return (size_t)n;
}

/* A fresh memfd holding bytes. */
static int from_bytes(const uint8_t *buf, size_t len)
{
	int fd = memfd();

	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void set_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads a whole stream; returns the last result (CHUNK_END or an error). */
static int read_all(int fd, struct stream_reader *r, char *payloads, size_t *plen)
{
	static uint8_t chunk[STREAM_CHUNK_MAX];
	struct stream_header h;
	uint32_t len;
	int type;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	*plen = 0;
	if ((type = stream_read_header(r, &h)))
		return type;
	while ((type = stream_read_chunk(r, chunk, &len)) > 0 && type != CHUNK_END) {
		memcpy(payloads + *plen, chunk, len);
		*plen += len;
	}
	return type;
}

/* The stream in fd is refused, saying why; fd is closed. */
static void assert_refused(int fd, const char *why, const char *what)
{
	struct stream_reader r;
	char payloads[256];
	size_t len;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(read_all(fd, &r, payloads, &len), -EBADMSG);
	if (!strstr(r.error, why))
		fail_msg("%s: '%s' does not say '%s'", what, r.error, why);
	close(fd);
}

/* The small stream's bytes, in b; returns their count. */
static size_t small_stream(uint8_t *b, size_t len)
{
	int fd = write_stream();
	size_t n = stream_bytes(fd, b, len);

	close(fd);
	return n;
}

static void test_layout(void **state)
{
	uint8_t b[512];
	int fd = write_stream();
	size_t n = stream_bytes(fd, b, sizeof(b)), off;

	(void)state;
	assert_memory_equal(b, "VFMIGSTR", 8);
	assert_int_equal(le32(b + 8), 4);
	assert_int_equal(le32(b + 12), 1);	/* devices */
	assert_int_equal(le32(b + 16), 1764000000);
	assert_int_equal(le32(b + 20), 0);
	assert_int_equal(le32(b + 24), (uint32_t)SMALL_ID);
	assert_int_equal(le32(b + 28), SMALL_ID >> 32);
	assert_int_equal(le32(b + 32), FEATURE_STOP_COPY | FEATURE_PRE_COPY);
	assert_int_equal(le32(b + 36), 5);
	assert_memory_equal(b + 40, "sim:a", 5);
	assert_int_equal(le32(b + 45), crc32c(0, b, 45));
	/*
	 * The first chunk: type, length, number (64 bits), the stream's id,
	 * device, payload CRC, header CRC, payload.
	 */
	off = 49;
	assert_int_equal(le32(b + off), CHUNK_PRECOPY);
	assert_int_equal(le32(b + off + 4), sizeof(pre1));
	assert_int_equal(le32(b + off + 8), 1);
	assert_int_equal(le32(b + off + 12), 0);
	assert_memory_equal(b + off + 16, b + 24, 8);
	assert_int_equal(le32(b + off + 24), 0);
	assert_int_equal(le32(b + off + 28), crc32c(0, pre1, sizeof(pre1)));
	assert_int_equal(le32(b + off + 32), crc32c(0, b + off, 32));
	assert_memory_equal(b + off + 36, pre1, sizeof(pre1));
	/* The second one is number 2. */
	assert_int_equal(le32(b + off + 36 + sizeof(pre1) + 8), 2);
	/* The end chunk closes the stream, numbered last: 36 + 24 bytes. */
	off = n - 60;
	assert_int_equal(le32(b + off), CHUNK_END);
	assert_int_equal(le32(b + off + 4), 24);
	assert_int_equal(le32(b + off + 8), 4);
	assert_memory_equal(b + off + 16, b + 24, 8);
	assert_int_equal(le32(b + off + 24), 0);
	assert_int_equal(le32(b + off + 36), sizeof(pre1) + sizeof(pre2));
	assert_int_equal(le32(b + off + 44), sizeof(stop1));
	assert_int_equal(le32(b + off + 52), 3);
	close(fd);
}

static void test_round_trip(void **state)
{
	char payloads[256], want[256];
	struct stream_reader r;
	struct stream_header h;
	size_t len;
	int fd = write_stream();

	(void)state;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(read_all(fd, &r, payloads, &len), CHUNK_END);
	/* The payloads, concatenated, are the device's bytes in order. */
	memcpy(want, pre1, sizeof(pre1));
	memcpy(want + sizeof(pre1), pre2, sizeof(pre2));
	memcpy(want + sizeof(pre1) + sizeof(pre2), stop1, sizeof(stop1));
	assert_int_equal(len, sizeof(pre1) + sizeof(pre2) + sizeof(stop1));
	assert_memory_equal(payloads, want, len);
	assert_int_equal(r.totals.chunks, 3);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	r.fd = fd;
	assert_int_equal(stream_read_header(&r, &h), 0);
	assert_string_equal(h.dev[0].source, "sim:a");
	assert_int_equal(h.count, 1);
	assert_int_equal(h.id, SMALL_ID);
	assert_int_equal(h.created, 1764000000);
	close(fd);
}

/* The stream with one byte changed must be refused, saying why. */
static void expect_refused(const uint8_t *orig, size_t n, size_t at, uint8_t xor,
			   const char *why)
{
	uint8_t b[512];
	char what[32];

	memcpy(b, orig, n);
	b[at] ^= xor;
	snprintf(what, sizeof(what), "byte %zu", at);
	assert_refused(from_bytes(b, n), why, what);
}

static void test_damage(void **state)
{
	uint8_t b[512];
	size_t n = small_stream(b, sizeof(b));

	(void)state;
	expect_refused(b, n, 0, 0x20, "not a vfio-migfs stream");
	expect_refused(b, n, 8, 0x02, "stream version 6 is not supported (4 is)");
	expect_refused(b, n, 12, 0x01, "corrupt stream header");	/* 0 devices */
	expect_refused(b, n, 24, 0x01, "corrupt stream header");	/* the id */
	expect_refused(b, n, 42, 0x01, "corrupt stream header");	/* the name */
	expect_refused(b, n, 49, 0x01, "corrupt chunk header at byte 49");
	expect_refused(b, n, 53, 0x01, "corrupt chunk header at byte 49");
	expect_refused(b, n, 57, 0x01, "corrupt chunk header at byte 49");	/* number */
	expect_refused(b, n, 65, 0x01, "corrupt chunk header at byte 49");	/* the id */
	expect_refused(b, n, 73, 0x01, "corrupt chunk header at byte 49");	/* device */
	expect_refused(b, n, 85, 0x01, "corrupt chunk at byte 49 (CRC mismatch)");
	expect_refused(b, n, n - 1, 0x01, "corrupt chunk at byte");	/* the end chunk */
	/* Every byte of the stream is covered by a check. */
	for (size_t i = 0; i < n; i++)
		expect_refused(b, n, i, 0x80, "");
}

/* Cut the stream anywhere: never accepted. */
static void test_truncated(void **state)
{
	uint8_t b[512];
	size_t n = small_stream(b, sizeof(b));

	(void)state;
	for (size_t cut = 0; cut < n; cut++)
		assert_refused(from_bytes(b, cut), "truncated stream: it ends at byte", "a cut");
}

/* A chunk with a valid header CRC but a type or length out of the rules. */
static void expect_chunk_refused(uint32_t type, uint32_t len, const char *why)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 1, .dev[0].source = "x" };
	uint8_t head[STREAM_CHUNK_HEADER], payload[64] = { 0 };

	assert_int_equal(stream_write_header(&w, &h), 0);
	/* Frame a short payload, then claim len: the header CRC still holds. */
	stream_chunk_encode(h.id, &(struct stream_chunk){ .type = type, .len = sizeof(payload),
							  .seq = 1 }, payload, head);
	set_le32(head + 4, len);
	set_le32(head + 32, crc32c(0, head, 32));
	assert_int_equal(write(w.fd, head, sizeof(head)), (ssize_t)sizeof(head));
	assert_int_equal(write(w.fd, payload, sizeof(payload)), (ssize_t)sizeof(payload));
	assert_refused(w.fd, why, "a chunk");
}

static void test_bad_chunks(void **state)
{
	(void)state;
	expect_chunk_refused(3, 8, "corrupt chunk header");
	expect_chunk_refused(CHUNK_PRECOPY, 0, "corrupt chunk header");
	expect_chunk_refused(CHUNK_STOPCOPY, STREAM_CHUNK_MAX + 1, "corrupt chunk header");
	expect_chunk_refused(CHUNK_END, 16, "corrupt chunk header");
}

/* Well-framed chunks in an order or a total the format forbids. */
static void expect_order_refused(const uint32_t *types, size_t n, bool tamper_end,
				 const char *why)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 1, .dev[0].source = "x" };

	assert_int_equal(stream_write_header(&w, &h), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(stream_write_data(&w, 0, types[i], "abcd", 4), 0);
	if (tamper_end)
		w.totals.stopcopy_bytes++;
	assert_int_equal(stream_write_end(&w), 0);
	assert_refused(w.fd, why, "chunk order");
}

static void test_bad_order(void **state)
{
	static const uint32_t stop_then_pre[] = { CHUNK_STOPCOPY, CHUNK_PRECOPY };
	static const uint32_t pre_only[] = { CHUNK_PRECOPY };
	static const uint32_t stop_only[] = { CHUNK_STOPCOPY };

	(void)state;
	expect_order_refused(stop_then_pre, 2, false,
			     "precopy chunk after stop_copy data at byte");
	expect_order_refused(pre_only, 1, false, "the stream has no stop_copy data");
	expect_order_refused(stop_only, 1, true, "the end chunk does not match the stream");
}

/*
 * Chunk order.  A stream of four stop_copy chunks of one size, so that
 * moving whole chunks keeps every total the end chunk checks.
 */
#define ORDER_CHUNKS	4
#define ORDER_PAYLOAD	8
#define ORDER_CHUNK	(STREAM_CHUNK_HEADER + ORDER_PAYLOAD)

/* The order stream's bytes; *head is where its first chunk begins. */
static size_t order_stream(uint8_t *b, size_t len, size_t *head)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 1, .dev[0].source = "x" };
	char payload[ORDER_PAYLOAD];
	size_t n;

	assert_int_equal(stream_write_header(&w, &h), 0);
	*head = (size_t)lseek(w.fd, 0, SEEK_CUR);
	for (int i = 1; i <= ORDER_CHUNKS; i++) {
		snprintf(payload, sizeof(payload), "chunk%d", i);
		assert_int_equal(stream_write_data(&w, 0, CHUNK_STOPCOPY, payload,
						   sizeof(payload)), 0);
	}
	assert_int_equal(stream_write_end(&w), 0);
	n = stream_bytes(w.fd, b, len);
	close(w.fd);
	return n;
}

/*
 * Reads the order stream with its data chunks replaced by those numbered
 * in order[] (from 1; 0 ends the list).  Returns what read_all() does; the
 * payloads handed to the caller before it stopped are in payloads.
 */
static int read_reordered(const int *order, struct stream_reader *r,
			  char *payloads, size_t *plen)
{
	uint8_t orig[512], b[512];
	size_t head, n = order_stream(orig, sizeof(orig), &head);
	size_t end = head + ORDER_CHUNKS * ORDER_CHUNK, out = head;
	int fd, ret;

	memcpy(b, orig, head);
	for (size_t i = 0; order[i]; i++, out += ORDER_CHUNK)
		memcpy(b + out, orig + head + (size_t)(order[i] - 1) * ORDER_CHUNK,
		       ORDER_CHUNK);
	memcpy(b + out, orig + end, n - end);
	fd = from_bytes(b, out + n - end);
	ret = read_all(fd, r, payloads, plen);
	close(fd);
	return ret;
}

/*
 * order[] is refused with why at the chunk in position `bad` (from 0),
 * and none of that chunk's payload reached the caller: only the payloads
 * of the chunks before it did.
 */
static void expect_order_refused_at(const int *order, size_t bad, const char *why)
{
	char payloads[256], want[256], expect[160];
	struct stream_reader r;
	uint8_t orig[512];
	size_t head, plen;

	order_stream(orig, sizeof(orig), &head);
	snprintf(expect, sizeof(expect), "chunk out of order at byte %zu: %s",
		 head + bad * ORDER_CHUNK, why);
	assert_int_equal(read_reordered(order, &r, payloads, &plen), -EBADMSG);
	assert_string_equal(r.error, expect);
	for (size_t i = 0; i < bad; i++)
		snprintf(want + i * ORDER_PAYLOAD, ORDER_PAYLOAD, "chunk%d", order[i]);
	assert_int_equal(plen, bad * ORDER_PAYLOAD);
	assert_memory_equal(payloads, want, plen);
}

static void test_chunk_order(void **state)
{
	static const int in_order[] = { 1, 2, 3, 4, 0 };
	static const int swapped[] = { 1, 3, 2, 4, 0 };
	static const int repeated[] = { 1, 2, 2, 4, 0 };	/* 3 dropped */
	static const int dropped[] = { 1, 2, 4, 0 };
	static const int rotated[] = { 2, 3, 4, 1, 0 };
	static const int last_twice[] = { 1, 2, 3, 4, 4, 0 };
	struct stream_reader r;
	char payloads[256];
	size_t plen;

	(void)state;
	/* The frame the cases below build on reads back whole. */
	assert_int_equal(read_reordered(in_order, &r, payloads, &plen), CHUNK_END);
	assert_int_equal(plen, ORDER_CHUNKS * ORDER_PAYLOAD);
	expect_order_refused_at(swapped, 1, "chunk 3 where 2 belongs");
	expect_order_refused_at(repeated, 2, "chunk 2 where 3 belongs");
	expect_order_refused_at(dropped, 2, "chunk 4 where 3 belongs");
	expect_order_refused_at(rotated, 0, "chunk 2 where 1 belongs");
	expect_order_refused_at(last_twice, 4, "chunk 4 where 5 belongs");
}

/* Streams of earlier versions are refused at their header, saying why. */
static void expect_old_version(uint32_t version, const char *lacked)
{
	uint8_t b[512];
	size_t n = small_stream(b, sizeof(b));
	char why[160];

	set_le32(b + 8, version);
	set_le32(b + 45, crc32c(0, b, 45));
	snprintf(why, sizeof(why), "stream format version %u is no longer read (%s); "
		 "save it again with this vfio-migctl", version, lacked);
	assert_refused(from_bytes(b, n), why, "an old version");
}

static void test_old_version(void **state)
{
	(void)state;
	expect_old_version(1, "its chunks have no order");
	expect_old_version(2, "its chunks are not bound to their stream");
	expect_old_version(3, "its chunks are not bound to their stream");
}

/*
 * A chunk of another save of the same source, whole and at the same
 * place: every CRC, number and total holds; only the stream's id tells.
 * It is refused from its header, before any of its payload is handed on.
 */
static void test_foreign_chunk(void **state)
{
	uint8_t a[512], b[512];
	int fa = write_stream_of(SMALL_ID), fb = write_stream_of(SMALL_ID + 1);
	size_t n = stream_bytes(fa, a, sizeof(a)), second = 49 + 36 + sizeof(pre1);
	struct stream_reader r;
	char payloads[256], why[128];
	size_t plen;
	int fd;

	(void)state;
	assert_int_equal(stream_bytes(fb, b, sizeof(b)), n);
	close(fa);
	close(fb);
	/* The second chunk of the other save, in its place. */
	memcpy(a + second, b + second, 36 + sizeof(pre2));
	fd = from_bytes(a, n);
	assert_int_equal(read_all(fd, &r, payloads, &plen), -EBADMSG);
	snprintf(why, sizeof(why), "chunk of another stream at byte %zu (stream %016llx, "
		 "not this one's %016llx)", second, SMALL_ID + 1, SMALL_ID);
	assert_string_equal(r.error, why);
	assert_int_equal(plen, sizeof(pre1));
	close(fd);
	/* Its end chunk. */
	small_stream(a, sizeof(a));
	memcpy(a + n - 60, b + n - 60, 60);
	assert_refused(from_bytes(a, n), "chunk of another stream at byte", "a foreign end");
}

/* Two saves never share an id. */
static void test_header_init(void **state)
{
	struct stream_header a, b;

	(void)state;
	assert_int_equal(stream_header_init(&a, 3), 0);
	assert_int_equal(stream_header_init(&b, 3), 0);
	assert_int_equal(a.count, 3);
	assert_true(a.created > 1764000000);
	assert_true(a.id != b.id);
}

/* A name with a NUL, under a valid CRC: not what a writer makes. */
static void test_source_nul(void **state)
{
	uint8_t b[512];
	size_t n = small_stream(b, sizeof(b));

	(void)state;
	b[42] = '\0';	/* "si\0:a" */
	set_le32(b + 45, crc32c(0, b, 45));
	assert_refused(from_bytes(b, n), "corrupt stream header", "a NUL in the source");
}

static void test_trailing_bytes(void **state)
{
	uint8_t b[512];
	size_t n = small_stream(b, sizeof(b));

	(void)state;
	b[n] = 0;
	assert_refused(from_bytes(b, n + 1), "data after the end of the stream", "one byte more");
}

/* --- sets --- */

/* Two devices, their chunks interleaved as a set's threads write them. */
static const struct { uint32_t dev, type; const char *payload; } set_chunks[] = {
	{ 0, CHUNK_PRECOPY, "a-pre" },
	{ 1, CHUNK_PRECOPY, "b-pre" },
	{ 1, CHUNK_STOPCOPY, "b-stop" },
	{ 0, CHUNK_PRECOPY, "a-pre2" },	/* a's precopy after b's stop_copy: fine */
	{ 0, CHUNK_STOPCOPY, "a-stop" },
};

static size_t set_stream(uint8_t *b, size_t len, size_t nchunks)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 2, .created = 1764000000,
				   .dev = { { FEATURE_P2P, "sim:a" }, { 0, "sim:bb" } } };
	size_t n;

	assert_int_equal(stream_write_header(&w, &h), 0);
	for (size_t i = 0; i < nchunks; i++)
		assert_int_equal(stream_write_data(&w, set_chunks[i].dev, set_chunks[i].type,
						   set_chunks[i].payload,
						   (uint32_t)strlen(set_chunks[i].payload)), 0);
	/* A device the header does not name has no chunks. */
	assert_int_equal(stream_write_data(&w, 2, CHUNK_STOPCOPY, "x", 1), -EINVAL);
	assert_int_equal(stream_write_end(&w), 0);
	n = stream_bytes(w.fd, b, len);
	close(w.fd);
	return n;
}

static void test_set_round_trip(void **state)
{
	static uint8_t chunk[STREAM_CHUNK_MAX];
	struct stream_header h;
	struct stream_reader r = { 0 };
	uint8_t b[512];
	size_t n = set_stream(b, sizeof(b), 5), i = 0;
	uint32_t len;
	int type;

	(void)state;
	assert_int_equal(le32(b + 8), 4);
	assert_int_equal(le32(b + 12), 2);
	r.fd = from_bytes(b, n);
	assert_int_equal(stream_read_header(&r, &h), 0);
	assert_int_equal(h.count, 2);
	assert_string_equal(h.dev[0].source, "sim:a");
	assert_int_equal(h.dev[0].features, FEATURE_P2P);
	assert_string_equal(h.dev[1].source, "sim:bb");
	assert_int_equal(h.created, 1764000000);
	while ((type = stream_read_chunk(&r, chunk, &len)) > 0 && type != CHUNK_END) {
		assert_true(i < 5);
		assert_int_equal(r.dev, set_chunks[i].dev);
		assert_int_equal(type, set_chunks[i].type);
		assert_int_equal(len, strlen(set_chunks[i].payload));
		assert_memory_equal(chunk, set_chunks[i].payload, len);
		i++;
	}
	assert_int_equal(type, CHUNK_END);
	assert_int_equal(i, 5);
	assert_int_equal(r.dev_totals[0].precopy_bytes, 11);
	assert_int_equal(r.dev_totals[0].stopcopy_bytes, 6);
	assert_int_equal(r.dev_totals[1].stopcopy_bytes, 6);
	assert_int_equal(r.totals.chunks, 5);
	close(r.fd);
}

/* Every byte of a set's stream is checked, and every cut is found. */
static void test_set_damage(void **state)
{
	uint8_t b[512];
	size_t n = set_stream(b, sizeof(b), 5);

	(void)state;
	for (size_t i = 0; i < n; i++)
		expect_refused(b, n, i, 0x80, "");
	for (size_t cut = 0; cut < n; cut++)
		assert_refused(from_bytes(b, cut), "truncated stream: it ends at byte", "a cut");
}

/* Each device of a set needs its stop_copy data, and its precopy first. */
static void test_set_rules(void **state)
{
	struct stream_writer w = { .fd = memfd() };
	struct stream_header h = { .count = 2, .dev = { { 0, "a" }, { 0, "b" } } };
	uint8_t b[512], head[STREAM_CHUNK_HEADER];
	struct stream_chunk c = { .type = CHUNK_STOPCOPY, .len = 1, .dev = 2, .seq = 1 };

	(void)state;
	assert_refused(from_bytes(b, set_stream(b, sizeof(b), 3)),
		       "the stream has no stop_copy data for device 1", "a set without a's");
	assert_int_equal(stream_write_header(&w, &h), 0);
	assert_int_equal(stream_write_data(&w, 1, CHUNK_STOPCOPY, "x", 1), 0);
	assert_int_equal(stream_write_data(&w, 1, CHUNK_PRECOPY, "x", 1), 0);
	assert_refused(w.fd, "precopy chunk after stop_copy data at byte", "b's order");
	/* A chunk of a device the header does not name, well framed. */
	w.fd = memfd();
	assert_int_equal(stream_write_header(&w, &h), 0);
	assert_int_equal(stream_chunk_encode(h.id, &c, "x", head), STREAM_CHUNK_HEADER);
	assert_int_equal(write(w.fd, head, sizeof(head)), (ssize_t)sizeof(head));
	assert_int_equal(write(w.fd, "x", 1), 1);
	assert_refused(w.fd, "corrupt chunk header at byte", "device 3 of 2");
}

/* The end chunk is the stream's: a device index in it is not what a writer made. */
static void test_end_device(void **state)
{
	uint8_t b[512];
	size_t n = set_stream(b, sizeof(b), 5), end = n - 60;

	(void)state;
	set_le32(b + end + 24, 1);
	set_le32(b + end + 32, crc32c(0, b + end, 32));
	assert_refused(from_bytes(b, n), "corrupt chunk header at byte", "an end of device 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_bad_order),
		cmocka_unit_test(test_chunk_order),
		cmocka_unit_test(test_old_version),
		cmocka_unit_test(test_foreign_chunk),
		cmocka_unit_test(test_header_init),
		cmocka_unit_test(test_source_nul),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_set_round_trip),
		cmocka_unit_test(test_set_damage),
		cmocka_unit_test(test_set_rules),
		cmocka_unit_test(test_end_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

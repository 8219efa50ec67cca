// SPDX-License-Identifier: MIT
/*
 * vfio-migctl's stream decoder (tools/stream.c).  Any bytes are read as
 * `vfio-migctl load` reads them; a stream it takes must be exactly what
 * the writer makes of the decoded header and chunks: a decoded stream
 * re-encodes to itself, byte for byte.  A refusal must say why.
 *
 * The first byte of the input picks whether the rest is read as it is
 * or with every CRC made right first (as far as its lengths lay the
 * stream out), so that the checks behind the CRCs are reached too, and
 * every chunk given the header's stream id (unless bit 1 is set).
 *
 * At exit it prints how far the inputs went (run.sh fails a run in which
 * any count stayed 0): headers of one device and of a set taken, data
 * chunks taken, streams taken whole.  The seeds (tests/streamfmt.py,
 * an encoder of its own) reach them all.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "crc32c.h"
#include "fuzz.h"
#include "stream.h"
#include "util.h"

static uint8_t chunk[STREAM_CHUNK_MAX];

enum { REACHED_ONE, REACHED_SET, REACHED_CHUNK, REACHED_END, REACHED_COUNT };
static const char *const reached_what[REACHED_COUNT] = {
	"header of one device", "header of a set", "data chunk", "end chunk",
};
static unsigned long long reached[REACHED_COUNT];

static void report(void)
{
	for (int i = 0; i < REACHED_COUNT; i++)
		fprintf(stderr, "coverage: %s: %llu\n", reached_what[i], reached[i]);
}

/* The header's end (where its CRC goes) in the layout of docs/stream-format.md, or 0. */
static size_t header_end(const uint8_t *p, size_t size)
{
	uint32_t count;
	size_t off = 32;

	if (size < off)
		return 0;
	count = get_le32(p + 12);
	for (uint32_t i = 0; i < count && i <= STREAM_SET_MAX; i++) {
		if (off + 8 > size || get_le32(p + off + 4) > STREAM_NAME_MAX)
			return 0;
		off += 8 + get_le32(p + off + 4);
	}
	return off + 4 <= size ? off : 0;
}

static void fix_crcs(uint8_t *p, size_t size, bool ids)
{
	size_t off, n = header_end(p, size);

	if (!n)
		return;
	put_le32(p + n, crc32c(0, p, n));
	for (off = n + 4; off + STREAM_CHUNK_HEADER <= size; ) {
		size_t len = get_le32(p + off + 4);

		if (len > size - off - STREAM_CHUNK_HEADER)
			return;
		if (ids)
			memcpy(p + off + 16, p + 24, 8);
		put_le32(p + off + 28, crc32c(0, p + off + STREAM_CHUNK_HEADER, len));
		put_le32(p + off + 32, crc32c(0, p + off, 32));
		off += STREAM_CHUNK_HEADER + len;
	}
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("stream", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET))
		abort();
	return fd;
}

/* Decodes the stream in in while writing it again to out; the last result. */
static int decode(int in, int out)
{
	struct stream_reader r = { .fd = in };
	struct stream_writer w = { .fd = out };
	struct stream_header h;
	uint32_t len;
	int type;

	type = stream_read_header(&r, &h);
	if (!type) {
		reached[h.count == 1 ? REACHED_ONE : REACHED_SET]++;
		fuzz_check(!stream_write_header(&w, &h), "write header");
	}
	while (!type || (type > 0 && type != CHUNK_END)) {
		type = stream_read_chunk(&r, chunk, &len);
		if (type > 0 && type != CHUNK_END) {
			reached[REACHED_CHUNK]++;
			fuzz_check(!stream_write_data(&w, r.dev, (uint32_t)type, chunk, len), "write chunk");
		}
	}
	if (type == CHUNK_END) {
		reached[REACHED_END]++;
		fuzz_check(!memcmp(&r.totals, &w.totals, sizeof(r.totals)), "totals differ");
		fuzz_check(!stream_write_end(&w), "write end");
	} else {
		fuzz_check(r.error[0], "refused without a reason");
	}
	return type;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t isize)
{
	static uint8_t again[1 << 20], data[1 << 20];
	static bool registered;
	size_t size = isize ? isize - 1 : 0;
	int in, out;

	if (!registered)
		registered = !atexit(report);
	if (size > sizeof(data))
		return 0;
	memcpy(data, input + 1, size);
	if (isize && input[0] & 1)
		fix_crcs(data, size, !(input[0] & 2));
	in = memfd_with(data, size);
	out = memfd_create("again", 0);

	if (decode(in, out) == CHUNK_END) {
		ssize_t n = pread(out, again, sizeof(again), 0);

		fuzz_check(n == (ssize_t)size && !memcmp(again, data, size),
			   "a %zu-byte stream decodes and re-encodes to %zd other bytes",
			   size, n);
	}
	close(in);
	close(out);
	return 0;
}

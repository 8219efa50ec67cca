// SPDX-License-Identifier: MIT
/*
 * vfio-migctl's stream decoder (tools/stream.c).  Any bytes are read as
 * `vfio-migctl load` reads them; a stream it takes must be exactly what
 * the writer makes of the decoded header and chunks: a decoded stream
 * re-encodes to itself, byte for byte.  A refusal must say why.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "vfio-migctl.h"

static uint8_t chunk[STREAM_CHUNK_MAX];

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
	if (!type)
		fuzz_check(!stream_write_header(&w, &h), "write header");
	while (!type || (type > 0 && type != CHUNK_END)) {
		type = stream_read_chunk(&r, chunk, &len);
		if (type > 0 && type != CHUNK_END)
			fuzz_check(!stream_write_data(&w, (uint32_t)type, chunk, len), "write chunk");
	}
	if (type == CHUNK_END) {
		fuzz_check(!memcmp(&r.totals, &w.totals, sizeof(r.totals)), "totals differ");
		fuzz_check(!stream_write_end(&w), "write end");
	} else {
		fuzz_check(r.error[0], "refused without a reason");
	}
	return type;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int in = memfd_with(data, size), out = memfd_create("again", 0);
	static uint8_t again[1 << 20];

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

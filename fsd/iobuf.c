// SPDX-License-Identifier: MIT
/*
 * One I/O buffer per worker thread, for the data path's reads (`data`,
 * `log`): allocated at a worker's first read, kept for the next, freed
 * when the worker ends.  No allocation per request.  The dirty bitmaps
 * have one of their own that is all zero between reads: a report sets
 * only the words of dirty pages, and late in precopy nearly none are, so
 * the reader clears what the report says it touched, not a whole MiB.
 */
#include <stdlib.h>

#include "vfio-migfsd.h"

static __thread void *iobuf, *zerobuf;

void *io_buffer(void)
{
	if (!iobuf)
		iobuf = malloc(IO_SIZE);
	return iobuf;
}

/*
 * Each page written once: pages never written map the shared zero page,
 * which FUSE's reply cannot pin the fast way (gup_fast), and took the slow
 * one (the mmap lock, a VMA walk) at every read.  Volatile, or the
 * compiler makes calloc() of malloc() and memset().
 */
void *io_zero_buffer(void)
{
	if (!zerobuf && (zerobuf = calloc(1, IO_SIZE)))
		for (size_t i = 0; i < IO_SIZE; i += 4096)
			((volatile char *)zerobuf)[i] = 0;
	return zerobuf;
}

void io_buffer_free(void)
{
	free(iobuf);
	free(zerobuf);
	iobuf = zerobuf = NULL;
}

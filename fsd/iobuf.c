// SPDX-License-Identifier: MIT
/*
 * One I/O buffer per worker thread, for the data path's reads (`data`,
 * `log`, the dirty bitmaps): allocated at a worker's first read, kept for
 * the next, freed when the worker ends.  No allocation per request.
 */
#include <stdlib.h>

#include "vfio-migfsd.h"

static __thread void *iobuf;

void *io_buffer(void)
{
	if (!iobuf)
		iobuf = malloc(IO_SIZE);
	return iobuf;
}

void io_buffer_free(void)
{
	free(iobuf);
	iobuf = NULL;
}

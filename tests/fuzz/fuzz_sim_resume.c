// SPDX-License-Identifier: MIT
/*
 * The sim's stream loader fed arbitrary bytes: the first byte sets how
 * the rest is cut into writes; then resuming -> stop, where the device
 * checks what it was given.  Whatever it says, it says it cleanly.
 */
#include <errno.h>

#include "backend.h"
#include "fuzz.h"

static struct migdev *dev;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160];

	(void)argc;
	(void)argv;
	if (migdev_open("sim:d,size=8K", &dev, err, sizeof(err)))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct migdev_stream st = { 0 };
	size_t cut, off;
	int err;

	if (!size)
		return 0;
	cut = data[0] ? data[0] : size;
	fuzz_check(migdev_reset(dev) == 0 && migdev_set_state(dev, MIG_RESUMING) == 0,
		   "cannot start resuming");
	for (off = 1; off < size; off += cut) {
		size_t n = size - off < cut ? size - off : cut;
		ssize_t w = migdev_write(dev, &st, data + off, n);

		if (w < 0) {
			fuzz_check(w == -EINVAL, "resume write: %zd", w);
			break;
		}
		fuzz_check((size_t)w == n, "resume write took %zd of %zu", w, n);
	}
	err = migdev_set_state(dev, MIG_STOP);
	fuzz_check(err ? migdev_state(dev) == MIG_ERROR : migdev_state(dev) == MIG_STOP,
		   "resuming -> stop: %d, and the device is in %s", err,
		   mig_state_name(migdev_state(dev)));
	return 0;
}

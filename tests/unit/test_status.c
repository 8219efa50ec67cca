// SPDX-License-Identifier: MIT
/*
 * vfio-migctl's reading of the device's text files (docs/ABI.md 4.1, 6):
 * "key: value" lines of `status`, "key value" lines of `precopy`, and the
 * whole of `status` as status and watch take it.  The texts are the
 * ABI's examples; the file is a memfd, read with the calls the tool makes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"
#include "vfio-migctl.h"

static const char status_text[] =
	"device: sim:a,size=256K\n"
	"backend: sim\n"
	"state: stop_copy\n"
	"features: stop_copy p2p pre_copy dirty\n"
	"session: saving\n"
	"bytes_saved: 262280\n"
	"bytes_resumed: 0\n"
	"transitions: 3\n"
	"last_transition: running -> stop_copy, 3 arcs, 82 us, ok\n"
	"dirty_tracking: off (device DMA logging)\n"
	"last_error: none\n";

static void test_status_field(void **state)
{
	char out[64];

	(void)state;
	status_field(status_text, "device", out, sizeof(out));
	assert_string_equal(out, "sim:a,size=256K");
	status_field(status_text, "dirty_tracking", out, sizeof(out));
	assert_string_equal(out, "off (device DMA logging)");
	/* The last line, and a key that is a prefix of another's. */
	status_field(status_text, "last_error", out, sizeof(out));
	assert_string_equal(out, "none");
	status_field(status_text, "transition", out, sizeof(out));
	assert_string_equal(out, "");
	status_field(status_text, "state: stop_copy", out, sizeof(out));
	assert_string_equal(out, "");
	/* Cut to the buffer, NUL-terminated. */
	status_field(status_text, "features", out, 9);
	assert_string_equal(out, "stop_cop");
	/* The last line need not end in a newline. */
	status_field("a: 1\nb: two", "b", out, sizeof(out));
	assert_string_equal(out, "two");
}

static void test_status_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(status_u64(status_text, "bytes_saved", &v), 0);
	assert_int_equal(v, 262280);
	assert_int_equal(status_u64(status_text, "bytes_resumed", &v), 0);
	assert_int_equal(v, 0);
	/* Not a number, or no such key: -EPROTO. */
	assert_int_equal(status_u64(status_text, "backend", &v), -EPROTO);
	assert_int_equal(status_u64(status_text, "bytes", &v), -EPROTO);
	assert_int_equal(status_u64("", "bytes_saved", &v), -EPROTO);
	/* `precopy`'s form, a space after the key: the same reader. */
	assert_int_equal(status_u64("initial_bytes 258160\ndirty_bytes 0\n",
				    "initial_bytes", &v), 0);
	assert_int_equal(v, 258160);
	assert_int_equal(status_u64("initial_bytes 258160\ndirty_bytes 12\n",
				    "dirty_bytes", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(status_u64("dirty_bytes_x 1\n", "dirty_bytes", &v), -EPROTO);
}

static int status_file(const char *text)
{
	int fd = memfd_create("status", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void test_dev_status_read(void **state)
{
	struct dev_status s;
	int fd = status_file(status_text);

	(void)state;
	/* Read from offset 0 whatever the file's: a fresh rendering. */
	assert_int_equal(dev_status_read(fd, &s), 0);
	assert_string_equal(s.device, "sim:a,size=256K");
	assert_string_equal(s.state, "stop_copy");
	assert_string_equal(s.features, "stop_copy p2p pre_copy dirty");
	assert_string_equal(s.session, "saving");
	assert_int_equal(s.bytes_saved, 262280);
	assert_int_equal(s.bytes_resumed, 0);
	assert_true(s.transitioned);
	assert_string_equal(s.from, "running");
	assert_string_equal(s.to, "stop_copy");
	assert_int_equal(s.arcs, 3);
	assert_int_equal(s.usec, 82);
	assert_string_equal(s.result, "ok");
	assert_string_equal(s.last_error, "");	/* "none" */
	close(fd);
}

static void test_dev_status_none(void **state)
{
	struct dev_status s;
	int fd = status_file("state: running\nsession: none\nbytes_saved: 0\n"
			     "bytes_resumed: 5\nlast_transition: none\n"
			     "last_error: write to state refused: 'x': Invalid argument\n");

	(void)state;
	assert_int_equal(dev_status_read(fd, &s), 0);
	assert_false(s.transitioned);
	assert_int_equal(s.bytes_resumed, 5);
	assert_string_equal(s.last_error, "write to state refused: 'x': Invalid argument");
	close(fd);
}

/* Text that is not `status`: -EPROTO, not a half-filled struct taken as one. */
static void test_dev_status_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"session: none\nbytes_saved: 0\nbytes_resumed: 0\nlast_transition: none\n",
		"state: running\nbytes_saved: 0\nbytes_resumed: 0\nlast_transition: none\n",
		"state: running\nsession: none\nbytes_saved: x\nbytes_resumed: 0\n",
		"state: running\nsession: none\nbytes_saved: 0\nbytes_resumed: 0\n"
		"last_transition: running -> stop, 1 arcs\n",
	};
	struct dev_status s;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int fd = status_file(bad[i]);

		assert_int_equal(dev_status_read(fd, &s), -EPROTO);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_field),
		cmocka_unit_test(test_status_u64),
		cmocka_unit_test(test_dev_status_read),
		cmocka_unit_test(test_dev_status_none),
		cmocka_unit_test(test_dev_status_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "simtest.h"

struct migdev *open_dev(const char *spec)
{
	struct migdev *dev = NULL;
	char err[160] = "";

	assert_int_equal(migdev_open(spec, &dev, err, sizeof(err)), 0);
	assert_non_null(dev);
	return dev;
}

const struct mig_attr *attr(struct migdev *dev, const char *name)
{
	for (const struct mig_attr *a = dev->ops->attrs; a && a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	fail_msg("no attribute %s", name);
	return NULL;
}

uint64_t digest(struct migdev *dev)
{
	struct strbuf sb = { 0 };
	uint64_t v;

	assert_int_equal(migdev_attr_show(dev, attr(dev, "digest"), &sb), 0);
	assert_int_equal(sb.len, 17);
	assert_int_equal(sb.buf[16], '\n');
	v = strtoull(sb.buf, NULL, 16);
	sb_free(&sb);
	return v;
}

void go(struct migdev *dev, enum mig_state s)
{
	assert_int_equal(migdev_set_state(dev, s), 0);
	assert_int_equal(migdev_state(dev), s);
}

char *show(struct migdev *dev, const char *name)
{
	static char text[256];
	struct strbuf sb = { 0 };

	assert_int_equal(migdev_attr_show(dev, attr(dev, name), &sb), 0);
	snprintf(text, sizeof(text), "%s", sb.buf);
	sb_free(&sb);
	return text;
}

// SPDX-License-Identifier: MIT
/*
 * The backends, by the prefix of a DEVICE argument.  The generic layer
 * (migdev.c) names none of them: a backend's open function fills its
 * device and joins the layer with migdev_init().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "util.h"

static const struct {
	const char *prefix;
	int (*open)(const char *spec, struct migdev **devp, char *err, size_t errlen);
} backends[] = {
	{ "sim:", sim_open },
	{ "vfio:", vfio_open },
	{ "fd:", vfio_fd_open },
};

int migdev_open(const char *spec, struct migdev **devp, char *err, size_t errlen)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strncmp(spec, backends[i].prefix, strlen(backends[i].prefix)))
			return backends[i].open(spec, devp, err, errlen);
	snprintf(err, errlen, "%s: unknown device type (expected vfio:DEV, fd:N or sim:NAME)", spec);
	return -ENODEV;
}


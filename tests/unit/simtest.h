/* SPDX-License-Identifier: MIT */
/* What the sim's unit tests share: a device, its files, its transitions. */
#ifndef SIMTEST_H
#define SIMTEST_H

#include <stdint.h>

#include "backend.h"

/* Each fails the test (cmocka) instead of returning an error. */
struct migdev *open_dev(const char *spec);
const struct mig_attr *attr(struct migdev *dev, const char *name);
/* sim/digest, checked to be 16 hex digits and a newline. */
uint64_t digest(struct migdev *dev);
/* The file's value now, in a buffer the next call reuses. */
char *show(struct migdev *dev, const char *name);
/* To state s, and there. */
void go(struct migdev *dev, enum mig_state s);

#endif

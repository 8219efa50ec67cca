/* SPDX-License-Identifier: MIT */
/* What the benchmark programs share: a clock, fatal errors, buffers. */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in seconds. */
double now_sec(void);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A decimal count from the command line or a command; dies on bad text. */
uint64_t parse_count(const char *s, const char *what);

/*
 * A buffer of len bytes, every page written once: a timed loop must not
 * pay for faulting in its own buffer.
 */
void *touched_buffer(size_t len);

/*
 * Reads the file at path into buf in bufsize chunks, as cat does, and
 * hands each chunk to put(); returns the bytes.  Every writer of the
 * benchmarks takes its bytes this way, so that they differ only in where
 * the bytes go.
 */
uint64_t feed_file(const char *path, char *buf, size_t bufsize,
		   void (*put)(void *ctx, const char *buf, size_t len), void *ctx);

/* The answer to one timed operation: "AMOUNT SECONDS". */
void print_result(uint64_t amount, double seconds);

#endif

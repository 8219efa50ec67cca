/* SPDX-License-Identifier: MIT */
/* A growable text buffer for attribute show() functions. */
#ifndef STRBUF_H
#define STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

/* Append formatted text; returns 0 or -ENOMEM (the buffer is unchanged). */
int sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append len bytes, keeping the buffer NUL-terminated. */
int sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif

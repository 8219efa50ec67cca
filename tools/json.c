// SPDX-License-Identifier: MIT
/*
 * JSON for the commands that print it: status's array, and the records
 * (one object a line) of save, load, migrate and watch with --json.  A
 * record is written under its FILE's lock, so that the threads of a set
 * never interleave two of them.
 */
#include <inttypes.h>
#include <stdio.h>

#include "vfio-migctl.h"

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF), or 0.
 */
static size_t utf8_length(const unsigned char *s)
{
	size_t len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;	/* a continuation byte, or overlong or too big at once */
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also the NUL that ends s */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * A JSON string: quotes, backslashes and control characters escaped.
 * JSON is Unicode, a path any bytes: each byte that is not part of valid
 * UTF-8 becomes U+FFFD, the replacement character, as a decoder would
 * show it.
 */
void json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len;

	putc('"', f);
	for (; *s; s += len) {
		len = *s < 0x80 ? 1 : utf8_length(s);
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", *s);
		else if (len)
			fwrite(s, 1, len, f);
		else
			fputs("\\ufffd", f);
		len = len ? len : 1;
	}
	putc('"', f);
}


void json_begin(struct json *j, FILE *f, const char *type)
{
	j->f = f;
	flockfile(f);
	fputs("{\"type\": ", f);
	json_string(f, type);
	j->sep = ", ";
}

static void json_key(struct json *j, const char *key)
{
	fprintf(j->f, "%s\"%s\": ", j->sep, key);
	j->sep = ", ";
}

void json_str(struct json *j, const char *key, const char *value)
{
	json_key(j, key);
	if (value)
		json_string(j->f, value);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, value);
}

void json_ms(struct json *j, const char *key, uint64_t usec)
{
	json_key(j, key);
	fprintf(j->f, "%.3f", (double)usec / 1e3);
}

void json_bool(struct json *j, const char *key, bool value)
{
	json_key(j, key);
	fputs(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_object(struct json *j, const char *key)
{
	json_key(j, key);
	putc('{', j->f);
	j->sep = "";
}

void json_object_end(struct json *j)
{
	putc('}', j->f);
	j->sep = ", ";
}

/* The record's end: its line, flushed for a reader that follows it. */
void json_end(struct json *j)
{
	fputs("}\n", j->f);
	fflush(j->f);
	funlockfile(j->f);
}

// SPDX-License-Identifier: MIT
/*
 * State names and the v1 bit notation (mig_state_parse) against a
 * reference written from docs/ABI.md: a v2 name in any case, or v1 bits
 * joined by '|', with white space around only.
 */
#include <errno.h>
#include <strings.h>

#include "backend.h"
#include "fuzz.h"
#include "migstate.h"

static const struct { const char *name; enum mig_state state; } names[] = {
	{ "error", MIG_ERROR }, { "stop", MIG_STOP }, { "running", MIG_RUNNING },
	{ "stop_copy", MIG_STOP_COPY }, { "resuming", MIG_RESUMING },
	{ "running_p2p", MIG_RUNNING_P2P }, { "pre_copy", MIG_PRE_COPY },
	{ "pre_copy_p2p", MIG_PRE_COPY_P2P },
};

enum { RUNNING = 1, SAVING = 2, RESUMING = 4, NDMA = 8, BAD = -1 };

static int v1_word(const char *s, size_t n)
{
	static const struct { const char *word; int bit; } words[] = {
		{ "running", RUNNING }, { "saving", SAVING }, { "resuming", RESUMING },
		{ "ndma", NDMA }, { "0", 0 },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i].word) == n && !strncasecmp(s, words[i].word, n))
			return words[i].bit;
	return BAD;
}

/*
 * The v1 meaning, from the bits' sense (not the parser's table): SAVING
 * with RESUMING is v1's error state; RESUMING goes with nothing else;
 * otherwise RUNNING runs, SAVING saves, NDMA makes it the P2P variant.
 */
static int v1_state(int bits)
{
	static const int plain[4] = { MIG_STOP, MIG_RUNNING, MIG_STOP_COPY, MIG_PRE_COPY };
	static const int p2p[4] = { MIG_STOP, MIG_RUNNING_P2P, MIG_STOP_COPY, MIG_PRE_COPY_P2P };

	if (bits & RESUMING) {
		if (bits == RESUMING)
			return MIG_RESUMING;
		return bits == (RESUMING | SAVING) ? MIG_ERROR : BAD;
	}
	return (bits & NDMA ? p2p : plain)[bits & (RUNNING | SAVING)];
}

static int reference(const char *s)
{
	size_t start, end, at;
	int bits = 0;

	ref_trim(s, &start, &end);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == end - start &&
		    !strncasecmp(s + start, names[i].name, end - start))
			return names[i].state;
	if (start == end)
		return BAD;
	for (at = start; ; ) {
		const char *bar = memchr(s + at, '|', end - at);
		size_t len = bar ? (size_t)(bar - s) - at : end - at;
		int bit = v1_word(s + at, len);

		if (bit == BAD)
			return BAD;
		bits |= bit;
		if (!bar)
			return v1_state(bits);
		at += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	enum mig_state got = MIG_NR_STATES, again;
	int want = reference(s), r = mig_state_parse(s, &got);

	if (want == BAD)
		fuzz_check(r == -EINVAL, "'%s' parsed as %s", s, mig_state_name(got));
	else
		fuzz_check(r == 0 && (int)got == want, "'%s': %d, %s; want %s", s, r,
			   mig_state_name(got), mig_state_name(want));
	/* What a state is called parses back to it. */
	if (!r)
		fuzz_check(!mig_state_parse(mig_state_name(got), &again) && again == got,
			   "%s does not parse back", mig_state_name(got));
	free(s);
	return 0;
}

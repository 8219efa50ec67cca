// SPDX-License-Identifier: MIT
/*
 * The sim device's migration stream: a header, block records, an end
 * record (layout in docs/sim-device.md).  Every byte is covered by a CRC
 * or checked against the device, so any damage is caught while resuming,
 * and the end record's digest of the latest record of every block catches
 * anything the per-record checks cannot (a missing or stale block).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "crc32c.h"
#include "sim.h"
#include "util.h"

#define SIM_MAGIC	0x4d495356u	/* "VSIM" */
#define SIM_VERSION	2u
#define TAG_BLOCK	0x314b4c42u	/* "BLK1" */
#define TAG_END		0x21444e45u	/* "END!": no byte in common */

#define HDR_LEN		32	/* magic, version, size, block size, count, crc */
#define REC_HDR_LEN	20	/* tag, length, index, crc */
#define END_LEN		24	/* tag, records, digest, crc */
#define REC_MAX		(REC_HDR_LEN + SIM_BLOCK_SIZE)

static bool test_bit(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void set_bit(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static void clear_bit(uint64_t *map, uint64_t i)
{
	map[i / 64] &= ~(1ull << (i % 64));
}

static uint64_t *bitmap_new(uint64_t bits)
{
	return calloc((bits + 63) / 64, sizeof(uint64_t));
}

uint32_t sim_block_len(const struct sim_image *img, uint64_t idx)
{
	uint64_t off = idx * SIM_BLOCK_SIZE;

	return (uint32_t)(img->size - off < SIM_BLOCK_SIZE ?
			  img->size - off : SIM_BLOCK_SIZE);
}

/* Stream bytes of the block records for blocks [from, nblocks). */
static uint64_t records_bytes(const struct sim_image *img, uint64_t from)
{
	if (from >= img->nblocks)
		return 0;
	return (img->nblocks - from) * REC_HDR_LEN + img->size - from * SIM_BLOCK_SIZE;
}

uint64_t sim_stream_size(const struct sim_image *img)
{
	return HDR_LEN + records_bytes(img, 0) + END_LEN;
}

uint64_t sim_digest(const struct sim_image *img)
{
	return XXH64(img->mem, img->size, 0);
}

/*
 * The end record's digest covers, for every block in order, the CRC of its
 * latest record, 4 little-endian bytes each: the saver and the loader keep
 * that array as records pass, so the digest costs nothing per byte of
 * state, yet a block whose last resend went missing keeps its old CRC.
 */
static unsigned char *crcs_new(uint64_t nblocks)
{
	return calloc(nblocks, 4);
}

static void crcs_set(unsigned char *crcs, uint64_t idx, uint32_t crc)
{
	put_le32(crcs + 4 * idx, crc);
}

static uint64_t crcs_digest(const unsigned char *crcs, uint64_t nblocks)
{
	return XXH64(crcs, 4 * nblocks, 0);
}

/* CRC of a block record: its index, then its payload. */
static uint32_t block_crc(uint64_t idx, const unsigned char *payload,
			  uint32_t len)
{
	unsigned char le[8];

	put_le64(le, idx);
	return crc32c(crc32c(0, le, sizeof(le)), payload, len);
}

/* --- saving --- */

enum rec_kind { REC_INITIAL, REC_DIRTY, REC_END };

struct sim_saver {
	const struct sim_image *img;
	bool header_sent;
	uint64_t next_initial;		/* blocks below it have been sent */
	uint64_t *dirty;		/* sent, then changed: to send again */
	uint64_t dirty_bytes;		/* stream bytes of those records */
	uint64_t scan;			/* where the dirty search resumes */
	uint64_t records;		/* block records produced */
	unsigned char *crcs;		/* of the latest record of each block */
	bool end_sent;
	enum rec_kind kind;		/* of the staged record */
	size_t len, off;		/* staged record, and how much is read */
	unsigned char rec[REC_MAX];
};

struct sim_saver *sim_saver_new(const struct sim_image *img)
{
	struct sim_saver *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->img = img;
	s->dirty = bitmap_new(img->nblocks);
	s->crcs = crcs_new(img->nblocks);
	if (!s->dirty || !s->crcs) {
		sim_saver_free(s);
		return NULL;
	}
	return s;
}

void sim_saver_free(struct sim_saver *s)
{
	if (!s)
		return;
	free(s->dirty);
	free(s->crcs);
	free(s);
}

void sim_saver_touch(struct sim_saver *s, uint64_t block)
{
	/* A block not sent yet will be sent with its new content anyway. */
	if (block >= s->next_initial || test_bit(s->dirty, block))
		return;
	set_bit(s->dirty, block);
	s->dirty_bytes += REC_HDR_LEN + sim_block_len(s->img, block);
}

static void stage_header(struct sim_saver *s, unsigned char *p)
{
	put_le32(p, SIM_MAGIC);
	put_le32(p + 4, SIM_VERSION);
	put_le64(p + 8, s->img->size);
	put_le32(p + 16, SIM_BLOCK_SIZE);
	put_le64(p + 20, s->img->nblocks);
	put_le32(p + 28, crc32c(0, p, 28));
	s->len = HDR_LEN;
	s->kind = REC_INITIAL;
	s->header_sent = true;
}

/* The payload is copied now: the record holds the block as it is now. */
static void stage_block(struct sim_saver *s, unsigned char *p, uint64_t idx,
			enum rec_kind kind)
{
	uint32_t len = sim_block_len(s->img, idx), crc;
	unsigned char *payload = p + REC_HDR_LEN;

	memcpy(payload, s->img->mem + idx * SIM_BLOCK_SIZE, len);
	crc = block_crc(idx, payload, len);
	put_le32(p, TAG_BLOCK);
	put_le32(p + 4, len);
	put_le64(p + 8, idx);
	put_le32(p + 16, crc);
	crcs_set(s->crcs, idx, crc);
	s->len = REC_HDR_LEN + len;
	s->kind = kind;
	s->records++;
}

static void stage_end(struct sim_saver *s, unsigned char *p)
{
	put_le32(p, TAG_END);
	put_le64(p + 4, s->records);
	put_le64(p + 12, crcs_digest(s->crcs, s->img->nblocks));
	put_le32(p + 20, crc32c(0, p, 20));
	s->len = END_LEN;
	s->kind = REC_END;
	s->end_sent = true;
}

static uint64_t next_dirty(struct sim_saver *s)
{
	uint64_t n = s->img->nblocks, i = s->scan;

	while (!test_bit(s->dirty, i))
		i = i + 1 < n ? i + 1 : 0;
	s->scan = i + 1 < n ? i + 1 : 0;
	return i;
}

/*
 * Stage the next record at p (REC_MAX bytes): header, initial blocks,
 * dirty blocks, end.
 */
static bool stage_next(struct sim_saver *s, unsigned char *p, bool final)
{
	s->off = 0;
	s->len = 0;
	if (!s->header_sent) {
		stage_header(s, p);
	} else if (s->next_initial < s->img->nblocks) {
		stage_block(s, p, s->next_initial++, REC_INITIAL);
	} else if (s->dirty_bytes) {
		uint64_t idx = next_dirty(s);

		clear_bit(s->dirty, idx);
		s->dirty_bytes -= REC_HDR_LEN + sim_block_len(s->img, idx);
		stage_block(s, p, idx, REC_DIRTY);
	} else if (final && !s->end_sent) {
		stage_end(s, p);
	}
	return s->len != 0;
}

ssize_t sim_saver_read(struct sim_saver *s, void *buf, size_t len, bool final)
{
	size_t done = 0;

	while (done < len) {
		unsigned char *out = (unsigned char *)buf + done;
		size_t n;

		/* Where a whole record fits, build it in place: one copy less. */
		if (s->off == s->len && len - done >= REC_MAX) {
			if (!stage_next(s, out, final))
				break;
			s->off = s->len;
			done += s->len;
			continue;
		}
		if (s->off == s->len && !stage_next(s, s->rec, final))
			break;
		n = s->len - s->off < len - done ? s->len - s->off : len - done;
		memcpy((char *)buf + done, s->rec + s->off, n);
		s->off += n;
		done += n;
	}
	if (done || !len)
		return (ssize_t)done;
	return final ? 0 : -ENOMSG;
}

void sim_saver_pending(const struct sim_saver *s, uint64_t *initial,
		       uint64_t *dirty)
{
	uint64_t staged = s->len - s->off;

	*initial = (s->header_sent ? 0 : HDR_LEN) +
		   records_bytes(s->img, s->next_initial) +
		   (s->kind == REC_INITIAL ? staged : 0);
	*dirty = s->dirty_bytes + (s->kind == REC_DIRTY ? staged : 0);
}

/* --- resuming --- */

enum load_phase { L_HEADER, L_TAG, L_BLOCK_HDR, L_BLOCK, L_END, L_DONE, L_BROKEN };

struct sim_loader {
	struct sim_image *img;
	enum load_phase phase;
	size_t need, have;		/* bytes the phase needs, and has */
	uint64_t records;
	uint64_t *seen;			/* blocks loaded at least once */
	uint64_t nseen;
	unsigned char *crcs;		/* of the latest record of each block */
	uint64_t digest;		/* from the end record */
	bool trust_payload;		/* the quirk accept_corrupt */
	unsigned char buf[REC_MAX];
};

struct sim_loader *sim_loader_new(struct sim_image *img)
{
	struct sim_loader *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->img = img;
	l->seen = bitmap_new(img->nblocks);
	l->crcs = crcs_new(img->nblocks);
	if (!l->seen || !l->crcs) {
		sim_loader_free(l);
		return NULL;
	}
	l->phase = L_HEADER;
	l->need = HDR_LEN;
	return l;
}

void sim_loader_trust_payload(struct sim_loader *l)
{
	l->trust_payload = true;
}

void sim_loader_free(struct sim_loader *l)
{
	if (!l)
		return;
	free(l->seen);
	free(l->crcs);
	free(l);
}

/* Expect the tag of the next record. */
static void next_record(struct sim_loader *l)
{
	l->phase = L_TAG;
	l->need = 4;
	l->have = 0;
}

static int load_header(struct sim_loader *l, const unsigned char *p)
{
	if (get_le32(p + 28) != crc32c(0, p, 28) || get_le32(p) != SIM_MAGIC ||
	    get_le32(p + 4) != SIM_VERSION || get_le64(p + 8) != l->img->size ||
	    get_le32(p + 16) != SIM_BLOCK_SIZE || get_le64(p + 20) != l->img->nblocks)
		return -EINVAL;
	next_record(l);
	return 0;
}

static int load_tag(struct sim_loader *l, const unsigned char *p)
{
	switch (get_le32(p)) {
	case TAG_BLOCK:
		l->phase = L_BLOCK_HDR;
		l->need = REC_HDR_LEN;
		return 0;
	case TAG_END:
		l->phase = L_END;
		l->need = END_LEN;
		return 0;
	default:
		return -EINVAL;
	}
}

static int load_block_hdr(struct sim_loader *l, const unsigned char *p)
{
	uint64_t idx = get_le64(p + 8);

	if (idx >= l->img->nblocks || get_le32(p + 4) != sim_block_len(l->img, idx))
		return -EINVAL;
	l->phase = L_BLOCK;
	l->need = REC_HDR_LEN + get_le32(p + 4);
	return 0;
}

static int load_block(struct sim_loader *l, const unsigned char *p)
{
	uint64_t idx = get_le64(p + 8);
	uint32_t len = get_le32(p + 4), crc = get_le32(p + 16);
	const unsigned char *payload = p + REC_HDR_LEN;

	if (!l->trust_payload && crc != block_crc(idx, payload, len))
		return -EINVAL;
	memcpy(l->img->mem + idx * SIM_BLOCK_SIZE, payload, len);
	crcs_set(l->crcs, idx, crc);
	if (!test_bit(l->seen, idx)) {
		set_bit(l->seen, idx);
		l->nseen++;
	}
	l->records++;
	next_record(l);
	return 0;
}

static int load_end(struct sim_loader *l, const unsigned char *p)
{
	if (get_le32(p + 20) != crc32c(0, p, 20) || get_le64(p + 4) != l->records)
		return -EINVAL;
	l->digest = get_le64(p + 12);
	l->phase = L_DONE;
	return 0;
}

/* The phase's bytes, from the start of its record at p, are complete. */
static int load_step(struct sim_loader *l, const unsigned char *p)
{
	switch (l->phase) {
	case L_HEADER:
		return load_header(l, p);
	case L_TAG:
		return load_tag(l, p);
	case L_BLOCK_HDR:
		return load_block_hdr(l, p);
	case L_BLOCK:
		return load_block(l, p);
	case L_END:
		return load_end(l, p);
	default:
		return -EINVAL;
	}
}

/*
 * The length of the block record at p if the loader is at a record
 * boundary and all of it is in the len bytes there, else 0.  The length
 * field is not checked yet: a wrong one that fits is refused by
 * load_block_hdr, one that does not is staged and refused there.
 */
static size_t whole_block(const struct sim_loader *l, const unsigned char *p,
			  size_t len)
{
	if (l->phase != L_TAG || l->have || len < REC_HDR_LEN ||
	    get_le32(p) != TAG_BLOCK || get_le32(p + 4) > len - REC_HDR_LEN)
		return 0;
	return REC_HDR_LEN + get_le32(p + 4);
}

/*
 * A whole block record in the caller's buffer takes the steps of a staged
 * one, on the caller's bytes: its payload is copied once, into the state.
 */
static ssize_t load_in_place(struct sim_loader *l, const unsigned char *p,
			     size_t len)
{
	if (load_block_hdr(l, p) || load_block(l, p))
		return -EINVAL;
	return (ssize_t)len;
}

/* Up to len bytes of a record split across writes, through l->buf. */
static ssize_t load_staged(struct sim_loader *l, const unsigned char *p,
			   size_t len)
{
	size_t n = l->need - l->have < len ? l->need - l->have : len;

	memcpy(l->buf + l->have, p, n);
	l->have += n;
	if (l->have == l->need && load_step(l, l->buf))
		return -EINVAL;
	return (ssize_t)n;
}

ssize_t sim_loader_write(struct sim_loader *l, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t whole;
		ssize_t n;

		/* Nothing may follow the end record. */
		if (l->phase == L_DONE || l->phase == L_BROKEN)
			goto broken;
		whole = whole_block(l, p + done, len - done);
		n = whole ? load_in_place(l, p + done, whole) :
			    load_staged(l, p + done, len - done);
		if (n < 0)
			goto broken;
		done += (size_t)n;
	}
	return (ssize_t)done;
broken:
	l->phase = L_BROKEN;
	return -EINVAL;
}

int sim_loader_finish(const struct sim_loader *l)
{
	if (l->phase != L_DONE || l->nseen != l->img->nblocks ||
	    l->digest != crcs_digest(l->crcs, l->img->nblocks))
		return -EIO;
	return 0;
}

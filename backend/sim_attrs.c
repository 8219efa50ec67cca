// SPDX-License-Identifier: MIT
/*
 * The sim's own files in a device directory (sim/): its state's digest,
 * DMA on demand, an injected failure, its P2P writes.  Each runs under
 * dev->lock (migdev_attr_show/store), so it catches up with the clock
 * first, as every op of the device does.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "backend.h"
#include "parse.h"
#include "sim.h"


static int digest_show(struct migdev *dev, struct strbuf *sb)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	return sb_printf(sb, "%016" PRIx64 "\n", sim_digest(&sim->img));
}

static int dma_store(struct migdev *dev, const char *buf)
{
	struct sim *sim = to_sim(dev);
	uint64_t iova, len;
	const char *end;

	sim_catch_up(sim);
	if (parse_u64_word(buf, &iova, 1, &end) || parse_u64(end, &len, 1) || !len)
		return -EINVAL;
	if (!mig_state_dma(sim->state))
		return -EBUSY;
	if (iova >= sim->guest_mem || len > sim->guest_mem - iova)
		return -EFAULT;
	sim_dma(sim, iova, len);
	return 0;
}

static int fail_show(struct migdev *dev, struct strbuf *sb)
{
	const struct sim_fail *f = &to_sim(dev)->fail;
	const char *name = errno_name(f->err);

	if (f->state == MIG_ERROR)
		return sb_printf(sb, "none\n");
	if (name)
		return sb_printf(sb, "%s %s\n", mig_state_name(f->state), name);
	return sb_printf(sb, "%s %d\n", mig_state_name(f->state), f->err);
}

static int fail_store(struct migdev *dev, const char *buf)
{
	struct sim_fail *f = &to_sim(dev)->fail;
	char word[32];
	size_t n;
	enum mig_state s;
	int err;

	buf += strspn(buf, " \t\n");
	n = strcspn(buf, " \t\n");
	if (!n || n >= sizeof(word))
		return -EINVAL;
	memcpy(word, buf, n);
	word[n] = '\0';
	if (!strcmp(word, "none") && !buf[n + strspn(buf + n, " \t\n")]) {
		f->state = MIG_ERROR;
		return 0;
	}
	if (mig_state_parse(word, &s) || s == MIG_ERROR ||
	    parse_errno(buf + n, &err))
		return -EINVAL;
	f->state = s;
	f->err = err;
	return 0;
}

static int peer_show(struct migdev *dev, struct strbuf *sb)
{
	struct sim *sim = to_sim(dev);

	sim_catch_up(sim);
	return sim_port_show(&sim->port, sb);
}

const struct mig_attr sim_attrs[] = {
	{ .name = "digest", .mode = 0600, .show = digest_show },
	{ .name = "dma", .mode = 0600, .store = dma_store },
	{ .name = "fail", .mode = 0600, .show = fail_show, .store = fail_store },
	{ .name = "peer", .mode = 0600, .show = peer_show },
	{ .name = NULL },
};

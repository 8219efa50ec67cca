// SPDX-License-Identifier: MIT
/*
 * The text files of a sim device as fsd/attrs.c and the sim serve them:
 * the input is a sequence of operations, each [op][len][len bytes]; op
 * picks a file (every file of the root, dirty/ and sim/, then `data`)
 * and whether to write the bytes to it or read it.  Called as fs.c calls
 * them: backend files under the device lock, the others direct.
 */
#include <errno.h>

#include "backend.h"
#include "fuzz.h"
#include "vfio-migfsd.h"

#define MAX_FILES	32

struct file {
	const struct mig_attr *attr;	/* NULL: data */
	bool backend;
};

static size_t files_of(struct migdev *dev, struct file *f)
{
	const struct mig_attr *tables[] = { root_attrs, dirty_attrs, dev->ops->attrs };
	size_t n = 0;

	for (size_t t = 0; t < 3; t++)
		for (const struct mig_attr *a = tables[t]; a && a->name; a++)
			f[n++] = (struct file){ a, t == 2 };
	f[n++] = (struct file){ NULL, false };
	return n;
}

static void show(struct migdev *dev, const struct file *f)
{
	struct strbuf sb = { 0 };
	int err;

	if (!f->attr->show)
		return;
	err = f->backend ? migdev_attr_show(dev, f->attr, &sb) : f->attr->show(dev, &sb);
	if (!err)
		fuzz_check(sb.len == 0 || (strlen(sb.buf) == sb.len && sb.buf[sb.len - 1] == '\n'),
			   "%s shows a value that is not text lines", f->attr->name);
	sb_free(&sb);
}

static void store(struct migdev *dev, const struct file *f, const char *value)
{
	enum mig_state target;
	int err;

	if (!f->attr->store)
		return;
	err = f->backend ? migdev_attr_store(dev, f->attr, value) : f->attr->store(dev, value);
	fuzz_check(err <= 0 && err > -4096, "%s store returned %d", f->attr->name, err);
	/* A state written and taken is the state shown. */
	if (!err && !strcmp(f->attr->name, "state"))
		fuzz_check(!mig_state_parse(value, &target) && migdev_state(dev) == target,
			   "state took '%s' but is %s", value, mig_state_name(migdev_state(dev)));
}

static void data(struct migdev *dev, struct migdev_stream *st, bool write,
		 const uint8_t *p, size_t len)
{
	static uint8_t buf[256];
	ssize_t n;

	if (write)
		n = migdev_write(dev, st, p, len);
	else
		n = migdev_read(dev, st, buf, len);
	fuzz_check(n <= (ssize_t)len && n > -4096, "data %s: %zd", write ? "write" : "read", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	struct migdev_stream st = { 0 };
	struct file files[MAX_FILES];
	struct migdev *dev;
	char err[160];
	size_t nfiles;

	if (migdev_open("sim:f,size=16K,guest_mem=1M", &dev, err, sizeof(err)))
		abort();
	nfiles = files_of(dev, files);
	while (size >= 2) {
		const struct file *f = &files[(in[0] >> 1) % nfiles];
		bool write = in[0] & 1;
		size_t len = in[1] < size - 2 ? in[1] : size - 2;
		char *value = fuzz_cstr(in + 2, len);

		if (!f->attr)
			data(dev, &st, write, in + 2, len);
		else if (!write)
			show(dev, f);
		else if (strlen(value) == len)	/* fs.c refuses a NUL */
			store(dev, f, value);
		free(value);
		in += 2 + len;
		size -= 2 + len;
	}
	migdev_close(dev);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * The report of `vfio-migctl check`: a table for people, or one JSON
 * object for programs (its schema is in docs/conformance.md).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vfio-migctl.h"

static const char *const verdict_names[] = { "PASS", "FAIL", "SKIP" };
static const char *const verdict_json[] = { "pass", "fail", "skip" };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct spread {
	uint64_t min, median, max;
};

static struct spread spread_of(const uint64_t *v, unsigned int n)
{
	uint64_t *s = malloc(n * sizeof(*s));
	struct spread r;

	if (!s)
		fatalx("out of memory");
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	r = (struct spread){ s[0], s[n / 2], s[n - 1] };
	free(s);
	return r;
}

static void count(const struct check_report *r, unsigned int n[3])
{
	n[V_PASS] = n[V_FAIL] = n[V_SKIP] = 0;
	for (unsigned int i = 0; i < check_nrules; i++)
		n[r->v[i].v]++;
}

/* ---- the table ---- */

static void print_rule(FILE *f, const struct check_rule *rule, const struct verdict_text *v)
{
	fprintf(f, "%2u  %-16s %s  %s\n", rule->id, rule->name, verdict_names[v->v],
		v->v == V_FAIL ? v->got : v->detail);
	if (v->v != V_FAIL)
		return;
	fprintf(f, "%24sdid:    %s\n", "", v->did);
	if (*v->detail)
		fprintf(f, "%24snotes:  %s\n", "", v->detail);
	fprintf(f, "%24srule:   %s\n", "", rule->says);
	fprintf(f, "%24ssource: %s\n", "", rule->source);
}

static void print_timings(FILE *f, const struct check_ctx *c)
{
	const struct check_timings *t = &c->t;

	if (t->narcs) {
		fprintf(f, "\narc timings over %u runs (the daemon's, in microseconds):\n", c->runs);
		fprintf(f, "  %-30s %8s %8s %8s\n", "ARC", "MIN", "MEDIAN", "MAX");
	}
	for (unsigned int i = 0; i < t->narcs; i++) {
		const struct arc_times *a = &t->arcs[i];
		struct spread s = spread_of(a->usec, a->n);
		char name[64];

		snprintf(name, sizeof(name), "%s -> %s", mig_state_name(a->from),
			 mig_state_name(a->to));
		fprintf(f, "  %-30s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", name, s.min,
			s.median, s.max);
	}
	if (c->saved && t->stop_copy_bytes)
		fprintf(f, "stop_copy stream: %" PRIu64 " bytes, read in %" PRIu64 " us"
			"; data_size %s%" PRIu64 "\n", t->stop_copy_bytes, t->save_usec,
			t->has_data_size ? "" : "unknown ", t->data_size);
	if (t->nloads) {
		struct spread s = spread_of(t->load_usec, t->nloads);

		fprintf(f, "load (resuming -> stop) over %u runs: min %" PRIu64 " us, median %"
			PRIu64 " us, max %" PRIu64 " us\n", t->nloads, s.min, s.median, s.max);
	}
}

void check_print_table(FILE *f, const struct check_report *r)
{
	unsigned int n[3];

	fprintf(f, "vfio-migctl check %s: %s (%s)\n", r->dir, r->ctx->device, r->features);
	fprintf(f, " #  %-16s %s\n", "RULE", "RESULT");
	for (unsigned int i = 0; i < check_nrules; i++)
		print_rule(f, &check_rules[i], &r->v[i]);
	print_timings(f, r->ctx);
	count(r, n);
	fprintf(f, "\n%u passed, %u failed, %u skipped; %s\n", n[V_PASS], n[V_FAIL], n[V_SKIP],
		r->restored ? "the device is in running, reset" :
		"the device could NOT be brought back to running");
}

/* ---- JSON ---- */

static void json_key(const char *sep, const char *key, const char *value)
{
	printf("%s\"%s\": ", sep, key);
	if (value)
		json_string(stdout, value);
	else
		fputs("null", stdout);
}

static void json_spread(const char *sep, const uint64_t *v, unsigned int n)
{
	struct spread s = spread_of(v, n);

	printf("%s\"samples\": %u, \"min_us\": %" PRIu64 ", \"median_us\": %" PRIu64
	       ", \"max_us\": %" PRIu64, sep, n, s.min, s.median, s.max);
}

static void json_rule(const struct check_rule *rule, const struct verdict_text *v)
{
	bool fail = v->v == V_FAIL;

	printf("{\"id\": %u", rule->id);
	json_key(", ", "name", rule->name);
	json_key(", ", "result", verdict_json[v->v]);
	json_key(", ", "detail", v->detail);
	json_key(", ", "did", fail ? v->did : NULL);
	json_key(", ", "got", fail ? v->got : NULL);
	json_key(", ", "rule", rule->says);
	json_key(", ", "source", rule->source);
	putchar('}');
}

static void json_timings(const struct check_ctx *c)
{
	const struct check_timings *t = &c->t;

	printf(", \"timings\": {\"runs\": %u, \"arcs\": [", c->runs);
	for (unsigned int i = 0; i < t->narcs; i++) {
		printf("%s{\"from\": \"%s\", \"to\": \"%s\", ", i ? ", " : "",
		       mig_state_name(t->arcs[i].from), mig_state_name(t->arcs[i].to));
		json_spread("", t->arcs[i].usec, t->arcs[i].n);
		putchar('}');
	}
	printf("], \"stop_copy_bytes\": ");
	printf(c->saved && t->stop_copy_bytes ? "%" PRIu64 : "null", t->stop_copy_bytes);
	printf(", \"save_us\": ");
	printf(c->saved && t->stop_copy_bytes ? "%" PRIu64 : "null", t->save_usec);
	printf(", \"data_size\": ");
	printf(t->has_data_size ? "%" PRIu64 : "null", t->data_size);
	printf(", \"load\": ");
	if (t->nloads) {
		json_spread("{", t->load_usec, t->nloads);
		putchar('}');
	} else {
		fputs("null", stdout);
	}
	putchar('}');
}

void check_print_json(const struct check_report *r)
{
	unsigned int n[3];
	char words[256], *save;
	const char *sep = "";

	json_key("{", "dir", r->dir);
	json_key(", ", "device", r->ctx->device);
	fputs(", \"features\": [", stdout);
	snprintf(words, sizeof(words), "%s", r->features);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save), sep = ", ") {
		fputs(sep, stdout);
		json_string(stdout, w);
	}
	fputs("], \"rules\": [", stdout);
	for (unsigned int i = 0; i < check_nrules; i++) {
		fputs(i ? ", " : "", stdout);
		json_rule(&check_rules[i], &r->v[i]);
	}
	putchar(']');
	json_timings(r->ctx);
	count(r, n);
	printf(", \"passed\": %u, \"failed\": %u, \"skipped\": %u, \"restored\": %s}\n",
	       n[V_PASS], n[V_FAIL], n[V_SKIP], r->restored ? "true" : "false");
}

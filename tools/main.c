// SPDX-License-Identifier: MIT
/*
 * vfio-migctl [-h | -V] COMMAND [ARGS]
 *
 * Each command parses its own arguments; this file holds the table of
 * commands and the usage text (msg.c: the one-line errors).
 */
#include <getopt.h>
#include <string.h>

#include "check.h"
#include "util.h"
#include "vfio-migctl.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;	/* its lines of the usage text */
} commands[] = {
	{ "save", cmd_save,
"  save [--max-rounds N] [--threshold BYTES] [--downtime-limit MS]\n"
"       [--force-switchover] [--abort] [--json] DIR [FILE|-]\n"
"                      save the device's migration stream (stdout by default)\n"
"  save [...] [--no-p2p] --output FILE|- DIR...\n"
"                      save a set of devices together into one stream\n" },
	{ "load", cmd_load,
"  load [--run] [--json] DIR [FILE|-]\n"
"                      load a saved stream into the device (stdin by default)\n"
"  load [--run] [--no-p2p] --input FILE|- SOURCE=DIR...\n"
"                      load a set's stream, each device by the name it was\n"
"                      saved under (its status's device: line) or #N\n" },
	{ "migrate", cmd_migrate,
"  migrate [--max-rounds N] [--threshold BYTES] [--downtime-limit MS]\n"
"          [--force-switchover] [--json] SRC DST\n"
"                      move SRC's state into DST on this host\n"
"  migrate [...] [--no-p2p] [--keep-source] SRC1=DST1 SRC2=DST2 ...\n"
"                      move a set of devices together, keeping the P2P barrier\n" },
	{ "status", cmd_status,
"  status [--json] [DIR...]\n"
"                      where each device stands (default: every mount)\n" },
	{ "watch", cmd_watch,
"  watch [--interval MS] [--count N] [--json] DIR\n"
"                      follow the device's state and bytes as they change\n" },
	{ "check", cmd_check,
"  check [--json] [--rules LIST] [--peer DIR] [--destructive] [--runs N] DIR\n"
"                      check the device's driver against the migration contract\n" },
	{ "prepare", cmd_prepare,
"  prepare BDF [--driver NAME]\n"
"                      make the VF migratable on its devlink port, then bind\n"
"                      it to its vfio driver (default vfio-pci)\n"
"  prepare --list      list the devlink VF ports and their migratable state\n" },
};

void usage(FILE *f)
{
	fputs("usage: vfio-migctl COMMAND [ARGS]\n\nCommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fputs(commands[i].help, f);
	fputs("\n"
"Options:\n"
"  -h, --help          show this help\n"
"  -V, --version       show the version\n"
"\n"
"BDF is a PCI address, DOMAIN:BUS:DEV.FN (e.g. 0000:3b:00.1).\n"
"See vfio-migctl(1).\n", f);
}

int next_option(int argc, char **argv, const struct option *longopts)
{
	int c = getopt_long(argc, argv, ":h", longopts, NULL);

	if (c == 'h') {
		usage(stdout);
		exit(0);
	}
	if (c == '?' || c == ':')
		option_error(c, argv);
	return c;
}

void option_error(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		usage_error("option '%s' needs a value", arg);
	/* A short option may be one of several in arg: optopt names it. */
	if (strncmp(arg, "--", 2))
		usage_error("unknown option '-%c' (see --help)", optopt);
	usage_error("unknown option '%s' (see --help)", arg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	/* "+": stop at the command, whose options are its own */
	while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vfio-migctl %s\n", VERSION);
			return 0;
		default:
			option_error(c, argv);
		}
	}
	if (optind == argc)
		usage_error("no command (see --help)");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argc -= optind;
			argv += optind;
			optind = 0;	/* a fresh scan of the command's own arguments */
			return commands[i].run(argc, argv);
		}
	}
	usage_error("unknown command '%s' (see --help)", argv[optind]);
}

// SPDX-License-Identifier: MIT
/*
 * vfio-migctl prepare BDF [--driver NAME] | prepare --list
 *
 * A migration driver such as mlx5_vfio_pci reads a VF's "migratable"
 * capability when it probes the VF, and that capability is set on the
 * VF's devlink port, which belongs to its PF's eswitch.  So: find the
 * port (sysfs gives the PF and the VF's number on it), turn the
 * capability on, and only then bind the VF to its vfio driver.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <linux/devlink.h>

#include "devlink.h"
#include "pci_addr.h"
#include "vfio-migctl.h"

#define PCI_BUS		"/sys/bus/pci"
#define PCI_DEVICES	PCI_BUS "/devices"
#define DEFAULT_DRIVER	"vfio-pci"

/* A devlink port's name, as the devlink tool writes it: pci/0000:3b:00.0/2 */
#define PORT_FMT	"%s/%s/%u"
#define PORT_ARGS(p)	(p)->bus, (p)->dev, (p)->index

static const char *const migratable_names[] = {
	[MIGRATABLE_UNSUPPORTED] = "unsupported",
	[MIGRATABLE_OFF] = "off",
	[MIGRATABLE_ON] = "on",
};

struct vf {
	char bdf[PCI_ADDR_SIZE];
	char pf[PCI_ADDR_SIZE];
	unsigned int number;		/* N of the PF's virtfnN link */
};

/* ---- sysfs ---- */

__attribute__((format(printf, 2, 3)))
static const char *path_of(char path[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n >= PATH_MAX)
		fatalx("%s: path too long", path);
	return path;
}

/* The last component of a symlink's target; -1 when it is no link. */
static int link_name(const char *path, char *name, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return -1;
	strcpy(name, base);
	return 0;
}

/* sysfs reports a refused value as the write's error. */
static void write_file(const char *path, const char *value)
{
	ssize_t len = (ssize_t)strlen(value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, value, (size_t)len) != len)
		fatal("writing '%s' to %s", value, path);
	close(fd);
}

static bool current_driver(const char *bdf, char name[NAME_MAX + 1])
{
	char path[PATH_MAX];

	return !link_name(path_of(path, PCI_DEVICES "/%s/driver", bdf), name,
			  NAME_MAX + 1);
}

/* ---- prepare BDF ---- */

__attribute__((noreturn))
static void no_port(const char *bdf, const char *why)
{
	fatalx("no devlink port for BDF %s (%s)", bdf, why);
}

/* The VF's PF and its number there, from sysfs; exits when it is no VF. */
static void find_vf(struct vf *vf)
{
	char path[PATH_MAX], name[PCI_ADDR_SIZE];

	if (access(path_of(path, PCI_DEVICES "/%s", vf->bdf), F_OK))
		no_port(vf->bdf, "no such PCI device");
	if (link_name(path_of(path, PCI_DEVICES "/%s/physfn", vf->bdf), vf->pf,
		      sizeof(vf->pf)))
		no_port(vf->bdf, "not a VF");
	/* The PF's virtfnN links are numbered from 0 without gaps. */
	for (vf->number = 0;
	     !link_name(path_of(path, PCI_DEVICES "/%s/virtfn%u", vf->pf, vf->number),
			name, sizeof(name));
	     vf->number++)
		if (!strcmp(name, vf->bdf))
			return;
	no_port(vf->bdf, "missing from its PF's virtfn links");
}

static void open_devlink(struct devlink *dl)
{
	if (devlink_open(dl))
		fatalx("%s", dl->err);
}

static void dump_ports(struct devlink *dl, devlink_port_fn *fn, void *arg)
{
	if (devlink_dump_ports(dl, fn, arg))
		fatalx("%s", dl->err);
}

struct port_search {
	const struct vf *vf;
	struct devlink_port_info port;
	bool found;
};

static void match_port(const struct devlink_port_info *port, void *arg)
{
	struct port_search *s = arg;

	if (devlink_port_is_local_vf(port) && !strcmp(port->dev, s->vf->pf) &&
	    port->vf_number == s->vf->number) {
		s->port = *port;
		s->found = true;
	}
}

/* The VF's port, or exit. */
static void find_port(struct devlink *dl, const struct vf *vf,
		      struct devlink_port_info *port)
{
	struct port_search s = { .vf = vf };
	char why[128];

	dump_ports(dl, match_port, &s);
	if (!s.found) {
		snprintf(why, sizeof(why),
			 "VF %u of %s; is the PF's eswitch in switchdev mode?",
			 vf->number, vf->pf);
		no_port(vf->bdf, why);
	}
	*port = s.port;
}

/* Turn migratable on; returns whether it changed. */
static bool enable_migratable(struct devlink *dl,
			      const struct devlink_port_info *port)
{
	if (port->migratable == MIGRATABLE_UNSUPPORTED)
		fatalx(PORT_FMT ": the port does not report the migratable "
		       "capability (it needs Linux 6.2 or later and a driver "
		       "that supports it)", PORT_ARGS(port));
	if (port->migratable == MIGRATABLE_ON)
		return false;
	if (devlink_enable_migratable(dl, port))
		fatalx(PORT_FMT ": cannot enable migratable: %s", PORT_ARGS(port),
		       dl->err);
	printf(PORT_FMT ": migratable on\n", PORT_ARGS(port));
	return true;
}

/*
 * Bind the VF to driver through driver_override.  The driver reads the
 * capability when it probes, so a VF whose capability just changed is
 * bound again even when it already is on that driver.
 */
static void bind_vf(const char *bdf, const char *driver, bool reprobe)
{
	char path[PATH_MAX], current[NAME_MAX + 1];
	bool bound = current_driver(bdf, current);

	if (bound && !strcmp(current, driver) && !reprobe) {
		printf("%s: already bound to %s\n", bdf, driver);
		return;
	}
	if (bound)
		write_file(path_of(path, PCI_DEVICES "/%s/driver/unbind", bdf), bdf);
	write_file(path_of(path, PCI_DEVICES "/%s/driver_override", bdf), driver);
	write_file(PCI_BUS "/drivers_probe", bdf);
	if (!current_driver(bdf, current) || strcmp(current, driver))
		fatalx("%s: did not bind to %s (see the kernel log)", bdf, driver);
	printf("%s: bound to %s\n", bdf, driver);
}

static int prepare_vf(const char *bdf, const char *driver)
{
	struct devlink_port_info port;
	struct devlink dl;
	char path[PATH_MAX];
	struct vf vf;
	bool changed;

	strcpy(vf.bdf, bdf);
	find_vf(&vf);
	/* Check what can be checked before changing anything. */
	if (access(path_of(path, PCI_BUS "/drivers/%s", driver), F_OK))
		fatalx("no PCI driver %s (is its module loaded?)", driver);
	open_devlink(&dl);
	find_port(&dl, &vf, &port);
	printf(PORT_FMT ": VF %u of %s (%s), migratable %s\n", PORT_ARGS(&port),
	       vf.number, vf.pf, vf.bdf, migratable_names[port.migratable]);
	changed = enable_migratable(&dl, &port);
	devlink_close(&dl);
	bind_vf(vf.bdf, driver, changed);
	return 0;
}

/* ---- prepare --list ---- */

static void show_vf_port(const struct devlink_port_info *port, void *arg)
{
	char path[PATH_MAX], vf[PCI_ADDR_SIZE] = "-";
	unsigned int *count = arg;

	if (port->flavour != DEVLINK_PORT_FLAVOUR_PCI_VF)
		return;
	/* Only a VF of this host has a BDF here; vf stays "-" otherwise. */
	if (devlink_port_is_local_vf(port))
		link_name(path_of(path, PCI_DEVICES "/%s/virtfn%u", port->dev,
				  port->vf_number), vf, sizeof(vf));
	printf(PORT_FMT ": vf %s pfnum %u vfnum %u controller %u%s netdev %s "
	       "migratable %s\n", PORT_ARGS(port), vf, port->pf_number,
	       port->vf_number, port->controller, port->external ? " external" : "",
	       *port->netdev ? port->netdev : "-",
	       migratable_names[port->migratable]);
	(*count)++;
}

static int list_ports(void)
{
	unsigned int count = 0;
	struct devlink dl;

	open_devlink(&dl);
	dump_ports(&dl, show_vf_port, &count);
	devlink_close(&dl);
	if (!count)
		printf("no devlink VF ports found\n");
	return 0;
}

/* ---- the command line ---- */

int cmd_prepare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *driver = NULL;
	char bdf[PCI_ADDR_SIZE];
	struct pci_addr addr;
	bool list = false;
	int c;

	while ((c = next_option(argc, argv, longopts)) != -1) {
		switch (c) {
		case 'd':
			/* It becomes a sysfs path component. */
			if (!*optarg || strchr(optarg, '/'))
				usage_error("--driver takes a driver name, not '%s'", optarg);
			driver = optarg;
			break;
		case 'l':
			list = true;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (list) {
		if (argc || driver)
			usage_error("prepare --list takes no BDF and no --driver");
		return list_ports();
	}
	if (argc != 1)
		usage_error("prepare takes one BDF (see --help)");
	if (pci_addr_parse(argv[0], &addr))
		usage_error("'%s' is not a PCI address (DOMAIN:BUS:DEV.FN, "
			    "e.g. 0000:3b:00.1)", argv[0]);
	pci_addr_format(&addr, bdf);
	return prepare_vf(bdf, driver ? driver : DEFAULT_DRIVER);
}

/* SPDX-License-Identifier: MIT */
/*
 * devlink.c: devlink's generic netlink, as prepare.c uses it: building
 * messages and parsing replies, with no policy and no exits, so that it
 * can be tested on its own (a library, as the stream format is).
 */
#ifndef MIGCTL_DEVLINK_H
#define MIGCTL_DEVLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct nlmsghdr;
struct nl_msg;
struct nl_sock;

/* ---- ports ---- */

enum migratable {
	MIGRATABLE_UNSUPPORTED,	/* the port does not report the capability */
	MIGRATABLE_OFF,
	MIGRATABLE_ON,
};

#define DEVLINK_NAME_SIZE	64

/* One devlink port, as a PORT_GET reply describes it. */
struct devlink_port_info {
	char bus[DEVLINK_NAME_SIZE];	/* the devlink instance: "pci" */
	char dev[DEVLINK_NAME_SIZE];	/* and its name, the PF's address */
	uint32_t index;
	int flavour;			/* enum devlink_port_flavour, -1 unset */
	uint16_t pf_number;		/* PCI ports; these three */
	uint16_t vf_number;		/* are 0 unless reported */
	uint32_t controller;
	bool external;
	char netdev[IF_NAMESIZE];	/* "" without a netdev */
	enum migratable migratable;
};

/*
 * Parse one port reply.  Returns 0, or -EINVAL when an attribute is
 * malformed or one the port cannot be named or matched without is
 * missing (the handle; PF and VF numbers on a VF port).
 */
int devlink_parse_port(struct nlmsghdr *nlh, struct devlink_port_info *port);

/*
 * Whether the port stands for a VF of this host's PF named by the
 * devlink instance: flavour PCI VF, PCI bus, controller 0 and not
 * external, PF number = the instance's PCI function number.
 */
bool devlink_port_is_local_vf(const struct devlink_port_info *port);

/* A PORT_SET turning migratable on, or NULL without memory. */
struct nl_msg *devlink_port_set_msg(int family,
				    const struct devlink_port_info *port);

/* The kernel's extended-ack message in an NLMSG_ERROR, or NULL. */
const char *devlink_extack_msg(const struct nlmsghdr *nlh);

/* ---- devlink.c: talking to the kernel ---- */

struct devlink {
	struct nl_sock *sk;
	int family;
	char err[256];		/* why the last call failed */
};

typedef void devlink_port_fn(const struct devlink_port_info *port, void *arg);

/* Each returns 0, or -1 with dl->err set. */
int devlink_open(struct devlink *dl);
void devlink_close(struct devlink *dl);
/* Call fn for every port of every devlink instance. */
int devlink_dump_ports(struct devlink *dl, devlink_port_fn *fn, void *arg);
int devlink_enable_migratable(struct devlink *dl,
			      const struct devlink_port_info *port);

#endif

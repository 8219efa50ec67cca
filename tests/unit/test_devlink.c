// SPDX-License-Identifier: MIT
/*
 * vfio-migctl's devlink layer: the PORT_SET request it sends, the port
 * replies and error messages it reads, and the PCI addresses it takes.
 * Replies are built here with libnl as the kernel lays them out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <linux/devlink.h>
#include <netlink/genl/genl.h>

#include "devlink.h"
#include "pci_addr.h"
#include "uapi-compat.h"

#define FAMILY	42	/* any generic netlink family id */

/* ---- the PORT_SET request ---- */

/* The next attribute of the request, which must have this raw type and length. */
static struct nlattr *expect_attr(struct nlattr *a, int *rem, int type, int len)
{
	assert_true(nla_ok(a, *rem));
	assert_int_equal(a->nla_type, type);
	assert_int_equal(nla_len(a), len);
	return a;
}

static void test_port_set_msg(void **state)
{
	const struct devlink_port_info port = {
		.bus = "pci", .dev = "0000:3b:00.0", .index = 0x10007,
	};
	struct nl_msg *msg = devlink_port_set_msg(FAMILY, &port);
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct nlattr *a, *fn, *caps;
	struct nla_bitfield32 bf;
	int rem, fn_rem;

	(void)state;
	assert_non_null(msg);
	nlh = nlmsg_hdr(msg);
	assert_int_equal(nlh->nlmsg_type, FAMILY);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	g = nlmsg_data(nlh);
	assert_int_equal(g->cmd, DEVLINK_CMD_PORT_SET);
	assert_int_equal(g->version, DEVLINK_GENL_VERSION);

	a = genlmsg_attrdata(g, 0);
	rem = genlmsg_attrlen(g, 0);
	expect_attr(a, &rem, DEVLINK_ATTR_BUS_NAME, 4);
	assert_string_equal(nla_data(a), "pci");
	a = expect_attr(nla_next(a, &rem), &rem, DEVLINK_ATTR_DEV_NAME, 13);
	assert_string_equal(nla_data(a), "0000:3b:00.0");
	a = expect_attr(nla_next(a, &rem), &rem, DEVLINK_ATTR_PORT_INDEX, 4);
	assert_int_equal(nla_get_u32(a), 0x10007);
	fn = expect_attr(nla_next(a, &rem), &rem,
			 DEVLINK_ATTR_PORT_FUNCTION | NLA_F_NESTED,
			 NLA_HDRLEN + (int)sizeof(bf));
	nla_next(fn, &rem);
	assert_int_equal(rem, 0);	/* nothing after the function */

	caps = nla_data(fn);
	fn_rem = nla_len(fn);
	expect_attr(caps, &fn_rem, DEVLINK_PORT_FN_ATTR_CAPS, (int)sizeof(bf));
	memcpy(&bf, nla_data(caps), sizeof(bf));
	assert_int_equal(bf.value, 2);		/* DEVLINK_PORT_FN_CAP_MIGRATABLE */
	assert_int_equal(bf.selector, 2);
	nlmsg_free(msg);
}

/* ---- port replies ---- */

/* A reply's generic netlink header, as a dump (DEVLINK_CMD_NEW) sends it. */
static struct nl_msg *new_reply(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 1, 1, FAMILY, 0, NLM_F_MULTI, cmd,
				    DEVLINK_GENL_VERSION));
	return msg;
}

static void put_handle(struct nl_msg *msg, const char *bus, const char *dev,
		       uint32_t index)
{
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, bus), 0);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, dev), 0);
	assert_int_equal(nla_put_u32(msg, DEVLINK_ATTR_PORT_INDEX, index), 0);
}

/* What the kernel puts for a PCI VF port. */
static void put_vf(struct nl_msg *msg, uint16_t pf, uint16_t vf)
{
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_FLAVOUR,
				     DEVLINK_PORT_FLAVOUR_PCI_VF), 0);
	assert_int_equal(nla_put_u32(msg, DEVLINK_ATTR_PORT_CONTROLLER_NUMBER, 0), 0);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_PCI_PF_NUMBER, pf), 0);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_PCI_VF_NUMBER, vf), 0);
	assert_int_equal(nla_put_u8(msg, DEVLINK_ATTR_PORT_EXTERNAL, 0), 0);
}

/* A function nest with a MAC address and, if caps_len, a CAPS of that size. */
static void put_function(struct nl_msg *msg, uint32_t value, uint32_t selector,
			 int caps_len)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	const struct nla_bitfield32 caps = { .value = value, .selector = selector };
	struct nlattr *fn = nla_nest_start(msg, DEVLINK_ATTR_PORT_FUNCTION | NLA_F_NESTED);

	assert_non_null(fn);
	assert_int_equal(nla_put(msg, DEVLINK_PORT_FUNCTION_ATTR_HW_ADDR, sizeof(mac), mac), 0);
	if (caps_len)
		assert_int_equal(nla_put(msg, DEVLINK_PORT_FN_ATTR_CAPS, caps_len, &caps), 0);
	nla_nest_end(msg, fn);
}

static int parse(struct nl_msg *msg, struct devlink_port_info *port)
{
	int err = devlink_parse_port(nlmsg_hdr(msg), port);

	nlmsg_free(msg);
	return err;
}

/* VF 3 of PF 0000:3b:00.1 with the given capability bits. */
static int parse_vf(uint32_t value, uint32_t selector, int caps_len,
		    struct devlink_port_info *port)
{
	struct nl_msg *msg = new_reply(DEVLINK_CMD_NEW);

	put_handle(msg, "pci", "0000:3b:00.1", 5);
	put_vf(msg, 1, 3);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_PORT_NETDEV_NAME, "eth5"), 0);
	put_function(msg, value, selector, caps_len);
	return parse(msg, port);
}

static void test_parse_vf_port(void **state)
{
	struct devlink_port_info port;

	(void)state;
	assert_int_equal(parse_vf(2, 2, 8, &port), 0);
	assert_string_equal(port.bus, "pci");
	assert_string_equal(port.dev, "0000:3b:00.1");
	assert_int_equal(port.index, 5);
	assert_int_equal(port.flavour, DEVLINK_PORT_FLAVOUR_PCI_VF);
	assert_int_equal(port.pf_number, 1);
	assert_int_equal(port.vf_number, 3);
	assert_int_equal(port.controller, 0);
	assert_false(port.external);
	assert_string_equal(port.netdev, "eth5");
	assert_int_equal(port.migratable, MIGRATABLE_ON);
	assert_true(devlink_port_is_local_vf(&port));
}

static void test_parse_migratable(void **state)
{
	struct devlink_port_info port;

	(void)state;
	/* Reported (selector) but off (value). */
	assert_int_equal(parse_vf(1, 3, 8, &port), 0);
	assert_int_equal(port.migratable, MIGRATABLE_OFF);
	/* Other capabilities only: this port cannot be made migratable. */
	assert_int_equal(parse_vf(1, 1, 8, &port), 0);
	assert_int_equal(port.migratable, MIGRATABLE_UNSUPPORTED);
	/* A value bit outside the selector means nothing. */
	assert_int_equal(parse_vf(2, 1, 8, &port), 0);
	assert_int_equal(port.migratable, MIGRATABLE_UNSUPPORTED);
	/* No CAPS at all, as Linux 6.1 answers. */
	assert_int_equal(parse_vf(0, 0, 0, &port), 0);
	assert_int_equal(port.migratable, MIGRATABLE_UNSUPPORTED);
	/* A CAPS shorter than a bitfield32 is malformed. */
	assert_int_equal(parse_vf(2, 2, 4, &port), -EINVAL);
}

static void test_parse_port_new(void **state)
{
	struct nl_msg *msg = new_reply(DEVLINK_CMD_PORT_NEW);
	struct devlink_port_info port;

	(void)state;
	/* A do-reply (PORT_NEW) without a function: no capability. */
	put_handle(msg, "pci", "0000:3b:00.0", 2);
	put_vf(msg, 0, 0);
	assert_int_equal(parse(msg, &port), 0);
	assert_int_equal(port.vf_number, 0);
	assert_string_equal(port.netdev, "");
	assert_int_equal(port.migratable, MIGRATABLE_UNSUPPORTED);
	assert_true(devlink_port_is_local_vf(&port));
}

static void test_parse_other_ports(void **state)
{
	struct devlink_port_info port;
	struct nl_msg *msg;

	(void)state;
	/* The uplink: a physical port with a PF number but no VF. */
	msg = new_reply(DEVLINK_CMD_NEW);
	put_handle(msg, "pci", "0000:3b:00.0", 1);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_FLAVOUR,
				     DEVLINK_PORT_FLAVOUR_PHYSICAL), 0);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_PCI_PF_NUMBER, 0), 0);
	assert_int_equal(parse(msg, &port), 0);
	assert_int_equal(port.flavour, DEVLINK_PORT_FLAVOUR_PHYSICAL);
	assert_false(devlink_port_is_local_vf(&port));

	/* A port whose driver has not set its attributes: no flavour. */
	msg = new_reply(DEVLINK_CMD_NEW);
	put_handle(msg, "pci", "0000:3b:00.0", 9);
	assert_int_equal(parse(msg, &port), 0);
	assert_int_equal(port.flavour, -1);
	assert_false(devlink_port_is_local_vf(&port));
}

static void test_parse_missing(void **state)
{
	struct devlink_port_info port;
	struct nl_msg *msg;
	char long_name[DEVLINK_NAME_SIZE + 1];

	(void)state;
	/* No port index. */
	msg = new_reply(DEVLINK_CMD_NEW);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, "pci"), 0);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, "0000:3b:00.0"), 0);
	assert_int_equal(parse(msg, &port), -EINVAL);

	/* No bus name. */
	msg = new_reply(DEVLINK_CMD_NEW);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, "0000:3b:00.0"), 0);
	assert_int_equal(nla_put_u32(msg, DEVLINK_ATTR_PORT_INDEX, 1), 0);
	assert_int_equal(parse(msg, &port), -EINVAL);

	/* A VF port without its VF number. */
	msg = new_reply(DEVLINK_CMD_NEW);
	put_handle(msg, "pci", "0000:3b:00.0", 1);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_FLAVOUR,
				     DEVLINK_PORT_FLAVOUR_PCI_VF), 0);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_PCI_PF_NUMBER, 0), 0);
	assert_int_equal(parse(msg, &port), -EINVAL);

	/* A port index of the wrong size. */
	msg = new_reply(DEVLINK_CMD_NEW);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, "pci"), 0);
	assert_int_equal(nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, "0000:3b:00.0"), 0);
	assert_int_equal(nla_put_u16(msg, DEVLINK_ATTR_PORT_INDEX, 1), 0);
	assert_int_equal(parse(msg, &port), -EINVAL);

	/* A device name that does not fit. */
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	msg = new_reply(DEVLINK_CMD_NEW);
	put_handle(msg, "pci", long_name, 1);
	assert_int_equal(parse(msg, &port), -EINVAL);
}

static void test_local_vf(void **state)
{
	struct devlink_port_info vf;

	(void)state;
	assert_int_equal(parse_vf(2, 2, 8, &vf), 0);
	assert_true(devlink_port_is_local_vf(&vf));
	/* PF number 1 belongs to function 1 of the instance's device. */
	strcpy(vf.dev, "0000:3b:00.0");
	assert_false(devlink_port_is_local_vf(&vf));
	strcpy(vf.dev, "0000:3b:00.1");
	vf.external = true;		/* a VF of another host's PF */
	assert_false(devlink_port_is_local_vf(&vf));
	vf.external = false;
	vf.controller = 1;
	assert_false(devlink_port_is_local_vf(&vf));
	vf.controller = 0;
	strcpy(vf.bus, "netdevsim");
	assert_false(devlink_port_is_local_vf(&vf));
	strcpy(vf.bus, "pci");
	vf.flavour = DEVLINK_PORT_FLAVOUR_PCI_PF;
	assert_false(devlink_port_is_local_vf(&vf));
}

/* ---- error messages ---- */

/* An NLMSG_ERROR for a request whose payload is req_len bytes. */
static struct nl_msg *new_error(int flags, uint32_t req_len)
{
	static char payload[64];	/* the echoed request: its content does not matter */
	struct nlmsgerr e = {
		.error = -EOPNOTSUPP,
		.msg = { .nlmsg_len = NLMSG_HDRLEN + req_len, .nlmsg_type = FAMILY },
	};
	struct nl_msg *msg = nlmsg_alloc_simple(NLMSG_ERROR, flags);

	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &e, sizeof(e), NLMSG_ALIGNTO), 0);
	if (!(flags & NLM_F_CAPPED))
		assert_int_equal(nlmsg_append(msg, payload, req_len, NLMSG_ALIGNTO), 0);
	return msg;
}

static void test_extack(void **state)
{
	static const char why[] = "Port doesn't support migratable function attribute";
	struct nl_msg *msg;

	(void)state;
	/* Capped: the TLVs follow the error at once. */
	msg = new_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, 24);
	assert_int_equal(nla_put_u32(msg, NLMSGERR_ATTR_OFFS, 20), 0);
	assert_int_equal(nla_put_string(msg, NLMSGERR_ATTR_MSG, why), 0);
	assert_string_equal(devlink_extack_msg(nlmsg_hdr(msg)), why);
	nlmsg_free(msg);

	/* Not capped: after the echoed request, padded to 4 bytes. */
	msg = new_error(NLM_F_ACK_TLVS, 21);
	assert_int_equal(nla_put_string(msg, NLMSGERR_ATTR_MSG, why), 0);
	assert_string_equal(devlink_extack_msg(nlmsg_hdr(msg)), why);
	nlmsg_free(msg);

	/* TLVs without a message. */
	msg = new_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, 24);
	assert_int_equal(nla_put_u32(msg, NLMSGERR_ATTR_OFFS, 20), 0);
	assert_null(devlink_extack_msg(nlmsg_hdr(msg)));
	nlmsg_free(msg);

	/* No TLVs: a kernel that was not asked for them. */
	msg = new_error(NLM_F_CAPPED, 24);
	assert_null(devlink_extack_msg(nlmsg_hdr(msg)));
	nlmsg_free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_set_msg),
		cmocka_unit_test(test_parse_vf_port),
		cmocka_unit_test(test_parse_migratable),
		cmocka_unit_test(test_parse_port_new),
		cmocka_unit_test(test_parse_other_ports),
		cmocka_unit_test(test_parse_missing),
		cmocka_unit_test(test_local_vf),
		cmocka_unit_test(test_extack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

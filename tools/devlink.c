// SPDX-License-Identifier: MIT
/*
 * devlink over generic netlink: the requests vfio-migctl sends and the
 * replies it reads.  Nothing here prints or exits; failures come back in
 * dl->err.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/devlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "devlink.h"
#include "pci_addr.h"
#include "uapi-compat.h"

/* ---- port replies ---- */

/*
 * bookworm's DEVLINK_PORT_FUNCTION_ATTR_MAX ends before CAPS (Linux
 * 6.2), the last function attribute read here.
 */
#define PORT_FN_ATTR_MAX	DEVLINK_PORT_FN_ATTR_CAPS

static const struct nla_policy port_policy[DEVLINK_ATTR_MAX + 1] = {
	[DEVLINK_ATTR_BUS_NAME] = { .type = NLA_STRING },
	[DEVLINK_ATTR_DEV_NAME] = { .type = NLA_STRING },
	[DEVLINK_ATTR_PORT_INDEX] = { .type = NLA_U32 },
	[DEVLINK_ATTR_PORT_NETDEV_NAME] = { .type = NLA_STRING },
	[DEVLINK_ATTR_PORT_FLAVOUR] = { .type = NLA_U16 },
	[DEVLINK_ATTR_PORT_PCI_PF_NUMBER] = { .type = NLA_U16 },
	[DEVLINK_ATTR_PORT_PCI_VF_NUMBER] = { .type = NLA_U16 },
	[DEVLINK_ATTR_PORT_FUNCTION] = { .type = NLA_NESTED },
	[DEVLINK_ATTR_PORT_EXTERNAL] = { .type = NLA_U8 },
	[DEVLINK_ATTR_PORT_CONTROLLER_NUMBER] = { .type = NLA_U32 },
};

static const struct nla_policy function_policy[PORT_FN_ATTR_MAX + 1] = {
	[DEVLINK_PORT_FN_ATTR_CAPS] = { .minlen = sizeof(struct nla_bitfield32) },
};

/* A string attribute, "" when absent; -EINVAL when it does not fit. */
static int get_string(char *dst, size_t size, struct nlattr *a)
{
	*dst = '\0';
	if (!a)
		return 0;
	if ((size_t)nla_len(a) > size)	/* the length counts the NUL */
		return -EINVAL;
	nla_strlcpy(dst, a, size);
	return 0;
}

/* The selector says which capabilities the port reports, value which are on. */
static int get_migratable(struct nlattr *function, enum migratable *m)
{
	struct nlattr *tb[PORT_FN_ATTR_MAX + 1];
	struct nla_bitfield32 caps;

	*m = MIGRATABLE_UNSUPPORTED;
	if (!function)
		return 0;
	if (nla_parse_nested(tb, PORT_FN_ATTR_MAX, function, function_policy))
		return -EINVAL;
	if (!tb[DEVLINK_PORT_FN_ATTR_CAPS])
		return 0;
	nla_memcpy(&caps, tb[DEVLINK_PORT_FN_ATTR_CAPS], sizeof(caps));
	if (caps.selector & DEVLINK_PORT_FN_CAP_MIGRATABLE)
		*m = caps.value & DEVLINK_PORT_FN_CAP_MIGRATABLE ?
			MIGRATABLE_ON : MIGRATABLE_OFF;
	return 0;
}

/* Dump replies say DEVLINK_CMD_NEW, not PORT_NEW (a kernel quirk): cmd is not checked. */
int devlink_parse_port(struct nlmsghdr *nlh, struct devlink_port_info *port)
{
	struct nlattr *tb[DEVLINK_ATTR_MAX + 1];

	memset(port, 0, sizeof(*port));
	if (genlmsg_parse(nlh, 0, tb, DEVLINK_ATTR_MAX, port_policy) ||
	    !tb[DEVLINK_ATTR_BUS_NAME] || !tb[DEVLINK_ATTR_DEV_NAME] ||
	    !tb[DEVLINK_ATTR_PORT_INDEX])
		return -EINVAL;
	port->index = nla_get_u32(tb[DEVLINK_ATTR_PORT_INDEX]);
	/* A port whose driver has not set its attributes has no flavour. */
	port->flavour = tb[DEVLINK_ATTR_PORT_FLAVOUR] ?
		nla_get_u16(tb[DEVLINK_ATTR_PORT_FLAVOUR]) : -1;
	if (port->flavour == DEVLINK_PORT_FLAVOUR_PCI_VF &&
	    (!tb[DEVLINK_ATTR_PORT_PCI_PF_NUMBER] || !tb[DEVLINK_ATTR_PORT_PCI_VF_NUMBER]))
		return -EINVAL;
	if (tb[DEVLINK_ATTR_PORT_PCI_PF_NUMBER])
		port->pf_number = nla_get_u16(tb[DEVLINK_ATTR_PORT_PCI_PF_NUMBER]);
	if (tb[DEVLINK_ATTR_PORT_PCI_VF_NUMBER])
		port->vf_number = nla_get_u16(tb[DEVLINK_ATTR_PORT_PCI_VF_NUMBER]);
	if (tb[DEVLINK_ATTR_PORT_CONTROLLER_NUMBER])
		port->controller = nla_get_u32(tb[DEVLINK_ATTR_PORT_CONTROLLER_NUMBER]);
	port->external = tb[DEVLINK_ATTR_PORT_EXTERNAL] &&
		nla_get_u8(tb[DEVLINK_ATTR_PORT_EXTERNAL]);
	if (get_string(port->bus, sizeof(port->bus), tb[DEVLINK_ATTR_BUS_NAME]) ||
	    get_string(port->dev, sizeof(port->dev), tb[DEVLINK_ATTR_DEV_NAME]) ||
	    get_string(port->netdev, sizeof(port->netdev), tb[DEVLINK_ATTR_PORT_NETDEV_NAME]))
		return -EINVAL;
	return get_migratable(tb[DEVLINK_ATTR_PORT_FUNCTION], &port->migratable);
}

bool devlink_port_is_local_vf(const struct devlink_port_info *port)
{
	struct pci_addr pf;

	return port->flavour == DEVLINK_PORT_FLAVOUR_PCI_VF &&
	       port->controller == 0 && !port->external &&
	       !strcmp(port->bus, "pci") && !pci_addr_parse(port->dev, &pf) &&
	       port->pf_number == pf.fn;
}

/* ---- requests ---- */

/* A devlink request with its generic netlink header, or NULL. */
static struct nl_msg *new_request(int family, int flags, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
				cmd, DEVLINK_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* The port's handle, and a function nest that turns migratable on. */
static int put_enable_migratable(struct nl_msg *msg,
				 const struct devlink_port_info *port)
{
	/* Change the one capability in the selector, to the value's "on". */
	const struct nla_bitfield32 caps = {
		.value = DEVLINK_PORT_FN_CAP_MIGRATABLE,
		.selector = DEVLINK_PORT_FN_CAP_MIGRATABLE,
	};
	struct nlattr *function;

	if (nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, port->bus) ||
	    nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, port->dev) ||
	    nla_put_u32(msg, DEVLINK_ATTR_PORT_INDEX, port->index))
		return -EMSGSIZE;
	/*
	 * Strictly validated operations refuse a nest without NLA_F_NESTED,
	 * and libnl's nla_nest_start adds it only in some versions.
	 */
	function = nla_nest_start(msg, DEVLINK_ATTR_PORT_FUNCTION | NLA_F_NESTED);
	if (!function ||
	    nla_put(msg, DEVLINK_PORT_FN_ATTR_CAPS, sizeof(caps), &caps))
		return -EMSGSIZE;
	return nla_nest_end(msg, function);
}

struct nl_msg *devlink_port_set_msg(int family,
				    const struct devlink_port_info *port)
{
	struct nl_msg *msg = new_request(family, NLM_F_REQUEST | NLM_F_ACK,
					 DEVLINK_CMD_PORT_SET);

	if (msg && put_enable_migratable(msg, port)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

const char *devlink_extack_msg(const struct nlmsghdr *nlh)
{
	static const struct nla_policy policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = { .type = NLA_STRING },
	};
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    (size_t)nlmsg_datalen(nlh) < off)
		return NULL;
	/* Unless capped, the request comes back whole before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	if ((size_t)nlmsg_datalen(nlh) < off ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      nlmsg_datalen(nlh) - (int)off, policy) ||
	    !tb[NLMSGERR_ATTR_MSG])
		return NULL;
	return nla_get_string(tb[NLMSGERR_ATTR_MSG]);
}

/* ---- talking to the kernel ---- */

/* Say why in dl->err; returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(struct devlink *dl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dl->err, sizeof(dl->err), fmt, ap);
	va_end(ap);
	return -1;
}

int devlink_open(struct devlink *dl)
{
	int one = 1, err;

	dl->sk = nl_socket_alloc();
	if (!dl->sk)
		return fail(dl, "netlink socket: %s", strerror(ENOMEM));
	err = genl_connect(dl->sk);
	if (!err)
		err = dl->family = genl_ctrl_resolve(dl->sk, DEVLINK_GENL_NAME);
	if (err < 0) {
		devlink_close(dl);
		if (err == -NLE_OBJ_NOTFOUND)
			return fail(dl, "devlink is not available in this kernel "
				    "(no generic netlink family \"%s\")", DEVLINK_GENL_NAME);
		return fail(dl, "generic netlink: %s", nl_geterror(err));
	}
	/*
	 * Each request asks for exactly the answer it reads (a dump its DONE,
	 * PORT_SET its ACK), so libnl must not add NLM_F_ACK; not before
	 * genl_ctrl_resolve, which waits for one.
	 */
	nl_socket_disable_auto_ack(dl->sk);
	/* Without it the kernel keeps to itself why a request failed. */
	(void)setsockopt(nl_socket_get_fd(dl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
			 &one, sizeof(one));
	return 0;
}

void devlink_close(struct devlink *dl)
{
	nl_socket_free(dl->sk);
	dl->sk = NULL;
}

/* One request and what reading its answer found. */
struct request {
	struct devlink *dl;
	devlink_port_fn *port_fn;	/* dumps: called for every port */
	void *arg;
	bool failed;			/* dl->err says why */
};

static int on_port(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct devlink_port_info port;

	if (devlink_parse_port(nlmsg_hdr(msg), &port)) {
		rq->failed = true;
		fail(rq->dl, "a malformed devlink port reply");
		/* Read on to the end of the dump: nothing stale may wait. */
		return NL_SKIP;
	}
	rq->port_fn(&port, rq->arg);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;
	const struct nlmsghdr *nlh =
		(const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	const char *why = devlink_extack_msg(nlh);

	(void)who;
	rq->failed = true;
	fail(rq->dl, "%s", why ? why : strerror(-e->error));
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_STOP;
}

/* Send msg (NULL: it could not be built) and read its whole answer. */
static int transact(struct request *rq, struct nl_msg *msg)
{
	struct nl_cb *cb = msg ? nl_cb_alloc(NL_CB_DEFAULT) : NULL;
	int err = -NLE_NOMEM;

	if (cb) {
		if (rq->port_fn)
			nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_port, rq);
		nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, NULL);
		nl_cb_err(cb, NL_CB_CUSTOM, on_error, rq);
		err = nl_send_auto(rq->dl->sk, msg);
		if (err >= 0)
			err = nl_recvmsgs(rq->dl->sk, cb);
		nl_cb_put(cb);
	}
	nlmsg_free(msg);
	if (err < 0 && !rq->failed)
		return fail(rq->dl, "devlink: %s", nl_geterror(err));
	return rq->failed ? -1 : 0;
}

int devlink_dump_ports(struct devlink *dl, devlink_port_fn *fn, void *arg)
{
	struct request rq = { .dl = dl, .port_fn = fn, .arg = arg };

	return transact(&rq, new_request(dl->family, NLM_F_REQUEST | NLM_F_DUMP,
					 DEVLINK_CMD_PORT_GET));
}

int devlink_enable_migratable(struct devlink *dl,
			      const struct devlink_port_info *port)
{
	struct request rq = { .dl = dl };

	return transact(&rq, devlink_port_set_msg(dl->family, port));
}

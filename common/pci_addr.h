/* SPDX-License-Identifier: MIT */
/*
 * PCI addresses as people write them and as sysfs names them: one parser
 * for the daemon's vfio:BDF and vfio-migctl's prepare and devlink names.
 */
#ifndef PCI_ADDR_H
#define PCI_ADDR_H

#include <stdint.h>

struct pci_addr {
	uint32_t domain;
	uint8_t bus, dev, fn;
};

/* "dddd:bb:dd.f" with a domain of up to 8 hex digits, and its NUL */
#define PCI_ADDR_SIZE	17

/*
 * DOMAIN:BUS:DEV.FN or BUS:DEV.FN (domain 0), hex in either case.
 * Returns 0 or -EINVAL.
 */
int pci_addr_parse(const char *s, struct pci_addr *a);
/* The kernel's spelling, as in /sys/bus/pci/devices: 0000:3b:00.1. */
void pci_addr_format(const struct pci_addr *a, char buf[PCI_ADDR_SIZE]);

#endif

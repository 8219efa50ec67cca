// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci_addr.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One to max hex digits into *v; returns what follows them, or NULL. */
static const char *parse_hex(const char *s, unsigned int max, uint32_t *v)
{
	unsigned int n;
	int d;

	*v = 0;
	for (n = 0; n < max && (d = hex_digit(s[n])) >= 0; n++)
		*v = *v << 4 | (uint32_t)d;
	return n ? s + n : NULL;
}

int pci_addr_parse(const char *s, struct pci_addr *a)
{
	/* domain, bus, device, function: at most so many digits, then next */
	static const struct {
		unsigned int digits;
		char next;
	} field[] = { { 8, ':' }, { 2, ':' }, { 2, '.' }, { 1, '\0' } };
	uint32_t v[4] = { 0 };
	/* With one colon only, the domain (0) was left out. */
	unsigned int i = strchr(s, ':') == strrchr(s, ':');

	for (; i < 4; i++) {
		s = parse_hex(s, field[i].digits, &v[i]);
		if (!s || *s++ != field[i].next)
			return -EINVAL;
	}
	if (v[2] > 0x1f || v[3] > 7)
		return -EINVAL;
	*a = (struct pci_addr){ .domain = v[0], .bus = (uint8_t)v[1],
				.dev = (uint8_t)v[2], .fn = (uint8_t)v[3] };
	return 0;
}

void pci_addr_format(const struct pci_addr *a, char buf[PCI_ADDR_SIZE])
{
	snprintf(buf, PCI_ADDR_SIZE, "%04x:%02x:%02x.%x", a->domain, a->bus,
		 a->dev, a->fn);
}

// SPDX-License-Identifier: MIT
/*
 * The rules of vfio-migctl check, by number: what each requires, where
 * it is written, and the function that checks it.  check.c runs them and
 * check_report.c prints their verdicts, both from this table.
 */
#include "check.h"
#include "util.h"

#define UAPI "include/uapi/linux/vfio.h (6.1, 6.12)"

const struct check_rule check_rules[] = {
	{ 1, "fresh-open",
	  "a device opened fresh is in RUNNING (the daemon found it elsewhere and reset it)",
	  "RFC 'vfio: Documentation for the migration region' (Gunthorpe, 2021-11-29): "
	  "a freshly opened device fd is RUNNING; every in-tree driver resets on open",
	  rule_fresh_open },
	{ 2, "fsm-paths",
	  "every state the features allow is reachable from every other along the kernel's "
	  "path; a state they do not allow is refused (EOPNOTSUPP), STOP_COPY -> PRE_COPY* "
	  "and ERROR are refused (EINVAL), the state unchanged",
	  UAPI ": enum vfio_device_mig_state, VFIO_DEVICE_FEATURE_MIGRATION flags; "
	  "drivers/vfio/vfio_main.c vfio_mig_get_next_state(); docs/ABI.md 3.1-3.2",
	  rule_fsm },
	{ 3, "reset",
	  "VFIO_DEVICE_RESET returns the device to RUNNING from every state, ERROR included",
	  UAPI ": 'To recover from ERROR VFIO_DEVICE_RESET must be used to return the "
	  "device_state back to RUNNING', 'To abort a RESUMING session the device must be "
	  "reset'; docs/ABI.md 5",
	  rule_reset },
	{ 4, "stop-copy",
	  "STOP_COPY's data ends in EOF and stays there; it is no longer than the "
	  "MIG_DATA_SIZE estimate; data cannot be read outside a saving state",
	  UAPI ": PRE_COPY_P2P -> STOP_COPY ('End of stream on the FD indicates the entire "
	  "device state has been transferred'), VFIO_MIG_GET_PRECOPY_INFO ('permanent end of "
	  "stream'), VFIO_DEVICE_FEATURE_MIG_DATA_SIZE (6.2+); docs/ABI.md 4, 4.2",
	  rule_stop_copy },
	{ 5, "pre-copy",
	  "in PRE_COPY, initial_bytes falls as the initial data is read and never grows, "
	  "dirty_bytes is reported, and the stream reads to its end through STOP_COPY",
	  UAPI " (6.2+): VFIO_MIG_GET_PRECOPY_INFO ('initial_bytes ... decrease as migration "
	  "data is read from the device'); docs/ABI.md 4.1",
	  rule_pre_copy },
	{ 6, "p2p",
	  "P2P states exist exactly when the device has the p2p feature, running <-> stop "
	  "passes through RUNNING_P2P, and in RUNNING_P2P the device starts no DMA",
	  UAPI ": VFIO_MIGRATION_P2P, 'RUNNING_P2P and PRE_COPY_P2P states must prevent the "
	  "device from initiating any new P2P DMA transactions'",
	  rule_p2p },
	{ 7, "load",
	  "a stream saved from the device loads into a compatible device (RESUMING -> STOP "
	  "succeeds), which then runs with the saved state",
	  UAPI ": STOP -> RESUMING, RESUMING -> STOP; docs/ABI.md 4",
	  rule_load },
	{ 8, "damaged-stream",
	  "a truncated, a corrupted and an over-long stream are refused by a write or by "
	  "RESUMING -> STOP, and a reset brings the device back",
	  UAPI ": RESUMING -> STOP ('If the user provided data is found to be incomplete, "
	  "inconsistent, or otherwise invalid, the migration driver must fail the SET_STATE "
	  "ioctl')",
	  rule_damaged },
	{ 9, "refused-write",
	  "bytes of a refused write are not kept: RESUMING -> STOP after a refused write "
	  "fails",
	  UAPI ": RESUMING -> STOP (as rule 8); the migration-region review rules "
	  "(/work/shared/reference/vfio-uapi.md 2.1: a failed write leaves the previous state)",
	  rule_refused_write },
	{ 10, "dirty-log",
	  "DMA logging: start clears and logs, a read clears what it reported, stop freezes "
	  "the log for a final read, a second start discards it; ranges past the limits "
	  "are refused",
	  UAPI ": VFIO_DEVICE_FEATURE_DMA_LOGGING_START/STOP/REPORT ('During querying the "
	  "log is cleared'); RFC 2021-11-29 (test-and-clear, frozen after stop); "
	  "docs/ABI.md 7",
	  rule_dirty },
};
const unsigned int check_nrules = ARRAY_SIZE(check_rules);

#!/bin/sh
# Guest script for run-lane.sh: vfio-migctl prepare against the devlink
# family of Debian's 6.1 kernel, which the machine running the tests may
# not have at all (then only the host's run of the same test says so).
#   guest-prepare-test.sh VFIO_MIGCTL T_PREPARE_SH
MIGCTL=$1 exec bash "$2"

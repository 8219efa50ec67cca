#!/bin/sh
# Guest script for run-lane.sh: proves the vfio_migtest driver with two
# devices and the raw-ioctl test program.
#   guest-driver-test.sh /path/to/migtest-ioctl
set -eu
. "$MIGTEST_LIB"
ioctl_test=$1

a=$(migtest_uuid)
b=$(migtest_uuid)
echo "device A: $(migtest_create "$a")"
echo "device B: $(migtest_create "$b")"
echo "available instances left: $(cat "$MIGTEST_TYPE/available_instances")"

rc=0
"$ioctl_test" "$a" "$b" || rc=$?

migtest_remove "$a"
migtest_remove "$b"
exit $rc

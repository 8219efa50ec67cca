#!/bin/bash
# vfio-migctl prepare against the running kernel's own devlink family: the
# command line, the errors for addresses without a devlink port, --list.
# It prepares only addresses that do not exist or are no VF: no device is
# ever changed.  Environment: MIGCTL (the tool), MIGCTL_VALGRIND=1 to run
# it under valgrind (an error fails the check it is in).
NO_MOUNTS=1	# devlink only
. "$(dirname "$0")/../fs/lib.sh"	# check, eq, fail, finish and $T

# run ARGS...: vfio-migctl ARGS; sets RC, OUT and ERR.
run() {
	local vg=()
	[ "${MIGCTL_VALGRIND:-0}" = 1 ] &&
		vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
		    --errors-for-leak-kinds=definite --log-file="$T/valgrind.log")
	RC=0
	"${vg[@]}" "$MIGCTL" "$@" >"$T/out" 2>"$T/err" || RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	if [ "$RC" = 99 ]; then
		fail "valgrind on vfio-migctl $*"
		cat "$T/valgrind.log" >&2
	fi
}

# one_line WHAT STATUS PREFIX: the last run exited STATUS with one line on
# stderr that starts with PREFIX.
one_line() {
	eq "exit status of $1" "$RC" "$2"
	eq "lines on stderr for $1" "$(printf '%s\n' "$ERR" | wc -l)" 1
	case $ERR in "$3"*) ok ;; *) fail "$1: stderr '$ERR' does not start with '$3'" ;; esac
}

# usage_error WANT ARGS...: exit 2, one line naming WANT.
usage_error() {
	local want=$1
	shift
	run "$@"
	one_line "vfio-migctl $*" 2 "vfio-migctl: "
	case $ERR in *"$want"*) ok ;; *) fail "vfio-migctl $*: '$ERR' does not name '$want'" ;; esac
}

# no_port BDF ARGS...: prepare ARGS fails, saying BDF has no devlink port.
no_port() {
	local bdf=$1
	shift
	run prepare "$@"
	one_line "prepare $*" 1 "vfio-migctl: no devlink port for BDF $bdf"
}

skip() {
	echo "SKIP: $*" >&2
}

# "present" or "absent": the kernel's devlink family, asked of the generic
# netlink controller directly rather than through vfio-migctl.
devlink_family() {
	python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
name = b"devlink\0"
attr = struct.pack("=HH", 4 + len(name), 2) + name    # CTRL_ATTR_FAMILY_NAME
attr += bytes(-len(attr) % 4)
body = struct.pack("=BBH", 3, 1, 0) + attr           # CTRL_CMD_GETFAMILY
s.send(struct.pack("=IHHII", 16 + len(body), 0x10, 1, 1, 0) + body)  # GENL_ID_CTRL
reply = s.recv(65536)
kind = struct.unpack_from("=H", reply, 4)[0]
error = struct.unpack_from("=i", reply, 16)[0] if kind == 2 else 0  # NLMSG_ERROR
print("absent" if error == -2 else "present" if kind == 0x10 else f"unknown {kind} {error}")
PY
}

# --help and --version.
run --help
eq "--help status" "$RC" 0
case $OUT in "usage: vfio-migctl"*) ok ;; *) fail "--help: '$OUT'" ;; esac
run prepare --help
eq "prepare --help status" "$RC" 0
case $OUT in *"prepare --list"*) ok ;; *) fail "prepare --help does not show prepare --list" ;; esac
run --version
eq "--version" "$RC $OUT" "0 vfio-migctl $(sed -n "s/^  version: '\(.*\)',$/\1/p" "$(dirname "$0")/../../meson.build")"

# Command lines that make no sense.
usage_error "no command"
usage_error "unknown command 'frob'" frob
usage_error "unknown option '--frob'" --frob prepare
usage_error "unknown option '--frob'" prepare --frob 0000:3b:00.1
usage_error "unknown option '-x'" prepare -x 0000:3b:00.1
usage_error "one BDF" prepare
usage_error "one BDF" prepare 0000:3b:00.1 0000:3b:00.2
usage_error "'--driver' needs a value" prepare 0000:3b:00.1 --driver
usage_error "not 'a/b'" prepare --driver a/b 0000:3b:00.1
usage_error "takes no BDF" prepare --list 0000:3b:00.1
usage_error "takes no BDF" prepare --list --driver vfio-pci
for bdf in "" xyz 3b:00 0000:3b:00 0000:3b:00.8 0000:3b:20.0 0000:3b:00.1x \
	   0000:3b:00.1: 0000:13b:00.1; do
	usage_error "'$bdf' is not a PCI address" prepare "$bdf"
done

# Addresses without a devlink port: one that does not exist (in any
# spelling), one that is no VF.
if [ -e /sys/bus/pci/devices/0000:3b:00.1 ]; then
	skip "0000:3b:00.1 exists on this machine; it is not prepared by a test"
else
	no_port 0000:3b:00.1 0000:3b:00.1
	no_port 0000:3b:00.1 3B:00.1
	no_port 0000:3b:00.1 --driver vfio-pci 0000:3b:00.1
	eq "reason for a missing device" "${ERR#*(}" "no such PCI device)"
fi
pf=
for dev in /sys/bus/pci/devices/*; do
	[ -e "$dev/physfn" ] || { pf=${dev##*/}; break; }
done
if [ -z "$pf" ]; then
	skip "no PCI device that is no VF on this machine"
else
	no_port "$pf" "$pf"
	eq "reason for $pf" "${ERR#*(}" "not a VF)"
fi

# --list reads every devlink port of the kernel.
run prepare --list
family=$(devlink_family)
if [ "$family" = present ]; then
	eq "prepare --list status" "$RC" 0
	eq "prepare --list stderr" "$ERR" ""
	check "prepare --list names VF ports or says there are none" \
		grep -qE '^(no devlink VF ports found|[^ ]+/[^ ]+/[0-9]+: vf )' "$T/out"
elif [ "$family" = absent ]; then
	skip "this kernel has no devlink family: prepare --list must say so and" \
	     "nothing of devlink itself is tested"
	one_line "prepare --list without devlink" 1 \
		"vfio-migctl: devlink is not available in this kernel"
else
	fail "asking the kernel for its devlink family: '$family'"
fi

finish

#!/bin/bash
# fuzz.sh [SECONDS [NAME...]]: a long fuzzing campaign, SECONDS (default
# 3600) for each harness of tests/fuzz (all of them, or the NAMEs), one
# after another, in build-fuzz (clang, libFuzzer, ASan, UBSan).  The
# corpus grows in build-fuzz/campaign/NAME (seeded from tests/fuzz/corpus/
# NAME: copy new finds back by hand if they are worth keeping).  A finding
# does not end the campaign (libFuzzer's fork mode goes on); each is kept
# as build-fuzz/campaign/NAME-{crash,timeout,oom}-*.  Ends with one line
# per harness: its executions and findings.  Exits 1 if anything was found.
set -u
cd "$(dirname "$0")/.."
seconds=${1:-3600}
shift $(($# > 0 ? 1 : 0))
names=("$@")
[ ${#names[@]} -gt 0 ] ||
	names=(number state spec ranges attrs sim_resume sim_roundtrip stream)
CC=clang scripts/build.sh build-fuzz -Dtests=false -Dfuzz=true || exit 1
out=build-fuzz/campaign
mkdir -p "$out"
summary=() rc=0
for name in "${names[@]}"; do
	harness=build-fuzz/tests/fuzz/fuzz_$name
	if [ ! -x "$harness" ]; then
		echo "fuzz.sh: no harness $name (is clang with libFuzzer installed?)" >&2
		exit 1
	fi
	mkdir -p "$out/$name"
	cp -rn tests/fuzz/corpus/$name/. "$out/$name/"
	dict=()
	[ -f tests/fuzz/$name.dict ] && dict=("-dict=tests/fuzz/$name.dict")
	"$harness" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$name-" "${dict[@]}" "$out/$name" 2>"$out/$name.log"
	# The last progress line: "#EXECS: ... oom/timeout/crash: O/T/C ..."
	read -r execs found < <(sed -n 's|^#\([0-9]*\):.* oom/timeout/crash: \([0-9]*\)/\([0-9]*\)/\([0-9]*\).*|\1 \2 \3 \4|p' \
		"$out/$name.log" | tail -n 1 | awk '{ print $1, $2 + $3 + $4 }')
	[ "${found:-0}" = 0 ] || rc=1
	summary+=("$name: ${execs:-?} execs in $seconds s, ${found:-?} findings")
done
printf '%s\n' "${summary[@]}"
exit $rc

#!/bin/bash
# fuzz.sh [SECONDS [NAME...]]: a long fuzzing campaign, SECONDS (default
# 3600) for each harness of tests/fuzz (all of them, or the NAMEs), one
# after another, in build-fuzz (clang, libFuzzer, ASan, UBSan).  The
# corpus grows in build-fuzz/campaign/NAME (seeded from tests/fuzz/corpus/
# NAME: copy new finds back by hand if they are worth keeping); a finding
# is kept as build-fuzz/campaign/NAME-crash-*.  Ends with one line per
# harness: its executions and findings.  Exits 1 if anything was found.
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
	"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-error_exitcode=1 -print_final_stats=1 -artifact_prefix="$out/$name-" \
		"${dict[@]}" "$out/$name" 2>"$out/$name.log"
	found=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
	[ $found = 0 ] || rc=1
	summary+=("$name: ${execs:-?} execs in ${seconds} s, $([ $found = 0 ] && echo 0 || echo 1) findings")
done
printf '%s\n' "${summary[@]}"
exit $rc

#!/bin/bash
# run.sh HARNESS SRCDIR NAME SECONDS OUTDIR: one libFuzzer harness for
# SECONDS from a temporary copy of SRCDIR/corpus/NAME (the tree is never
# written), with SRCDIR/NAME.dict when there is one.  A finding fails the
# test and is kept as OUTDIR/NAME-crash-*, with libFuzzer's report above.
# (libFuzzer exits 77 on a finding by default: meson would call it a skip.)
# Findings kept as SRCDIR/repro/NAME/crash-* are replayed first: a bug
# found once stays tested.  A harness may print "coverage: WHAT: N" lines
# at exit: any N of 0 fails the test.
set -u
harness=$1 src=$2 name=$3 seconds=$4 out=$5
mkdir -p "$out" && work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cp -r "$src/corpus/$name/." "$work/"
for f in "$src/repro/$name"/crash-*; do
	[ -f "$f" ] || continue
	if ! "$harness" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 "$f" >"$work.log" 2>&1; then
		tail -n 60 "$work.log"
		echo "run.sh: $name: the finding ${f##*/} still fails"
		rm -f "$work.log"
		exit 1
	fi
done
dict=()
[ -f "$src/$name.dict" ] && dict=("-dict=$src/$name.dict")
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -error_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$out/$name-" "${dict[@]}" "$work" 2>"$work.log"
rc=$?
if [ $rc = 0 ]; then
	grep -E "^(stat::number_of_executed_units|Done|coverage: )" "$work.log"
	# A harness that counts what its inputs reached: a part never reached
	# was never tested, however long the run.
	if grep -q "^coverage: .*: 0$" "$work.log"; then
		echo "run.sh: $name: the inputs never reached: $(sed -n 's/^coverage: \(.*\): 0$/\1/p' "$work.log" | paste -sd, -)"
		rc=1
	fi
else
	tail -n 60 "$work.log"
fi
rm -f "$work.log"
exit $rc

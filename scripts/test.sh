#!/bin/bash
# The whole test suite, as CI runs it: unit and filesystem tests, the
# daemon under valgrind, everything again built with ASan and UBSan, the
# daemon and the tools with ThreadSanitizer, the kernel lane (Debian's
# 6.1 and 6.12 kernels in QEMU), each libFuzzer harness for 30 s (clang), and the
# Debian package built, installed and demonstrated (suite package).  Run
# as root.  Warnings are errors here (werror is off by default, for
# packagers).
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/build.sh build -Dtests=true -Dwerror=true || exit 1
scripts/build.sh build-san -Dtests=true -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false || exit 1
scripts/build.sh build-tsan -Dtests=true -Dwerror=true -Db_sanitize=thread -Db_lundef=false || exit 1
# The fuzz build needs clang; without it, suite fuzz says why and skips.
CC=$(command -v clang || echo cc) scripts/build.sh build-fuzz -Dtests=false -Dwerror=true -Dfuzz=true || exit 1

rc=0
meson test -C build --print-errorlogs || rc=1
# valgrind and the kernel lane already ran above; sanitizers need neither.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-san --suite unit --suite fs --print-errorlogs || rc=1
# Every ThreadSanitizer report of any process (the daemon in the
# background included) lands in its own file: each one is a failure.
tsan=$(mktemp -d /tmp/migfs-tsan.XXXXXX)
TSAN_OPTIONS="log_path=$tsan/report second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
	meson test -C build-tsan --suite fs --suite tools --print-errorlogs || rc=1
reports=$(find "$tsan" -type f | wc -l)
if [ "$reports" != 0 ]; then
	cat "$tsan"/* >&2
	rc=1
fi
rm -rf "$tsan"
meson test -C build-fuzz --suite fuzz --print-errorlogs || rc=1

# One closing line over every run.
python3 - "$reports" build/meson-logs/testlog.json build-san/meson-logs/testlog.json \
	build-tsan/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": int(sys.argv[1]), "SKIP": 0}
for path in sys.argv[2:]:
    for line in open(path):
        r = json.loads(line)["result"]
        key = r if r in counts else "FAIL"
        counts[key] += 1
print(f"tests: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $rc

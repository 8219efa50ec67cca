#!/bin/bash
# The whole test suite, as CI runs it: unit and filesystem tests, the
# daemon under valgrind, everything again built with ASan and UBSan, the
# kernel lane (Debian's 6.1 kernel in QEMU), and each libFuzzer harness
# for 30 s (clang).  Run as root.
set -u
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/build.sh build -Dtests=true || exit 1
scripts/build.sh build-san -Dtests=true -Db_sanitize=address,undefined -Db_lundef=false || exit 1
# The fuzz build needs clang; without it, suite fuzz says why and skips.
CC=$(command -v clang || echo cc) scripts/build.sh build-fuzz -Dtests=false -Dfuzz=true || exit 1

rc=0
meson test -C build --print-errorlogs || rc=1
# valgrind and the kernel lane already ran above; sanitizers need neither.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-san --suite unit --suite fs --print-errorlogs || rc=1
meson test -C build-fuzz --suite fuzz --print-errorlogs || rc=1

# One closing line over every run.
python3 - build/meson-logs/testlog.json build-san/meson-logs/testlog.json \
	build-fuzz/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        key = r if r in counts else "FAIL"
        counts[key] += 1
print(f"tests: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $rc

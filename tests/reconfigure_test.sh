#!/bin/sh
# reconfigure_test.sh — ctest's test_make_reconfigure: a build folder
# configured before cmocka and libpng were installed gets the tests and PNG
# support from the next `make`, and until then make check's test count
# (cmake/check-tests.cmake) refuses it, naming cmocka.
#
# usage: reconfigure_test.sh SOURCE_DIR
# env:   CC, CMAKE, MAKE (default cc, cmake, make)
#
# A newcomer runs `make demo` on a fresh machine (build/ configured without
# cmocka or libpng), then `make check` or `apt-get install libpng-dev` and
# `make`. This test does that in a scratch build folder without uninstalling
# anything: it configures with a CMAKE_PROJECT_INCLUDE hook that, while a
# flag file exists, turns off CMake's system search paths (zlib, which the
# build requires, is found first), so cmocka and libpng are not found; then
# it removes the flag (the packages are "installed") and runs the
# Makefile's `make all`.
# Exit 0 passed, 1 failed, 77 skipped (cmocka not installed here).
set -eu

src=${1:?usage: reconfigure_test.sh SOURCE_DIR}
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}
MAKE=${MAKE:-make}

fail() { echo "reconfigure_test: FAIL: $*" >&2; exit 1; }
note() { echo "reconfigure_test: $*"; }

has_header() {
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <%s>\n' "$1" |
        "$CC" -E -x c - >/dev/null 2>&1
}
if ! command -v "$MAKE" >/dev/null 2>&1; then
    echo "reconfigure_test: SKIP: no $MAKE"
    exit 77
fi
if ! has_header cmocka.h; then
    echo "reconfigure_test: SKIP: cmocka is not installed"
    exit 77
fi
png=yes
has_header png.h || png=no

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradflow-reconf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
b=$tmp/build
cat >"$tmp/hide.cmake" <<EOF
if(EXISTS "$tmp/hidden")
  find_path(ZLIB_INCLUDE_DIR zlib.h)
  find_library(ZLIB_LIBRARY z)
  set(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH OFF)
endif()
EOF
touch "$tmp/hidden"

# --- Before: configured with cmocka and libpng "not installed" ----------
"$CMAKE" -S "$src" -B "$b" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PROJECT_INCLUDE="$tmp/hide.cmake" >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; fail "the first configure failed"; }
grep -q '^CMOCKA_INCLUDE_DIR:PATH=.*-NOTFOUND$' "$b/CMakeCache.txt" ||
    fail "could not hide cmocka from the first configure (the test's set-up)"
if (cd "$b" && ctest -N) | grep -q 'test_train$'; then
    fail "tests configured without cmocka (the test's set-up)"
fi

# make check's count refuses this folder, and says that cmocka is missing.
if "$CMAKE" -DSOURCE_DIR="$src" -DBUILD_DIR="$b" -P "$src/cmake/check-tests.cmake" \
       >"$tmp/count.log" 2>&1; then
    cat "$tmp/count.log" >&2
    fail "cmake/check-tests.cmake accepted a build folder without the cmocka tests"
fi
# (CMake wraps the message: one line, single spaces)
tr -s ' \n' '  ' <"$tmp/count.log" >"$tmp/count1.log"
grep -q 'cmocka was not found' "$tmp/count1.log" ||
    { cat "$tmp/count.log" >&2; fail "check-tests.cmake did not say that cmocka is missing"; }
grep -q 'missing [0-9]*: .*test_train' "$tmp/count1.log" ||
    { cat "$tmp/count.log" >&2; fail "check-tests.cmake did not name the missing tests"; }
note "before: $(grep -o 'has [0-9]* of the project.s [0-9]* tests' "$tmp/count1.log"), cmocka named"

# --- After: the packages are installed; a plain `make` -----------------
rm "$tmp/hidden"
# (the outer make's flags, e.g. its jobserver, are not this make's)
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" -C "$src" --no-print-directory \
    BUILD="$b" CC="$CC" SANITIZE=0 JOBS=2 all >"$tmp/make.log" 2>&1 ||
    { tail -n 40 "$tmp/make.log" >&2; fail "make all failed"; }

(cd "$b" && ctest -N) >"$tmp/ctest.log"
grep -q 'test_train$' "$tmp/ctest.log" ||
    { cat "$tmp/ctest.log" >&2; fail "after make, ctest still has no cmocka tests (the stale configuration was kept)"; }
"$CMAKE" -DSOURCE_DIR="$src" -DBUILD_DIR="$b" -P "$src/cmake/check-tests.cmake" >"$tmp/count.log" 2>&1 ||
    { cat "$tmp/count.log" >&2; fail "after make, check-tests.cmake still refuses the folder"; }
note "after make: $(cat "$tmp/count.log")"

if [ "$png" = yes ]; then
    if command -v ldd >/dev/null 2>&1; then
        ldd "$b/gradflow" | grep -q libpng ||
            fail "after make, gradflow is still built without libpng"
    fi
    grep -q 'GF_HAVE_PNG' "$b/CMakeFiles/gradflow.dir/flags.make" ||
        fail "after make, gradflow is not compiled with GF_HAVE_PNG"
    note "after make: gradflow links libpng"
else
    note "libpng is not installed here: its part is not checked"
fi
note "ok"

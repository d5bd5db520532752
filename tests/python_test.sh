#!/bin/sh
# python_test.sh — ctest's test_python: runs the Python package's pytest
# suite (python/tests) against a build's libgradflow.so.
#
# usage: python_test.sh SOURCE_DIR LIBGRADFLOW_SO BUILD_DIR
# env:   GF_PYTHON, the interpreter to use (default: /usr/bin/python3, then
#        python3 on PATH); it must have NumPy and pytest (Debian:
#        python3-numpy, python3-pytest; scripts/install-deps installs them).
#        GF_SANITIZE=1: the library was built with AddressSanitizer, whose
#        runtime must then be loaded first (LD_PRELOAD). Leak checking is
#        turned off (whatever ASAN_OPTIONS says): CPython keeps memory
#        allocated at exit that LeakSanitizer would report, and every
#        allocation of the library has the interpreter's frames on its stack,
#        so no suppression can tell them apart. The C tests check leaks.
#        GF_TSAN=1: a ThreadSanitizer build, which Python cannot load: FAIL.
#        CC, CMAKE: for the tests that install the build.
# The tests find the build's C examples (to compare against) through
# GF_BUILD_DIR, and the library through GRADFLOW_LIB.
set -u

src=${1:?usage: python_test.sh SOURCE_DIR LIBGRADFLOW_SO BUILD_DIR}
lib=${2:?LIBGRADFLOW_SO}
build=${3:?BUILD_DIR}

fail() { echo "test_python: FAIL: $*" >&2; exit 1; }

python=""
for p in ${GF_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy, pytest' >/dev/null 2>&1; then
        python=$p
        break
    fi
done
[ -n "$python" ] || fail "no Python 3 with NumPy and pytest (tried ${GF_PYTHON:-} /usr/bin/python3" \
    "python3): apt-get install python3-numpy python3-pytest (scripts/install-deps does it when root)"
[ "${GF_TSAN:-0}" = 1 ] && fail "a ThreadSanitizer build of libgradflow.so cannot be loaded into Python"

if [ "${GF_SANITIZE:-0}" = 1 ]; then
    asan=$(${CC:-cc} -print-file-name=libasan.so)      # gcc's runtime
    [ -f "$asan" ] || asan=$(${CC:-cc} -print-file-name=libclang_rt.asan-x86_64.so)
    [ -f "$asan" ] || fail "GF_SANITIZE=1 but ${CC:-cc} names no AddressSanitizer runtime"
    LD_PRELOAD=$asan
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
    export LD_PRELOAD ASAN_OPTIONS
fi

GRADFLOW_LIB=$lib GF_BUILD_DIR=$build GF_SOURCE_DIR=$src PYTHONPATH=$src/python \
PYTHONDONTWRITEBYTECODE=1 GF_PYTHON=$python \
    exec "$python" -m pytest -q -p no:cacheprovider "$src/python/tests"

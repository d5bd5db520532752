#!/bin/sh
# install_test.sh — ctest's test_install_pkgconfig and test_install_cmake: installs the
# build into a temporary prefix and builds tests/install/train_tiny.c against that copy.
#
# usage: install_test.sh pkgconfig|cmake BUILD_DIR SOURCE_DIR
# env:   CC and CMAKE (default cc, cmake); GF_EXTRA_CFLAGS, flags the library
#        was built with that its users need too (the sanitizers).
#
# Both modes first run `cmake --install BUILD_DIR --prefix TMP` (what
# `make install PREFIX=TMP` runs) and check the layout: the header, the static
# library, libgradflow.so -> libgradflow.so.0 -> libgradflow.so.X.Y.Z with
# soname libgradflow.so.0, bin/gradflow, gradflow.pc and the CMake package.
# Installing into a prefix the dynamic loader does not search must print a
# note (LD_LIBRARY_PATH, rpath, --static); into one it searches, it must run
# ldconfig (a stand-in ldconfig first in PATH checks this), not with DESTDIR.
#   pkgconfig: cc $(pkg-config --cflags --libs gradflow), run with an rpath,
#              then with LD_LIBRARY_PATH; then the static library with
#              --static's libs.
#   cmake:     a project (tests/install/CMakeLists.txt) using
#              find_package(gradflow CONFIG REQUIRED), gradflow::gradflow and
#              gradflow::gradflow_static.
# Each program must print "train_tiny: ok" (it trained the article's network)
# and must have used the installed library, not the build tree's.
# Exit 0 passed, 1 failed, 77 skipped (pkgconfig mode without pkg-config).
set -eu

mode=${1:?usage: install_test.sh pkgconfig|cmake BUILD_DIR SOURCE_DIR}
build=${2:?BUILD_DIR}
src=${3:?SOURCE_DIR}
CC=${CC:-cc}
CMAKE=${CMAKE:-cmake}
extra=${GF_EXTRA_CFLAGS:-}

fail() { echo "install_test ($mode): FAIL: $*" >&2; exit 1; }
note() { echo "install_test ($mode): $*"; }

case $mode in
pkgconfig)
    if ! command -v pkg-config >/dev/null 2>&1; then
        echo "install_test: SKIP: pkg-config not found (apt-get install pkg-config;" \
             "scripts/install-deps installs it when root)"
        exit 77
    fi ;;
cmake) ;;
*) fail "unknown mode '$mode'" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradflow-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix

# --- Install and check the layout --------------------------------------
"$CMAKE" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }

pc=$(find "$prefix" -name gradflow.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no gradflow.pc installed under $prefix"
libdir=$(dirname "$(dirname "$pc")")
note "installed into $prefix (libdir ${libdir#"$prefix"/})"

hdr=$src/include/gradflow.h
ver() { sed -n "s/^#define GF_VERSION_$1 \([0-9]*\).*/\1/p" "$hdr"; }
version=$(ver MAJOR).$(ver MINOR).$(ver PATCH)
major=$(ver MAJOR)

cmp -s "$prefix/include/gradflow.h" "$hdr" || fail "include/gradflow.h missing or not the source's"
[ -f "$libdir/libgradflow.a" ] || fail "no libgradflow.a in $libdir"
if [ ! -f "$libdir/libgradflow.so.$version" ] || [ -L "$libdir/libgradflow.so.$version" ]; then
    fail "no libgradflow.so.$version (a file) in $libdir"
fi
link_of() {
    if [ ! -L "$libdir/$1" ] || [ "$(readlink "$libdir/$1")" != "$2" ]; then
        fail "$1 should be a symbolic link to $2: $(cd "$libdir" && ls -l libgradflow*)"
    fi
}
link_of "libgradflow.so.$major" "libgradflow.so.$version"
link_of libgradflow.so "libgradflow.so.$major"
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$libdir/libgradflow.so.$version" | grep -q "SONAME.*\[libgradflow.so.$major\]" ||
        fail "libgradflow.so.$version does not have the soname libgradflow.so.$major"
fi
[ -x "$prefix/bin/gradflow" ] || fail "no bin/gradflow"
"$prefix/bin/gradflow" --help >/dev/null 2>&1 || fail "the installed gradflow --help failed"
for f in gradflowConfig.cmake gradflowConfigVersion.cmake gradflowTargets.cmake; do
    [ -f "$libdir/cmake/gradflow/$f" ] || fail "no $f in $libdir/cmake/gradflow"
done
grep -q "^Version: $version\$" "$pc" || fail "gradflow.pc does not say Version: $version"

# --- ldconfig, or a note on what a custom prefix needs -----------------
# The install above went to a temporary prefix, which the dynamic loader
# does not search: it must say what a program linked there needs.
tr -s ' \n' '  ' <"$tmp/install.log" >"$tmp/install1.log"
for s in "$libdir is not searched by the dynamic loader" "LD_LIBRARY_PATH=$libdir" \
         "-Wl,-rpath,$libdir" "pkg-config --static --libs gradflow"; do
    grep -qF -- "$s" "$tmp/install1.log" ||
        { cat "$tmp/install.log" >&2; fail "installing into $prefix did not say '$s'"; }
done
# Into a directory that the loader searches (make install's default,
# /usr/local/lib) it runs ldconfig, so that programs start without more
# steps; not with DESTDIR (a package's staging). A stand-in ldconfig, first
# in PATH, lists $sys's libdir as searched and records its runs.
sys=$tmp/sys
sysdir=$sys/${libdir#"$prefix"/}
mkdir -p "$tmp/bin"
cat >"$tmp/bin/ldconfig" <<FAKE
#!/bin/sh
case "\$*" in
*-N*) printf '%s: (from install_test.sh)\n' "$sysdir" ;;
-p) printf '\tlibgradflow.so.$major (libc6,x86-64) => %s/libgradflow.so.$major\n' "$sysdir" ;;
'') echo ran >>"$tmp/ldconfig.runs" ;;
esac
FAKE
chmod +x "$tmp/bin/ldconfig"
PATH="$tmp/bin:$PATH" "$CMAKE" --install "$build" --prefix "$sys" >"$tmp/install-sys.log" 2>&1 ||
    { cat "$tmp/install-sys.log" >&2; fail "cmake --install --prefix $sys failed"; }
[ "$(cat "$tmp/ldconfig.runs" 2>/dev/null)" = ran ] ||
    { cat "$tmp/install-sys.log" >&2; fail "installing into a directory the loader searches did not run ldconfig"; }
grep -q "Running ldconfig" "$tmp/install-sys.log" || fail "the install did not say that it runs ldconfig"
if grep -q -e "not searched" -e "Warning" "$tmp/install-sys.log"; then
    cat "$tmp/install-sys.log" >&2; fail "installing into a searched directory warned"
fi
DESTDIR="$tmp/stage" PATH="$tmp/bin:$PATH" "$CMAKE" --install "$build" --prefix "$sys" \
    >"$tmp/install-stage.log" 2>&1 ||
    { cat "$tmp/install-stage.log" >&2; fail "cmake --install with DESTDIR failed"; }
[ -f "$tmp/stage$sysdir/libgradflow.so.$version" ] || fail "DESTDIR install: no $tmp/stage$sysdir/libgradflow.so.$version"
[ "$(wc -l <"$tmp/ldconfig.runs")" -eq 1 ] || fail "a DESTDIR install ran ldconfig"
note "ldconfig: run for a searched libdir, not with DESTDIR; a note for $prefix"

# --- Run a program; check it trained and which libgradflow it used -------
# usage: run_check EXE shared|static  (LD_LIBRARY_PATH set by the caller)
run_check() {
    "$1" >"$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt" >&2; fail "$(basename "$1") failed"; }
    grep -q "^train_tiny: ok\$" "$tmp/out.txt" || { cat "$tmp/out.txt" >&2; fail "$(basename "$1"): no 'train_tiny: ok'"; }
    if command -v ldd >/dev/null 2>&1; then
        used=$(ldd "$1" | grep libgradflow || true)
        case $2 in
        shared) case $used in *"=> $libdir/libgradflow.so.$major "*) ;;
                *) fail "$(basename "$1") uses '$used', not $libdir/libgradflow.so.$major" ;; esac ;;
        static) [ -z "$used" ] || fail "$(basename "$1") should not need a shared libgradflow: $used" ;;
        esac
    fi
    note "$(basename "$1") ($2): $(tr '\n' ' ' <"$tmp/out.txt")"
}

tiny=$src/tests/install/train_tiny.c
cflags_c="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"

case $mode in
pkgconfig)
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    flags=$(pkg-config --cflags --libs gradflow) || fail "pkg-config --cflags --libs gradflow failed"
    note "pkg-config --cflags --libs gradflow: $flags"
    case " $flags " in *" -I$prefix/include "*) ;; *) fail "Cflags do not name $prefix/include" ;; esac
    case " $flags " in *" -lgradflow "*) ;; *) fail "Libs do not have -lgradflow" ;; esac
    [ "$(pkg-config --modversion gradflow)" = "$version" ] || fail "pkg-config --modversion is not $version"
    # shellcheck disable=SC2086 # the flags are words
    $CC $cflags_c $extra -o "$tmp/train_tiny" "$tiny" $flags ||
        fail "compiling train_tiny.c with pkg-config's flags"
    # A custom prefix: an rpath (the install's note), then LD_LIBRARY_PATH.
    # shellcheck disable=SC2086
    $CC $cflags_c $extra -o "$tmp/train_tiny_rpath" "$tiny" $flags \
        -Wl,-rpath,"$(pkg-config --variable=libdir gradflow)" ||
        fail "compiling train_tiny.c with pkg-config's flags and an rpath"
    (unset LD_LIBRARY_PATH; run_check "$tmp/train_tiny_rpath" shared) || exit 1
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
    run_check "$tmp/train_tiny" shared

    # The static library: pkg-config --static adds Libs.private (-lz -lm).
    slibs=$(pkg-config --static --libs gradflow)
    for l in -lz -lm; do
        case " $slibs " in *" $l "*) ;; *) fail "pkg-config --static --libs lacks $l: $slibs" ;; esac
    done
    slibs=$(echo "$slibs" | sed 's/-lgradflow/-l:libgradflow.a/')
    scflags=$(pkg-config --cflags gradflow)
    # shellcheck disable=SC2086
    $CC $cflags_c $extra -o "$tmp/train_tiny_static" "$tiny" $scflags $slibs ||
        fail "compiling train_tiny.c against libgradflow.a"
    run_check "$tmp/train_tiny_static" static
    ;;
cmake)
    "$CMAKE" -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$extra" \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log" >&2; fail "configuring the consumer project"; }
    grep -q "gradflow_DIR=$libdir/cmake/gradflow\$" "$tmp/configure.log" ||
        { cat "$tmp/configure.log" >&2; fail "find_package found another gradflow than $libdir/cmake/gradflow"; }
    grep -q "gradflow_VERSION=$version\$" "$tmp/configure.log" || fail "gradflow_VERSION is not $version"
    "$CMAKE" --build "$tmp/consumer" >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log" >&2; fail "building the consumer project"; }
    run_check "$tmp/consumer/train_tiny" shared
    run_check "$tmp/consumer/train_tiny_static" static

    # The version file refuses an incompatible request.
    mkdir -p "$tmp/v"
    cat >"$tmp/v/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(v LANGUAGES NONE)
find_package(gradflow 9.0 CONFIG QUIET)
if(gradflow_FOUND)
  message(FATAL_ERROR "find_package(gradflow 9.0) accepted ${gradflow_VERSION}")
endif()
CMAKE
    "$CMAKE" -S "$tmp/v" -B "$tmp/v/b" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/v.log" 2>&1 ||
        { cat "$tmp/v.log" >&2; fail "find_package(gradflow 9.0) should not be satisfied by $version"; }
    ;;
esac
note "ok"

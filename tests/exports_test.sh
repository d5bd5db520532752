#!/bin/sh
# exports_test.sh — ctest's test_exports: libgradflow.so exports the public
# API of include/gradflow.h and nothing else.
#
# usage: exports_test.sh LIBGRADFLOW_SO GRADFLOW_H
# env:   CC (default cc), to preprocess the header; NM (default nm).
#
# The dynamic symbols the library defines (nm -D --defined-only) must all be
# gf_ names that the header declares (functions, or extern objects) — no
# gf__ internal, no other name — and every function of the header must be
# among them. The header is read here through the C preprocessor, apart from
# the build's own reading of it (cmake/gradflow-exports.cmake).
# Exit 0 passed, 1 failed, 77 skipped (no nm).
set -eu

lib=${1:?usage: exports_test.sh LIBGRADFLOW_SO GRADFLOW_H}
hdr=${2:?GRADFLOW_H}
CC=${CC:-cc}
NM=${NM:-nm}

fail() { echo "exports_test: FAIL: $*" >&2; exit 1; }

if ! command -v "$NM" >/dev/null 2>&1; then
    echo "exports_test: SKIP: $NM not found (apt-get install binutils)"
    exit 77
fi
[ -f "$lib" ] || fail "no shared library $lib"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradflow-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Defined dynamic symbols, without a version suffix (name@@VERSION).
"$NM" -D --defined-only "$lib" >"$tmp/nm.txt" || fail "$NM -D --defined-only $lib failed"
awk 'NF >= 2 { sub(/@.*/, "", $NF); print $NF }' "$tmp/nm.txt" | sort -u >"$tmp/exported"

# The header's declarations, comments and macros gone: a gf_ name followed
# by "(" is a function, unless "(*" follows (a function pointer member's
# return type, "gf_status (*fn)(...)"); "extern ... gf_name;" an object.
"$CC" -E -P -x c "$hdr" >"$tmp/hdr.i" 2>"$tmp/cpp.log" ||
    { cat "$tmp/cpp.log" >&2; fail "$CC -E $hdr failed"; }
tr '\n' ' ' <"$tmp/hdr.i" >"$tmp/hdr1"
{
    grep -oE '(^|[^A-Za-z0-9_])gf_[A-Za-z0-9_]*[[:space:]]*\([[:space:]]*[^*[:space:]]' "$tmp/hdr1" |
        grep -oE 'gf_[A-Za-z0-9_]*' || true
} | sort -u >"$tmp/functions"
{
    grep -oE 'extern[^;{}()]*[^A-Za-z0-9_]gf_[A-Za-z0-9_]*[[:space:]]*(\[[^];]*\])?[[:space:]]*;' "$tmp/hdr1" |
        sed -E 's/.*[^A-Za-z0-9_](gf_[A-Za-z0-9_]*).*/\1/' || true
} | sort -u >"$tmp/objects"
grep -v '^gf__' "$tmp/functions" "$tmp/objects" -h | sort -u >"$tmp/public"
nfun=$(wc -l <"$tmp/functions")
[ "$nfun" -gt 50 ] || fail "read only $nfun functions from $hdr: is it the public header?"

status=0
# Exported but not public.
comm -23 "$tmp/exported" "$tmp/public" >"$tmp/extra"
if [ -s "$tmp/extra" ]; then
    status=1
    n=$(wc -l <"$tmp/extra")
    ni=$(grep -c '^gf__' "$tmp/extra" || true)
    echo "exports_test: FAIL: $(basename "$lib") exports $n symbols that gradflow.h does not declare ($ni internal gf__ ones):" >&2
    head -n 40 "$tmp/extra" | sed 's/^/  /' >&2
    [ "$n" -le 40 ] || echo "  ... and $((n - 40)) more" >&2
fi
# Public functions that are not exported.
comm -13 "$tmp/exported" "$tmp/functions" | grep -v '^gf__' >"$tmp/missing" || true
if [ -s "$tmp/missing" ]; then
    status=1
    echo "exports_test: FAIL: $(basename "$lib") does not export these functions of gradflow.h:" >&2
    sed 's/^/  /' "$tmp/missing" >&2
fi
[ "$status" = 0 ] || exit 1
echo "exports_test: ok: $(basename "$lib") exports $(wc -l <"$tmp/exported") symbols," \
     "the $nfun functions and $(wc -l <"$tmp/objects") objects of gradflow.h"

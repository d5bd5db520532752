#!/bin/sh
# docs_examples.sh — ctest's test_docs_examples: compiles (and runs) the C examples in
# README.md and docs/*.md against the build tree, so that no example in the docs can rot.
#
# usage: docs_examples.sh SOURCE_DIR LIBGRADFLOW_A [MNIST_DIR]
# env:   CC (default cc); GF_EXTRA_CFLAGS, flags the library was built with
#        that programs linking it need too (the sanitizers).
#
# The rule for ```c blocks (fences are the lines ```c and ```):
#   - A block containing "int main(" is a complete program: compiled with
#     -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
#     -Wmissing-prototypes -I SOURCE_DIR/include, linked with
#     LIBGRADFLOW_A -lz -lm -lpthread, and run as `PROG MNIST_DIR` in a
#     scratch directory with a 120 s limit; it must exit 0. A program that
#     calls gf_mnist_load() is only compiled when MNIST_DIR has no MNIST.
#   - A block whose first line is "// compile" is a translation unit of its
#     own: compiled with -c and the same flags.
#   - A block whose first line is "// from NAME.c" is an excerpt of the
#     complete program of the same page whose first line names NAME.c
#     ("/* NAME.c — ..."): each of its lines, leading blanks ignored (blank
#     lines and "..." lines skipped), must be a line of that program, which
#     is compiled and run as above. "// from DIR/NAME.c" (a path with a
#     slash, e.g. examples/backprop_manual.c) names a file of the source
#     tree instead, which the build compiles.
#   - Any other ```c block is an illustration and is skipped (the README's
#     side-by-side excerpt, with its "..." lines, is one).
set -u

src=${1:?usage: docs_examples.sh SOURCE_DIR LIBGRADFLOW_A [MNIST_DIR]}
lib=${2:?LIBGRADFLOW_A}
mnist=${3:-$src/data/mnist}
CC=${CC:-cc}
extra=${GF_EXTRA_CFLAGS:-}
cflags="-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -I$src/include"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradflow-docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/run"

case $mnist in /*) ;; *) mnist=$(pwd)/$mnist ;; esac   # programs run elsewhere
have_mnist=0
for f in train-images-idx3-ubyte.gz train-images-idx3-ubyte; do
    [ -f "$mnist/$f" ] && have_mnist=1
done
with_timeout=""
command -v timeout >/dev/null 2>&1 && with_timeout="timeout 120"

failures=0 programs=0 compiled_only=0 units=0 excerpts=0 skipped=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1"; }

# Splits one page into $2/NNN.c (block text) and $2/NNN.line (its first line
# number in the page).
split_blocks() {
    awk -v dir="$2" '
        /^```/ {
            if (!fence) {
                fence = 1
                if ($0 ~ /^```c[ \t]*$/) {
                    c = 1; n++; f = sprintf("%s/%03d.c", dir, n)
                    printf "" > f; print FNR + 1 > (f ".line"); close(f ".line")
                }
            } else {
                fence = 0
                if (c) { c = 0; close(f) }
            }
            next
        }
        c { print > f }
    ' "$1"
}

for page in "$src/README.md" "$src"/docs/*.md; do
    [ -f "$page" ] || continue
    rel=${page#"$src"/}
    dir=$tmp/$(echo "$rel" | tr '/.' '__')
    mkdir -p "$dir"
    split_blocks "$page" "$dir"

    # Programs first (excerpts refer to them), then the rest.
    for pass in programs others; do
        for block in "$dir"/*.c; do
            [ -f "$block" ] || continue
            case $block in */prog_*) continue ;; esac
            at="$rel:$(cat "$block.line")"
            first=$(head -n 1 "$block")
            name=$(echo "$first" | sed -n 's|^[/*[:space:]]*\([A-Za-z0-9_]*\.c\)\b.*|\1|p')
            if grep -q 'int main(' "$block"; then
                [ $pass = programs ] || continue
                [ -n "$name" ] || name=block_$(basename "$block")
                prog=$dir/prog_$name
                cp "$block" "$prog"
                exe=$tmp/run/${name%.c}
                # shellcheck disable=SC2086 # flags are words
                if ! $CC $cflags $extra -o "$exe" "$prog" "$lib" -lz -lm -lpthread 2>"$tmp/cc.log"; then
                    fail "$at: program $name does not compile:"; sed 's/^/    /' "$tmp/cc.log" >&2
                    continue
                fi
                if grep -q 'gf_mnist_load(' "$prog" && [ $have_mnist = 0 ]; then
                    echo "$at: $name compiles (not run: no MNIST in $mnist)"
                    compiled_only=$((compiled_only + 1))
                    continue
                fi
                if (cd "$tmp/run" && $with_timeout "$exe" "$mnist") >"$tmp/out.log" 2>&1; then
                    echo "$at: $name compiles and runs: $(tail -n 1 "$tmp/out.log")"
                    programs=$((programs + 1))
                else
                    fail "$at: program $name exited with status $? (or timed out); its output:"
                    sed 's/^/    /' "$tmp/out.log" >&2
                fi
            elif [ $pass = programs ]; then
                continue
            elif echo "$first" | grep -q '^// compile'; then
                # shellcheck disable=SC2086
                if $CC $cflags $extra -c -o "$tmp/unit.o" -x c "$block" 2>"$tmp/cc.log"; then
                    echo "$at: translation unit compiles"
                    units=$((units + 1))
                else
                    fail "$at: the '// compile' block does not compile:"; sed 's/^/    /' "$tmp/cc.log" >&2
                fi
            elif echo "$first" | grep -q '^// from [A-Za-z0-9_./-]*\.c'; then
                target=$(echo "$first" | sed 's|^// from \([A-Za-z0-9_./-]*\.c\).*|\1|')
                case $target in
                */*) prog=$src/$target
                     [ -f "$prog" ] || { fail "$at: excerpt of $target, which does not exist"; continue; } ;;
                *)   prog=$dir/prog_$target
                     [ -f "$prog" ] || { fail "$at: excerpt of $target, but $rel has no complete program whose first line names $target"; continue; } ;;
                esac
                trim "$prog" >"$tmp/prog.trim"
                missing=0
                tail -n +2 "$block" | trim /dev/stdin | while IFS= read -r l; do
                    case $l in ''|...) continue ;; esac
                    grep -Fxq -- "$l" "$tmp/prog.trim" || echo "$l"
                done >"$tmp/missing"
                [ -s "$tmp/missing" ] && missing=1
                if [ $missing = 0 ]; then
                    echo "$at: excerpt of $target matches it"
                    excerpts=$((excerpts + 1))
                else
                    fail "$at: excerpt lines not found in $target:"; sed 's/^/    /' "$tmp/missing" >&2
                fi
            else
                echo "$at: illustration, skipped (no main, no '// compile' or '// from NAME.c' first line)"
                skipped=$((skipped + 1))
            fi
        done
    done
done

echo "docs examples: $programs programs run, $compiled_only compiled only, $units translation units," \
     "$excerpts excerpts checked, $skipped illustrations skipped, $failures failures"
[ $((programs + compiled_only)) -gt 0 ] || { echo "FAIL: no complete program found in the docs" >&2; exit 1; }
[ $failures = 0 ]

#!/bin/sh
# callgrind.sh - instructions per operation of libguestmm's hot paths,
# counted by valgrind --tool=callgrind, so that changes can be compared
# without timing noise.
#
# usage: test/callgrind.sh [-b BENCH] [-n TOP] [-i] [-k DIR] [OP[=N] ...]
#   -b BENCH  the bench program (default: build-bench/test/bench, then
#             build/test/bench, under the repository root)
#   -n TOP    functions listed per op (default 8; 0: totals only)
#   -i        list inclusive costs too (each function with its callees)
#   -k DIR    keep the callgrind.out files in DIR
#   OP[=N]    ops to run (default: the hot paths and a few more), with an
#             optional count; `bench --list` shows them all
#
# Only the loop of N operations is counted (--collect-atstart=no
# --toggle-collect=bench_cg_loop): set-up and tear-down are excluded.  The
# printed figure is total Ir / N; the function lines are self (exclusive)
# Ir per operation, from callgrind_annotate.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bench=
top=8
inclusive=0
keep=

while getopts b:n:ik: opt; do
    case $opt in
    b) bench=$OPTARG ;;
    n) top=$OPTARG ;;
    i) inclusive=1 ;;
    k) keep=$OPTARG ;;
    *) sed -n '5,13s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if [ -z "$bench" ]; then
    for c in "$root/build-bench/test/bench" "$root/build/test/bench"; do
        if [ -x "$c" ]; then bench=$c; break; fi
    done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
    echo "callgrind.sh: no bench program; build it with:" >&2
    echo "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target bench" >&2
    exit 2
fi
for tool in valgrind callgrind_annotate; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "callgrind.sh: $tool not found (Debian: apt-get install valgrind)" >&2
        exit 2
    fi
done

if [ $# -eq 0 ]; then
    set -- mmap mprotect read4 translate mmap10k mmap60k mprotect10k write4 read4k read4hot touch cow fork
fi

if [ -n "$keep" ]; then
    mkdir -p "$keep"
    out=$keep
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

# Self (or inclusive) Ir per op of the top functions, from callgrind_annotate.
report() { # file n label
    callgrind_annotate --threshold=100 $4 "$1" 2>/dev/null | awk -v n="$2" -v top="$top" -v label="$3" '
        /PROGRAM TOTALS/ { next }
        match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
            if (shown >= top) next
            if (label != "" && $0 ~ /\( *100.0%\)/) next
            head = substr($0, 1, RLENGTH)
            line = substr($0, RLENGTH + 1)
            split(head, f, " ")
            ir = f[1]; gsub(",", "", ir)
            match(head, /[0-9.]+%/)
            pct = substr(head, RSTART, RLENGTH)
            obj = ""
            if (match(line, / \[[^]]*\]$/)) {
                obj = substr(line, RSTART + 2, RLENGTH - 3)
                line = substr(line, 1, RSTART - 1)
                sub(/.*\//, "", obj)
            }
            k = split(line, parts, ":")
            fn = parts[k]
            if (obj != "" && obj !~ /^bench$/) fn = fn " (" obj ")"
            printf "    %10.1f  %6s  %s%s\n", ir / n, pct, fn, label
            shown++
        }'
}

list=$("$bench" --list)
printf '%-12s %9s %11s  %s\n' "op" "N" "Ir/op" "what"
for spec in "$@"; do
    op=${spec%%=*}
    n=
    [ "$op" != "$spec" ] && n=${spec#*=}
    line=$(printf '%s\n' "$list" | awk -v op="$op" '$1 == op')
    if [ -z "$line" ]; then
        echo "callgrind.sh: unknown op '$op' (bench --list)" >&2
        exit 2
    fi
    [ -n "$n" ] || n=$(printf '%s\n' "$line" | awk '{print $2}')
    what=$(printf '%s\n' "$line" | sed 's/^[^ ]* *[0-9]* *//')
    file="$out/callgrind.out.$op"
    valgrind -q --tool=callgrind --callgrind-out-file="$file" --collect-atstart=no \
        --toggle-collect=bench_cg_loop "$bench" --callgrind "$op" "$n" >/dev/null
    total=$(callgrind_annotate --threshold=100 "$file" 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    perop=$(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.1f", t / n }')
    printf '%-12s %9s %11s  %s\n' "$op" "$n" "$perop" "$what"
    if [ "$op" = fork ]; then
        # 256 MiB touched: per page of the forked space as well.
        awk -v t="$total" -v n="$n" 'BEGIN { printf "%-12s %9s %11.1f  %s\n", "", "", t / n / 65536, "... per 4 KiB page (65,536 pages)" }'
    fi
    if [ "$top" -gt 0 ]; then
        report "$file" "$n" "" ""
        if [ "$inclusive" = 1 ]; then
            report "$file" "$n" "  [inclusive]" "--inclusive=yes"
        fi
    fi
done

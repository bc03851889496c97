#!/usr/bin/env bash
# perf.sh [--runner PATH] [--qemu PATH] [--runs N] SYSROOT WORK
#
# The performance rows of issue 13: the start-up of python3.11 (-c pass)
# and of sqlite3 (:memory: 'select 1') and the dynamic corpus's workloads
# (cases.sh), each under guestmm-run-i386 -L SYSROOT, under its flat mode
# (GUESTMM_RUN_FLAT=1: the bound), under qemu-i386 -L SYSROOT and natively
# (for scale), timed by /usr/bin/time -f '%e %M' (seconds, max RSS KiB);
# the median of N runs (3) of each.  Prints a markdown table with the ratios
# and the goals:
#   runner/flat <= 1.25 on every row;
#   runner/qemu: median over the rows <= 4, none above 12;
#   RSS runner/qemu <= 2 on every row.
# A run that exits with a status other than the case's prints "fail" in its
# cell.  Exits 0 when the table was made, whatever the goals say, 77 when
# the sysroot is absent.
set -uo pipefail

RUNNER='' QEMU='' runs=3
while [ $# -gt 0 ]; do
    case $1 in
        --runner) RUNNER=$2; shift 2 ;;
        --qemu) QEMU=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || { echo "usage: $0 [--runner PATH] [--qemu PATH] [--runs N] SYSROOT WORK" >&2; exit 2; }
S=$(cd "$1" && pwd) || exit 77
# Each run starts in a directory of its own: relative paths become absolute.
absolute() { case $1 in /* | '') echo "$1" ;; */*) echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" ;; *) echo "$1" ;; esac; }
RUNNER=$(absolute "$RUNNER") QEMU=$(absolute "$QEMU")
mkdir -p "$2"
work=$(cd "$2" && pwd)
DATA=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cases.sh
. "$DATA/cases.sh"
[ -f "$S/.packages" ] || { echo "no sysroot at $S (test/dynamic/fetch-sysroot.sh)"; exit 77; }
[ -x /usr/bin/time ] || { echo "perf.sh needs /usr/bin/time (Debian: time)" >&2; exit 2; }
make_inputs "$work/in"

rows="python_start sqlite_start $cases"
modes=()
[ -n "$RUNNER" ] && modes+=(runner flat)
[ -n "$QEMU" ] && modes+=(qemu)
native_works && modes+=(native)

# measure MODE CASE: "seconds KiB" medians of $runs runs, or "fail".
measure() {
    local mode=$1 name=$2 i st times=() rss=()
    local want_var=status_$name
    for ((i = 0; i < runs; i++)); do
        rm -rf "${work:?}/$mode-$name"
        mkdir -p "$work/$mode-$name"
        (
            cd "$work/$mode-$name" || exit 1
            ulimit -c 0
            export S DATA RUNNER QEMU
            /usr/bin/time -o ../time.txt -f '%e %M' bash -c \
                '. "$DATA/cases.sh"; launcher_'"$mode"'; case_'"$name" >/dev/null 2>../err.txt
        )
        st=$?
        if [ "$st" != "${!want_var}" ]; then
            echo fail
            return
        fi
        read -r t m < <(tail -n 1 "$work/time.txt")
        times+=("$t")
        rss+=("$m")
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")" \
        "$(printf '%s\n' "${rss[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p")"
}

declare -A T M
for name in $rows; do
    for mode in "${modes[@]}"; do
        r=$(measure "$mode" "$name")
        if [ "$r" = fail ]; then
            T[$mode,$name]=fail M[$mode,$name]=fail
        else
            T[$mode,$name]=${r% *} M[$mode,$name]=${r#* }
        fi
        echo "  $name $mode: ${T[$mode,$name]} s, ${M[$mode,$name]} KiB" >&2
    done
done

le() { awk "BEGIN { exit !($1 <= $2) }"; } # A B: A <= B
ratio() { # A B: A/B to two places, or - when either is missing
    case "$1,$2" in *fail*|*,|,*|*,0|*,0.00) echo - ;; *) awk "BEGIN { printf \"%.2f\\n\", $1 / $2 }" ;; esac
}
cell() { echo "${T[$1,$2]:-}"; }
rsscell() { echo "${M[$1,$2]:-}"; }

echo
echo "| program | runner s | flat s | qemu-i386 s | native s | runner/flat | runner/qemu | RSS runner MiB | RSS qemu MiB | RSS runner/qemu |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
rq_all=()
goal_flat=yes goal_max=yes goal_rss=yes
for name in $rows; do
    rf=$(ratio "$(cell runner "$name")" "$(cell flat "$name")")
    rq=$(ratio "$(cell runner "$name")" "$(cell qemu "$name")")
    rm_=$(ratio "$(rsscell runner "$name")" "$(rsscell qemu "$name")")
    mib() { case $1 in ''|fail) echo "${1:--}" ;; *) awk "BEGIN { printf \"%.1f\\n\", $1 / 1024 }" ;; esac; }
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
        "$(cell runner "$name")" "$(cell flat "$name")" "$(cell qemu "$name")" "$(cell native "$name")" \
        "$rf" "$rq" "$(mib "$(rsscell runner "$name")")" "$(mib "$(rsscell qemu "$name")")" "$rm_"
    [ "$rq" != - ] && rq_all+=("$rq")
    [ "$rf" = - ] || le "$rf" 1.25 || goal_flat=no
    [ "$rq" = - ] || le "$rq" 12 || goal_max=no
    [ "$rm_" = - ] || le "$rm_" 2 || goal_rss=no
done
echo
if [ ${#rq_all[@]} -gt 0 ]; then
    med=$(printf '%s\n' "${rq_all[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    goal_med=$(le "$med" 4 && echo yes || echo no)
    echo "Goals: runner/flat <= 1.25 on every row: $goal_flat; median runner/qemu $med <= 4: $goal_med;" \
        "none above 12x: $goal_max; RSS within 2x of qemu-i386: $goal_rss."
else
    echo "Goals: not judged (no row has both the runner and qemu-i386)."
fi
echo "Median of $runs runs each; /usr/bin/time %e and %M; $(nproc) CPUs; $(date -u +%Y-%m-%d)."

# bash: functions, associative and indexed arrays, recursion through
# command substitution, pipelines into external programs, traps.
set -u

fib() {
    # recursion through $(...): every call is a subshell (a fork)
    local n=$1
    if (( n < 2 )); then echo "$n"; return; fi
    echo $(( $(fib $((n - 1))) + $(fib $((n - 2))) ))
}
echo "fib 12 = $(fib 12)"

declare -A count
text="the quick brown fox jumps over the lazy dog the end"
for w in $text; do count[$w]=$(( ${count[$w]:-0} + 1 )); done
for k in $(printf '%s\n' "${!count[@]}" | sort); do printf '%s=%d ' "$k" "${count[$k]}"; done; echo
echo "keys: ${#count[@]}, the: ${count[the]}"
unset 'count[the]'
echo "after unset: ${#count[@]} ${count[the]:-gone}"

declare -a arr=(zero one two three four five)
echo "slice: ${arr[@]:2:3}, last: ${arr[-1]}, count: ${#arr[@]}"
arr+=(six)
for i in "${!arr[@]}"; do (( i % 2 )) && printf '%s ' "${arr[$i]}"; done; echo

s="Hello, World"
echo "${s,,} ${s^^} ${s/World/bash} ${#s} ${s:7} ${s%%,*}"
printf -v padded '%08.3f' 3.14159
echo "printf -v: $padded"

declare -i total=0
while IFS=: read -r name value; do
    total+=value
    echo "$name -> $value"
done <<'DATA'
a:10
b:20
c:12
DATA
echo "total $total"

hanoi() {
    local n=$1 from=$2 to=$3 via=$4
    (( n == 0 )) && return
    hanoi $((n - 1)) "$from" "$via" "$to"
    moves=$((moves + 1))
    hanoi $((n - 1)) "$via" "$to" "$from"
}
moves=0; hanoi 10 A C B; echo "hanoi 10: $moves moves"

[[ "abc123" =~ ^([a-z]+)([0-9]+)$ ]] && echo "regex: ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
[[ -z "" && -n x && 3 -lt 10 ]] && echo "conditions hold"

seq 1 20000 | awk '{s += $1} END {print "awk sum", s}'
result=$(for i in {1..50}; do echo $((i * i)); done | sort -n | tail -n 1)
echo "brace expansion: $result {a,b}{1,2}:" {a,b}{1,2}

squares=$(seq 1 10 | while read -r x; do echo $((x * x)); done | tr '\n' +)
echo "sum of squares: $(( ${squares%+} ))"

cleanup() { echo "trap EXIT ran"; }
trap cleanup EXIT
( exit 5 ); echo "subshell status $?"
f() { return 3; }; f || echo "function returned $?"
set +u
echo "${undefined:-default} ${undefined:+alt}end"
mapfile -t lines < <(printf 'l1\nl2\nl3\n') 2>/dev/null || lines=(l1 l2 l3)
echo "mapfile: ${#lines[@]}"
exit 0

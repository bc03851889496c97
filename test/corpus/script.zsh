# zsh: functions, associative arrays, recursion through command
# substitution, pipelines into external programs, zsh's own expansions.
emulate -L zsh
setopt no_unset

fib() {
    local n=$1
    if (( n < 2 )); then print $n; return; fi
    print $(( $(fib $((n - 1))) + $(fib $((n - 2))) ))
}
print "fib 12 = $(fib 12)"

typeset -A count
local text="the quick brown fox jumps over the lazy dog the end"
for w in ${=text}; do (( ++count[$w] )); done
for k in ${(ko)count}; do print -n "$k=$count[$k] "; done; print
print "keys: ${#count}, the: $count[the]"
unset 'count[the]'
print "after unset: ${#count} ${count[the]:-gone}"

typeset -a arr=(one two three four five)
print "slice: $arr[2,4], last: $arr[-1], count: $#arr"
print "sorted desc: ${(O)arr}"
print "upper: ${(U)arr[1]} joined: ${(j:-:)arr}"
print "split: ${(s:,:)${:-a,b,c}}"

local s="Hello, World"
print "${s:l} ${s:u} ${s/World/zsh} ${#s} ${s[8,-1]}"
printf '%08.3f\n' 3.14159

integer total=0
while IFS=: read -r name value; do
    (( total += value ))
    print "$name -> $value"
done <<'DATA'
a:10
b:20
c:12
DATA
print "total $total"

integer moves=0
hanoi() {
    local n=$1 from=$2 to=$3 via=$4
    (( n == 0 )) && return 0
    hanoi $((n - 1)) $from $via $to
    (( moves++ ))
    hanoi $((n - 1)) $via $to $from
}
hanoi 10 A C B
print "hanoi 10: $moves moves"

setopt extended_glob
[[ abc123 = (#b)([a-z]##)([0-9]##) ]] && print "backreferences: $match[1] $match[2]"
seq 1 20000 | awk '{s += $1} END {print "awk sum", s}'
print "nested expansion: ${#${(f)"$(print -l {1..40})"}} lines"
local squares=$(seq 1 10 | while read -r x; do print $((x * x)); done | tr '\n' +)
print "sum of squares: $(( ${squares%+} ))"
print "float: $(( 10.0 / 4 )) $(( 2 ** 10 ))"
( exit 5 ) || print "subshell status $?"
TRAPEXIT() { print "TRAPEXIT ran" }
return 0 2>/dev/null || exit 0

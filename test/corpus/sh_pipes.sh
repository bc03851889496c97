# busybox sh: pipelines, subshells, command substitution, redirections.
# Every line of output is deterministic (no pids, no times).
set -u

echo "== pipelines"
echo b | tr a-z A-Z
printf 'one\ntwo\nthree\nfour\n' | grep o | sort -r | head -n 2
seq 1 1000 | awk '{s += $1} END {print "sum", s}'
seq 1 20 | grep -v 1 | tr '\n' ' ' | sed 's/ $/\n/'
yes abc | head -n 5000 | uniq -c | sed 's/^ *//'
# the status of a pipeline is its last command's
false | true; echo "false|true -> $?"
true | false; echo "true|false -> $?"
! true; echo "! true -> $?"

echo "== subshells"
x=outer
(x=inner; echo "in subshell x=$x"; exit 3); echo "subshell exit $? x=$x"
(cd /; pwd); pwd >/dev/null
( echo a; (echo b; (echo c)) ) | tr '\n' ,; echo
{ echo grouped; echo twice; } | wc -l

echo "== command substitution"
n=$(seq 1 100 | wc -l)
echo "lines: $n"
nested=$(echo "outer $(echo "inner $(echo deepest)")")
echo "$nested"
count=`echo backquoted | wc -c`
echo "backquotes: $count"
words=$(printf '%s\n' a b c d e | tr '\n' ' ')
set -- $words
echo "argc $# last ${5}"
echo "empty:[$(true)] status:$(false; echo $?)"

echo "== redirections"
echo first > out.txt
echo second >> out.txt
cat < out.txt
wc -l < out.txt
echo to-stderr 1>&2 2>/dev/null
{ echo err-line >&2; echo out-line; } 2>err.txt
echo "stderr file: $(cat err.txt)"
cat <<HERE
here-doc with $x and $(echo substitution)
HERE
cat <<'HERE'
quoted here-doc keeps $x
HERE
exec 3>fd3.txt
echo via-fd3 >&3
exec 3>&-
cat fd3.txt
exec 4<out.txt
read -r line <&4
echo "read from fd 4: $line"
exec 4<&-
ls nosuchfile 2>/dev/null || echo "ls failed as expected"
cat out.txt nosuch 2>&1 >/dev/null | sed 's/^cat: //'

echo "== background jobs"
(echo job1 > job1.txt) &
(seq 1 5000 | tail -n 1 > job2.txt) &
wait
cat job1.txt job2.txt

echo "== functions and control flow"
fact() { if [ "$1" -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
echo "10! = $(fact 10)"
for w in apple banana cherry; do
    case $w in
        a*) echo "$w starts with a";;
        *an*) echo "$w has an";;
        *) echo "$w other";;
    esac
done
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); [ $i -eq 3 ] && continue; printf '%d ' $i; done; echo
trap 'echo trap on exit' EXIT
exit 0

# A shell loop of $1 iterations: arithmetic, tests, string building and
# case, all builtins (no fork).  The runner's memory must not grow with the
# iteration count (perf.sh compares 1,000 and 100,000 iterations).
n=${1:-100000}
i=0; s=0; odd=0; str=""
while [ $i -lt $n ]; do
    i=$((i + 1))
    s=$(( (s + i * i) % 1000003 ))
    case $((i % 3)) in
        0) str="x" ;;
        1) str="${str}y" ;;
        *) odd=$((odd + 1)) ;;
    esac
done
echo "iterations $i sum $s odd $odd last '$str'"

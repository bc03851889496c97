# sort over the 200,000-line file $1: keys (the costly kind: one pass),
# plain, reverse, unique, -o and -c.
set -e
f=$1
sort -k2,2 -k4n "$f" -o sorted.txt
md5sum < sorted.txt
head -n 3 sorted.txt
sort -c -k2,2 -k4n sorted.txt && echo "sorted.txt is sorted by its keys"
printf "b\na\n" | sort -c 2>/dev/null || echo "sort -c finds unsorted input: $?"
sort -r "$f" | tail -n 2
sort "$f" | md5sum
cut -d ' ' -f 4 "$f" | sort -n -u | tail -n 3
cut -d ' ' -f 3 "$f" | sort -u | wc -l

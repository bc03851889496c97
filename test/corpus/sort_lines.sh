# sort over the 200,000-line file $1: keys, numeric, reverse, unique.
set -e
f=$1
sort -k2,2 -k4n "$f" -o sorted.txt
md5sum < sorted.txt
head -n 3 sorted.txt
sort -c -k2,2 sorted.txt && echo "sorted.txt is sorted on field 2"
sort -t ' ' -k4,4nr "$f" | head -n 3
sort -k3,3 -u "$f" | wc -l
sort -r "$f" | tail -n 2

# uniq over the 200,000-line file $1.
set -e
f=$1
cut -d ' ' -f 2 "$f" | sort | uniq -c
cut -d ' ' -f 3 "$f" | sort | uniq -d | wc -l
cut -d ' ' -f 3 "$f" | sort | uniq -u | wc -l
cut -c 8- "$f" | cut -d ' ' -f 1 | uniq | wc -l
cut -d ' ' -f 2,3 "$f" | sort | uniq -c | sort -nr | head -n 3

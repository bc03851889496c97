# uniq over the 200,000-line file $1: one sort of fields 2 and 3, then
# uniq's counts, duplicates and unique lines.
set -e
f=$1
cut -d ' ' -f 2,3 "$f" | sort > pairs.txt
cut -d ' ' -f 1 pairs.txt | uniq -c
cut -d ' ' -f 2 pairs.txt | sort | uniq -d | wc -l
uniq -c pairs.txt | sort -nr | head -n 3
uniq -u pairs.txt | wc -l
uniq -d pairs.txt | md5sum
cut -c 8- "$f" | cut -d ' ' -f 1 | uniq | wc -l
rm pairs.txt

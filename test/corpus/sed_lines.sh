# sed over the 200,000-line file $1: substitutions, addresses, deletes.
set -e
f=$1
sed 's/\([a-z]*\) k\([0-9]*\)/\2:\1/' "$f" | md5sum
sed -n '/^0999[0-9][0-9] /p' "$f" | head -n 3
sed -n '199998,$p' "$f"
sed '/alpha\|bravo/d' "$f" | wc -l
sed -e 's/\./,/' -e 'y/abc/ABC/' "$f" | sed -n '1p;100000p'
sed -n '$=' "$f"
sed 's/[0-9]/#/g' "$f" | sort -u | head -n 3

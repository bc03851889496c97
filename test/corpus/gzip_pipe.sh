# gzip | gunzip over the 200,000-line file $1, and gzip files on disk.
set -e
f=$1
gzip -c < "$f" | gunzip -c | md5sum
gzip -c < "$f" | gunzip -c | cmp - "$f" && echo "round trip equal"
gzip -1 -c < "$f" | wc -c
gzip -9 -c < "$f" > lines.gz
wc -c < lines.gz
zcat lines.gz | tail -n 2
cp "$f" copy.txt
gzip copy.txt
ls
gunzip copy.txt.gz
cmp copy.txt "$f" && echo "gunzip restored copy.txt"
head -c 100000 "$f" | gzip | gzip | gunzip | gunzip | md5sum

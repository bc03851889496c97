# od and dd: binary data made by printf and dd, dumped by od.
set -e
f=$1
printf '\000\001\002\003\377\376 hello\n\t' > bin.dat
od -A x -t x1 bin.dat
od -c bin.dat
od -A d -t d2 bin.dat
od -t o4 -N 8 bin.dat
dd if="$f" of=part.txt bs=4096 skip=3 count=5 2>/dev/null
wc -c < part.txt
md5sum < part.txt
dd if="$f" bs=1000 count=1 conv=ucase 2>/dev/null | tail -n 1
dd if=/dev/zero bs=512 count=8 2>/dev/null | od -A x -t x4
dd if=bin.dat of=pad.dat bs=1 seek=10 2>/dev/null
od -A x -t x1 pad.dat
head -c 64 "$f" | dd bs=7 conv=sync 2>/dev/null | od -A d -c | tail -n 3

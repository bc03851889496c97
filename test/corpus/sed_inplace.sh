# sed -i: files rewritten in place; the driver compares their bytes.
set -e
head -n 5000 "$1" > a.txt
sed -i 's/alpha/ALPHA/g; /zulu/d' a.txt
wc -l < a.txt
grep -c ALPHA a.txt
printf 'x=1\ny=2\nz=3\n' > conf
chmod 640 conf
sed -i -e 's/^y=.*/y=20/' -e '$a w=4' conf
cat conf
mkdir d
seq 1 10 > d/one
seq 11 20 > d/two
sed -i '1d' d/one d/two
cat d/one d/two | tr '\n' ' '; echo

# tar c and x, with -C: a small tree packed, unpacked elsewhere, compared.
set -e
mkdir -p src/a/b src/c
seq 1 3000 > src/a/numbers
echo hello > src/a/b/hello
printf 'no newline' > src/c/partial
head -c 70000 /dev/zero | tr '\0' 'z' > src/c/zs
ln -s ../a/b/hello src/c/link
chmod 600 src/a/numbers
chmod 755 src/c
tar cf tree.tar -C src .
tar tf tree.tar | sort
mkdir out
tar xf tree.tar -C out
diff -r src out && echo "tree equal after tar x -C"
tar czf tree.tgz -C src a
mkdir out2
tar xzf tree.tgz -C out2
cat out2/a/b/hello
wc -l < out2/a/numbers
cd out2 && tar cf - a | (cd .. && mkdir out3 && cd out3 && tar xf -)
cd .. && diff -r out2/a out3/a && echo "tar piped into tar"
rm tree.tar tree.tgz

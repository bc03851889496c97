# find | xargs over a generated tree of 300 files in nested directories.
set -e
for d in 1 2 3; do
    for e in 1 2 3 4 5; do
        mkdir -p "tree/d$d/e$e"
        for f in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            seq 1 $((d * e + f)) > "tree/d$d/e$e/f$f.txt"
        done
    done
done
echo spaced > "tree/with space.txt"
find tree -type f | wc -l
find tree -type d | sort | head -n 4
find tree -name 'f1*.txt' | sort | xargs cat | wc -l
find tree -type f -name '*.txt' | sort | xargs -n 7 wc -l | grep total | wc -l
find tree -type f -print0 | xargs -0 cat | md5sum
find tree -size +1k | sort | head -n 3
find tree -type f -name 'f20.txt' -exec wc -l {} + | sort | tail -n 2
find tree -type f | sort | xargs md5sum | md5sum

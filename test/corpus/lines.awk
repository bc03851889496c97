# awk over the 200,000-line file: sums per word, floating point, fields.
{
    n[$2]++
    cents[$2] += $4 * 100
    total += $4
    if ($4 > max) { max = $4; maxline = $1 }
    keys[$3] = 1
    len += length($0)
}
$1 % 50000 == 0 { print "line", $1, toupper($2), substr($3, 2) + 0 }
END {
    for (w in n) words[++k] = w
    # insertion sort: awk's for-in order is unspecified
    for (i = 2; i <= k; i++) {
        v = words[i]
        for (j = i - 1; j > 0 && words[j] > v; j--) words[j + 1] = words[j]
        words[j + 1] = v
    }
    for (i = 1; i <= k; i++)
        printf "%-8s %5d %14.2f\n", words[i], n[words[i]], cents[words[i]] / 100
    nk = 0; for (key in keys) nk++
    printf "records %d total %.2f mean %.6f\n", NR, total, total / NR
    printf "max %.2f at line %s, distinct keys %d, chars %d\n", max, maxline, nk, len
}

# busybox awk's floating point, computed on the x87 FPU by i386 busybox.
# With Linux's control word (0x037f: 64-bit precision, each value rounded to
# 53 bits when stored) these are exact or nearly so.  With the control word
# 0x0000 (the runner's old bug) precision control is 24 bits: in Unicorn it
# takes effect at the guest's first fldcw (busybox does one in every
# double-to-int conversion), and from then on every sum past 2^24 loses its
# low bits: the last line prints 16777216 for 16777216 + 1, and the sums
# above it (1675191903 for 1..57882) drift, all with exit status 0.
BEGIN {
    v1 = 1; v05 = 0.5; v3 = 3    # variables: not folded at parse time
    s = 0; for (i = 1; i <= 57882; i++) s += i
    printf "sum 1..57882 = %.0f\n", s
    s = 0; for (i = 1; i <= 100000; i++) s += i
    printf "sum 1..100000 = %.0f\n", s
    s = 0; for (i = 1; i <= 100000; i++) s += i * 0.1
    printf "sum i*0.1 = %.6f\n", s
    s = 0; for (i = 1; i <= 1000; i++) s += 1 / i
    printf "harmonic 1000 = %.15f\n", s
    s = 0; for (i = 1; i <= 20000; i++) s += 1 / (i * i)
    printf "basel 20000 = %.15f\n", s
    p = 1; for (i = 1; i <= 20; i++) p *= i
    printf "20! = %.0f\n", p
    t = 1; for (i = 1; i <= 53; i++) t *= 2
    printf "2^53 = %.0f, 2^53-1 = %.0f, 16777217 = %.0f\n", t, t - 1, 16777216 + 1
    printf "1/3 = %.17g, 2/3 = %.17g, 0.1+0.2 = %.17g\n", 1 / 3, 2 / 3, 0.1 + 0.2
    # Newton's square root of 2 (this busybox has no math library)
    x = 1; for (i = 0; i < 8; i++) x = (x + 2 / x) / 2
    printf "sqrt2 = %.17g, int(-7.5) = %d, 7 %% 3 = %d, 1e300*1e10 = %s\n", x, int(-7.5), 7 % 3, 1e300 * 1e10
    # precision loss in single steps: 24-bit rounding changes each of these
    printf "16777216+1 = %.0f, 1e8+0.5 = %.1f, 123456789*3 = %.0f\n", 16777216 + v1, 1e8 + v05, 123456789 * v3
}

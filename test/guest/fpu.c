/* fpu: the floating-point state a Linux i386 process starts with.
 *
 * Linux starts every process with the x87 control word 0x037f (all
 * exceptions masked, 64-bit precision, round to nearest) and MXCSR 0x1f80
 * (all SSE exceptions masked, round to nearest).  An emulator that starts
 * with 0x0000 rounds every x87 result to 24 bits, silently: the sum below
 * then loses its low bits, and 1/0 traps instead of giving inf.
 *
 * Built by gcc -m32 without -mfpmath=sse, so double arithmetic is x87
 * code; the SSE checks use SSE2 instructions directly. */
#include <stdint.h>
#include <stdio.h>

static unsigned short fnstcw(void)
{
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void fldcw(unsigned short cw)
{
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

__attribute__((target("sse"))) static unsigned stmxcsr(void)
{
    unsigned csr;
    __asm__ volatile("stmxcsr %0" : "=m"(csr));
    return csr;
}

/* volatile: every step is stored to a double, as busybox awk does. */
static double triangle(int n)
{
    volatile double s = 0;
    for (int i = 1; i <= n; i++)
        s = s + i;
    return s;
}

static double x87_divide(double a, double b)
{
    double r;
    __asm__ volatile("fldl %1\n\tfdivl %2\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
    return r;
}

__attribute__((target("sse2"))) static double sse_divide(double a, double b)
{
    double r;
    __asm__ volatile("movsd %1, %%xmm0\n\tdivsd %2, %%xmm0\n\tmovsd %%xmm0, %0"
                     : "=m"(r) : "m"(a), "m"(b) : "xmm0");
    return r;
}

static volatile long double one_l = 1.0L;
static volatile long double tiny_l = 1.0L / 9223372036854775808.0L;   /* 2^-63 */

int main(void)
{
    unsigned short cw = fnstcw();
    unsigned csr = stmxcsr();
    printf("x87 control word at start: %#06x\n", cw);
    printf("MXCSR at start: %#06x\n", csr);

    double s = triangle(57882);
    printf("sum 1..57882 = %.0f\n", s);
    printf("sum 1..100000 = %.0f\n", triangle(100000));
    volatile double tenth = 0;
    for (int i = 1; i <= 100000; i++)
        tenth = tenth + i * 0.1;
    printf("sum i*0.1 = %.6f\n", tenth);

    /* 64-bit precision: 1 + 2^-63 is not 1 in a long double. */
    volatile long double sum_l = one_l + tiny_l;
    printf("long double 1 + 2^-63 > 1: %s\n", sum_l > one_l ? "yes" : "no");
    volatile double zero = 0.0;
    printf("x87 1/0 = %g, SSE 1/0 = %g\n", x87_divide(1.0, zero), sse_divide(1.0, zero));
    printf("SSE 1/3 = %.17g\n", sse_divide(1.0, 3.0));

    /* gcc's double-to-int conversion saves the control word, loads a
     * truncating one and loads the saved one back: an emulator whose
     * precision setting follows only fldcw shows the start word's effect
     * from here on. */
    volatile double real = 2.75;
    volatile int whole = (int)real;
    printf("(int)2.75 = %d, then sum 1..57882 = %.0f\n", whole, triangle(57882));

    /* The same sum with precision control at 24 bits (exceptions still
     * masked): it must differ, which is what the check above relies on. */
    fldcw(0x007f);
    double s24 = triangle(57882);
    fldcw(cw);
    printf("the same sum at 24-bit precision: %.0f (%s)\n", s24, s24 != s ? "differs" : "SAME");
    printf("control word restored: %#06x\n", fnstcw());
    return 0;
}

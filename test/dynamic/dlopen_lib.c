/* dlopen_lib: the shared library that dlopen_main.c loads by path.  It has
 * code (lib_apply calls back into the program), read-only and writable
 * data, a bss array, a thread-local counter (dynamic TLS, since the library
 * is loaded after start-up) and a constructor and destructor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char lib_name[] = "dlopen_lib";
int lib_calls = 100;              /* .data: starts at 100 */
static int scratch[4096];         /* .bss: 16 KiB, zero */
static __thread int tls_calls;    /* one per thread, zero */
static int constructed;

__attribute__((constructor)) static void lib_init(void)
{
    constructed = 1;
}

__attribute__((destructor)) static void lib_fini(void)
{
    /* stdout is still open when dlclose runs destructors. */
    printf("lib: destructor after %d calls\n", lib_calls - 100);
}

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorts a copy of data[0..n), calls cb(value, user) on each value in order
 * and returns the sum of what cb returned; *median gets the middle value. */
long long lib_apply(const int *data, int n, int (*cb)(int value, void *user), void *user,
                    int *median)
{
    int *copy = malloc((size_t)n * sizeof *copy);
    if (!copy)
        return -1;
    memcpy(copy, data, (size_t)n * sizeof *copy);
    qsort(copy, (size_t)n, sizeof *copy, by_value);
    long long sum = 0;
    for (int i = 0; i < n; i++) {
        sum += cb(copy[i], user);
        scratch[(unsigned)copy[i] % 4096] += 1;
    }
    *median = copy[n / 2];
    free(copy);
    lib_calls++;
    tls_calls++;
    return sum;
}

/* The library's state, printed by the program. */
void lib_report(char *buf, int size)
{
    int used = 0;
    for (int i = 0; i < 4096; i++)
        used += scratch[i] != 0;
    snprintf(buf, (size_t)size, "%s: constructed %d, calls %d, tls calls %d, scratch slots %d",
             lib_name, constructed, lib_calls, tls_calls, used);
}

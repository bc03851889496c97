/* dlopen_main LIBRARY: loads LIBRARY (dlopen_lib.c built as a shared
 * object) by path, looks up its functions and data, calls into it with data
 * and a callback into this program, and closes it.  Built with gcc -m32,
 * dynamic, for the dyn_dlopen test (test/dynamic/dynamic.cmake), which runs
 * it natively, under qemu-i386 and under guestmm-run-i386 and compares the
 * output with dlopen.expected. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

struct tally {
    int count;
    long long squares;
};

/* The callback: counts and sums squares, returns the value doubled. */
static int visit(int value, void *user)
{
    struct tally *t = user;
    t->count++;
    t->squares += (long long)value * value;
    return 2 * value;
}

typedef long long apply_fn(const int *, int, int (*)(int, void *), void *, int *);
typedef void report_fn(char *, int);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 2;
    }
    if (dlopen("libdoes-not-exist.so", RTLD_NOW) == NULL)
        printf("missing library: dlopen fails: %s\n", strstr(dlerror(), "cannot open") ? "cannot open" : "?");

    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    apply_fn *apply = (apply_fn *)dlsym(lib, "lib_apply");
    report_fn *report = (report_fn *)dlsym(lib, "lib_report");
    const char *name = dlsym(lib, "lib_name");
    int *calls = dlsym(lib, "lib_calls");
    printf("symbols: %s %s %s %s, missing one: %s\n", apply ? "lib_apply" : "-",
           report ? "lib_report" : "-", name ? name : "-", calls ? "lib_calls" : "-",
           dlsym(lib, "no_such_symbol") ? "found" : "not found");
    if (!apply || !report || !name || !calls)
        return 1;

    int data[1000];
    unsigned x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (int)((x >> 8) % 100000);
    }
    for (int round = 1; round <= 3; round++) {
        struct tally t = {0, 0};
        int median = -1;
        long long sum = apply(data, 1000 / round, visit, &t, &median);
        printf("round %d: sum %lld, median %d, callbacks %d, squares %lld\n", round, sum, median,
               t.count, t.squares);
    }
    *calls += 1000;
    char buf[200];
    report(buf, sizeof buf);
    printf("%s\n", buf);

    Dl_info info;
    if (dladdr((void *)apply, &info) && info.dli_sname)
        printf("dladdr: %s in %s\n", info.dli_sname,
               strcmp(info.dli_fname, argv[1]) == 0 ? "the library" : info.dli_fname);
    if (dlclose(lib) != 0) {
        printf("dlclose: %s\n", dlerror());
        return 1;
    }
    printf("closed\n");
    return 0;
}

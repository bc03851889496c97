/* An outside program: includes <guestmm.h>, uses only the names of the
 * public contract, and is built against the installed library. */
#include <guestmm.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    gmm_system *sys = gmm_system_create(NULL);
    gmm_space *s = gmm_space_create(sys, GMM_ABI_X86_64);
    if (!sys || !s)
        return 1;
    int64_t a = gmm_sys_mmap(s, 0, 4096, GMM_PROT_READ | GMM_PROT_WRITE,
                             GMM_MAP_PRIVATE | GMM_MAP_ANONYMOUS, -1, 0);
    if (a != 0x7ffff7ffe000)
        return 2;
    if (gmm_write(s, (gmm_addr)a, "ok", 3) || strcmp(gmm_translate(s, (gmm_addr)a, GMM_ACCESS_READ), "ok"))
        return 3;
    if (gmm_sys_munmap(s, (gmm_addr)a, 0) != -GMM_EINVAL)
        return 4;
    char maps[256];
    gmm_space_maps(s, maps, sizeof(maps));
    printf("libguestmm %s\n%s", gmm_version(), maps);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
    return 0;
}

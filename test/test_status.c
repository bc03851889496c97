/*
 * test_status.c - the memory lines of /proc/PID/status, /proc/PID/smaps,
 * PR_SET_VMA_ANON_NAME names, the initial stack and execve's reset
 * (CONFORMANCE.md sections 4, 8 and 13, the limits of section 1.4).
 *
 * Formats and values were compared with this machine's kernel (x86-64
 * Linux 6.18) for the same mappings; anonymous names follow the kernel's
 * source (the probe kernel was built without CONFIG_ANON_VMA_NAME).
 */
#include "memfile.h"
#include "mmhelp.h"

static gmm_space *setup(gmm_system **sys, gmm_abi abi)
{
    *sys = new_system(NULL);
    return new_space(*sys, abi);
}

static void teardown(gmm_system *sys, gmm_space *s)
{
    CHECK(s);
    gmm_space_destroy(s);
    gmm_system_destroy(sys);
}

/* A guest string at W + 64 pages (mapped by the caller). */
#define STR (W + 64 * PG)

static gmm_addr guest_str(gmm_space *s, const char *text)
{
    assert_int_equal(gmm_write(s, STR, text, strlen(text) + 1), 0);
    return STR;
}

/* ---- status ---- */

static void status_of_an_empty_space(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    char buf[1024];
    size_t n = gmm_space_status(s, buf, sizeof(buf));
    const char *want = "VmPeak:\t       0 kB\n"
                       "VmSize:\t       0 kB\n"
                       "VmLck:\t       0 kB\n"
                       "VmPin:\t       0 kB\n"
                       "VmHWM:\t       0 kB\n"
                       "VmRSS:\t       0 kB\n"
                       "RssAnon:\t       0 kB\n"
                       "RssFile:\t       0 kB\n"
                       "RssShmem:\t       0 kB\n"
                       "VmData:\t       0 kB\n"
                       "VmStk:\t       0 kB\n"
                       "VmExe:\t       0 kB\n"
                       "VmLib:\t       0 kB\n"
                       "VmPTE:\t       0 kB\n"
                       "VmSwap:\t       0 kB\n"
                       "HugetlbPages:\t       0 kB\n";
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
    teardown(sys, s);
}

static void status_has_snprintf_semantics(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    char full[1024], small[10];
    size_t n = gmm_space_status(s, full, sizeof(full));
    assert_int_equal(gmm_space_status(s, small, sizeof(small)), n);
    assert_memory_equal(small, full, 9);
    assert_int_equal(small[9], '\0');
    assert_int_equal(gmm_space_status(s, NULL, 0), n);
    teardown(sys, s);
}

static void status_counts_sizes_and_resident_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    map_at(s, W + 16 * PG, 4 * PG, RW, ANON_SHARED);
    map_at(s, W + 24 * PG, 2 * PG, GMM_PROT_READ | GMM_PROT_EXEC, ANON_PRIV);
    map_at(s, W + 32 * PG, 2 * PG, RW, ANON_PRIV | GMM_MAP_GROWSDOWN);
    for (int i = 0; i < 3; i++)
        put_byte(s, W + (uint64_t)i * PG, 1);
    (void)get_byte(s, W + 4 * PG); /* the zero page: not resident memory */
    put_byte(s, W + 16 * PG, 1);
    (void)get_byte(s, W + 17 * PG); /* a shared page is allocated by a read */
    assert_int_equal(status_kb(s, "VmSize"), 64);
    assert_int_equal(status_kb(s, "VmPeak"), 64);
    assert_int_equal(status_kb(s, "VmRSS"), 20);
    assert_int_equal(status_kb(s, "RssAnon"), 12);
    assert_int_equal(status_kb(s, "RssShmem"), 8);
    assert_int_equal(status_kb(s, "RssFile"), 0);
    assert_int_equal(status_kb(s, "VmData"), 32);
    assert_int_equal(status_kb(s, "VmStk"), 8);
    assert_int_equal(status_kb(s, "VmLib"), 8);
    assert_int_equal(status_kb(s, "VmExe"), 0);
    /* One PUD, one PMD and one PTE table. */
    assert_int_equal(status_kb(s, "VmPTE"), 12);
    teardown(sys, s);
}

static void status_peaks_remember_the_highest_values(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 16 * PG, RW, ANON_PRIV);
    for (int i = 0; i < 4; i++)
        put_byte(s, W + (uint64_t)i * PG, 1);
    assert_int_equal(gmm_sys_munmap(s, W + 8 * PG, 8 * PG), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 2 * PG, GMM_MADV_DONTNEED), 0);
    assert_int_equal(status_kb(s, "VmSize"), 32);
    assert_int_equal(status_kb(s, "VmPeak"), 64);
    assert_int_equal(status_kb(s, "VmRSS"), 8);
    assert_int_equal(status_kb(s, "VmHWM"), 16);
    /* A fork child starts from what it has. */
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(status_kb(c, "VmPeak"), 32);
    assert_int_equal(status_kb(c, "VmHWM"), 8);
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void status_vmexe_is_the_text_range(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    const gmm_addr text = 0x400000;
    map_at(s, text, 5 * PG, GMM_PROT_READ | GMM_PROT_EXEC, ANON_PRIV);
    map_at(s, W, 3 * PG, GMM_PROT_READ | GMM_PROT_EXEC, ANON_PRIV);
    assert_int_equal(gmm_space_set_code(s, text + 100, text + 4 * PG + 10), 0);
    assert_int_equal(status_kb(s, "VmExe"), 20);
    assert_int_equal(status_kb(s, "VmLib"), 12);
    assert_int_equal(gmm_space_set_code(s, text + PG, text), -GMM_EINVAL);
    assert_int_equal(gmm_space_set_code(s, 0, 0x800000000000ull), -GMM_EINVAL);
    teardown(sys, s);
}

static void status_counts_file_pages_and_private_copies(void **state)
{
    (void)state;
    struct memfile_env e;
    gmm_system *sys = memfile_system(&e, 4 * PG);
    gmm_space *s = new_space(sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, RW, GMM_MAP_PRIVATE | GMM_MAP_FIXED, MEMFILE_FD_RW, 0),
                     (int64_t)W);
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, 2 * PG, GMM_PROT_READ, GMM_MAP_SHARED | GMM_MAP_FIXED,
                                  MEMFILE_FD_RW, 0),
                     (int64_t)(W + 8 * PG));
    assert_int_equal(get_byte(s, W), 'a');          /* the page cache's page */
    put_byte(s, W + PG, 'x');                       /* a private copy */
    assert_int_equal(get_byte(s, W + 8 * PG), 'a'); /* the same cached page */
    assert_int_equal(status_kb(s, "RssFile"), 8);
    assert_int_equal(status_kb(s, "RssAnon"), 4);
    assert_int_equal(status_kb(s, "VmRSS"), 12);
    /* Mapped twice, the cached page is shared: half of it each. */
    assert_string_equal(smaps_field(s, W, "Rss"), "8 kB");
    assert_string_equal(smaps_field(s, W, "Pss"), "6 kB");
    assert_string_equal(smaps_field(s, W, "Shared_Clean"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Private_Dirty"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Anonymous"), "4 kB");
    teardown(sys, s);
}

static void status_counts_locked_pages(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 2 * PG, RW, ANON_PRIV | GMM_MAP_LOCKED);
    assert_int_equal(status_kb(s, "VmLck"), 8);
    assert_int_equal(status_kb(s, "RssAnon"), 8);
    teardown(sys, s);
}

/* ---- smaps ---- */

static void smaps_of_private_anonymous_memory(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    put_byte(s, W, 1);
    (void)get_byte(s, W + PG);
    const char *want = "20000000-20004000 rw-p 00000000 00:00 0 \n"
                       "Size:                 16 kB\n"
                       "KernelPageSize:        4 kB\n"
                       "MMUPageSize:           4 kB\n"
                       "Rss:                   4 kB\n"
                       "Pss:                   4 kB\n"
                       "Pss_Dirty:             4 kB\n"
                       "Shared_Clean:          0 kB\n"
                       "Shared_Dirty:          0 kB\n"
                       "Private_Clean:         0 kB\n"
                       "Private_Dirty:         4 kB\n"
                       "Referenced:            4 kB\n"
                       "Anonymous:             4 kB\n"
                       "KSM:                   0 kB\n"
                       "LazyFree:              0 kB\n"
                       "AnonHugePages:         0 kB\n"
                       "ShmemPmdMapped:        0 kB\n"
                       "FilePmdMapped:         0 kB\n"
                       "Shared_Hugetlb:        0 kB\n"
                       "Private_Hugetlb:       0 kB\n"
                       "Swap:                  0 kB\n"
                       "SwapPss:               0 kB\n"
                       "Locked:                0 kB\n"
                       "THPeligible:           0\n"
                       "VmFlags: rd wr mr mw me ac \n";
    assert_string_equal(smaps_of(s), want);
    teardown(sys, s);
}

static void smaps_of_shared_memory(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 4 * PG, RW, ANON_SHARED);
    put_byte(s, W, 1);
    assert_non_null(strstr(smaps_of(s), " /dev/zero (deleted)\nSize:                 16 kB\n"));
    assert_string_equal(smaps_field(s, W, "Rss"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Anonymous"), "0 kB");
    assert_string_equal(smaps_field(s, W, "Private_Dirty"), "4 kB");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr sh mr mw me ms ");
    /* Mapped in two spaces (the child faults it in: fork copies no entries
     * of shared memory on Linux): shared, half each. */
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(get_byte(c, W), 1);
    assert_string_equal(smaps_field(s, W, "Pss"), "2 kB");
    assert_string_equal(smaps_field(s, W, "Shared_Dirty"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Private_Dirty"), "0 kB");
    gmm_space_destroy(c);
    /* A page read, never written, is clean. */
    assert_int_equal(get_byte(s, W + PG), 0);
    assert_string_equal(smaps_field(s, W, "Private_Clean"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Private_Dirty"), "4 kB");
    teardown(sys, s);
}

static void smaps_shares_private_pages_after_fork(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, 2 * PG, RW, ANON_PRIV);
    put_byte(s, W, 1);
    put_byte(s, W + PG, 1);
    gmm_space *c = gmm_space_fork(s);
    put_byte(c, W + PG, 2);
    assert_string_equal(smaps_field(s, W, "Rss"), "8 kB");
    assert_string_equal(smaps_field(s, W, "Pss"), "6 kB");
    assert_string_equal(smaps_field(s, W, "Shared_Dirty"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Private_Dirty"), "4 kB");
    assert_string_equal(smaps_field(s, W, "Anonymous"), "8 kB");
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void smaps_flags_of_each_kind_of_mapping(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, GMM_PROT_WRITE, ANON_PRIV | GMM_MAP_GROWSDOWN);
    map_at(s, W + 2 * PG, PG, RW, GMM_MAP_DROPPABLE | GMM_MAP_ANONYMOUS);
    map_at(s, W + 4 * PG, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_NORESERVE);
    map_at(s, W + 6 * PG, PG, RW | GMM_PROT_EXEC, ANON_PRIV | GMM_MAP_LOCKED);
    map_at(s, W + 8 * PG, PG, RW, ANON_PRIV | GMM_MAP_STACK);
    map_at(s, W + 10 * PG, PG, GMM_PROT_READ, ANON_SHARED);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "wr mr mw me gd ac ");
    assert_string_equal(smaps_field(s, W + 2 * PG, "VmFlags"), "rd wr mr mw me nr wf dd dp ");
    assert_string_equal(smaps_field(s, W + 4 * PG, "VmFlags"), "rd mr mw me nr ");
    assert_string_equal(smaps_field(s, W + 6 * PG, "VmFlags"), "rd wr ex mr mw me lo ac ");
    assert_string_equal(smaps_field(s, W + 6 * PG, "Locked"), "4 kB");
    assert_string_equal(smaps_field(s, W + 8 * PG, "VmFlags"), "rd wr mr mw me ac nh ");
    assert_string_equal(smaps_field(s, W + 10 * PG, "VmFlags"), "rd sh mr mw me ms ");
    teardown(sys, s);
}

static void smaps_thp_eligible_needs_hugepage_and_room(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    const gmm_addr H = 0x40000000;
    map_at(s, H, 4 << 20, RW, ANON_PRIV);
    map_at(s, W, 8 * PG, RW, ANON_PRIV);
    assert_string_equal(smaps_field(s, H, "THPeligible"), "0");
    assert_int_equal(gmm_sys_madvise(s, H, 4 << 20, GMM_MADV_HUGEPAGE), 0);
    assert_int_equal(gmm_sys_madvise(s, W, 8 * PG, GMM_MADV_HUGEPAGE), 0);
    assert_string_equal(smaps_field(s, H, "THPeligible"), "1");
    assert_string_equal(smaps_field(s, W, "THPeligible"), "0");
    teardown(sys, s);
}

static void smaps_protection_key_in_execute_only_mode(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    gmm_space_set_execute_only(s, 1);
    map_at(s, W, 2 * PG, GMM_PROT_EXEC, ANON_PRIV);
    map_at(s, W + 4 * PG, PG, RW, ANON_PRIV);
    assert_string_equal(smaps_field(s, W, "ProtectionKey"), "1");
    assert_string_equal(smaps_field(s, W, "VmFlags"), "ex mr mw me ");
    assert_string_equal(smaps_field(s, W + 4 * PG, "ProtectionKey"), "0");
    teardown(sys, s);
}

static void smaps_has_snprintf_semantics(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_PRIV);
    map_at(s, W + 2 * PG, PG, RW, ANON_SHARED);
    char full[8192], part[100];
    size_t n = gmm_space_smaps(s, full, sizeof(full));
    assert_true(n < sizeof(full));
    assert_int_equal(gmm_space_smaps(s, part, sizeof(part)), n);
    assert_memory_equal(part, full, sizeof(part) - 1);
    assert_int_equal(part[sizeof(part) - 1], '\0');
    assert_int_equal(gmm_space_smaps(s, NULL, 0), n);
    teardown(sys, s);
}

/* ---- PR_SET_VMA_ANON_NAME ---- */

static void anon_name_shows_in_maps(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + PG, 2 * PG, guest_str(s, "test")), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + PG, "rw-p"), named_line(W + PG, W + 3 * PG, "rw-p", "[anon:test]"),
                         anon_line(W + 3 * PG, W + 4 * PG, "rw-p"), anon_line(STR, STR + PG, "rw-p")));
    /* An empty name is a name. */
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, "")), 0);
    assert_non_null(strstr(maps_of(s), named_line(W, W + PG, "rw-p", "[anon:]")));
    /* No name: the regions merge again. */
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, 4 * PG, 0), 0);
    ASSERT_MAPS(s, LINES(anon_line(W, W + 4 * PG, "rw-p"), anon_line(STR, STR + PG, "rw-p")));
    teardown(sys, s);
}

static void anon_name_equal_names_merge(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, "a")), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + 2 * PG, PG, guest_str(s, "a")), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + PG, PG, guest_str(s, "a")), 0);
    ASSERT_MAPS(s, LINES(named_line(W, W + 3 * PG, "rw-p", "[anon:a]"), anon_line(W + 3 * PG, W + 4 * PG, "rw-p"),
                         anon_line(STR, STR + PG, "rw-p")));
    /* A split keeps the name on both sides. */
    assert_int_equal(gmm_sys_mprotect(s, W + PG, PG, GMM_PROT_READ), 0);
    assert_non_null(strstr(maps_of(s), named_line(W + PG, W + 2 * PG, "r--p", "[anon:a]")));
    assert_non_null(strstr(maps_of(s), named_line(W + 2 * PG, W + 3 * PG, "rw-p", "[anon:a]")));
    /* A fork child has the names. */
    gmm_space *c = gmm_space_fork(s);
    assert_string_equal(maps_of(c), maps_of(s));
    gmm_space_destroy(c);
    teardown(sys, s);
}

static void anon_name_of_shared_memory_is_anon_shmem(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    map_at(s, W, PG, RW, ANON_SHARED);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, "test")), 0);
    assert_non_null(strstr(maps_of(s), " [anon_shmem:test]\n"));
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, "")), 0);
    assert_non_null(strstr(maps_of(s), " [anon_shmem:]\n"));
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, 0), 0);
    assert_non_null(strstr(maps_of(s), " /dev/zero (deleted)\n"));
    teardown(sys, s);
}

static void anon_name_heap_and_stack_keep_their_names(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_space_init_brk(s, 0x10000000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x10000000 + PG), 0x10000000 + PG);
    int64_t top = gmm_space_setup_stack(s, 0);
    assert_true(top > 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, 0x10000000, PG, guest_str(s, "h")), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, (gmm_addr)top - PG, PG, guest_str(s, "s")), 0);
    assert_non_null(strstr(maps_of(s), " [heap]\n"));
    assert_non_null(strstr(maps_of(s), " [stack]\n"));
    assert_null(strstr(maps_of(s), "[anon:"));
    teardown(sys, s);
}

static void anon_name_validates_the_string(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    map_at(s, W, PG, RW, ANON_PRIV);
    static const char *bad[] = {"a[b", "a]", "back\\slash", "dollar$", "tick`", "tab\t", "nl\n", "\x7f",
                                "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, bad[i])), -GMM_EINVAL);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, "ok: (x) {y} 'z' \"q\" ~!@#%^&*")), 0);
    /* 79 characters fit, 80 do not. */
    char name[81];
    memset(name, 'n', 80);
    name[80] = '\0';
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, name)), -GMM_EINVAL);
    name[79] = '\0';
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, guest_str(s, name)), 0);
    /* The string is checked before the range. */
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + 1, PG, guest_str(s, "a[")), -GMM_EINVAL);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + 1, PG, 0x10), -GMM_EFAULT);
    /* Unreadable before the NUL: EFAULT; after 80 bytes it is not read. */
    assert_int_equal(gmm_write(s, STR + PG - 3, "abc", 3), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, STR + PG - 3), -GMM_EFAULT);
    assert_int_equal(gmm_write(s, STR + PG - 2, "a", 2), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, PG, STR + PG - 2), 0);
    teardown(sys, s);
}

static void anon_name_range_rules_follow_madvise(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, STR, PG, RW, ANON_PRIV);
    map_at(s, W, PG, RW, ANON_PRIV);
    map_at(s, W + 2 * PG, PG, RW, ANON_PRIV);
    gmm_addr n = guest_str(s, "x");
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + 1, PG, n), -GMM_EINVAL);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, 0, n), 0);
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, UINT64_MAX, n), -GMM_EINVAL);
    /* A hole: the mapped parts are named, then ENOMEM. */
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W, 3 * PG, n), -GMM_ENOMEM);
    assert_non_null(strstr(maps_of(s), named_line(W, W + PG, "rw-p", "[anon:x]")));
    assert_non_null(strstr(maps_of(s), named_line(W + 2 * PG, W + 3 * PG, "rw-p", "[anon:x]")));
    assert_int_equal(gmm_sys_prctl_set_vma_anon_name(s, W + 8 * PG, PG, n), -GMM_ENOMEM);
    teardown(sys, s);
}

/* ---- the initial stack ---- */

static void setup_stack_maps_a_stack_below_the_task_top(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setup_stack(s, 0), 0x7FFFFFFFF000ll);
    ASSERT_MAPS(s, named_line(0x7FFFFFFDE000ull, 0x7FFFFFFFF000ull, "rw-p", "[stack]"));
    assert_string_equal(smaps_field(s, 0x7FFFFFFDE000ull, "VmFlags"), "rd wr mr mw me gd ac ");
    assert_int_equal(status_kb(s, "VmStk"), 132);
    /* mmap keeps the stack guard gap: the first mapping goes below
     * mmap_base as usual. */
    assert_int_equal(gmm_sys_mmap(s, 0, PG, RW, ANON_PRIV, -1, 0), 0x7FFFF7FFE000ll);
    teardown(sys, s);
}

static void setup_stack_i386_top_and_growth(void **state)
{
    (void)state;
    struct fault_log log;
    gmm_system *sys = new_system(&log);
    gmm_space *s = new_space(sys, GMM_ABI_I386);
    assert_int_equal(gmm_space_setup_stack(s, 5000), 0xFFFFE000ll);
    ASSERT_MAPS(s, named_line(0xFFFFC000u, 0xFFFFE000u, "rw-p", "[stack]"));
    /* A touch below grows it, and it stays the stack. */
    assert_non_null(gmm_translate(s, 0xFFFF0000u, GMM_ACCESS_WRITE));
    ASSERT_MAPS(s, named_line(0xFFFF0000u, 0xFFFFE000u, "rw-p", "[stack]"));
    teardown(sys, s);
}

static void setup_stack_refuses_what_does_not_fit(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setup_stack(s, (8 << 20) + PG), -GMM_ENOMEM);
    map_at(s, 0x7FFFFFFFE000ull, PG, RW, ANON_PRIV);
    assert_int_equal(gmm_space_setup_stack(s, PG), -GMM_EEXIST);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_AS, 4 * PG, 4 * PG), 0);
    assert_int_equal(gmm_sys_munmap(s, 0x7FFFFFFFE000ull, PG), 0);
    assert_int_equal(gmm_space_setup_stack(s, 5 * PG), -GMM_ENOMEM);
    assert_int_equal(gmm_space_setup_stack(s, 4 * PG), 0x7FFFFFFFF000ll);
    teardown(sys, s);
}

static void stack_name_follows_the_region_holding_start_stack(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setup_stack(s, 4 * PG), 0x7FFFFFFFF000ll);
    assert_int_equal(gmm_sys_mprotect(s, 0x7FFFFFFFB000ull, PG, GMM_PROT_READ), 0);
    ASSERT_MAPS(s, LINES(anon_line(0x7FFFFFFFB000ull, 0x7FFFFFFFC000ull, "r--p"),
                         named_line(0x7FFFFFFFC000ull, 0x7FFFFFFFF000ull, "rw-p", "[stack]")));
    teardown(sys, s);
}

/* ---- execve ---- */

static void exec_reset_empties_the_space(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_STACK, 4 << 20, 4 << 20), 0);
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    put_byte(s, W, 1);
    assert_int_equal(gmm_sys_madvise(s, W, PG, GMM_MADV_WIPEONFORK), 0);
    assert_int_equal(gmm_sys_mlockall(s, GMM_MCL_CURRENT | GMM_MCL_FUTURE), 0);
    assert_int_equal(gmm_space_init_brk(s, 0x10000000), 0);
    assert_int_equal(gmm_space_setup_stack(s, 0), 0x7FFFFFFFF000ll);
    assert_int_equal(gmm_space_exec_reset(s), 0);
    ASSERT_MAPS(s, "");
    assert_int_equal(status_kb(s, "VmPeak"), 0);
    assert_int_equal(status_kb(s, "VmLck"), 0);
    /* MCL_FUTURE is gone. */
    map_at(s, W, 4 * PG, RW, ANON_PRIV);
    assert_string_equal(smaps_field(s, W, "VmFlags"), "rd wr mr mw me ac ");
    assert_int_equal(get_byte(s, W), 0);
    /* The limits stay. */
    uint64_t soft, hard;
    assert_int_equal(gmm_space_getrlimit(s, GMM_RLIMIT_STACK, &soft, &hard), 0);
    assert_int_equal(soft, 4 << 20);
    /* A new program: brk and a stack again. */
    assert_int_equal(gmm_space_init_brk(s, 0x10000000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x10001000), 0x10001000);
    assert_int_equal(gmm_space_setup_stack(s, 0), 0x7FFFFFFFF000ll);
    teardown(sys, s);
}

static void exec_reset_leaves_other_spaces_alone(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    map_at(s, W, PG, RW, ANON_SHARED);
    put_byte(s, W, 7);
    gmm_space *c = gmm_space_fork(s);
    assert_int_equal(gmm_space_exec_reset(c), 0);
    assert_int_equal(get_byte(s, W), 7);
    CHECK(c);
    gmm_space_destroy(c);
    teardown(sys, s);
}

/* ---- RLIMIT_DATA ---- */

static void rlimit_data_soft_zero_allows_up_to_the_hard_limit(void **state)
{
    (void)state;
    gmm_system *sys;
    gmm_space *s = setup(&sys, GMM_ABI_X86_64);
    assert_int_equal(gmm_space_setrlimit(s, GMM_RLIMIT_DATA, 0, 4 * PG), 0);
    assert_int_equal(gmm_sys_mmap(s, W, 4 * PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), (int64_t)W);
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, PG, RW, ANON_PRIV | GMM_MAP_FIXED, -1, 0), -GMM_ENOMEM);
    /* Read-only and shared memory are no data. */
    assert_int_equal(gmm_sys_mmap(s, W + 8 * PG, PG, GMM_PROT_READ, ANON_PRIV | GMM_MAP_FIXED, -1, 0),
                     (int64_t)(W + 8 * PG));
    assert_int_equal(gmm_sys_mmap(s, W + 10 * PG, PG, RW, ANON_SHARED | GMM_MAP_FIXED, -1, 0),
                     (int64_t)(W + 10 * PG));
    /* brk checks the soft limit itself first: no growth at all. */
    assert_int_equal(gmm_space_init_brk(s, 0x10000000), 0);
    assert_int_equal(gmm_sys_brk(s, 0x10001000), 0x10000000);
    assert_int_equal(status_kb(s, "VmData"), 16);
    teardown(sys, s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_of_an_empty_space),
        cmocka_unit_test(status_has_snprintf_semantics),
        cmocka_unit_test(status_counts_sizes_and_resident_pages),
        cmocka_unit_test(status_peaks_remember_the_highest_values),
        cmocka_unit_test(status_vmexe_is_the_text_range),
        cmocka_unit_test(status_counts_file_pages_and_private_copies),
        cmocka_unit_test(status_counts_locked_pages),
        cmocka_unit_test(smaps_of_private_anonymous_memory),
        cmocka_unit_test(smaps_of_shared_memory),
        cmocka_unit_test(smaps_shares_private_pages_after_fork),
        cmocka_unit_test(smaps_flags_of_each_kind_of_mapping),
        cmocka_unit_test(smaps_thp_eligible_needs_hugepage_and_room),
        cmocka_unit_test(smaps_protection_key_in_execute_only_mode),
        cmocka_unit_test(smaps_has_snprintf_semantics),
        cmocka_unit_test(anon_name_shows_in_maps),
        cmocka_unit_test(anon_name_equal_names_merge),
        cmocka_unit_test(anon_name_of_shared_memory_is_anon_shmem),
        cmocka_unit_test(anon_name_heap_and_stack_keep_their_names),
        cmocka_unit_test(anon_name_validates_the_string),
        cmocka_unit_test(anon_name_range_rules_follow_madvise),
        cmocka_unit_test(setup_stack_maps_a_stack_below_the_task_top),
        cmocka_unit_test(setup_stack_i386_top_and_growth),
        cmocka_unit_test(setup_stack_refuses_what_does_not_fit),
        cmocka_unit_test(stack_name_follows_the_region_holding_start_stack),
        cmocka_unit_test(exec_reset_empties_the_space),
        cmocka_unit_test(exec_reset_leaves_other_spaces_alone),
        cmocka_unit_test(rlimit_data_soft_zero_allows_up_to_the_hard_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

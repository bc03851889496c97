# The dynamic corpus of issue 13: dynamically linked Debian i386 programs
# (coreutils, sqlite3, python3.11) under guestmm-run-i386 -L SYSROOT, with
# qemu-i386 -L SYSROOT and the native run (where this kernel runs i386
# programs) as references; the /proc/self/maps comparison; a dlopen program.
#
# include()d at the end of examples/unicorn-i386/CMakeLists.txt, where the
# target guestmm-run-i386, GUEST_GCC (gcc, -m32 -static known to work) and
# QEMU_I386 ("" when absent) are defined.  The sysroot is made outside the
# build by test/dynamic/fetch-sysroot.sh (it needs root and the network);
# without it the corpus and python maps tests skip.  The drivers are bash
# scripts; maps_compare.py needs python3.
set(GMM_DYN_SYSROOT ${CMAKE_BINARY_DIR}/sysroot-dyn CACHE PATH
    "i386 sysroot for the dynamic corpus tests (make it with test/dynamic/fetch-sysroot.sh)")
# The sanitizer builds run the runner about 7 times slower (sqlite3 alone
# would take 25 minutes under ASan): there the workloads are a tenth.
if(GMM_SANITIZE OR GMM_TSAN)
  set(dyn_scale_default 10)
else()
  set(dyn_scale_default 1)
endif()
set(GMM_DYN_SCALE ${dyn_scale_default} CACHE STRING
    "Divides the dynamic corpus's workload sizes (1: issue 13's; 10 in sanitizer builds)")
set(DYN_DIR ${PROJECT_SOURCE_DIR}/test/dynamic)
set(DYN_BIN ${CMAKE_CURRENT_BINARY_DIR}/dyn)
find_program(DYN_BASH bash)
find_program(DYN_PYTHON3 python3)
if(NOT DYN_BASH)
  message(STATUS "test/dynamic: bash not found: dynamic corpus tests not registered")
  return()
endif()
set(dyn_qemu)
if(QEMU_I386)
  set(dyn_qemu --qemu ${QEMU_I386})
endif()
# The runner links Unicorn, which the leak checker cannot see into.
set(dyn_env "ASAN_OPTIONS=detect_leaks=0" "DYN_SCALE=${GMM_DYN_SCALE}")

# ---- the corpus: dyn_ls, dyn_sort, ... (cases.sh) ----
foreach(c ls sort sha256sum du pipe sqlite python)
  add_test(NAME dyn_${c}
    COMMAND ${DYN_BASH} ${DYN_DIR}/run_dyn.sh --runner $<TARGET_FILE:guestmm-run-i386> ${dyn_qemu}
            ${GMM_DYN_SYSROOT} ${DYN_BIN}/${c} ${c})
  # sqlite3 and python3 take 5-10 s under qemu-i386 on a busy 2-core machine.
  set_tests_properties(dyn_${c} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
                                          ENVIRONMENT "${dyn_env}")
endforeach()

# ---- gcc -m32 programs, dynamic (the host's i386 libc, PIE by default) ----
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/probe32dyn.c "#include <stdio.h>\nint main(void){puts(\"\");return 0;}\n")
execute_process(COMMAND ${GUEST_GCC} -m32 -o ${CMAKE_CURRENT_BINARY_DIR}/probe32dyn
                        ${CMAKE_CURRENT_BINARY_DIR}/probe32dyn.c
                RESULT_VARIABLE dyn_probe_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT dyn_probe_rc EQUAL 0)
  message(STATUS "test/dynamic: gcc -m32 (dynamic) does not work: maps_self and dlopen not registered")
else()
  add_custom_command(OUTPUT ${DYN_BIN}/maps
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DYN_BIN}
    COMMAND ${GUEST_GCC} -m32 -O1 -g -Wall -o ${DYN_BIN}/maps ${DYN_DIR}/maps.c
    DEPENDS ${DYN_DIR}/maps.c
    COMMENT "gcc -m32 test/dynamic/maps.c")
  add_custom_command(OUTPUT ${DYN_BIN}/libdyn_dlopen.so
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DYN_BIN}
    COMMAND ${GUEST_GCC} -m32 -O1 -g -Wall -shared -fPIC -o ${DYN_BIN}/libdyn_dlopen.so
            ${DYN_DIR}/dlopen_lib.c
    DEPENDS ${DYN_DIR}/dlopen_lib.c
    COMMENT "gcc -m32 -shared test/dynamic/dlopen_lib.c")
  add_custom_command(OUTPUT ${DYN_BIN}/dlopen_main
    COMMAND ${CMAKE_COMMAND} -E make_directory ${DYN_BIN}
    COMMAND ${GUEST_GCC} -m32 -O1 -g -Wall -o ${DYN_BIN}/dlopen_main ${DYN_DIR}/dlopen_main.c
    DEPENDS ${DYN_DIR}/dlopen_main.c
    COMMENT "gcc -m32 test/dynamic/dlopen_main.c")
  add_custom_target(dyn_programs ALL
    DEPENDS ${DYN_BIN}/maps ${DYN_BIN}/libdyn_dlopen.so ${DYN_BIN}/dlopen_main)

  add_test(NAME dyn_dlopen
    COMMAND ${DYN_BASH} ${DYN_DIR}/run_prog.sh --runner $<TARGET_FILE:guestmm-run-i386> ${dyn_qemu}
            ${DYN_DIR}/dlopen.expected 0 ${DYN_BIN}/dlopen_main ${DYN_BIN}/libdyn_dlopen.so)
  set_tests_properties(dyn_dlopen PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                                             ENVIRONMENT "${dyn_env}")
  if(DYN_PYTHON3)
    add_test(NAME dyn_maps_self
      COMMAND ${DYN_BASH} ${DYN_DIR}/maps.sh --runner $<TARGET_FILE:guestmm-run-i386>
              ${DYN_BIN}/maps_self self ${DYN_BIN}/maps)
    # maps.sh switches the kernel's 32-bit vDSO off for its native run.
    set_tests_properties(dyn_maps_self PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                                                  ENVIRONMENT "${dyn_env}"
                                                  RESOURCE_LOCK abi_vsyscall32)
  endif()
endif()

# ---- python3.11 of the sysroot: its maps against the native run's ----
if(DYN_PYTHON3)
  add_test(NAME dyn_maps_python
    COMMAND ${DYN_BASH} ${DYN_DIR}/maps.sh --runner $<TARGET_FILE:guestmm-run-i386>
            --sysroot ${GMM_DYN_SYSROOT} ${DYN_BIN}/maps_python python)
  set_tests_properties(dyn_maps_python PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                                                  ENVIRONMENT "${dyn_env}"
                                                  RESOURCE_LOCK abi_vsyscall32)
else()
  message(STATUS "test/dynamic: python3 not found: the maps comparisons are not registered")
endif()

# The corpus and the process tests of guestmm-run-i386, included at the end
# of examples/unicorn-i386/CMakeLists.txt (so RUNNER's target, QEMU_I386,
# GUEST_GCC, guest_program() and guest_test() are defined, and gcc -m32
# -static is known to work).
#
# 1. test/guest programs of the process layer: each built -m32 -static and
#    run by run_guest.cmake against test/guest/NAME.expected and qemu-i386.
# 2. corpus_NAME: each line of test/corpus/commands.txt, Debian 12's static
#    i386 busybox, bash, zsh and sash run by test/corpus/corpus.py under the
#    runner, qemu-i386 and natively.  The programs come from a sysroot that
#    test/corpus/fetch-sysroot.sh unpacks (as root, with apt-get download);
#    without it the corpus tests are reported as skipped.

set(CORPUS_DIR ${PROJECT_SOURCE_DIR}/test/corpus)

# ---- 1. guest programs ----
foreach(p shm_fork futex_handoff threads4 vforkexec pipechain fpu sigchld_wait fds)
  guest_program(${p})
endforeach()
# threads4 needs libpthread: glibc 2.34+ has it in libc, so -static suffices.
guest_test(shm_fork shm_fork 0 ${CMAKE_CURRENT_BINARY_DIR}/guest/shm_fork.data)
guest_test(futex_handoff futex_handoff 0 1000 ${CMAKE_CURRENT_BINARY_DIR}/guest/futex_handoff.data)
guest_test(threads4 threads4 0)
guest_test(vforkexec vforkexec 0)
guest_test(pipechain pipechain 0)
guest_test(fpu fpu 0)
guest_test(sigchld_wait sigchld_wait 0)
guest_test(fds fds 0 ${FILEMAP_INPUT})

# ---- 2. the corpus ----
set(GMM_CORPUS_SYSROOT ${PROJECT_BINARY_DIR}/corpus-sysroot CACHE PATH
    "Where test/corpus/fetch-sysroot.sh unpacked Debian's i386 static programs (corpus tests skip without them)")
find_program(CORPUS_PYTHON3 python3)
if(NOT CORPUS_PYTHON3)
  message(STATUS "unicorn-i386: python3 not found: corpus tests left out")
  return()
endif()
if(NOT EXISTS ${GMM_CORPUS_SYSROOT}/bin/busybox)
  message(STATUS "unicorn-i386: no corpus sysroot at ${GMM_CORPUS_SYSROOT} "
                 "(as root: test/corpus/fetch-sysroot.sh ${GMM_CORPUS_SYSROOT}): corpus tests will skip")
endif()

# The heavy commands (200,000 lines, 100,000 iterations) take minutes each
# under Unicorn 2.0.1, whose every store takes its slow path: together
# longer than CI's budget.  They are registered but disabled unless
# GMM_CORPUS_HEAVY is on (README "The Unicorn runner" gives the command and
# the last run's figures).
option(GMM_CORPUS_HEAVY "run the corpus's heavy commands (minutes each under the runner)" OFF)
if(NOT GMM_CORPUS_HEAVY)
  message(STATUS "corpus: the heavy commands (label corpus-heavy) are disabled; -DGMM_CORPUS_HEAVY=ON runs them")
endif()
set(CORPUS_COMMANDS ${CORPUS_DIR}/commands.txt)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CORPUS_COMMANDS})
file(STRINGS ${CORPUS_COMMANDS} corpus_lines REGEX "^[a-z0-9_]+[ \t]")
foreach(line ${corpus_lines})
  if(NOT line MATCHES "^([a-z0-9_]+)[ \t]+([0-9]+)[ \t]+[0-9]+[ \t]")
    message(FATAL_ERROR "test/corpus/commands.txt: bad line: ${line}")
  endif()
  set(name ${CMAKE_MATCH_1})
  # corpus.py runs the command up to three times (native, qemu-i386,
  # runner), each with TIMEOUT seconds; the test gets all three and a margin.
  math(EXPR limit "${CMAKE_MATCH_2} * 3 + 60")
  add_test(NAME corpus_${name}
    COMMAND ${CORPUS_PYTHON3} ${CORPUS_DIR}/corpus.py
      --commands ${CORPUS_COMMANDS}
      --sysroot ${GMM_CORPUS_SYSROOT}
      --work ${CMAKE_CURRENT_BINARY_DIR}/corpus
      --runner $<TARGET_FILE:guestmm-run-i386>
      --qemu=${QEMU_I386}
      ${name})
  # The commands allowed 300 s or more a run are the heavy ones (200,000
  # lines, 100,000 iterations): label corpus-heavy, so that a slow build
  # (the sanitizers in .ci/run) can leave them out with ctest -LE.
  if(CMAKE_MATCH_2 GREATER_EQUAL 300)
    set(labels "corpus;corpus-heavy")
  else()
    set(labels "corpus")
  endif()
  if(CMAKE_MATCH_2 GREATER_EQUAL 300 AND NOT GMM_CORPUS_HEAVY)
    set_tests_properties(corpus_${name} PROPERTIES DISABLED TRUE)
  endif()
  set_tests_properties(corpus_${name} PROPERTIES
    TIMEOUT ${limit}
    SKIP_RETURN_CODE 77
    LABELS "${labels}"
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
endforeach()

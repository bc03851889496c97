# ctest driver for one guest program: cmake -DRUNNER= -DPROGRAM= -DARGS=
# -DEXPECTED= -DSTATUS= [-DQEMU=] -P run_guest.cmake
#
# Runs PROGRAM ARGS under the runner through sh, so that the exit status
# is a number even when a signal ends the process (128 + signal).  Checks
# stdout against EXPECTED and the status against STATUS; with QEMU, runs
# the program under qemu-i386 too and compares the lines that do not start
# with "~" (those print emulator-dependent facts) and the status.
set(wrap "ulimit -c 0; \"$0\" \"$@\"; echo \"[exit $?]\"")
separate_arguments(arglist UNIX_COMMAND "${ARGS}")

execute_process(COMMAND sh -c "${wrap}" ${RUNNER} ${PROGRAM} ${arglist}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} expected)
set(expected "${expected}[exit ${STATUS}]\n")
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "guestmm-run-i386 output differs.\n--- expected\n${expected}--- got\n${out}--- stderr\n${err}")
endif()
message(STATUS "runner: output and exit status ${STATUS} as expected")

if(QEMU)
  execute_process(COMMAND sh -c "${wrap}" ${QEMU} ${PROGRAM} ${arglist}
    OUTPUT_VARIABLE qout ERROR_VARIABLE qerr RESULT_VARIABLE qrc)
  string(REGEX REPLACE "(^|\n)~[^\n]*" "" a "${out}")
  string(REGEX REPLACE "(^|\n)~[^\n]*" "" b "${qout}")
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "guestmm-run-i386 and qemu-i386 differ.\n--- qemu-i386\n${qout}--- runner\n${out}")
  endif()
  message(STATUS "qemu-i386: same output and exit status")
else()
  message(STATUS "qemu-i386 not installed: no comparison")
endif()

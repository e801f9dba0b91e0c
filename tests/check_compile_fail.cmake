# Compiles one file of tests/compile_fail and checks the verdict its first
# line announces: "/* expect: (compiles)", or "/* expect: <regex>", matching
# the diagnostic the compiler must give (the build must fail, and for that
# reason). Variables: CC, SRC, INCLUDES (a ;-list of directories).
file(STRINGS ${SRC} first LIMIT_COUNT 1)
string(REGEX REPLACE "^/\\* expect: (.*[^ ])$" "\\1" want "${first}")
set(args -std=c11 -fsyntax-only -Wall -Wextra -Werror -D_GNU_SOURCE)
foreach(dir ${INCLUDES})
  list(APPEND args -I${dir})
endforeach()
execute_process(COMMAND ${CC} ${args} ${SRC}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(want STREQUAL "(compiles)")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SRC} should compile:\n${err}")
  endif()
elseif(rc EQUAL 0)
  message(FATAL_ERROR "${SRC} compiled, but must fail with '${want}'")
elseif(NOT err MATCHES "${want}")
  message(FATAL_ERROR "${SRC} failed, but not with '${want}':\n${err}")
endif()

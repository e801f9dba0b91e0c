# Fails when the shared library's SONAME is not libsynchronicity.so.<major>
# of the version header, or its file is not .so.<major>.<minor>.<patch>:
# the SONAME is the ABI, and the header is what programs compile against.
# Arguments: -DLIB=<the library's real file> -DHEADER=<synchronicity/version.h>
# Prints "SKIPPED:" (ctest then skips) without readelf or objdump.
file(STRINGS ${HEADER} defines REGEX "^#define SYN_VERSION_(MAJOR|MINOR|PATCH) ")
foreach(part MAJOR MINOR PATCH)
  if(NOT defines MATCHES "#define SYN_VERSION_${part} ([0-9]+)")
    message(FATAL_ERROR "${HEADER} has no SYN_VERSION_${part}")
  endif()
  set(${part} ${CMAKE_MATCH_1})
endforeach()

find_program(READELF NAMES readelf)
find_program(OBJDUMP NAMES objdump)
if(READELF)
  execute_process(COMMAND ${READELF} -d ${LIB}
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  set(pattern "\\(SONAME\\)[^[]*\\[([^]]+)\\]")
elseif(OBJDUMP)
  execute_process(COMMAND ${OBJDUMP} -p ${LIB}
    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  set(pattern "SONAME[ \t]+([^ \t\n]+)")
else()
  message("SKIPPED: neither readelf nor objdump is installed")
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot read the dynamic section of ${LIB}")
endif()
if(NOT out MATCHES "${pattern}")
  message(FATAL_ERROR "${LIB} has no SONAME")
endif()
set(soname ${CMAKE_MATCH_1})

set(want libsynchronicity.so.${MAJOR})
if(NOT soname STREQUAL want)
  message(FATAL_ERROR "SONAME ${soname}, but the header's major version "
    "${MAJOR} wants ${want}")
endif()
get_filename_component(file ${LIB} NAME)
if(NOT file STREQUAL "${want}.${MINOR}.${PATCH}")
  message(FATAL_ERROR "the library's file is ${file}, but the header's "
    "version wants ${want}.${MINOR}.${PATCH}")
endif()
message(STATUS "SONAME ${soname}, file ${file}: version ${MAJOR}.${MINOR}.${PATCH}")

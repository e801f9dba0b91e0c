# Fails when the shared library is marked STATIC_TLS (a thread-local in
# the initial-exec model): such a library may not load with dlopen, whose
# static TLS room is small. The library reaches its thread-locals through
# TLS descriptors instead (CMakeLists.txt, SYN_TLS_DESCRIPTORS).
# Arguments: -DLIB=<the library's real file>
# Prints "SKIPPED:" (ctest then skips) without readelf.
find_program(READELF NAMES readelf)
if(NOT READELF)
  message("SKIPPED: readelf is not installed")
  return()
endif()
execute_process(COMMAND ${READELF} -d ${LIB}
  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot read the dynamic section of ${LIB}")
endif()
if(out MATCHES "STATIC_TLS")
  message(FATAL_ERROR "${LIB} is marked STATIC_TLS: dlopen may refuse it")
endif()
message("no STATIC_TLS flag: ${LIB}")

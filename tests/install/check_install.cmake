# Installs the build tree into a scratch prefix, then builds and runs a
# consumer twice: through the CMake package and through pkg-config.
# Arguments: -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK=...
file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed")
endif()

# The generated version header is installed, its template is not.
file(GLOB_RECURSE version_h ${prefix}/include/synchronicity/version.h*)
if(NOT version_h STREQUAL "${prefix}/include/synchronicity/version.h")
  message(FATAL_ERROR "want include/synchronicity/version.h alone, got: ${version_h}")
endif()
file(STRINGS ${version_h} version REGEX "^#define SYN_VERSION_STRING ")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" version "${version}")

execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer
  -B ${WORK}/consumer -DCMAKE_PREFIX_PATH=${prefix} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "find_package(synchronicity CONFIG) failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building against the CMake package failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib/x86_64-linux-gnu
  ${WORK}/consumer/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer built with the CMake package failed")
endif()

file(GLOB pcdirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
string(REPLACE ";" ":" pcpath "${pcdirs}")
# (only the prefix's own .pc files: a shared link needs no other package's,
# msgpack-c's included, which a user without libmsgpack-dev lacks)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${pcpath}
  pkg-config --cflags --libs synchronicity
  OUTPUT_VARIABLE flags RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not find synchronicity alone")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pcpath}
  pkg-config --modversion synchronicity
  OUTPUT_VARIABLE pcversion OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT pcversion STREQUAL version)
  message(FATAL_ERROR "pkg-config says ${pcversion}, version.h ${version}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND cc ${SOURCE_DIR}/tests/install/consumer/main.c
  -o ${WORK}/consumer-pc ${flags} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building with pkg-config's flags failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib:${prefix}/lib/x86_64-linux-gnu
  ${WORK}/consumer-pc RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer built with pkg-config failed")
endif()
message(STATUS "installed package works through CMake and pkg-config")

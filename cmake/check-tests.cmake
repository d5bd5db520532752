# check-tests.cmake — run by `make check` before ctest, so that a build folder
# configured without a test dependency cannot pass for a tested one (ctest
# with no tests, or with some missing, used to exit 0).
#
# usage: cmake -DSOURCE_DIR=<repo> -DBUILD_DIR=<build> -P cmake/check-tests.cmake
#
# The project has one test per tests/test_*.c and the script tests named on
# `set(GF_SCRIPT_TESTS ...)` in tests/CMakeLists.txt; `ctest -N` in
# BUILD_DIR must list each of them. If not, this fails naming the missing
# tests and, from BUILD_DIR/CMakeCache.txt, why (cmocka not found, GF_TESTS
# off).
cmake_minimum_required(VERSION 3.16)
if(NOT SOURCE_DIR OR NOT BUILD_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=. -DBUILD_DIR=build -P check-tests.cmake")
endif()

file(GLOB c_tests RELATIVE "${SOURCE_DIR}/tests" "${SOURCE_DIR}/tests/test_*.c")
set(expected "")
foreach(f IN LISTS c_tests)
  string(REGEX REPLACE "\\.c$" "" name "${f}")
  list(APPEND expected "${name}")
endforeach()
list(LENGTH expected n_c)
file(READ "${SOURCE_DIR}/tests/CMakeLists.txt" text)
if(NOT text MATCHES "\nset\\(GF_SCRIPT_TESTS[ \t\n]+([^)]*)\\)")
  message(FATAL_ERROR "make check: no 'set(GF_SCRIPT_TESTS ...)' in tests/CMakeLists.txt")
endif()
string(STRIP "${CMAKE_MATCH_1}" scripts)
string(REGEX REPLACE "[ \t\n]+" ";" scripts "${scripts}")
list(LENGTH scripts n_s)
list(APPEND expected ${scripts})
list(LENGTH expected n_expected)

get_filename_component(cmake_bin "${CMAKE_COMMAND}" DIRECTORY)
find_program(CTEST ctest HINTS "${cmake_bin}" NO_CACHE)
execute_process(COMMAND "${CTEST}" -N WORKING_DIRECTORY "${BUILD_DIR}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make check: 'ctest -N' failed in ${BUILD_DIR}: ${err}")
endif()
string(REGEX MATCHALL "Test +#[0-9]+: [^\n]+" listed "${out}")
set(found "")
foreach(l IN LISTS listed)
  string(REGEX REPLACE "^Test +#[0-9]+: +" "" name "${l}")
  string(STRIP "${name}" name)
  list(APPEND found "${name}")
endforeach()

set(missing "")
foreach(t IN LISTS expected)
  if(NOT t IN_LIST found)
    list(APPEND missing "${t}")
  endif()
endforeach()

if(missing)
  list(LENGTH missing n_missing)
  math(EXPR n_have "${n_expected} - ${n_missing}")
  list(JOIN missing " " missing_s)
  set(why "")
  set(cache "${BUILD_DIR}/CMakeCache.txt")
  if(EXISTS "${cache}")
    file(STRINGS "${cache}" cmocka REGEX "^CMOCKA_(INCLUDE_DIR|LIBRARY):[A-Z]+=.*-NOTFOUND$")
    file(STRINGS "${cache}" gf_tests REGEX "^GF_TESTS:BOOL=(OFF|FALSE|NO|0)$")
    if(NOT cmocka STREQUAL "")  # (a plain if() is false on a value ending in -NOTFOUND)
      string(APPEND why "\ncmocka was not found when ${BUILD_DIR} was configured: "
        "install it (apt-get install libcmocka-dev; make check does it when run as "
        "root) and run make check again.")
    endif()
    if(NOT gf_tests STREQUAL "")
      string(APPEND why "\nGF_TESTS is OFF in ${cache}: configure with -DGF_TESTS=ON.")
    endif()
  else()
    string(APPEND why "\n${BUILD_DIR} is not configured (no CMakeCache.txt).")
  endif()
  if(why STREQUAL "")
    string(APPEND why "\nThe tests are missing from its configuration: "
      "run cmake -S ${SOURCE_DIR} -B ${BUILD_DIR} and see its warnings.")
  endif()
  message(FATAL_ERROR "make check: ${BUILD_DIR} has ${n_have} of the project's "
    "${n_expected} tests; missing ${n_missing}: ${missing_s}${why}")
endif()
message("make check: ${BUILD_DIR} has all ${n_expected} tests (${n_c} C programs, ${n_s} scripts)")

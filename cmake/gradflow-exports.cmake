# gradflow-exports.cmake — writes the linker version script of libgradflow.so
# from include/gradflow.h (cmake -DHEADER=... -DOUT=... -P this file; run at
# build time, when the header changes).
#
# The shared library exports exactly the functions (and extern objects) that
# the public header declares; everything else, the library's internal gf__
# functions included, is local to it. The static library keeps them all
# (the tests and the gradflow command use internals through it).
# tests/exports_test.sh checks the result with nm -D.
if(NOT HEADER OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DHEADER=gradflow.h -DOUT=gradflow.map -P gradflow-exports.cmake")
endif()

file(READ "${HEADER}" text)
# Comments out (they show calls in examples), then preprocessor lines.
string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " text "${text}")
string(REGEX REPLACE "//[^\n]*" " " text "${text}")
string(REGEX REPLACE "\n[ \t]*#[^\n]*" "\n" text "${text}")

# Functions: a gf_ name followed by "(" (a function-pointer typedef has
# "(*name)(" and is not matched, nor is a pointer member's return type,
# "gf_status (*fn)("). Objects: "extern ... gf_name;" or "[...];".
string(REGEX MATCHALL "[^A-Za-z0-9_]gf_[A-Za-z0-9_]*[ \t\n]*\\([ \t\n]*[^* \t\n]" calls "${text}")
string(REGEX MATCHALL "extern[^;{}()]*[^A-Za-z0-9_]gf_[A-Za-z0-9_]*[ \t\n]*(\\[[^];]*\\])?[ \t\n]*;" objects "${text}")
set(names "")
foreach(m IN LISTS calls objects)
  string(REGEX MATCHALL "gf_[A-Za-z0-9_]*" ids "${m}")
  list(GET ids -1 id)
  list(APPEND names "${id}")
endforeach()
list(REMOVE_DUPLICATES names)
list(SORT names)
list(FILTER names EXCLUDE REGEX "^gf__")
list(LENGTH names n)
if(n EQUAL 0)
  message(FATAL_ERROR "gradflow-exports: no gf_ function found in ${HEADER}")
endif()

set(map "/* Generated from include/gradflow.h by cmake/gradflow-exports.cmake: ${n} names. */\n{\n  global:\n")
foreach(id IN LISTS names)
  string(APPEND map "    ${id};\n")
endforeach()
string(APPEND map "  local:\n    *;\n};\n")
# Rewritten only when it changes, so that the library relinks only then.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL map)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${map}")

# gradflow-ldconfig.cmake — run by `cmake --install` (install(CODE) in
# CMakeLists.txt, after the libraries) so that a program linked with
# -lgradflow finds libgradflow.so.0 when it starts:
#   - installed into a directory that the dynamic loader searches (make
#     install's default /usr/local/lib, /usr/lib, ...; as ldconfig -v lists
#     them): runs ldconfig to add it to the loader's cache, or says to run
#     `sudo ldconfig` if that fails (not root);
#   - installed elsewhere (a custom PREFIX): says what such programs need,
#     LD_LIBRARY_PATH or an rpath, or the static library.
# With DESTDIR set (a staged install, for a package) it does nothing: the
# package runs ldconfig when it is installed.
#
# In: GF_LD_LIBDIR (relative to the prefix, or absolute), GF_LD_SONAME
# (libgradflow.so.0); CMAKE_INSTALL_PREFIX as set by --prefix.
if(NOT "$ENV{DESTDIR}" STREQUAL "")
  return()
endif()
if(IS_ABSOLUTE "${GF_LD_LIBDIR}")
  set(_gf_libdir "${GF_LD_LIBDIR}")
else()
  set(_gf_libdir "${CMAKE_INSTALL_PREFIX}/${GF_LD_LIBDIR}")
endif()
get_filename_component(_gf_libdir_real "${_gf_libdir}" REALPATH)

# ldconfig: PATH first, then where Debian keeps it (not in a user's PATH).
set(_gf_ldconfig "")
string(REPLACE ":" ";" _gf_path "$ENV{PATH}")
foreach(d IN LISTS _gf_path ITEMS /sbin /usr/sbin)
  if(NOT d STREQUAL "" AND EXISTS "${d}/ldconfig" AND NOT IS_DIRECTORY "${d}/ldconfig")
    set(_gf_ldconfig "${d}/ldconfig")
    break()
  endif()
endforeach()

# The directories the loader searches: those ldconfig -v prints (-N -X: it
# only reads), compared as real paths (/lib is /usr/lib on merged-/usr);
# without ldconfig, the usual ones.
set(_gf_searched "")
if(_gf_ldconfig)
  execute_process(COMMAND "${_gf_ldconfig}" -v -N -X
    OUTPUT_VARIABLE _gf_out ERROR_QUIET RESULT_VARIABLE _gf_rc)
  string(REGEX MATCHALL "(^|\n)/[^:\n]*:" _gf_lines "${_gf_out}")
  foreach(l IN LISTS _gf_lines)
    string(REGEX REPLACE "^\n?(/[^:\n]*):$" "\\1" d "${l}")
    get_filename_component(d "${d}" REALPATH)
    list(APPEND _gf_searched "${d}")
  endforeach()
endif()
if(NOT _gf_searched)
  foreach(d /lib /usr/lib /lib64 /usr/lib64)
    get_filename_component(d "${d}" REALPATH)
    list(APPEND _gf_searched "${d}")
  endforeach()
endif()

# (no IN_LIST: install scripts run without the project's policies)
list(FIND _gf_searched "${_gf_libdir_real}" _gf_at)
if(_gf_at GREATER -1)
  if(NOT _gf_ldconfig)
    message(STATUS "ldconfig not found: if programs linked with -lgradflow cannot find "
      "${GF_LD_SONAME}, run ldconfig as root")
    return()
  endif()
  message(STATUS "Running ldconfig: ${_gf_libdir} is searched by the dynamic loader")
  execute_process(COMMAND "${_gf_ldconfig}" RESULT_VARIABLE _gf_rc
    OUTPUT_VARIABLE _gf_out ERROR_VARIABLE _gf_err)
  set(_gf_cached FALSE)
  if(_gf_rc EQUAL 0)
    execute_process(COMMAND "${_gf_ldconfig}" -p OUTPUT_VARIABLE _gf_out ERROR_QUIET)
    string(REGEX MATCHALL "${GF_LD_SONAME} [^\n]*=> [^\n]*" _gf_entries "${_gf_out}")
    foreach(e IN LISTS _gf_entries)
      string(REGEX REPLACE ".*=> *" "" p "${e}")
      get_filename_component(p "${p}" DIRECTORY)
      get_filename_component(p "${p}" REALPATH)
      if(p STREQUAL _gf_libdir_real)
        set(_gf_cached TRUE)
      endif()
    endforeach()
  endif()
  if(NOT _gf_cached)
    string(STRIP "${_gf_err}" _gf_err)
    message(WARNING "ldconfig did not add ${_gf_libdir}/${GF_LD_SONAME} to the loader's "
      "cache${_gf_err}: run 'sudo ldconfig', or programs linked with -lgradflow "
      "will not start (${GF_LD_SONAME}: cannot open shared object file)")
  endif()
else()
  message(STATUS "Note: ${_gf_libdir} is not searched by the dynamic loader: a program\n"
    "   linked with -lgradflow (pkg-config --libs gradflow) needs LD_LIBRARY_PATH=${_gf_libdir}\n"
    "   to start, or an rpath (link with -Wl,-rpath,${_gf_libdir}); or link libgradflow.a\n"
    "   and the libraries of pkg-config --static --libs gradflow (README.md, \"Installing\").")
endif()

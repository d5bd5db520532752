# gradflow-python.cmake — run by `cmake --install` (install(CODE) in
# CMakeLists.txt) after the Python package is copied: writes
# gradflow/_installed.py, which tells the package where the library was
# installed (python/gradflow/_lib.py), so that it loads without
# LD_LIBRARY_PATH or ldconfig.
#
# In: GF_PY_DIR (the package's parent, relative to the prefix), GF_PY_LIBDIR
# (the library's folder, relative to the prefix or absolute);
# CMAKE_INSTALL_PREFIX as set by --prefix. DESTDIR stages the file, whose
# contents name the final location.
if(IS_ABSOLUTE "${GF_PY_LIBDIR}")
  set(_gf_libdir "${GF_PY_LIBDIR}")
else()
  set(_gf_libdir "${CMAKE_INSTALL_PREFIX}/${GF_PY_LIBDIR}")
endif()
set(_gf_file "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/${GF_PY_DIR}/gradflow/_installed.py")
message(STATUS "Installing: ${_gf_file}")
file(WRITE "${_gf_file}"
  "\"\"\"Written by make install: where it put libgradflow.so.\"\"\"\n"
  "LIBDIR = \"${_gf_libdir}\"\n")

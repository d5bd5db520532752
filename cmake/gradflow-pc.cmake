# gradflow-pc.cmake — run by `cmake --install` (install(CODE) in CMakeLists.txt)
# to write <prefix>/<libdir>/pkgconfig/gradflow.pc for the prefix installed to.
#
# In: GF_PC_IN (gradflow.pc.in), GF_PC_LIBDIR and GF_PC_INCLUDEDIR (relative
# to the prefix, or absolute), GF_PC_VERSION; CMAKE_INSTALL_PREFIX as set by
# --prefix, and DESTDIR from the environment.
set(GF_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(v LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${GF_PC_${v}}")
    set(GF_PC_FULL_${v} "${GF_PC_${v}}")
  else()
    set(GF_PC_FULL_${v} "\${prefix}/${GF_PC_${v}}")
  endif()
endforeach()
if(IS_ABSOLUTE "${GF_PC_LIBDIR}")
  set(_gf_pc_dir "${GF_PC_LIBDIR}/pkgconfig")
else()
  set(_gf_pc_dir "${CMAKE_INSTALL_PREFIX}/${GF_PC_LIBDIR}/pkgconfig")
endif()
set(_gf_pc "$ENV{DESTDIR}${_gf_pc_dir}/gradflow.pc")
message(STATUS "Installing: ${_gf_pc}")
configure_file("${GF_PC_IN}" "${_gf_pc}" @ONLY)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${_gf_pc_dir}/gradflow.pc")

# CPACK_PRE_BUILD_SCRIPTS (conf/debian/package.cmake): after CPack's staging install (binaries
# already stripped, CPACK_STRIP_FILES) and before the .deb is made, removes the .comment and .note
# sections from every ELF file, as dh_strip does in a debhelper build: they hold the compiler's
# version strings, which nothing at run time reads (lintian: binary-has-unneeded-section).
file(GLOB_RECURSE staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_DIRECTORY}/*")
foreach(path IN LISTS staged)
  if(IS_SYMLINK "${path}")
    continue()
  endif()
  file(READ "${path}" magic LIMIT 4 HEX)
  if(NOT magic STREQUAL "7f454c46")  # "\x7fELF"
    continue()
  endif()
  execute_process(COMMAND "${CPACK_OBJCOPY_EXECUTABLE}" --remove-section=.comment
                          --remove-section=.note "${path}"
                  RESULT_VARIABLE status ERROR_VARIABLE error)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "strip_notes: objcopy failed on ${path}: ${error}")
  endif()
endforeach()

# The demo handler libraries: hello.so (in-process) and info.so (out-of-process, under
# sitehost-app), the sites of conf/sitehost.toml and of the installed example config. Built with
# or without the tests (SITEHOST_TESTS) and installed in lib/<multiarch>/sitehost/demo. Their
# sources stay with the other sample apps (the tests load them too, from the same build folder:
# SITEHOST_APPS_DIR); tests/apps/CMakeLists.txt leaves them out of its glob.
set(SITEHOST_DEMO_DIR ${CMAKE_INSTALL_LIBDIR}/sitehost/demo)
foreach(app hello info)
  add_library(${app} MODULE ${CMAKE_CURRENT_LIST_DIR}/${app}.c)
  set_target_properties(${app} PROPERTIES PREFIX "" OUTPUT_NAME ${app}
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/apps)
  target_compile_options(${app} PRIVATE ${SITEHOST_WARNINGS})
  target_link_libraries(${app} PRIVATE sitehost_handler_abi)
  install(TARGETS ${app} LIBRARY DESTINATION ${SITEHOST_DEMO_DIR})
endforeach()

# Helpers that keep every module's CMakeLists.txt a few lines long.
#
#   coffer_module(NAME crypto SOURCES a.cc b.cc DEPS coffer_base OpenSSL::Crypto)
#   coffer_test(NAME crypto_test SOURCES x_test.cc DEPS coffer_crypto)
#   coffer_binary(NAME coffer-selftest SOURCES main.cc DEPS coffer_crypto)

set(COFFER_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wformat=2
    -Wimplicit-fallthrough -Wno-missing-field-initializers)

add_library(coffer_options INTERFACE)
target_compile_options(coffer_options INTERFACE ${COFFER_WARNINGS})
target_include_directories(coffer_options INTERFACE ${PROJECT_SOURCE_DIR}/src)
if(COFFER_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  target_compile_options(coffer_options INTERFACE ${_san})
  target_link_options(coffer_options INTERFACE ${_san})
endif()
if(COFFER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COFFER_FUZZ needs clang (libFuzzer): configure with "
                        "CC=clang CXX=clang++, as scripts/fuzz.sh does")
  endif()
  # Every library the fuzz targets link gets coverage instrumentation
  # (fuzzer-no-link) so libFuzzer sees inside the decoders, and ASan/UBSan
  # so a memory or UB bug there is a crash. The targets themselves add
  # -fsanitize=fuzzer, which brings libFuzzer's main (fuzz/CMakeLists.txt).
  set(_fuzz_san -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(coffer_options INTERFACE ${_fuzz_san})
  target_link_options(coffer_options INTERFACE
                      -fsanitize=address,undefined)
endif()

function(coffer_module)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(coffer_${ARG_NAME} STATIC ${ARG_SOURCES})
  target_link_libraries(coffer_${ARG_NAME} PUBLIC coffer_options ${ARG_DEPS})
endfunction()

function(coffer_binary)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE coffer_options ${ARG_DEPS})
endfunction()

# A GoogleTest binary registered with CTest as one test per binary, so the
# binary's own summary (vector counts) shows in ctest's output on failure and
# in `ctest -V`. TIMEOUT defaults to 300 s.
function(coffer_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE coffer_options coffer_testing
                        ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "COFFER_TESTDATA_DIR=${PROJECT_SOURCE_DIR}/testdata")
  if(ARG_LABELS)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

# tests/fuzz/fuzz_flags.cmake: compiler flags of a WEFT_FUZZ=ON build, included by the top-level
# CMakeLists.txt before any component so that the real libraries (weft_wire, weft_base, the
# router and edge logic) are built with libFuzzer's coverage instrumentation and ASan+UBSan.
# The fuzz targets themselves add -fsanitize=fuzzer (libFuzzer's main) in tests/fuzz/.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "WEFT_FUZZ=ON needs clang and libFuzzer, but the C compiler is "
        "${CMAKE_C_COMPILER_ID} (${CMAKE_C_COMPILER}). Configure a fresh build directory with "
        "CC=clang (Debian 12: apt-get install clang libclang-rt-14-dev).")
endif()
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
check_c_source_compiles("
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }"
    WEFT_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT WEFT_HAVE_LIBFUZZER)
    message(FATAL_ERROR "WEFT_FUZZ=ON: ${CMAKE_C_COMPILER} cannot link -fsanitize=fuzzer "
        "(Debian 12: apt-get install libclang-rt-14-dev)")
endif()
# UBSan findings abort (no recovery) so that a fuzzer stops on the first one with its input.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
# ctest at the top of the build directory runs the fuzz tests even when WEFT_BUILD_TESTS is OFF.
enable_testing()

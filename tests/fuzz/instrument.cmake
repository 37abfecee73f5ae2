# Included by the top CMakeLists.txt when KAKUIN_FUZZ is on, before any
# library is defined: everything is built with coverage instrumentation for
# libFuzzer plus AddressSanitizer and UBSan. Only the fuzz_* executables
# link libFuzzer itself (tests/fuzz/CMakeLists.txt).
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
	message(FATAL_ERROR "KAKUIN_FUZZ needs clang (CC=clang); "
		"scripts/fuzz configures it")
endif()
if(KAKUIN_SANITIZE)
	message(FATAL_ERROR "KAKUIN_FUZZ already sanitizes; "
		"leave KAKUIN_SANITIZE off")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined -g)
add_link_options(-fsanitize=address,undefined)

# Fails when any of our C sources differs from what clang-format makes of it.
file(GLOB_RECURSE files ${SRC}/protocol/*.[ch] ${SRC}/server/*.[ch]
	${SRC}/client/*.[ch] ${SRC}/policy/*.[ch] ${SRC}/tests/*.[ch]
	${SRC}/bench/*.[ch] ${SRC}/p11/*.[ch])
set(bad "")
foreach(f ${files})
	execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${f}
		RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
	if(NOT rc EQUAL 0)
		list(APPEND bad ${f})
	endif()
endforeach()
if(bad)
	message(FATAL_ERROR "not clang-formatted (run clang-format -i):\n${bad}")
endif()

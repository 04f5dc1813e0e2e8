# check_exports.cmake: libweft exports exactly the list in sdk/weft.map, and weft.h declares
# exactly that list, so that nothing internal (wire_*, sdk_*, base_*, ...) leaks from either
# library and nothing public is missing.
#
#   cmake -DNM=nm -DAR=ar -DSYMS=<build>/sdk/weft.syms -DHEADER=sdk/include/weft.h
#         -DSHARED=libweft.so -DSTATIC=libweft.a -P check_exports.cmake
#
# SYMS is the list that sdk/CMakeLists.txt makes from weft.map (one name per line); the shared
# library is linked with weft.map itself, the static one localized with SYMS.
cmake_minimum_required(VERSION 3.25)

foreach(var NM AR SYMS HEADER SHARED STATIC)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "check_exports.cmake: -D${var}=... is required")
    endif()
endforeach()

# Appends to `errors` (in the caller's scope) one line per item of list `items` that is not in
# list `in`; `what` says why that is wrong, with @ standing for the item.
function(s_not_in items in what)
    foreach(item IN LISTS ${items})
        if(NOT item IN_LIST ${in})
            string(REPLACE "@" "${item}" line "${what}")
            list(APPEND errors "${line}")
        endif()
    endforeach()
    set(errors ${errors} PARENT_SCOPE)
endfunction()

file(STRINGS ${SYMS} want)
list(LENGTH want nwant)
if(nwant LESS 10)
    message(FATAL_ERROR "${SYMS} lists ${nwant} symbols: the export list was not parsed")
endif()
set(errors "")

# The functions weft.h declares WEFT_EXPORT. A v0 entry point is declared as `void(name)(...)`.
file(READ ${HEADER} header)
string(REGEX MATCHALL "\nWEFT_EXPORT [^;]*;" decls "${header}")
set(declared "")
foreach(decl IN LISTS decls)
    if(decl MATCHES "\\(([A-Za-z_][A-Za-z0-9_]*)\\)\\(")
        list(APPEND declared ${CMAKE_MATCH_1})
    elseif(decl MATCHES "([A-Za-z_][A-Za-z0-9_]*)\\(")
        list(APPEND declared ${CMAKE_MATCH_1})
    endif()
endforeach()
s_not_in(want declared "@ is in the export list but not declared WEFT_EXPORT in weft.h")
s_not_in(declared want "weft.h declares @ but the export list (weft.map) lacks it")

# The global defined symbols of one library, as nm prints them with `flags`.
function(s_globals lib flags out)
    execute_process(COMMAND ${NM} ${flags} ${lib} OUTPUT_VARIABLE text RESULT_VARIABLE rc
        ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${NM} ${flags} ${lib} failed: ${err}")
    endif()
    string(REPLACE "\n" ";" lines "${text}")
    set(names "")
    foreach(line IN LISTS lines)
        # "<address> <type> <name>[@@version]"; the version node itself is an absolute symbol.
        if(line MATCHES "^[0-9a-fA-F]* ?([A-Za-z]) ([^ @]+)")
            set(type ${CMAKE_MATCH_1})
            set(name ${CMAKE_MATCH_2})
            if(type STREQUAL "A" AND name MATCHES "^WEFT_[0-9]")
                continue()
            endif()
            list(APPEND names ${name})
        endif()
    endforeach()
    set(${out} ${names} PARENT_SCOPE)
endfunction()

foreach(kind SHARED STATIC)
    if(kind STREQUAL "SHARED")
        s_globals(${SHARED} "-D;--defined-only" got)
    else()
        s_globals(${STATIC} "-g;--defined-only" got)
    endif()
    s_not_in(got want "${${kind}} exports @, which is not in the export list")
    s_not_in(want got "${${kind}} does not define @")
endforeach()

# libweft.a is one relocatable object (sdk/CMakeLists.txt), not one member per source file.
execute_process(COMMAND ${AR} t ${STATIC} OUTPUT_VARIABLE members RESULT_VARIABLE rc)
string(STRIP "${members}" members)
string(REPLACE "\n" ";" members "${members}")
list(LENGTH members nmembers)
if(NOT rc EQUAL 0 OR NOT nmembers EQUAL 1)
    list(APPEND errors "${STATIC} holds ${nmembers} members (${members}), want 1")
endif()

if(errors)
    list(JOIN errors "\n  " text)
    message(FATAL_ERROR "libweft's exports do not match the export list:\n  ${text}")
endif()
list(JOIN want " " text)
message(STATUS "libweft.so and libweft.a export exactly: ${text}")

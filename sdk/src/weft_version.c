/*
 * weft_version.c: the library's version, set once in CMake's project() (weft/version.h).
 */
#include "weft.h"

/* The version set once in CMake's project(). */
const char *weft_version(void)
{
    return WEFT_VERSION_STRING;
}

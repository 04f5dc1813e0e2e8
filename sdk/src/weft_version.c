/*
 * weft_version.c: the library's version, set once in CMake's project() (weft/version.h). These
 * return the values libweft was built with, which a caller compares with the macros of the weft.h
 * it was compiled against.
 */
#include "weft.h"

/* The version set once in CMake's project(). */
const char *weft_version(void)
{
    return WEFT_VERSION_STRING;
}

/* The same version as major * 10000 + minor * 100 + patch. */
int weft_version_number(void)
{
    return WEFT_VERSION_NUMBER;
}

/*
 * weft_err.c: error texts and names, from the WEFT_ERRNO_MAP X-macro in weft.h (one table makes
 * the enum, the texts and the names).
 */
#include "weft.h"

/* Text for an error code, from the WEFT_ERRNO_MAP table. */
const char *weft_strerror(int err)
{
    switch (err) {
    case WEFT_OK:
        return "success";
#define WEFT__ERR_TEXT(name, code, text)                                                           \
    case WEFT_##name:                                                                              \
        return text;
        WEFT_ERRNO_MAP(WEFT__ERR_TEXT)
#undef WEFT__ERR_TEXT
    default:
        return "unknown error";
    }
}

/* Name of an error code ("WEFT_EFULL"), from the same table. */
const char *weft_err_name(int err)
{
    switch (err) {
    case WEFT_OK:
        return "WEFT_OK";
#define WEFT__ERR_NAME(name, code, text)                                                           \
    case WEFT_##name:                                                                              \
        return "WEFT_" #name;
        WEFT_ERRNO_MAP(WEFT__ERR_NAME)
#undef WEFT__ERR_NAME
    default:
        return "unknown";
    }
}


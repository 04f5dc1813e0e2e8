/*
 * edge_jdepth.c: the nesting-depth pre-scan of client JSON (see edge_jdepth.h).
 */
#include "edge_jdepth.h"

/* One pass: counts open brackets outside strings, skipping escaped characters in strings. */
bool edge_jdepth_over(const char *text, size_t len, unsigned max)
{
    unsigned depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return false;
}

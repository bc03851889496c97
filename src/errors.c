/* errors.c - version and errno names, from the one table in guestmm.h. */
#include "internal.h"

#include <limits.h>

#define STR_(x) #x
#define STR(x) STR_(x)

const char *gmm_version(void)
{
    return STR(GMM_VERSION_MAJOR) "." STR(GMM_VERSION_MINOR) "." STR(GMM_VERSION_PATCH);
}

const char *gmm_strerror(int err)
{
    /* -INT_MIN overflows: no errno is that large, so it is unknown. */
    if (err < 0)
        err = err == INT_MIN ? 0 : -err;
    switch (err) {
#define XX(name, value, msg) case value: return msg;
        GMM_ERRNO_MAP(XX)
#undef XX
    }
    return "Unknown error";
}

const char *gmm_errname(int err)
{
    /* -INT_MIN overflows: no errno is that large, so it is unknown. */
    if (err < 0)
        err = err == INT_MIN ? 0 : -err;
    switch (err) {
#define XX(name, value, msg) case value: return #name;
        GMM_ERRNO_MAP(XX)
#undef XX
    }
    return "UNKNOWN";
}

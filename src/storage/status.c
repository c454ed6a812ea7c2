/* status.c - the storage status codes of store.h: their human text, and the one way a backend
 * or the front reports a failed open (below both: backends never call into the front). */
#include <stdarg.h>
#include <stdio.h>

#include "storage/backend.h"
#include "storage/store.h"

/* Never NULL: an unknown status gets a generic text. */
const char *store_status_str(int status)
{
    switch (status) {
    case STORE_OK:
        return "ok";
    case STORE_NOTFOUND:
        return "not found";
    case STORE_EIO:
        return "storage I/O error";
    case STORE_ENOSPC:
        return "storage full (no space left)";
    case STORE_ECORRUPT:
        return "stored data is corrupt";
    case STORE_ENOMEM:
        return "out of memory";
    case STORE_EINVAL:
        return "invalid storage request";
    case STORE_EBUSY:
        return "the data directory is in use by another process";
    default:
        return "unknown storage status";
    }
}

int store_open_error(char *errbuf, size_t errcap, int status, const char *fmt, ...)
{
    if (errbuf && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errcap, fmt, ap);
        va_end(ap);
    }
    return status;
}

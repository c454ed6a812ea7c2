/* status.c - human text for the storage status codes of store.h. */
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

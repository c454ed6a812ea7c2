/* fuzz_jcs.c - libFuzzer target: strict parse, then check that RFC 8785 canonicalization is a
 * fixed point (canonical bytes re-parse, and canonicalize to themselves). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interop/buf.h"
#include "interop/error.h"
#include "interop/jcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any input: either rejected cleanly, or canonical(canonical(x)) == canonical(x). Aborts on a
 * violated invariant; leaks are caught by the fuzzer's LeakSanitizer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    svcr_err err;
    svcr_err_clear(&err);
    json_t *v = jcs_parse(data, size, 1, &err);
    if (!v) {
        if (err.code != SVCR_E_MALFORMED && err.code != SVCR_E_INTERNAL)
            abort();
        return 0;
    }
    buf c1 = {0}, c2 = {0};
    if (jcs_write(&c1, v, &err) != 0)
        abort(); /* everything the parser accepts must be writable */
    json_t *v2 = jcs_parse(c1.data, c1.len, 1, &err);
    if (!v2)
        abort();
    if (!json_equal(v, v2))
        abort();
    if (jcs_write(&c2, v2, &err) != 0)
        abort();
    if (c1.len != c2.len || memcmp(c1.data, c2.data, c1.len) != 0)
        abort();
    json_decref(v2);
    json_decref(v);
    buf_free(&c2);
    buf_free(&c1);
    return 0;
}

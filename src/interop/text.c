/* text.c - the printable-text rule of SPEC §2.2 (see text.h). */
#include "interop/text.h"

int text_cp_printable(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return 0; /* C0, DEL, C1 */
    if (cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
        cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
        return 0; /* bidi controls and zero-width characters */
    return 1;
}

size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    *cp = n ? s[0] : 0;
    if (n == 0)
        return 0;
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    size_t len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (len == 0 || len > n || (b >= 0xe0 && b < 0xf0 && len != 3))
        return 0;
    uint32_t v = b & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    *cp = v;
    return len;
}

int text_printable(const char *s, size_t n, uint32_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = text_utf8_next(p + i, n - i, &cp);
        if (k == 0 || !text_cp_printable(cp)) {
            if (bad)
                *bad = cp;
            return 0;
        }
        i += k;
    }
    return 1;
}

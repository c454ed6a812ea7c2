/* fuzz_config.c - libFuzzer target: the strict TOML-subset parser, then every key/value it
 * yields applied to a config snapshot through the key table, and the value parsers and DSN
 * redaction on the raw bytes. Invariants abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static int on_keyval(void *ud, const char *section, const char *key, const cfg_toml_value *v,
                     char *err, size_t errcap)
{
    svcr_config *c = ud;
    char name[128];
    snprintf(name, sizeof name, "%s%s%s", section, *section ? "." : "", key);
    const cfg_key *k = cfg_key_find(name);
    if (v->kind == CFG_TOML_STRING)
        CHECK(strlen(v->str) == v->str_len && cfg_utf8_valid(v->str, v->str_len));
    if (k && v->kind == CFG_TOML_STRING)
        cfg_key_set(c, k, v->str, err, errcap); /* may refuse; must not crash */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    svcr_config c;
    cfg_defaults(&c);
    cfg_toml_handler h = {.keyval = on_keyval, .ud = &c};
    char err[256];
    int rc = cfg_toml_parse((const char *)data, size, &h, err, sizeof err);
    CHECK(rc == 0 || rc == -1);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    /* the value syntaxes and the redaction on the raw bytes as one string */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms;
    uint64_t bytes;
    if (cfg_parse_duration(s, &ms) == 0) {
        char back[32];
        int64_t again;
        cfg_format_duration(ms, back, sizeof back);
        CHECK(cfg_parse_duration(back, &again) == 0 && again == ms);
    }
    if (cfg_parse_size(s, &bytes) == 0) {
        char back[32];
        uint64_t again;
        cfg_format_size(bytes, back, sizeof back);
        CHECK(cfg_parse_size(back, &again) == 0 && again == bytes);
    }
    char red[512];
    cfg_redact_dsn(s, red, sizeof red);
    CHECK(memchr(red, '\0', sizeof red) != NULL);
    free(s);
    return 0;
}

/* payload.h - payloads in svcr: find one in a document, hash it, diff two by (kind, id). */
#ifndef SVCR_TOOLS_PAYLOAD_H
#define SVCR_TOOLS_PAYLOAD_H

#include <stdio.h>

#include <jansson.h>

#include "crypto/b3.h"

/* The payload object of a document: its "payload" member when that is an object (a proposal
 * request), else the document itself when it is an object, else NULL. Borrowed from doc. */
const json_t *payload_of(const json_t *doc);
/* payload_b3 = "b3:" + hex BLAKE3-256 of the RFC 8785 form of payload. Returns 0, or -1 for a
 * value that has no canonical form. */
int payload_tag(const json_t *payload, char tag[B3_TAG_LEN + 1]);
/* Reads a payload or proposal-request file, checks the payload as the registry does
 * (descriptor_set_decode: fields, kinds, references) and computes its payload_b3 into tag; a
 * request's own payload_b3, when present, must agree. Returns 0, or -1 after printing why. */
int payload_file_tag(const char *verb, const char *path, char tag[B3_TAG_LEN + 1]);

/* Items added, removed and changed between two payloads, as arrays of {"kind","id"} (owned):
 * added and changed in the order of the newer payload, removed in the order of the older. */
typedef struct payload_diff {
    json_t *added, *removed, *changed;
} payload_diff;

/* Compares the items of `from` (NULL: the empty version 0) and `to`. Returns 0, or -1 on
 * OOM. Items without a string kind and id are ignored. */
int payload_diff_items(const json_t *from, const json_t *to, payload_diff *d);
void payload_diff_free(payload_diff *d);
/* Prints one line per difference: "<indent>+ kind id", "- ...", "~ ...", or
 * "<indent>(no item changes)"; kind and id escaped as foreign text (term.h), whole. */
void payload_diff_print(const payload_diff *d, FILE *f, const char *indent);
/* Number of differences. */
size_t payload_diff_count(const payload_diff *d);

#endif

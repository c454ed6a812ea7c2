/* main.c - svcr, the registry's command-line tool: dispatches to one verb. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crypto/ed25519.h"
#include "term.h"

static const cli_verb verbs[] = {
    {"b3", cmd_b3, "BLAKE3-256 of files or stdin, printed exactly as b3sum prints it"},
    {"jcs", cmd_jcs, "RFC 8785 canonical form of a JSON document (no trailing newline)"},
    {"payload-b3", cmd_payload_b3, "b3:<hex> of the canonical form of a JSON payload"},
    {"verify-store", cmd_verify_store, "re-verify a whole LMDB store read-only (chain + audit)"},
    {"keygen", cmd_keygen, "new Ed25519 signer key: secret key file + public signer entry"},
    {"trust-roots", cmd_trust_roots, "build the genesis signer set and print its pin"},
    {"sign", cmd_sign, "sign a payload_b3 offline: print an approval body"},
    {"cap", cmd_cap, "mint, attenuate or inspect capability tokens (offline)"},
    {"draft", cmd_draft, "print the next payload: HEAD+1, prev_hash and the signer set"},
    {"propose", cmd_propose, "submit a payload as a proposal"},
    {"approve", cmd_approve, "review, sign and post an approval of a proposal"},
    {"commit", cmd_commit, "commit a proposal that has its quorum"},
    {"supersede", cmd_supersede, "commit a supersede (correction) proposal"},
    {"freeze", cmd_freeze, "freeze the write plane (operator)"},
    {"thaw", cmd_thaw, "thaw the write plane (operator)"},
    {"head", cmd_head, "print the registry's HEAD"},
    {"get", cmd_get, "print one committed version"},
    {"proposals", cmd_proposals, "list pending proposals, or show one"},
    {"audit", cmd_audit, "print audit records"},
    {"diff", cmd_diff, "items added, removed and changed between two versions"},
    {"watch", cmd_watch, "follow the event stream (SSE), reconnecting as needed"},
    {"verify-remote", cmd_verify_remote, "download and re-verify a registry's whole chain"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: svcr <verb> [args...]   (svcr <verb> --help for a verb's options)\n\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nExit status: 0 success, 1 refused by the registry, 2 bad usage or input.\n");
}

int main(int argc, char **argv)
{
    if (crypto_init() != 0) {
        fprintf(stderr, "svcr: libsodium failed to initialize\n");
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("svcr %s (commit %s)\n", SVCR_VERSION, SVCR_COMMIT);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].run(argc - 1, argv + 1);
    term_fprintf(stderr, "svcr: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}

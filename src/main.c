/* main.c - svc-registry entry point: wires the seams together; owns no logic. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("svc-registry %s (commit %s, built %s)\n", SVCR_VERSION, SVCR_COMMIT,
                   SVCR_BUILD_TIME);
            return 0;
        }
    }
    fprintf(stderr, "svc-registry %s: the HTTP service is not built yet (see issue 4)\n",
            SVCR_VERSION);
    return 2;
}

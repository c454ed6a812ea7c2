/* gate.h - /readyz (SPEC §9): folds the pipeline's state and the process's lifecycle into the
 * readiness body. Writes fail first; reads keep serving. */
#ifndef SVCR_READINESS_GATE_H
#define SVCR_READINESS_GATE_H

#include "interop/buf.h"
#include "pipeline/pipeline.h"

/* Renders the body for `st` and returns the HTTP status: 200 when ready (or, with
 * plane_read, when reads are served), else 503. `shutting_down` makes it not ready. */
int readiness_render(const pipeline_status *st, uint64_t version, const char *head_b3,
                     int shutting_down, int plane_read, buf *out);

#endif

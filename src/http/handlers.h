/* handlers.h - one handler per route (private to src/http/): reads in reads.c, writes in
 * writes.c. The route table (routes.h) names them; nothing else calls them. */
#ifndef SVCR_HTTP_HANDLERS_H
#define SVCR_HTTP_HANDLERS_H

#include "http/routes.h"

/* Reads: each fills the response, an error envelope included (route_read_fn). */
route_read_fn read_version, read_schema, read_healthz, read_readyz, read_metrics, read_head,
    read_stream, read_proposals, read_proposal, read_audit, read_artifact;
/* Writes: each hands the checked body to its pipeline operation (route_write_fn). */
route_write_fn write_propose, write_approve, write_commit, write_supersede, write_freeze,
    write_thaw;

#endif

/* rules.h - the per-operation rules, one apply function per op kind, and the table the loop
 * dispatches through (rules.c). Private to src/pipeline/. */
#ifndef SVCR_PIPELINE_RULES_H
#define SVCR_PIPELINE_RULES_H

#include "pipeline/batch.h"

/* Applies one op inside batch b: re-checks its rules against the batch's view, writes through
 * the batch, and ends with pl_batch_finish_op (or fails the batch). Committer. */
typedef void (*pl_rule_fn)(pipeline *p, pl_batch *b, pl_op *o);

/* Indexed by pl_op_kind; every kind has a rule. */
extern const pl_rule_fn pl_rules[OP_KIND_COUNT];

void pl_apply_propose(pipeline *p, pl_batch *b, pl_op *o); /* propose.c */
void pl_apply_approve(pipeline *p, pl_batch *b, pl_op *o); /* approve.c */
void pl_apply_commit(pipeline *p, pl_batch *b, pl_op *o);  /* commit.c: commit and supersede */
void pl_apply_freeze(pipeline *p, pl_batch *b, pl_op *o);  /* freeze.c: freeze and thaw */
void pl_apply_audit(pipeline *p, pl_batch *b, pl_op *o);   /* freeze.c: audit-only rejections */

#endif

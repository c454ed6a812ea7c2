/* rules.c - the rule table: the apply function of each op kind (the loop dispatches through
 * it; the rules live in propose.c, approve.c, commit.c and freeze.c). */
#include "pipeline/rules.h"

const pl_rule_fn pl_rules[OP_KIND_COUNT] = {
    [OP_PROPOSE] = pl_apply_propose, [OP_APPROVE] = pl_apply_approve,
    [OP_COMMIT] = pl_apply_commit,   [OP_SUPERSEDE] = pl_apply_commit,
    [OP_FREEZE] = pl_apply_freeze,   [OP_THAW] = pl_apply_freeze,
    [OP_AUDIT] = pl_apply_audit,
};

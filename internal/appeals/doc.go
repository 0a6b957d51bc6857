// Package appeals lets every account contest a sanction, even under a ban, and has people
// decide on an SLA clock with four eyes. An appeal is linked to the sanction it contests;
// it waits in the review queue (package review) in priority order until a reviewer who
// neither imposed the sanction nor created or resumed the bulk action that made it
// claims and decides it: uphold, overturn (the sanction is lifted as wrongful) or reduce
// (its end moves). An appeal against a bulk action's sanction is re-screened first, by a
// worker, against the action's screens and appeal screens with the account as it is now:
// a spared account's appeal is released within seconds and a share of releases goes to a
// person for quality review. A deadline that passes raises the appeal's priority, and a
// bulk action may ask that its sanction then be lifted provisionally.
//
// States: open → (claimed) → decided, or released, withdrawn, or closed (the sanction
// ended or was reverted first). Claimed is open with a live lease in the queue.
package appeals

// Package bulk runs bulk actions: one sanction applied to every account that a CEL
// criteria expression matches, except the accounts a named screen spares. An action is
// created as a draft, dry-run (counting who would be hit and who is spared, changing
// nothing), then executed in batches: its targets are fixed first, in a table, so a
// run resumed after a crash sanctions exactly the same accounts, each exactly once;
// a canary share goes first and waits for a person to resume the rest. A revert lifts
// every sanction the action made, and only those, as wrongful.
//
// Sanctions are written through enforce.Service, so the decision index, the notices
// and the webhook outbox see bulk sanctions exactly as they see single ones.
package bulk

// Package enforce decides what an account may do. It holds sanctions (what is denied to
// one account, for how long, why and on whose authority), the policies whose strike
// ladders graduate them, and the in-memory decision index behind the check API.
//
// A sanction names exactly one account and denies capabilities ("service.action") of the
// services or capabilities in its scope; the protected capabilities (appeal, export,
// delete, withdraw) are never denied. Decisions compare a sanction's start and end with
// the time of the decision, so a sanction stops denying at its end without a sweeper.
//
// Every write goes through the Service, inside a write transaction with its audit entry.
// The Store hands out a change sequence in commit order; a Follower keeps an Index
// current from it, so every process sharing a database enforces the same sanctions.
package enforce

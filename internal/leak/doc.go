// Package leak traces copies of personal data: every copy that leaves Steward's hands
// goes through a share, which records exactly which accounts and fields went to which
// recipient and when (a roaring bitmap over account ordinals, committed to in the audit
// log), blends in canary identities the platform controls (no two shares carry the same
// set), and may give each recipient relay phone numbers of its own. A leaked sample is
// matched back to accounts through the vault's blind indexes and its suspects (shares,
// and staff who revealed those accounts) ranked by the guilt model of Papadimitriou and
// Garcia-Molina ("Data Leakage Detection", IEEE TKDE 2011).
//
// Incidents and evidence (incident*.go, evidence*.go) build on the investigations
// through Service.LeakAccounts.
package leak

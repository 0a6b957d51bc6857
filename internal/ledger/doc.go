// Package ledger keeps users' money exact: a double-entry ledger of wallets (one per
// account and currency) and platform accounts, transfers between them, legal and risk
// holds that carry their authority, withdrawals reserved against what is available,
// and compensation advanced to victims with what is owed back.
//
// Every check of a balance (a transfer out of a wallet, a withdrawal) reads the wallet
// and its holds inside the write transaction that spends, with the wallet's row locked
// (SELECT … FOR UPDATE on PostgreSQL; SQLite's single writer excludes every other
// transaction): never the decision index, never a cache. A hold takes the same lock, so
// a withdrawal that commits after a hold sees it.
//
// Amounts are int64 minor units of an ISO 4217 currency. A ledger account is named
// "user:{account}" (that account's wallet in the currency, opened on first use) or
// "platform:{name}".
package ledger

// Package vault keeps personal data: encrypted at rest, shown masked by default, revealed
// only for a configured purpose (with a ticket, within a per-actor daily limit), found
// through blind indexes, erased by destroying its key, and every access recorded in the
// audit log under a commitment to the account rather than its ID.
//
// Envelope encryption: each account's fields are sealed together with AES-256-GCM under
// a data key of its own; the data key is stored wrapped by the master key, a Tink AEAD
// keyset kept in a file outside the database (STEWARD_MASTER_KEY_FILE, or master.key in
// the data directory). Erasing an account's data deletes its wrapped data key with the
// sealed values, so no copy of the database (a backup, say) can open them again without
// also holding the old master key. Rotating the master key re-wraps every data key; the
// values are never re-encrypted.
//
// Two further secrets, each 32 random bytes stored wrapped by the master key, never
// touch the values: the index key (HMAC-SHA256 of a normalised value, so a lookup finds
// accounts by phone or ID number without a plaintext column) and the commitment key
// (HMAC-SHA256 of an account ID, the audit subject of every access, so the shared log
// never names the account, and only Steward can tell the holder which entries are theirs).
//
// Audit entries of the vault hold field names, the purpose and the ticket, never a
// value nor anything derived from one: an entry's digest is a SHA-256 that anyone could
// brute-force over the ten-billion phone numbers, so the digested change holds names only.
package vault

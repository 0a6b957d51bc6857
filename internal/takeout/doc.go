// Package takeout builds a user's data export: a zip archive, written to the data
// directory part by part and never held whole in memory, with manifest.json (every
// file's size and SHA-256, the audit checkpoint it was made at, the parts that could not
// be collected and why), index.html (readable by a person, in the account's locale) and
// one portable JSON file per part: the account, its sanctions with their notices, the
// appeals and reports it filed, its wallet statement, its personal data decrypted for
// its owner, and its access log with inclusion proofs.
//
// An export is always allowed, whatever the account's sanctions (account.export is a
// protected capability): a ban must never cut a person off from their own data. Each
// export is audited when it starts and when it ends, and reading the personal data for
// it is an access the vault records (vault.ActionExport), so it is in the owner's access
// log like every other.
//
// takeout reads the domains it exports and never writes to them; notices live in
// notify, which no domain imports, so they come through the Notices interface.
package takeout

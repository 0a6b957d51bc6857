-- The ledger: wallets and platform accounts, transfers and their entries, holds and
-- their releases, withdrawals and compensations. Amounts are BIGINT minor units; times
-- BIGINT nanoseconds since the Unix epoch, UTC.

-- One row per ledger account and currency. posted is the sum of its entries; pending
-- what pending withdrawals reserve; holds how many holds were placed and not released.
-- A balance check locks the row (FOR UPDATE on PostgreSQL) in the spending transaction.
CREATE TABLE ledger_wallets (
    id             TEXT PRIMARY KEY, -- UUIDv7
    name           TEXT NOT NULL,    -- user:{account} or platform:{name}
    currency       TEXT NOT NULL,
    account        TEXT NOT NULL,    -- the user's account; '' for a platform account
    allow_negative BOOLEAN NOT NULL,
    posted         BIGINT NOT NULL,
    pending        BIGINT NOT NULL,
    holds          BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX ledger_wallets_name ON ledger_wallets (name, currency);

CREATE TABLE ledger_transfers (
    id         TEXT PRIMARY KEY, -- the client's ID, or steward:… for Steward's own
    from_name  TEXT NOT NULL,
    to_name    TEXT NOT NULL,
    currency   TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body       TEXT NOT NULL -- JSON of ledger.Transfer
);

-- Two rows per transfer: its debit (amount < 0) and its credit.
CREATE TABLE ledger_entries (
    id         AUTOID,
    wallet     TEXT NOT NULL,
    transfer   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    balance    BIGINT NOT NULL, -- the wallet's posted after it
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_wallet ON ledger_entries (wallet, id);
CREATE INDEX ledger_entries_transfer ON ledger_entries (transfer);

CREATE TABLE ledger_holds (
    id          TEXT PRIMARY KEY, -- UUIDv7
    wallet      TEXT NOT NULL,
    account     TEXT NOT NULL,
    released_at BIGINT, -- NULL while it holds
    expires_at  BIGINT, -- NULL: until released
    body        TEXT NOT NULL
);
CREATE INDEX ledger_holds_wallet ON ledger_holds (wallet, id);

CREATE TABLE ledger_releases (
    id   TEXT PRIMARY KEY,
    hold TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE ledger_withdrawals (
    id      TEXT PRIMARY KEY, -- the client's ID
    account TEXT NOT NULL,
    wallet  TEXT NOT NULL,
    state   TEXT NOT NULL,
    amount  BIGINT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX ledger_withdrawals_wallet ON ledger_withdrawals (wallet, state);

CREATE TABLE ledger_compensations (
    id      TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    body    TEXT NOT NULL
);

-- End users' tokens, each scoped to one account. Times are BIGINT nanoseconds, UTC.

CREATE TABLE user_tokens (
    id         TEXT PRIMARY KEY, -- UUIDv7
    account    TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE, -- SHA-256 of the secret
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX user_tokens_account ON user_tokens (account, id);

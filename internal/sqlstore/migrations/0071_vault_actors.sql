-- Who each pseudonym the vault's entries name is (internal/vault/actor.go): written when
-- the vault first records a member of staff under a pseudonym, read only by security's
-- investigations. A user's access log never reads it.
CREATE TABLE vault_actors (
    pseudonym TEXT PRIMARY KEY, -- "staff-" and 8 hex digits
    name      TEXT NOT NULL,    -- the key's name, as principal.Identity knows it
    role      TEXT NOT NULL,    -- the role it first acted in
    team      TEXT NOT NULL,
    first_at  BIGINT NOT NULL   -- when it was first recorded, Unix nanoseconds
);

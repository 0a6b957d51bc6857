-- An API key may name the team of the staff member holding it. The team lives in a table
-- of its own rather than a column of api_keys: on a new database this migration runs
-- before 0040, which rebuilds api_keys from a fixed list of columns.

CREATE TABLE api_key_teams (
    key_id TEXT PRIMARY KEY, -- api_keys.id
    team   TEXT NOT NULL
);

-- API keys, stored only as keyed hashes (HMAC-SHA256 of the secret with a server-side pepper): the
-- secret itself is shown once, at creation, and never stored. A revoked key keeps its row (audit).
CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    hash       text NOT NULL UNIQUE,
    scopes     text[] NOT NULL,
    rate_limit integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

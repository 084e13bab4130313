-- Accounts and their refresh tokens (modules/auth, modules/users).
CREATE TABLE selfdb.users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL,
    hashed_password text NOT NULL,
    full_name       text,
    is_active       boolean NOT NULL DEFAULT true,
    is_superuser    boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz
);
-- Emails are unique regardless of case: Alice@x and alice@x are one account.
CREATE UNIQUE INDEX users_email_lower_key ON selfdb.users (lower(email));
-- Listing pages in (created_at, id) order.
CREATE INDEX users_created_at_id_idx ON selfdb.users (created_at, id);

-- Refresh tokens are stored only as the SHA-256 of the opaque token.
-- family_id groups a token with the ones it was rotated into; retired_at is
-- set when a rotation replaced it (presenting it again revokes the family).
CREATE TABLE selfdb.refresh_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES selfdb.users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL,
    family_id   uuid NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON selfdb.refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_user_id_idx ON selfdb.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id_idx ON selfdb.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at_idx ON selfdb.refresh_tokens (expires_at);

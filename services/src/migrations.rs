//! The schema, as an append-only list of versions.
//!
//! [`crate::db::migrate`] applies the versions a database has not seen yet,
//! in order, under an advisory lock. A released version is never edited: a
//! database that already ran it would never see the edit, and two databases
//! would disagree about what version N means. A change is a new version.
//!
//! Version 1 is the walking skeleton (questions, answers, comments). Version 2
//! brings accounts and the Q&A product:
//! - `users` (name unique case-insensitively, argon2 hash) and `sessions`
//!   (only the sha256 of a token is stored, so a leaked table logs nobody in).
//! - authors on every post (NULL for rows from before accounts: "anonymous"),
//!   `score` columns kept by the vote service in the vote's own transaction,
//!   `accepted_answer_id`, `last_activity_at` for the "active" sort, and a
//!   per-author `idempotency_key` with a unique index, so a client's retried
//!   create finds the row its first attempt made.
//! - `search`, a generated tsvector (title weight A, body weight B, english)
//!   with a GIN index: PostgreSQL keeps it right on every insert and edit.
//! - `question_tags` (ordered as the asker gave them), `votes` (one per user
//!   and post, ±1), and `revisions` (revision 1 is the original post; the
//!   rows already there are backfilled as their own revision 1).
//!
//! Reputation has no column on purpose: it is computed from votes and
//! accepted answers ([`crate::store::users`]), so it cannot drift from them.

/// `(version, SQL)`, applied in order, each at most once per database.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, V1), (2, V2)];

const V1: &str = "
    CREATE TABLE questions (
        id          bigserial PRIMARY KEY,
        title       text NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
        body        text NOT NULL CHECK (char_length(btrim(body)) BETWEEN 1 AND 30000),
        created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX questions_newest ON questions (created_at DESC, id DESC);

    CREATE TABLE answers (
        id          bigserial PRIMARY KEY,
        question_id bigint NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
        body        text NOT NULL CHECK (char_length(btrim(body)) BETWEEN 1 AND 30000),
        created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX answers_by_question ON answers (question_id, id);

    CREATE TABLE comments (
        id          bigserial PRIMARY KEY,
        answer_id   bigint NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
        body        text NOT NULL CHECK (char_length(btrim(body)) BETWEEN 1 AND 600),
        created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX comments_by_answer ON comments (answer_id, id);
    ";

const V2: &str = "
    CREATE TABLE users (
        id            bigserial PRIMARY KEY,
        username      text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.-]{3,30}$'),
        password_hash text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_username ON users (lower(username));

    CREATE TABLE sessions (
        token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
        user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL DEFAULT now() + interval '30 days'
    );
    CREATE INDEX sessions_by_user ON sessions (user_id);

    ALTER TABLE questions
        ADD COLUMN author_id bigint REFERENCES users(id),
        ADD COLUMN score bigint NOT NULL DEFAULT 0,
        ADD COLUMN accepted_answer_id bigint REFERENCES answers(id) ON DELETE SET NULL,
        ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 100),
        ADD COLUMN search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, title), 'A') ||
            setweight(to_tsvector('english'::regconfig, body), 'B')
        ) STORED;
    UPDATE questions SET last_activity_at = greatest(created_at,
        coalesce((SELECT max(a.created_at) FROM answers a WHERE a.question_id = questions.id), created_at));
    CREATE INDEX questions_search ON questions USING gin (search);
    CREATE INDEX questions_active ON questions (last_activity_at DESC, id DESC);
    CREATE INDEX questions_votes ON questions (score DESC, created_at DESC, id DESC);
    CREATE INDEX questions_by_author ON questions (author_id, created_at DESC);
    CREATE UNIQUE INDEX questions_idempotency ON questions (author_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

    ALTER TABLE answers
        ADD COLUMN author_id bigint REFERENCES users(id),
        ADD COLUMN score bigint NOT NULL DEFAULT 0,
        ADD COLUMN idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 100);
    CREATE INDEX answers_by_author ON answers (author_id, created_at DESC);
    CREATE UNIQUE INDEX answers_idempotency ON answers (author_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

    ALTER TABLE comments
        ADD COLUMN author_id bigint REFERENCES users(id),
        ADD COLUMN idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 100);
    CREATE UNIQUE INDEX comments_idempotency ON comments (author_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

    CREATE TABLE question_tags (
        question_id bigint NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
        tag         text NOT NULL CHECK (tag ~ '^[a-z0-9+#.-]{1,35}$'),
        position    smallint NOT NULL,
        PRIMARY KEY (question_id, tag)
    );
    CREATE INDEX question_tags_by_tag ON question_tags (tag, question_id);

    CREATE TABLE votes (
        user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        target      text NOT NULL CHECK (target IN ('question', 'answer')),
        post_id     bigint NOT NULL,
        value       smallint NOT NULL CHECK (value IN (-1, 1)),
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, target, post_id)
    );
    CREATE INDEX votes_by_post ON votes (target, post_id);

    CREATE TABLE revisions (
        id          bigserial PRIMARY KEY,
        target      text NOT NULL CHECK (target IN ('question', 'answer')),
        post_id     bigint NOT NULL,
        editor_id   bigint REFERENCES users(id),
        title       text,
        body        text NOT NULL,
        tags        text[] NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX revisions_by_post ON revisions (target, post_id, id);
    INSERT INTO revisions (target, post_id, title, body, created_at)
        SELECT 'question', id, title, body, created_at FROM questions ORDER BY id;
    INSERT INTO revisions (target, post_id, body, created_at)
        SELECT 'answer', id, body, created_at FROM answers ORDER BY id;
    ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(MIGRATIONS[0].0, 1);
    }

    #[test]
    fn version_one_is_the_released_skeleton() {
        // Released versions are frozen: this catches an accidental edit.
        let normalised: String = V1.split_whitespace().collect::<Vec<_>>().join(" ");
        // FNV-1a of the whitespace-normalised SQL.
        let hash =
            normalised.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        assert_eq!(hash, 16_287_736_278_528_538_158, "migration 1 was edited; add a new version instead");
    }
}

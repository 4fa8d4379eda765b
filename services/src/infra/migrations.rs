//! The schema, as an append-only list of versions.
//!
//! [`crate::infra::db::migrate`] applies the versions a database has not seen yet,
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
//! Version 3 makes every list and count cost the same at any size of site
//! (issue 9): counts are kept by the writes that change them, by triggers, in
//! those writes' own transactions, so they cannot drift from the rows:
//! - `questions.answer_count` (an answer insert also marks the question
//!   active), with a partial index for the "unanswered" sort;
//! - `users.reputation` (+10 per upvote, −2 per downvote on their posts, +15
//!   per answer of theirs accepted by someone else), `question_count`,
//!   `answer_count`, read by user pages and every session check;
//! - `tags (tag, question_count)`, for the tag list;
//! - `question_tags` carries copies of its question's sort keys (created,
//!   active, score, answer count), kept equal by a trigger on `questions`, so
//!   that a tag page in any sort is one range of one index, not a filter over
//!   the whole questions table.
//!
//! `sw_recount()` recomputes every counter from the rows: the backfill here,
//! and what a bulk load that disabled the triggers runs afterwards.
//!
//! Version 4 is the defence against hostile users (issue 10):
//! - `login_throttle`: failed logins counted per username and per client
//!   address, shared by every user-service instance ([`crate::throttle`]);
//! - `users.signup_address`, so sign-ups are counted per address, and an
//!   index for counting a user's recent comments (the comment limit);
//! - `idempotency_keys`: a client's key, the fingerprint of the request it
//!   first came with, and the post it made, kept 24 hours
//!   ([`crate::flows::idempotency`]); the keys already on posts are carried over.
//!
//! Version 5 rewrites `sw_recount()` set-based (one aggregate per counter
//! joined once, instead of a subquery per row, which on a never-analyzed
//! database of 100k questions ran for many minutes).
//!
//! Version 6 counts page views (issue 15): `questions.view_count`, added to
//! in batches by the question service (`AddViews`), never once per view. No
//! index covers it and no trigger watches it, so a batch's UPDATE can be a
//! HOT update that touches no index and no tag row.
//!
//! Version 7 moves what an answer changes off the questions row (issue 9):
//! `question_activity` (one narrow row per question: created, last active,
//! answer count) carries the "active" and "unanswered" indexes, and an answer
//! updates that row, its tag rows (through the activity row's own trigger)
//! and its author's count, never the question. Updating the questions row
//! made a new version of a wide row, with entries in six indexes (about 20
//! in the full-text GIN index alone), on every answer; with the counts
//! moved, PostgreSQL's CPU per answer POST in `scripts/bench_page.sh` went
//! from 776 to about 480 µs. A question's activity row is made by the
//! questions insert trigger; lists and pages read it by primary key.

/// `(version, SQL)`, applied in order, each at most once per database.
pub const MIGRATIONS: &[(i32, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5), (6, V6), (7, V7)];

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

const V3: &str = "
    ALTER TABLE questions ADD COLUMN answer_count integer NOT NULL DEFAULT 0;
    ALTER TABLE users
        ADD COLUMN reputation bigint NOT NULL DEFAULT 0,
        ADD COLUMN question_count integer NOT NULL DEFAULT 0,
        ADD COLUMN answer_count integer NOT NULL DEFAULT 0;
    ALTER TABLE question_tags
        ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN last_activity_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN score bigint NOT NULL DEFAULT 0,
        ADD COLUMN answer_count integer NOT NULL DEFAULT 0;
    CREATE TABLE tags (
        tag            text PRIMARY KEY,
        question_count bigint NOT NULL DEFAULT 0
    );

    CREATE FUNCTION sw_recount() RETURNS void LANGUAGE sql AS $$
        UPDATE questions q SET answer_count = coalesce(
            (SELECT count(*) FROM answers a WHERE a.question_id = q.id), 0);
        UPDATE users u SET
            question_count = (SELECT count(*) FROM questions q WHERE q.author_id = u.id),
            answer_count = (SELECT count(*) FROM answers a WHERE a.author_id = u.id),
            reputation = coalesce((SELECT sum(CASE WHEN v.value > 0 THEN 10 ELSE -2 END) FROM votes v
                    JOIN questions q ON v.target = 'question' AND q.id = v.post_id WHERE q.author_id = u.id), 0)
                + coalesce((SELECT sum(CASE WHEN v.value > 0 THEN 10 ELSE -2 END) FROM votes v
                    JOIN answers a ON v.target = 'answer' AND a.id = v.post_id WHERE a.author_id = u.id), 0)
                + 15 * (SELECT count(*) FROM answers a JOIN questions q ON q.accepted_answer_id = a.id
                    WHERE a.author_id = u.id AND q.author_id IS DISTINCT FROM a.author_id);
        UPDATE question_tags t SET created_at = q.created_at, last_activity_at = q.last_activity_at,
            score = q.score, answer_count = q.answer_count
            FROM questions q WHERE q.id = t.question_id;
        DELETE FROM tags;
        INSERT INTO tags (tag, question_count) SELECT tag, count(*) FROM question_tags GROUP BY tag;
    $$;
    SELECT sw_recount();

    CREATE INDEX questions_unanswered ON questions (created_at DESC, id DESC) WHERE answer_count = 0;
    DROP INDEX questions_by_author;
    CREATE INDEX questions_by_author ON questions (author_id, created_at DESC, id DESC);
    DROP INDEX answers_by_author;
    CREATE INDEX answers_by_author ON answers (author_id, created_at DESC, id DESC);
    DROP INDEX question_tags_by_tag;
    CREATE INDEX question_tags_newest ON question_tags (tag, created_at DESC, question_id DESC);
    CREATE INDEX question_tags_active ON question_tags (tag, last_activity_at DESC, question_id DESC);
    CREATE INDEX question_tags_votes ON question_tags (tag, score DESC, created_at DESC, question_id DESC);
    CREATE INDEX question_tags_unanswered ON question_tags (tag, created_at DESC, question_id DESC)
        WHERE answer_count = 0;
    CREATE INDEX tags_by_count ON tags (question_count DESC, tag) WHERE question_count > 0;

    -- An answer counts for its question (which it also makes active) and its author.
    CREATE FUNCTION sw_answers_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE questions SET answer_count = answer_count + 1, last_activity_at = now()
                WHERE id = NEW.question_id;
            UPDATE users SET answer_count = answer_count + 1 WHERE id = NEW.author_id;
        ELSE
            UPDATE questions SET answer_count = answer_count - 1 WHERE id = OLD.question_id;
            UPDATE users SET answer_count = answer_count - 1 WHERE id = OLD.author_id;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER answers_count AFTER INSERT OR DELETE ON answers
        FOR EACH ROW EXECUTE FUNCTION sw_answers_count();

    CREATE FUNCTION sw_questions_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE users SET question_count = question_count + 1 WHERE id = NEW.author_id;
        ELSE
            UPDATE users SET question_count = question_count - 1 WHERE id = OLD.author_id;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER questions_count AFTER INSERT OR DELETE ON questions
        FOR EACH ROW EXECUTE FUNCTION sw_questions_count();

    -- A vote's points go to the post's author: +10 up, -2 down, the difference on a change.
    CREATE FUNCTION sw_votes_reputation() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        r record;
        delta bigint;
        author bigint;
    BEGIN
        IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
        delta := CASE WHEN TG_OP = 'DELETE' THEN 0 WHEN NEW.value > 0 THEN 10 ELSE -2 END
               - CASE WHEN TG_OP = 'INSERT' THEN 0 WHEN OLD.value > 0 THEN 10 ELSE -2 END;
        IF delta <> 0 THEN
            IF r.target = 'question' THEN
                SELECT author_id INTO author FROM questions WHERE id = r.post_id;
            ELSE
                SELECT author_id INTO author FROM answers WHERE id = r.post_id;
            END IF;
            UPDATE users SET reputation = reputation + delta WHERE id = author;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER votes_reputation AFTER INSERT OR UPDATE OF value OR DELETE ON votes
        FOR EACH ROW EXECUTE FUNCTION sw_votes_reputation();

    -- Accepting moves 15 points from the author of the answer accepted before (if any)
    -- to the author of the one accepted now; accepting one's own answer earns nothing.
    CREATE FUNCTION sw_accept_reputation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE users SET reputation = reputation - 15
            WHERE id = (SELECT author_id FROM answers WHERE id = OLD.accepted_answer_id)
              AND id IS DISTINCT FROM NEW.author_id;
        UPDATE users SET reputation = reputation + 15
            WHERE id = (SELECT author_id FROM answers WHERE id = NEW.accepted_answer_id)
              AND id IS DISTINCT FROM NEW.author_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER questions_accept_reputation AFTER UPDATE OF accepted_answer_id ON questions
        FOR EACH ROW WHEN (OLD.accepted_answer_id IS DISTINCT FROM NEW.accepted_answer_id)
        EXECUTE FUNCTION sw_accept_reputation();

    -- A question's tag rows carry its sort keys.
    CREATE FUNCTION sw_question_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE question_tags SET created_at = NEW.created_at, last_activity_at = NEW.last_activity_at,
            score = NEW.score, answer_count = NEW.answer_count
            WHERE question_id = NEW.id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER questions_tags_sync AFTER UPDATE OF created_at, last_activity_at, score, answer_count
        ON questions FOR EACH ROW
        WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
              OR OLD.last_activity_at IS DISTINCT FROM NEW.last_activity_at
              OR OLD.score IS DISTINCT FROM NEW.score OR OLD.answer_count IS DISTINCT FROM NEW.answer_count)
        EXECUTE FUNCTION sw_question_tags_sync();

    -- Tag rows: copies of the question's keys on insert; the tag's count.
    CREATE FUNCTION sw_question_tags_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT q.created_at, q.last_activity_at, q.score, q.answer_count
            INTO NEW.created_at, NEW.last_activity_at, NEW.score, NEW.answer_count
            FROM questions q WHERE q.id = NEW.question_id;
        RETURN NEW;
    END $$;
    CREATE TRIGGER question_tags_row BEFORE INSERT ON question_tags
        FOR EACH ROW EXECUTE FUNCTION sw_question_tags_row();
    CREATE FUNCTION sw_tags_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO tags (tag, question_count) VALUES (NEW.tag, 1)
                ON CONFLICT (tag) DO UPDATE SET question_count = tags.question_count + 1;
        ELSE
            UPDATE tags SET question_count = question_count - 1 WHERE tag = OLD.tag;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER question_tags_count AFTER INSERT OR DELETE ON question_tags
        FOR EACH ROW EXECUTE FUNCTION sw_tags_count();
    ";

const V4: &str = "
    CREATE TABLE login_throttle (
        kind         text NOT NULL CHECK (kind IN ('username', 'address')),
        key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 100),
        failures     integer NOT NULL CHECK (failures >= 0),
        last_failure timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX login_throttle_by_age ON login_throttle (last_failure);

    ALTER TABLE users ADD COLUMN signup_address text CHECK (char_length(signup_address) BETWEEN 1 AND 100);
    CREATE INDEX users_by_signup_address ON users (signup_address, created_at) WHERE signup_address IS NOT NULL;
    CREATE INDEX comments_by_author ON comments (author_id, created_at DESC);

    CREATE TABLE idempotency_keys (
        author_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key         text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 100),
        fingerprint text NOT NULL,
        target      text NOT NULL CHECK (target IN ('question', 'answer', 'comment')),
        post_id     bigint NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (author_id, key)
    );
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    INSERT INTO idempotency_keys (author_id, key, fingerprint, target, post_id, created_at)
        SELECT author_id, idempotency_key, '', 'question', id, created_at FROM questions
            WHERE idempotency_key IS NOT NULL AND author_id IS NOT NULL
        UNION ALL
        SELECT author_id, idempotency_key, '', 'answer', id, created_at FROM answers
            WHERE idempotency_key IS NOT NULL AND author_id IS NOT NULL
        UNION ALL
        SELECT author_id, idempotency_key, '', 'comment', id, created_at FROM comments
            WHERE idempotency_key IS NOT NULL AND author_id IS NOT NULL
        ON CONFLICT DO NOTHING;
    ";

const V5: &str = "
    CREATE OR REPLACE FUNCTION sw_recount() RETURNS void LANGUAGE sql AS $$
        UPDATE questions q SET answer_count = coalesce(c.n, 0)
            FROM questions q2 LEFT JOIN (SELECT question_id, count(*) AS n FROM answers GROUP BY question_id) c
                ON c.question_id = q2.id
            WHERE q.id = q2.id AND q.answer_count IS DISTINCT FROM coalesce(c.n, 0);
        WITH points AS (
            SELECT q.author_id AS user_id, CASE WHEN v.value > 0 THEN 10 ELSE -2 END AS p
                FROM votes v JOIN questions q ON v.target = 'question' AND q.id = v.post_id
            UNION ALL
            SELECT a.author_id, CASE WHEN v.value > 0 THEN 10 ELSE -2 END
                FROM votes v JOIN answers a ON v.target = 'answer' AND a.id = v.post_id
            UNION ALL
            SELECT a.author_id, 15 FROM questions q JOIN answers a ON a.id = q.accepted_answer_id
                WHERE q.author_id IS DISTINCT FROM a.author_id
        ), rep AS (SELECT user_id, sum(p) AS r FROM points WHERE user_id IS NOT NULL GROUP BY user_id),
        qs AS (SELECT author_id, count(*) AS n FROM questions WHERE author_id IS NOT NULL GROUP BY author_id),
        ans AS (SELECT author_id, count(*) AS n FROM answers WHERE author_id IS NOT NULL GROUP BY author_id),
        fresh AS (
            SELECT u.id, coalesce(rep.r, 0) AS r, coalesce(qs.n, 0) AS qn, coalesce(ans.n, 0) AS an
            FROM users u LEFT JOIN rep ON rep.user_id = u.id LEFT JOIN qs ON qs.author_id = u.id
                LEFT JOIN ans ON ans.author_id = u.id
        )
        UPDATE users u SET reputation = f.r, question_count = f.qn, answer_count = f.an
            FROM fresh f
            WHERE u.id = f.id AND (u.reputation, u.question_count, u.answer_count) IS DISTINCT FROM (f.r, f.qn, f.an);
        UPDATE question_tags t SET created_at = q.created_at, last_activity_at = q.last_activity_at,
            score = q.score, answer_count = q.answer_count
            FROM questions q
            WHERE q.id = t.question_id
              AND (t.created_at, t.last_activity_at, t.score, t.answer_count)
                  IS DISTINCT FROM (q.created_at, q.last_activity_at, q.score, q.answer_count);
        DELETE FROM tags;
        INSERT INTO tags (tag, question_count) SELECT tag, count(*) FROM question_tags GROUP BY tag;
    $$;
    ";

const V6: &str = "
    ALTER TABLE questions ADD COLUMN view_count bigint NOT NULL DEFAULT 0;
    ";

const V7: &str = "
    CREATE TABLE question_activity (
        question_id      bigint PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
        created_at       timestamptz NOT NULL,
        last_activity_at timestamptz NOT NULL,
        answer_count     integer NOT NULL DEFAULT 0
    );
    INSERT INTO question_activity (question_id, created_at, last_activity_at, answer_count)
        SELECT id, created_at, last_activity_at, answer_count FROM questions;
    CREATE INDEX question_activity_active ON question_activity (last_activity_at DESC, question_id DESC);
    CREATE INDEX question_activity_unanswered ON question_activity (created_at DESC, question_id DESC)
        WHERE answer_count = 0;

    -- The columns go with their indexes (questions_active, questions_unanswered)
    -- and the trigger that watched them.
    DROP TRIGGER questions_tags_sync ON questions;
    ALTER TABLE questions DROP COLUMN last_activity_at, DROP COLUMN answer_count;

    CREATE OR REPLACE FUNCTION sw_answers_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE question_activity SET answer_count = answer_count + 1, last_activity_at = now()
                WHERE question_id = NEW.question_id;
            UPDATE users SET answer_count = answer_count + 1 WHERE id = NEW.author_id;
        ELSE
            UPDATE question_activity SET answer_count = answer_count - 1 WHERE question_id = OLD.question_id;
            UPDATE users SET answer_count = answer_count - 1 WHERE id = OLD.author_id;
        END IF;
        RETURN NULL;
    END $$;

    -- A new question starts its activity row (created = last active).
    CREATE OR REPLACE FUNCTION sw_questions_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE users SET question_count = question_count + 1 WHERE id = NEW.author_id;
            INSERT INTO question_activity (question_id, created_at, last_activity_at)
                VALUES (NEW.id, NEW.created_at, NEW.created_at);
        ELSE
            UPDATE users SET question_count = question_count - 1 WHERE id = OLD.author_id;
        END IF;
        RETURN NULL;
    END $$;

    -- The question's own keys (created, score) go to its tag rows and its
    -- activity row; the activity row's (last active, answers) to the tag rows.
    CREATE OR REPLACE FUNCTION sw_question_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE question_tags SET created_at = NEW.created_at, score = NEW.score WHERE question_id = NEW.id;
        IF OLD.created_at IS DISTINCT FROM NEW.created_at THEN
            UPDATE question_activity SET created_at = NEW.created_at WHERE question_id = NEW.id;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER questions_tags_sync AFTER UPDATE OF created_at, score ON questions FOR EACH ROW
        WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.score IS DISTINCT FROM NEW.score)
        EXECUTE FUNCTION sw_question_tags_sync();
    CREATE FUNCTION sw_question_activity_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE question_tags SET last_activity_at = NEW.last_activity_at, answer_count = NEW.answer_count
            WHERE question_id = NEW.question_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER question_activity_sync AFTER UPDATE OF last_activity_at, answer_count ON question_activity
        FOR EACH ROW EXECUTE FUNCTION sw_question_activity_sync();

    CREATE OR REPLACE FUNCTION sw_question_tags_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT q.created_at, s.last_activity_at, q.score, s.answer_count
            INTO NEW.created_at, NEW.last_activity_at, NEW.score, NEW.answer_count
            FROM questions q JOIN question_activity s ON s.question_id = q.id WHERE q.id = NEW.question_id;
        RETURN NEW;
    END $$;

    -- As version 5's, with the activity rows: made for questions that have
    -- none (a bulk load with the triggers off), answers counted there.
    CREATE OR REPLACE FUNCTION sw_recount() RETURNS void LANGUAGE sql AS $$
        INSERT INTO question_activity (question_id, created_at, last_activity_at)
            SELECT q.id, q.created_at, q.created_at FROM questions q
            WHERE NOT EXISTS (SELECT 1 FROM question_activity s WHERE s.question_id = q.id);
        UPDATE question_activity s SET answer_count = coalesce(c.n, 0)
            FROM question_activity s2 LEFT JOIN (SELECT question_id, count(*) AS n FROM answers GROUP BY question_id) c
                ON c.question_id = s2.question_id
            WHERE s.question_id = s2.question_id AND s.answer_count IS DISTINCT FROM coalesce(c.n, 0);
        WITH points AS (
            SELECT q.author_id AS user_id, CASE WHEN v.value > 0 THEN 10 ELSE -2 END AS p
                FROM votes v JOIN questions q ON v.target = 'question' AND q.id = v.post_id
            UNION ALL
            SELECT a.author_id, CASE WHEN v.value > 0 THEN 10 ELSE -2 END
                FROM votes v JOIN answers a ON v.target = 'answer' AND a.id = v.post_id
            UNION ALL
            SELECT a.author_id, 15 FROM questions q JOIN answers a ON a.id = q.accepted_answer_id
                WHERE q.author_id IS DISTINCT FROM a.author_id
        ), rep AS (SELECT user_id, sum(p) AS r FROM points WHERE user_id IS NOT NULL GROUP BY user_id),
        qs AS (SELECT author_id, count(*) AS n FROM questions WHERE author_id IS NOT NULL GROUP BY author_id),
        ans AS (SELECT author_id, count(*) AS n FROM answers WHERE author_id IS NOT NULL GROUP BY author_id),
        fresh AS (
            SELECT u.id, coalesce(rep.r, 0) AS r, coalesce(qs.n, 0) AS qn, coalesce(ans.n, 0) AS an
            FROM users u LEFT JOIN rep ON rep.user_id = u.id LEFT JOIN qs ON qs.author_id = u.id
                LEFT JOIN ans ON ans.author_id = u.id
        )
        UPDATE users u SET reputation = f.r, question_count = f.qn, answer_count = f.an
            FROM fresh f
            WHERE u.id = f.id AND (u.reputation, u.question_count, u.answer_count) IS DISTINCT FROM (f.r, f.qn, f.an);
        UPDATE question_tags t SET created_at = q.created_at, last_activity_at = s.last_activity_at,
            score = q.score, answer_count = s.answer_count
            FROM questions q JOIN question_activity s ON s.question_id = q.id
            WHERE q.id = t.question_id
              AND (t.created_at, t.last_activity_at, t.score, t.answer_count)
                  IS DISTINCT FROM (q.created_at, s.last_activity_at, q.score, s.answer_count);
        DELETE FROM tags;
        INSERT INTO tags (tag, question_count) SELECT tag, count(*) FROM question_tags GROUP BY tag;
    $$;
    ";

#[cfg(test)]
#[path = "../../tests/unit/infra/migrations.rs"]
mod tests;

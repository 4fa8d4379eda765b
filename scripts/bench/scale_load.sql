-- Bulk load of a site's worth of rows into a migrated stackwire database, in
-- set-based SQL (INSERT ... SELECT generate_series): the rows of :users users,
-- :questions questions with 3 tags each, :answers answers (on the first two
-- thirds of the questions, so the last third stays unanswered), :comments
-- comments, :votes votes on questions, a session per user, a revision 1 for
-- every post, and a day's worth of idempotency keys and login counters.
--
-- Used by scripts/bench_scale.sh (psql -v users=... -f) and by the plan test
-- tests/tests/scale.rs (which replaces the :names itself), so both measure
-- the same shape. Deterministic: the same counts give the same rows.
--
-- Shape: 50 popular tags (tag0..tag49, ~6% of questions each), 950 common
-- ones and a long tail of rare ones (tagr0..); every title carries a word
-- wN shared by 20 questions (a selective search: the 20th part of the
-- question's number on the whole site, so that wN matches the same 20
-- questions however many loads came after them, and a search's cost, which
-- follows its matches, is compared like for like) and a common word.
-- The counters kept by triggers are switched off for the load and computed
-- once afterwards by sw_recount() (migrations 3, 4), which is what the
-- triggers would have produced row by row, only faster; the secondary
-- indexes and the foreign keys are dropped for the load and made again at
-- the end from their own definitions (pg_indexes, pg_get_constraintdef):
-- building an index once and checking a foreign key with one join is
-- several times faster than doing both row by row.

ALTER TABLE questions DISABLE TRIGGER USER;
ALTER TABLE answers DISABLE TRIGGER USER;
ALTER TABLE votes DISABLE TRIGGER USER;
ALTER TABLE question_tags DISABLE TRIGGER USER;
ALTER TABLE question_activity DISABLE TRIGGER USER;

CREATE TEMP TABLE load_indexes AS
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = current_schema()
      AND i.tablename IN ('users', 'sessions', 'questions', 'answers', 'comments', 'question_tags', 'votes',
                          'revisions', 'idempotency_keys', 'login_throttle', 'question_activity')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
CREATE TEMP TABLE load_fks AS
    SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
    WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
      AND c.conrelid::regclass::text IN ('sessions', 'questions', 'answers', 'comments', 'question_tags', 'revisions',
                                         'idempotency_keys', 'question_activity');
DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT tbl, conname FROM load_fks LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
    FOR r IN SELECT indexname FROM load_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;

CREATE TEMP TABLE load_base AS
    SELECT (SELECT coalesce(max(id), 0) FROM users) AS u,
           (SELECT coalesce(max(id), 0) FROM questions) AS q,
           (SELECT coalesce(max(id), 0) FROM answers) AS a;

INSERT INTO users (username, password_hash, created_at)
    SELECT 'bulk' || b.u + i, 'bulk-load-no-login', now() - interval '500 days' + i * interval '1 second'
    FROM generate_series(1::int8, :users) i, load_base b;

-- A session per user (their token hashes are not any real token's).
INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
    SELECT encode(sha256(('bulk-session-' || u.id)::bytea), 'hex'), u.id, now(), now() + interval '30 days'
    FROM users u, load_base b WHERE u.id > b.u;

INSERT INTO questions (title, body, created_at, author_id)
    SELECT 'Bulk question ' || i || ' on w' || (b.q + i) / 20 || ' and '
               || (ARRAY['sockets', 'frames', 'threads', 'queues', 'caches'])[1 + i % 5],
           'How does w' || (b.q + i) / 20 || ' behave when the '
               || (ARRAY['buffer', 'client', 'server', 'pool', 'timer'])[1 + i % 5] || ' is full?',
           t, b.u + 1 + (i * 104729) % :users
    FROM generate_series(1::int8, :questions) i, load_base b,
         LATERAL (SELECT now() - interval '400 days' + (i::float8 / :questions) * interval '399 days' AS t) ts;

INSERT INTO answers (question_id, body, created_at, author_id)
    SELECT b.q + 1 + (i * 7919) % greatest(:questions * 2 / 3, 1),
           'Bulk answer ' || i || ': read the length first, then exactly that many bytes.',
           now() - interval '300 days' + (i::float8 / :answers) * interval '299 days',
           b.u + 1 + (i * 15485863) % :users
    FROM generate_series(1::int8, :answers) i, load_base b;

INSERT INTO comments (answer_id, body, created_at, author_id)
    SELECT b.a + 1 + (i * 7919) % :answers, 'Bulk comment ' || i,
           now() - interval '200 days' + (i::float8 / :comments) * interval '199 days',
           b.u + 1 + (i * 6700417) % :users
    FROM generate_series(1::int8, :comments) i, load_base b;

INSERT INTO votes (user_id, target, post_id, value)
    SELECT b.u + 1 + i % :users, 'question', b.q + 1 + (i * 7919) % :questions, CASE WHEN i % 7 = 0 THEN -1 ELSE 1 END
    FROM generate_series(1::int8, :votes) i, load_base b
    ON CONFLICT DO NOTHING;

-- Scores from the votes; every fifth answered question accepted its first
-- answer; activity is the latest answer; answers counted.
CREATE TEMP TABLE load_answered AS
    SELECT question_id, min(id) AS first, max(created_at) AS latest, count(*) AS n FROM answers GROUP BY question_id;
UPDATE questions q SET score = coalesce(v.s, 0),
                       accepted_answer_id = CASE WHEN q.id % 5 = 0 THEN a.first END
    FROM questions q2
    LEFT JOIN (SELECT post_id, sum(value) AS s FROM votes WHERE target = 'question' GROUP BY post_id) v
        ON v.post_id = q2.id
    LEFT JOIN load_answered a ON a.question_id = q2.id,
    load_base b
    WHERE q.id = q2.id AND q2.id > b.q;
INSERT INTO question_activity (question_id, created_at, last_activity_at, answer_count)
    SELECT q.id, q.created_at, greatest(q.created_at, a.latest), coalesce(a.n, 0)
    FROM questions q LEFT JOIN load_answered a ON a.question_id = q.id, load_base b
    WHERE q.id > b.q;

INSERT INTO question_tags (question_id, tag, position, created_at, last_activity_at, score, answer_count)
    SELECT q.id, t.tag, t.position, q.created_at, s.last_activity_at, q.score, s.answer_count
    FROM questions q JOIN question_activity s ON s.question_id = q.id, load_base b,
         LATERAL (VALUES ('tag' || (q.id * 13) % 50, 1),
                         ('tag' || 50 + (q.id * 7) % 950, 2),
                         ('tagr' || q.id % (:questions / 20 + 1), 3)) AS t(tag, position)
    WHERE q.id > b.q;

-- A day's worth of the rows that expire: idempotency keys of every third
-- post, and failed-login counters of one user in fifty.
INSERT INTO idempotency_keys (author_id, key, fingerprint, target, post_id, created_at)
    SELECT q.author_id, 'bulk-q-' || q.id, 'bulk', 'question', q.id, now() - interval '1 hour'
    FROM questions q, load_base b WHERE q.id > b.q AND q.id % 3 = 0
    ON CONFLICT DO NOTHING;
INSERT INTO idempotency_keys (author_id, key, fingerprint, target, post_id, created_at)
    SELECT a.author_id, 'bulk-a-' || a.id, 'bulk', 'answer', a.id, now() - interval '1 hour'
    FROM answers a, load_base b WHERE a.id > b.a AND a.id % 3 = 0
    ON CONFLICT DO NOTHING;
INSERT INTO login_throttle (kind, key, failures, last_failure)
    SELECT 'username', u.username, 1 + u.id % 4, now() - interval '1 hour'
    FROM users u, load_base b WHERE u.id > b.u AND u.id % 50 = 0
    ON CONFLICT DO NOTHING;

INSERT INTO revisions (target, post_id, editor_id, title, body, created_at)
    SELECT 'question', q.id, q.author_id, q.title, q.body, q.created_at FROM questions q, load_base b WHERE q.id > b.q;
INSERT INTO revisions (target, post_id, editor_id, body, created_at)
    SELECT 'answer', a.id, a.author_id, a.body, a.created_at FROM answers a, load_base b WHERE a.id > b.a;

DO $$ DECLARE r record; BEGIN
    FOR r IN SELECT indexdef FROM load_indexes LOOP EXECUTE r.indexdef; END LOOP;
    FOR r IN SELECT tbl, conname, def FROM load_fks LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tbl, r.conname, r.def);
    END LOOP;
END $$;
SELECT sw_recount();

ALTER TABLE questions ENABLE TRIGGER USER;
ALTER TABLE answers ENABLE TRIGGER USER;
ALTER TABLE votes ENABLE TRIGGER USER;
ALTER TABLE question_tags ENABLE TRIGGER USER;
ALTER TABLE question_activity ENABLE TRIGGER USER;
DROP TABLE load_base;
DROP TABLE load_indexes;
DROP TABLE load_fks;
DROP TABLE load_answered;

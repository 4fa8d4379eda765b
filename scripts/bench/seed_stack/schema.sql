-- The seed stack's tables and data: 1,000 questions with 5 answers each and
-- 3 comments per answer. Recreated on every run of scripts/bench_page.sh.
DROP TABLE IF EXISTS comments, answers, questions;
CREATE TABLE questions (
    id    serial PRIMARY KEY,
    title text NOT NULL,
    body  text NOT NULL
);
CREATE TABLE answers (
    id          serial PRIMARY KEY,
    question_id integer NOT NULL REFERENCES questions(id),
    body        text NOT NULL
);
CREATE INDEX answers_question_id ON answers (question_id);
CREATE TABLE comments (
    id        serial PRIMARY KEY,
    answer_id integer NOT NULL REFERENCES answers(id),
    body      text NOT NULL
);
CREATE INDEX comments_answer_id ON comments (answer_id);

INSERT INTO questions (title, body)
    SELECT 'Question ' || i || ': how do I read a length-prefixed frame?',
           'Five bytes first, then what? Asked as question ' || i || '.'
    FROM generate_series(1, 1000) i;
INSERT INTO answers (question_id, body)
    SELECT q, 'Answer ' || a || ' to question ' || q || ': read the 5-byte prefix, check the length, then read exactly that many bytes.'
    FROM generate_series(1, 1000) q, generate_series(1, 5) a ORDER BY q, a;
INSERT INTO comments (answer_id, body)
    SELECT a.id, 'Comment ' || c || ' on answer ' || a.id || ': and refuse lengths over the maximum.'
    FROM answers a, generate_series(1, 3) c ORDER BY a.id, c;
ANALYZE questions, answers, comments;

"""The seed stack: the simple Flask application stackwire replaced, rebuilt
for scripts/bench_page.sh to measure against (issue 9).

One Flask app served by `gunicorn -w 2` (sync workers), PostgreSQL through
psycopg2's SimpleConnectionPool(1, 4) per worker, on the same PostgreSQL
server as stackwire. Three tables (questions, answers, comments) with serial
ids, foreign keys and indexes on the foreign keys (schema.sql).

- GET /questions/<id>: three queries in one transaction (the question by id;
  its answers by question_id ordered by id; the comments of those answers
  with answer_id = any(...)), answered as one string of the HTML-escaped
  title, body, answers and comments.
- POST /questions (title, body): inserts the question and answers 303 to it.

Settings from the environment: SEED_DSN (a libpq connection string).
"""

import html
import os

from flask import Flask, abort, redirect, request
from psycopg2.pool import SimpleConnectionPool

app = Flask(__name__)
pool = SimpleConnectionPool(1, 4, os.environ["SEED_DSN"])


@app.get("/questions/<int:qid>")
def question(qid):
    conn = pool.getconn()
    try:
        with conn:  # one transaction
            with conn.cursor() as cur:
                cur.execute("SELECT title, body FROM questions WHERE id = %s", (qid,))
                q = cur.fetchone()
                if q is None:
                    abort(404)
                cur.execute("SELECT id, body FROM answers WHERE question_id = %s ORDER BY id", (qid,))
                answers = cur.fetchall()
                cur.execute(
                    "SELECT answer_id, body FROM comments WHERE answer_id = any(%s) ORDER BY id",
                    ([a[0] for a in answers],),
                )
                comments = cur.fetchall()
    finally:
        pool.putconn(conn)
    parts = ["<h1>", html.escape(q[0]), "</h1><p>", html.escape(q[1]), "</p>"]
    for aid, body in answers:
        parts += ["<div class=answer><p>", html.escape(body), "</p><ul>"]
        parts += ["<li>" + html.escape(c[1]) + "</li>" for c in comments if c[0] == aid]
        parts.append("</ul></div>")
    return "".join(parts)


@app.post("/questions")
def ask():
    title, body = request.form.get("title", ""), request.form.get("body", "")
    if not title or not body:
        abort(400)
    conn = pool.getconn()
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO questions (title, body) VALUES (%s, %s) RETURNING id", (title, body))
                qid = cur.fetchone()[0]
    finally:
        pool.putconn(conn)
    return redirect(f"/questions/{qid}", code=303)

//! Pooled connections that prepare each statement once, and the one way the
//! services run SQL ([`Sql`]).
//!
//! rust-postgres has no statement cache: `query(&str, …)` sends Parse, Bind,
//! Execute for a fresh unnamed statement every time, so PostgreSQL parses and
//! plans every call (measured at ~0.65 ms of planning per thread query). Here
//! each pooled connection ([`PgConn`]) keeps the `Statement` of every SQL text
//! it has run, keyed by that text, and later calls only Bind and Execute.
//! The texts are the store's constants and a few formatted variants, so the
//! cache holds a few dozen entries per connection and needs no eviction.
//! PostgreSQL then plans each with the parameters for its first five runs and
//! may switch to one generic plan after; the store's statements are written
//! so that both plans use the same indexes (no `$1 IS NULL OR …` filters).
//!
//! A statement prepared before a schema change can fail with "cached plan
//! must not change result type" (a rolling upgrade that migrates); the entry
//! is dropped on any error from a cached statement, so the next call prepares
//! it again.
//!
//! r2d2 tests a connection on every checkout by default, which for
//! r2d2_postgres is an empty query: one more round trip per request. Here the
//! test is free for a connection used in the last [`TRUSTED_FOR`] (it just
//! worked; a server that died since fails the next statement, which marks the
//! connection broken, see [`Manager::has_broken`]) and a real round trip only
//! for one idle longer than that, which is the case the test exists for.
//!
//! [`Tx`] is a transaction on a [`PgConn`]; it runs through the same cache,
//! so the multi-statement writes are prepared once too.

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Parameters of a statement, as rust-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How long after its last statement a connection is trusted without a check.
const TRUSTED_FOR: Duration = Duration::from_secs(5);

/// Statements already prepared on one connection, by SQL text.
#[derive(Default)]
struct Statements {
    by_text: HashMap<String, Statement>,
}

impl Statements {
    fn get(&mut self, client: &mut impl GenericClient, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.by_text.get(sql) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql)?;
        self.by_text.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Forgets `sql` after it failed, so a statement made stale by a schema
    /// change is prepared afresh next time (an ordinary failure costs one
    /// Parse more, which is nothing next to the failure).
    fn forget(&mut self, sql: &str) {
        self.by_text.remove(sql);
    }
}

/// What every way of running SQL offers: the `GenericClient` calls, through
/// the connection's statement cache.
pub trait Sql {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error>;
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error>;
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error>;
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error>;
    /// Runs `sql` without caching its statement: for texts that vary with
    /// their input (a page number written into a LIMIT clause) and would
    /// otherwise fill the cache with one-off entries.
    fn query_once(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error>;
}

/// Runs `op` with the cached statement for `sql` on `client`.
fn run<C: GenericClient, T>(
    client: &mut C,
    cache: &mut Statements,
    sql: &str,
    op: impl FnOnce(&mut C, &Statement) -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    let stmt = cache.get(client, sql)?;
    let r = op(client, &stmt);
    if r.is_err() {
        cache.forget(sql);
    }
    r
}

macro_rules! impl_sql {
    () => {
        fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
            let (c, s) = self.parts();
            run(c, s, sql, |c, st| c.query(st, params))
        }
        fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
            let (c, s) = self.parts();
            run(c, s, sql, |c, st| c.query_opt(st, params))
        }
        fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
            let (c, s) = self.parts();
            run(c, s, sql, |c, st| c.query_one(st, params))
        }
        fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
            let (c, s) = self.parts();
            run(c, s, sql, |c, st| c.execute(st, params))
        }
        fn query_once(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
            let (c, _) = self.parts();
            c.query(sql, params)
        }
    };
}

/// A pooled connection with its prepared statements.
pub struct PgConn {
    client: Client,
    statements: Statements,
    last_used: Instant,
}

impl PgConn {
    fn parts(&mut self) -> (&mut Client, &mut Statements) {
        self.last_used = Instant::now();
        (&mut self.client, &mut self.statements)
    }

    /// The plain client, for what the cache is not for (migrations).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Opens a transaction whose statements go through this connection's cache.
    pub fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        let (client, statements) = self.parts();
        Ok(Tx { tx: client.transaction()?, statements })
    }
}

impl Sql for PgConn {
    impl_sql!();
}

/// A transaction on a [`PgConn`]; rolled back if dropped without [`Tx::commit`].
pub struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut Statements,
}

impl<'a> Tx<'a> {
    fn parts(&mut self) -> (&mut Transaction<'a>, &mut Statements) {
        (&mut self.tx, &mut *self.statements)
    }

    pub fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

impl Sql for Tx<'_> {
    impl_sql!();
}

/// A plain client runs each statement unprepared: for one-off callers
/// (tests, tools) that have no pool.
impl Sql for Client {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        Client::query(self, sql, params)
    }
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, postgres::Error> {
        Client::query_opt(self, sql, params)
    }
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        Client::query_one(self, sql, params)
    }
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        Client::execute(self, sql, params)
    }
    fn query_once(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        Client::query(self, sql, params)
    }
}

/// The r2d2 manager of [`PgConn`]s.
#[derive(Debug)]
pub struct Manager {
    config: postgres::Config,
}

impl Manager {
    pub fn new(config: postgres::Config) -> Manager {
        Manager { config }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        let client = self.config.connect(NoTls)?;
        Ok(PgConn { client, statements: Statements::default(), last_used: Instant::now() })
    }

    /// Free for a connection that just worked; a round trip for one idle
    /// longer than [`TRUSTED_FOR`] (the server may have gone meanwhile).
    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        if conn.last_used.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        conn.client.simple_query("")?;
        conn.last_used = Instant::now();
        Ok(())
    }

    /// A connection whose socket closed (the server went, or a statement
    /// found it dead) is dropped rather than returned to the pool.
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

//! The PostgreSQL connection pool and the schema.
//!
//! Every service process keeps a small r2d2 pool (8 connections unless
//! `STACKWIRE_DB_POOL_SIZE` says otherwise). Connections open lazily and idle
//! ones are closed after a minute, because test clusters run many service
//! processes against one server and PostgreSQL allows only ~100 connections.
//! Each connection gets a `statement_timeout`, so a stuck query releases its
//! worker thread instead of holding it for good.
//!
//! Migrations are applied at start by whichever service process gets there
//! first. All six processes of a cluster may start at once, so each runs the
//! migrations inside one transaction that first takes a transaction-scoped
//! advisory lock: the others queue on the lock and then find every version
//! already recorded in `schema_migrations`. A migration is never edited once
//! released; a change is a new version appended to [`MIGRATIONS`] (in
//! [`crate::migrations`]).
//!
//! Database errors become RPC statuses here ([`DbError::to_status`]) so the
//! mapping is the same in every service: the database being away is
//! UNAVAILABLE (retry elsewhere, later), a statement timeout is
//! DEADLINE_EXCEEDED, anything else INTERNAL with the detail only in the log.

use postgres::error::SqlState;
use proto::{Code, Status};
use r2d2::PooledConnection;
use std::time::Duration;

pub use crate::migrations::MIGRATIONS;
pub use crate::sql::Manager;

/// A pooled connection; statements run on it are prepared once ([`crate::sql`]).
pub type Conn = PooledConnection<Manager>;

/// Arbitrary but fixed: every stackwire process migrating takes this lock.
const MIGRATION_LOCK: i64 = 0x0053_746b_7769_7265; // "Stkwire"

pub const DEFAULT_POOL_SIZE: u32 = 8;
const STATEMENT_TIMEOUT_MS: u64 = 10_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a call waits for a pooled connection. Shorter than the time
/// callers give us (5 s), so that with the database down a caller hears
/// UNAVAILABLE from us rather than timing out itself.
pub const POOL_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("STACKWIRE_DATABASE_URL is not set (e.g. postgresql://stackwire:pw@127.0.0.1:15432/stackwire)")]
    NoUrl,
    #[error("STACKWIRE_DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(postgres::Error),
    #[error("STACKWIRE_DB_POOL_SIZE={0:?} is not a number from 1 to 100")]
    BadPoolSize(String),
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database: {0}")]
    Pg(#[from] postgres::Error),
}

impl DbError {
    /// The SQLSTATE of a failed statement, if the server sent one.
    pub fn sql_state(&self) -> Option<&SqlState> {
        match self {
            DbError::Pg(e) => e.code(),
            _ => None,
        }
    }

    /// True when an insert named a parent row that does not exist (23503).
    pub fn is_foreign_key_violation(&self) -> bool {
        self.sql_state() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
    }

    /// True when a row collided with a unique index (23505): a taken
    /// username, or a create racing its own retry.
    pub fn is_unique_violation(&self) -> bool {
        self.sql_state() == Some(&SqlState::UNIQUE_VIOLATION)
    }

    /// The status a caller sees; the detail goes to the log, not the caller.
    pub fn to_status(&self) -> Status {
        let state = self.sql_state();
        let (code, message) = match self {
            DbError::Pool(_) => (Code::Unavailable, "database unavailable"),
            DbError::Pg(e) if e.is_closed() || is_io(e) => (Code::Unavailable, "database unavailable"),
            _ if state == Some(&SqlState::QUERY_CANCELED) => (Code::DeadlineExceeded, "database statement timed out"),
            _ if state == Some(&SqlState::CHECK_VIOLATION) => (Code::InvalidArgument, "a field is out of bounds"),
            // Two writes locked the same rows in opposite orders (a vote and an
            // answer by the post's author, say): one was rolled back whole.
            _ if state == Some(&SqlState::T_R_DEADLOCK_DETECTED)
                || state == Some(&SqlState::T_R_SERIALIZATION_FAILURE) =>
            {
                (Code::Aborted, "a concurrent write got in the way; retry")
            }
            _ if state.is_some_and(|s| s.code().starts_with("08") || s.code().starts_with("57P")) => {
                (Code::Unavailable, "database unavailable")
            }
            _ => (Code::Internal, "database error"),
        };
        log::error!(target: "db", "{self}");
        Status::new(code, message)
    }
}

/// Lets `?` turn a store error into the caller's status inside a method
/// body (the mapping and the log line are [`DbError::to_status`]'s).
impl From<DbError> for Status {
    fn from(e: DbError) -> Status {
        e.to_status()
    }
}

/// True when the statement failed because the connection did (no SQLSTATE:
/// the server never answered).
fn is_io(e: &postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// Pool settings, from the environment.
pub struct DbConfig {
    pub pg: postgres::Config,
    pub pool_size: u32,
}

impl DbConfig {
    /// `STACKWIRE_DATABASE_URL` (required) and `STACKWIRE_DB_POOL_SIZE`.
    pub fn from_env(application: &str) -> Result<DbConfig, DbError> {
        let url = std::env::var("STACKWIRE_DATABASE_URL").map_err(|_| DbError::NoUrl)?;
        let size = std::env::var("STACKWIRE_DB_POOL_SIZE").ok();
        DbConfig::new(&url, size.as_deref(), application)
    }

    pub fn new(url: &str, pool_size: Option<&str>, application: &str) -> Result<DbConfig, DbError> {
        let mut pg: postgres::Config = url.parse().map_err(DbError::BadUrl)?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        if pg.get_application_name().is_none() {
            pg.application_name(application);
        }
        // Keep options the URL already sets (a test's search_path, say).
        let options = match pg.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c statement_timeout={STATEMENT_TIMEOUT_MS}"),
            _ => format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"),
        };
        pg.options(&options);
        let pool_size = match pool_size {
            None => DEFAULT_POOL_SIZE,
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(DbError::BadPoolSize(s.to_string())),
            },
        };
        Ok(DbConfig { pg, pool_size })
    }

    /// `host:port/db` for log lines; never the password.
    pub fn describe(&self) -> String {
        let host = match self.pg.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.pg.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}/{}", self.pg.get_dbname().unwrap_or("-"))
    }
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
}

impl Db {
    /// Builds the pool without connecting; the first `conn` connects.
    pub fn new(cfg: &DbConfig) -> Result<Db, DbError> {
        let pool = r2d2::Pool::builder()
            .max_size(cfg.pool_size)
            .min_idle(Some(0))
            .idle_timeout(Some(Duration::from_secs(60)))
            .connection_timeout(CONNECT_TIMEOUT)
            .build(Manager::new(cfg.pg.clone()))?;
        Ok(Db { pool })
    }

    /// A connection, waiting at most `wait` for one to be free. A zero wait
    /// still tries once, so a caller out of time fails fast but fairly.
    pub fn conn(&self, wait: Duration) -> Result<Conn, DbError> {
        Ok(self.pool.get_timeout(wait.max(Duration::from_millis(1)))?)
    }

    /// A connection for the call `ctx` serves, waiting no longer than the
    /// caller has left (and at most [`POOL_WAIT`]).
    pub fn conn_for(&self, ctx: &proto::CallContext<'_>) -> Result<Conn, Status> {
        self.conn(ctx.remaining(POOL_WAIT)).map_err(|e| e.to_status())
    }

    /// Applies every migration not yet recorded; returns the versions applied now.
    pub fn migrate(&self, wait: Duration) -> Result<Vec<i32>, DbError> {
        let mut conn = self.conn(wait)?;
        migrate(conn.client())
    }
}

/// Runs [`MIGRATIONS`] under the advisory lock, in one transaction.
pub fn migrate(client: &mut postgres::Client) -> Result<Vec<i32>, DbError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    // "relation already exists, skipping" on every start is noise, not news.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let done: Vec<i32> = tx.query("SELECT version FROM schema_migrations", &[])?.iter().map(|r| r.get(0)).collect();
    let mut applied = Vec::new();
    for &(version, sql) in MIGRATIONS {
        if done.contains(&version) {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])?;
        applied.push(version);
    }
    tx.commit()?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_adds_a_statement_timeout_and_keeps_url_options() {
        let c = DbConfig::new("postgresql://u:secret@10.0.0.1:15432/stackwire", None, "stackwire-question").unwrap();
        assert_eq!(c.pg.get_options(), Some("-c statement_timeout=10000"));
        assert_eq!(c.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(c.describe(), "10.0.0.1:15432/stackwire");
        assert!(!c.describe().contains("secret"));
        let c = DbConfig::new("postgresql://u@h/db?options=-csearch_path%3Dt1", Some("3"), "x").unwrap();
        assert_eq!(c.pg.get_options(), Some("-csearch_path=t1 -c statement_timeout=10000"));
        assert_eq!(c.pool_size, 3);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(DbConfig::new("postgresql://h/db", Some("0"), "x"), Err(DbError::BadPoolSize(_))));
        assert!(matches!(DbConfig::new("postgresql://h/db", Some("many"), "x"), Err(DbError::BadPoolSize(_))));
        assert!(matches!(DbConfig::new("postgresql://h:notaport/db", None, "x"), Err(DbError::BadUrl(_))));
    }
}

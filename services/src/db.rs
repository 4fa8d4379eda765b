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

use crate::replicas::StandbyState;
use postgres::config::TargetSessionAttrs;
use postgres::error::SqlState;
use proto::{Code, Status};
use r2d2::PooledConnection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::migrations::MIGRATIONS;
pub use crate::sql::Manager;

/// A pooled connection; statements run on it are prepared once ([`crate::sql`]).
pub type Conn = PooledConnection<Manager>;

/// Arbitrary but fixed: every stackwire process migrating takes this lock.
const MIGRATION_LOCK: i64 = 0x0053_746b_7769_7265; // "Stkwire"

pub const DEFAULT_POOL_SIZE: u32 = 8;
const STATEMENT_TIMEOUT_MS: u64 = 10_000;
/// Per host: with several hosts a dead one costs at most this before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
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

    /// True when the connection, or the server behind it, went away: the
    /// socket closed, or the server is shutting down or starting up (08xxx, 57Pxx).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DbError::Pg(e) => {
                e.is_closed()
                    || is_io(e)
                    || e.code().is_some_and(|s| s.code().starts_with("08") || s.code().starts_with("57P"))
            }
            DbError::Pool(_) => true,
            _ => false,
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
            // A node that stopped being the primary under our feet (failover).
            _ if state == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => (Code::Unavailable, "database unavailable"),
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
    /// With several hosts (replicated PostgreSQL): the same hosts for reads on
    /// the standby (see [`crate::replicas`]).
    pub read: Option<postgres::Config>,
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
        pg.notice_callback(crate::replicas::on_notice);
        // Replicated: writes go to the node that accepts them; their COMMIT
        // waits until the synchronous standby has applied it, so reads there
        // see it (read-your-writes; see replicas).
        let read = (pg.get_hosts().len() > 1).then(|| {
            let mut read = pg.clone();
            read.target_session_attrs(TargetSessionAttrs::ReadOnly);
            pg.target_session_attrs(TargetSessionAttrs::ReadWrite);
            pg.options(&format!("{options} -c synchronous_commit=remote_apply"));
            read
        });
        let pool_size = match pool_size {
            None => DEFAULT_POOL_SIZE,
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(DbError::BadPoolSize(s.to_string())),
            },
        };
        Ok(DbConfig { pg, pool_size, read })
    }

    /// `host:port[,host:port…]/db` for log lines; never the password.
    pub fn describe(&self) -> String {
        let ports = self.pg.get_ports();
        let hosts: Vec<String> = self
            .pg
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let host = match h {
                    postgres::config::Host::Tcp(h) => h.clone(),
                    postgres::config::Host::Unix(p) => p.display().to_string(),
                };
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                format!("{host}:{port}")
            })
            .collect();
        let hosts = if hosts.is_empty() { "localhost:5432".to_string() } else { hosts.join(",") };
        format!("{hosts}/{}", self.pg.get_dbname().unwrap_or("-"))
    }
}

/// The pool (and, replicated, the standby's pool); cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Pools>,
}

struct Pools {
    cfg: DbConfig,
    standby: Option<StandbyState>,
    /// (generation it was built for, primary's pool, standby's pool): the
    /// primary's is rebuilt after a failover, so no call meets a connection to
    /// a dead primary twice.
    now: Mutex<(u64, r2d2::Pool<Manager>, Option<r2d2::Pool<Manager>>)>,
}

fn pool(pg: &postgres::Config, size: u32) -> Result<r2d2::Pool<Manager>, DbError> {
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .idle_timeout(Some(Duration::from_secs(60)))
        .connection_timeout(CONNECT_TIMEOUT)
        .build(Manager::new(pg.clone()))?)
}

impl Db {
    /// Builds the pool without connecting; the first `conn` connects.
    pub fn new(cfg: &DbConfig) -> Result<Db, DbError> {
        let standby = cfg.read.as_ref().map(|_| crate::replicas::watch(cfg.pg.clone()));
        let read = match &cfg.read {
            Some(read) => Some(pool(read, cfg.pool_size)?),
            None => None,
        };
        let now = Mutex::new((0, pool(&cfg.pg, cfg.pool_size)?, read));
        let cfg = DbConfig { pg: cfg.pg.clone(), pool_size: cfg.pool_size, read: cfg.read.clone() };
        Ok(Db { inner: Arc::new(Pools { cfg, standby, now }) })
    }

    /// The standby watcher's state (replicated PostgreSQL only).
    pub fn standby(&self) -> Option<&StandbyState> {
        self.inner.standby.as_ref()
    }

    /// The current pools, rebuilt first if the primary changed since.
    fn pools(&self) -> (r2d2::Pool<Manager>, Option<r2d2::Pool<Manager>>) {
        let mut now = self.inner.now.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = &self.inner.standby {
            let g = state.generation();
            if g != now.0 {
                let cfg = &self.inner.cfg;
                // Only the primary's: the standby's connections are the ones
                // that still work while the standby is being promoted.
                if let Ok(p) = pool(&cfg.pg, cfg.pool_size) {
                    now.1 = p;
                }
                now.0 = g;
            }
        }
        (now.1.clone(), now.2.clone())
    }

    /// Runs a read the standby may serve (see [`crate::replicas`]); if the
    /// node it ran on went away under it (a failover), runs it once more on
    /// the other node. Reads have no effect, so the repeat is always safe.
    pub fn read<T>(
        &self,
        ctx: &proto::CallContext<'_>,
        mut f: impl FnMut(&mut Conn) -> Result<T, DbError>,
    ) -> Result<T, Status> {
        let prefer_standby = self.inner.standby.as_ref().is_some_and(|s| s.usable());
        let mut conn = self.read_conn(ctx, prefer_standby)?;
        match f(&mut conn) {
            Err(e) if self.inner.standby.is_some() && e.is_connection_lost() => {
                drop(conn);
                log::warn!(target: "db", "read: {e}; once more on the other node");
                let mut conn = self.read_conn(ctx, !prefer_standby)?;
                f(&mut conn).map_err(|e| e.to_status())
            }
            r => r.map_err(|e| e.to_status()),
        }
    }

    /// A connection for a read the standby may serve (see [`crate::replicas`]):
    /// the standby while it is synchronous and caught up (or the primary is
    /// away), else the primary, and whichever answers when the other does not.
    pub fn read_conn_for(&self, ctx: &proto::CallContext<'_>) -> Result<Conn, Status> {
        self.read_conn(ctx, self.inner.standby.as_ref().is_some_and(|s| s.usable()))
    }

    fn read_conn(&self, ctx: &proto::CallContext<'_>, prefer_standby: bool) -> Result<Conn, Status> {
        let (primary, standby) = self.pools();
        let Some(standby) = standby else { return self.conn_for(ctx) };
        let wait = ctx.remaining(POOL_WAIT) / 2;
        let (first, second) = if prefer_standby { (&standby, &primary) } else { (&primary, &standby) };
        match first.get_timeout(wait.max(Duration::from_millis(1))) {
            Ok(c) => Ok(c),
            Err(e) => {
                log::warn!(target: "db", "read pool: {e}; trying the other node");
                second
                    .get_timeout(ctx.remaining(POOL_WAIT).max(Duration::from_millis(1)))
                    .map_err(|e| DbError::from(e).to_status())
            }
        }
    }

    /// A connection, waiting at most `wait` for one to be free. A zero wait
    /// still tries once, so a caller out of time fails fast but fairly.
    pub fn conn(&self, wait: Duration) -> Result<Conn, DbError> {
        Ok(self.pools().0.get_timeout(wait.max(Duration::from_millis(1)))?)
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
        assert!(c.read.is_none());
        let c = DbConfig::new("postgresql://u:pw@h1:1,h2:2/db?target_session_attrs=read-write", None, "x").unwrap();
        assert_eq!(c.describe(), "h1:1,h2:2/db");
        assert!(c.read.is_some());
        assert!(c.pg.get_options().unwrap().contains("synchronous_commit=remote_apply"));
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

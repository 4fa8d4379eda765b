//! The PostgreSQL connection pool and the schema.
//!
//! Every service process keeps a small r2d2 pool (8 connections unless
//! `STACKWIRE_DB_POOL_SIZE` says otherwise). Connections open lazily and idle
//! ones are closed after a minute, because test clusters run many service
//! processes against one server and PostgreSQL allows only ~100 connections.
//! Each connection gets a `statement_timeout`, so a stuck query releases its
//! worker thread instead of holding it for good, and no parallel query
//! ([`SESSION_OPTIONS`]).
//!
//! Migrations are applied at start by whichever service process gets there
//! first. All six processes of a cluster may start at once, so each runs the
//! migrations inside one transaction that first takes a transaction-scoped
//! advisory lock: the others queue on the lock and then find every version
//! already recorded in `schema_migrations`. A migration is never edited once
//! released; a change is a new version appended to [`MIGRATIONS`] (in
//! [`crate::infra::migrations`]).
//!
//! Database errors become RPC statuses here ([`DbError::to_status`]) so the
//! mapping is the same in every service: the database being away is
//! UNAVAILABLE (retry elsewhere, later), a statement timeout is
//! DEADLINE_EXCEEDED, anything else INTERNAL with the detail only in the log.

use crate::infra::replicas::StandbyState;
use postgres::config::TargetSessionAttrs;
use postgres::error::SqlState;
use proto::{Code, Status};
use r2d2::PooledConnection;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::infra::migrations::MIGRATIONS;
pub use crate::infra::sql::Manager;

/// A pooled connection; statements run on it are prepared once ([`crate::infra::sql`]).
pub type Conn = PooledConnection<Manager>;

/// Arbitrary but fixed: every stackwire process migrating takes this lock.
const MIGRATION_LOCK: i64 = 0x0053_746b_7769_7265; // "Stkwire"

pub const DEFAULT_POOL_SIZE: u32 = 8;
/// What every session of ours sets at connect, after the URL's own options:
/// the statement timeout, no parallel query, no JIT, and one plan per
/// prepared statement. A request's statements read a page; starting
/// parallel workers for one costs milliseconds (and on a small machine takes
/// the cores other requests are waiting for), and so does compiling it. The
/// planner chose workers where it overestimated the rows: at 1M questions a
/// search for a word of twenty matches (estimated 5,000) went parallel and
/// ran at a quarter of its rate on a small site. Left to choose between a
/// plan for the statement and one per call, PostgreSQL planned that search
/// afresh on every call (a third of its time at 1M questions), because the
/// statement's own plan was costed above the JIT threshold and so looked
/// dearer; it is the same plan. Every statement is written so that its
/// statement-wide plan is its good one (ranges of indexes, the parameters in
/// index conditions), which tests/tests/scale.rs checks on the plans the
/// services really run.
const SESSION_OPTIONS: &str =
    "-c statement_timeout=10000 -c max_parallel_workers_per_gather=0 -c jit=off -c plan_cache_mode=force_generic_plan";
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
    #[error("database: {}", detail(.0))]
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

    /// True when a standby cancelled the statement because replaying the
    /// primary's changes needed what it was reading (40001 there): the same
    /// read on another node, or again, succeeds.
    pub fn is_recovery_conflict(&self) -> bool {
        self.sql_state() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
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

/// What went wrong, for the log: the server's SQLSTATE and message, or the
/// I/O error beneath (the error's own text is only "db error" or "error
/// communicating with the server").
fn detail(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
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
    /// the standby (see [`crate::infra::replicas`]).
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
            Some(o) if !o.trim().is_empty() => format!("{o} {SESSION_OPTIONS}"),
            _ => SESSION_OPTIONS.to_string(),
        };
        pg.options(&options);
        pg.notice_callback(crate::infra::replicas::on_notice);
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
    now: Mutex<Current>,
}

/// The pools in use. Each is replaced by a fresh one (its connections
/// dropped) when one of its connections was found dead (its siblings went
/// to the same node, and would fail the same way one caller after another),
/// and the primary's also after a failover (see [`Db::pool`]).
struct Current {
    /// The watcher's generation the pools were built for.
    generation: u64,
    /// Counts rebuilds, so that several callers who saw the same dead
    /// connection rebuild its pool once.
    serial: u64,
    primary: (u64, r2d2::Pool<Manager>),
    standby: Option<(u64, r2d2::Pool<Manager>)>,
}

/// The two pools of a replicated database, by the node each reaches.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    /// Whichever node accepts writes (`target_session_attrs=read-write`).
    Primary,
    /// Whichever node is read-only (`target_session_attrs=read-only`).
    Standby,
}

impl Role {
    fn other(self) -> Role {
        match self {
            Role::Primary => Role::Standby,
            Role::Standby => Role::Primary,
        }
    }
}

/// The longest a read keeps trying nodes when the caller allows more (the
/// webui gives 5 s): the standby answers at once when the primary dies, a
/// promotion's few seconds fit, and a caller that tries another instance of
/// ours on UNAVAILABLE still has time left for it.
pub const READ_BUDGET: Duration = Duration::from_secs(3);
/// Per try, the longest a read waits for a connection from one node's pool
/// before it tries the other node: r2d2 waits out the whole timeout when the
/// node is down (it retries the connect meanwhile), so this is what a
/// dead node costs a read.
const TRY_WAIT: Duration = Duration::from_millis(500);
/// Pause before the first retry, doubled each time up to [`MAX_PAUSE`]: a
/// node that just died usually has a live sibling at once, and one being
/// promoted needs a few hundred milliseconds.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(400);

fn pool(pg: &postgres::Config, size: u32) -> Result<r2d2::Pool<Manager>, DbError> {
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .idle_timeout(Some(Duration::from_secs(60)))
        .connection_timeout(CONNECT_TIMEOUT)
        .error_handler(Box::new(LogConnectErrors))
        .build(Manager::new(pg.clone()))?)
}

/// r2d2's own log line says only "error connecting to server"; ours says
/// why (refused, or the node is not in the role asked for).
#[derive(Debug)]
struct LogConnectErrors;

impl r2d2::HandleError<postgres::Error> for LogConnectErrors {
    fn handle_error(&self, e: postgres::Error) {
        log::warn!(target: "db", "connecting: {}", detail(&e));
    }
}

impl Db {
    /// Builds the pool without connecting; the first `conn` connects.
    pub fn new(cfg: &DbConfig) -> Result<Db, DbError> {
        let standby = cfg.read.as_ref().map(|_| crate::infra::replicas::watch(cfg.pg.clone()));
        let read = match &cfg.read {
            Some(read) => Some((0, pool(read, cfg.pool_size)?)),
            None => None,
        };
        let now = Mutex::new(Current {
            generation: 0,
            serial: 0,
            primary: (0, pool(&cfg.pg, cfg.pool_size)?),
            standby: read,
        });
        let cfg = DbConfig { pg: cfg.pg.clone(), pool_size: cfg.pool_size, read: cfg.read.clone() };
        Ok(Db { inner: Arc::new(Pools { cfg, standby, now }) })
    }

    /// The standby watcher's state (replicated PostgreSQL only).
    pub fn standby(&self) -> Option<&StandbyState> {
        self.inner.standby.as_ref()
    }

    /// The pool of `role` now and its serial number; the primary's is
    /// rebuilt first if the primary was lost or changed since. Not the
    /// standby's: its connections are the ones that still work while the
    /// standby is being promoted, and after (they are then to the new
    /// primary; a read there is as good, and [`Db::flush`] drops them when
    /// that node dies in turn). A single node has the primary's pool only.
    fn pool(&self, role: Role) -> (u64, r2d2::Pool<Manager>) {
        let mut now = self.inner.now.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = &self.inner.standby {
            let g = state.generation();
            if g != now.generation {
                now.generation = g;
                self.rebuild(&mut now, Role::Primary);
            }
        }
        match (role, &now.standby) {
            (Role::Standby, Some(standby)) => standby.clone(),
            _ => now.primary.clone(),
        }
    }

    /// Drops the pool of `role` for a fresh one, if it is still the one
    /// numbered `serial` (a connection of it was found dead).
    fn flush(&self, role: Role, serial: u64) {
        let mut now = self.inner.now.lock().unwrap_or_else(|e| e.into_inner());
        let current = match role {
            Role::Primary => Some(now.primary.0),
            Role::Standby => now.standby.as_ref().map(|p| p.0),
        };
        if current == Some(serial) {
            self.rebuild(&mut now, role);
        }
    }

    fn rebuild(&self, now: &mut Current, role: Role) {
        let cfg = &self.inner.cfg;
        let pg = match role {
            Role::Primary => &cfg.pg,
            Role::Standby => match &cfg.read {
                Some(read) => read,
                None => return,
            },
        };
        // Building connects nothing (min_idle 0), so it cannot fail but on a
        // bad size, which the first build would have refused already.
        if let Ok(p) = pool(pg, cfg.pool_size) {
            now.serial += 1;
            let fresh = (now.serial, p);
            match role {
                Role::Primary => now.primary = fresh,
                Role::Standby => now.standby = Some(fresh),
            }
        }
    }

    /// Runs a read the standby may serve (see [`crate::infra::replicas`]) on the
    /// standby while it is synchronous and caught up (or the primary is
    /// away), else on the primary. A read that fails because its node went
    /// away (the connection or the server died, or no connection came within
    /// [`TRY_WAIT`]) runs again on the other node, and back, after a short
    /// pause doubling each time, until it succeeds or the caller's deadline
    /// (at most [`READ_BUDGET`]) would pass. Reads have no effect, so
    /// repeating one is always safe. The one place reads are retried.
    pub fn read<T>(
        &self,
        ctx: &proto::CallContext<'_>,
        mut f: impl FnMut(&mut Conn) -> Result<T, DbError>,
    ) -> Result<T, Status> {
        let Some(standby) = &self.inner.standby else {
            let mut conn = self.conn_for(ctx)?;
            return f(&mut conn).map_err(|e| e.to_status());
        };
        let deadline = Instant::now() + ctx.remaining(READ_BUDGET);
        let mut role = if standby.usable() { Role::Standby } else { Role::Primary };
        let mut pause = FIRST_PAUSE;
        loop {
            let (serial, pool) = self.pool(role);
            let wait = deadline.saturating_duration_since(Instant::now()).min(TRY_WAIT);
            let e = match pool.get_timeout(wait.max(Duration::from_millis(1))).map_err(DbError::from) {
                Ok(mut conn) => match f(&mut conn) {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        if e.is_connection_lost() {
                            drop(conn);
                            self.flush(role, serial);
                        }
                        e
                    }
                },
                Err(e) => e,
            };
            if !e.is_connection_lost() && !e.is_recovery_conflict() {
                return Err(e.to_status());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left < pause + Duration::from_millis(5) {
                log::warn!(target: "db", "read on the {role:?} node: {e}; out of time");
                return Err(e.to_status());
            }
            log::warn!(target: "db", "read on the {role:?} node: {e}; again on the other node in {pause:?}");
            std::thread::sleep(pause);
            pause = (pause * 2).min(MAX_PAUSE);
            role = role.other();
        }
    }

    /// A connection, waiting at most `wait` for one to be free. A zero wait
    /// still tries once, so a caller out of time fails fast but fairly.
    pub fn conn(&self, wait: Duration) -> Result<Conn, DbError> {
        Ok(self.pool(Role::Primary).1.get_timeout(wait.max(Duration::from_millis(1)))?)
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
#[path = "../../tests/unit/infra/db.rs"]
mod tests;

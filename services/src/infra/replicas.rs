//! Reads on the standby, writes on the primary, and commits whose
//! replication is unknown, when PostgreSQL runs replicated (a primary and a
//! synchronous standby under Patroni; scripts/lib_pg_ha.sh).
//!
//! `STACKWIRE_DATABASE_URL` then names every node
//! (`postgresql://u:pw@h1:p1,h2:p2/db?target_session_attrs=read-write`): the
//! write pool connects to whichever node accepts writes now, so after a
//! failover its next connection finds the new primary by itself, and a
//! connection broken by the failover is dropped at its next checkout.
//!
//! **Reads** that the standby can serve (question pages, lists, search, tags,
//! a user's page) go to a second pool over the same hosts with
//! `target_session_attrs=read-only`, while a watcher thread (every
//! [`WATCH_EVERY`]) sees the standby as the primary's *synchronous* standby
//! with at most [`MAX_LAG_BYTES`] of WAL not yet replayed. Otherwise, or if
//! that pool fails, they go to the primary; and if the primary is away (a
//! failover in progress) they go to the standby whatever its lag: a page a
//! second old beats an error page.
//!
//! **Read-your-writes.** Stackwire's write connections ask for
//! `synchronous_commit = remote_apply` (the server's own setting is `on`):
//! a COMMIT returns only once the synchronous standby has *applied* it, so a
//! writer that reads the standby after its write's answer sees the write.
//! That is the LSN travelling with the write, carried by PostgreSQL itself.
//! The gap: when Patroni drops an unhealthy standby from the synchronous set,
//! commits stop waiting for it, and readers notice within one watch period.
//!
//! **Unreplicated commits.** A COMMIT whose wait for the standby was
//! cancelled returns success with a WARNING ("The transaction has already
//! committed locally, but might not have been replicated to the standby").
//! Such a write may vanish in a failover, so it is not an acknowledgement:
//! the notice is logged as an error and counted ([`unreplicated_commits`]),
//! and the call that made it answers UNAVAILABLE ([`take_unreplicated`]) so
//! the client repeats it with its Idempotency-Key.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the watcher looks at the standby.
pub const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Most WAL the synchronous standby may have left to replay and still serve reads.
pub const MAX_LAG_BYTES: i64 = 1 << 20;

static UNREPLICATED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the thread whose statement drew the warning (the sync client
    /// delivers notices on the thread that runs the statement).
    static SEEN: Cell<bool> = const { Cell::new(false) };
}

/// The notice callback of every connection.
pub fn on_notice(n: postgres::error::DbError) {
    let detail = n.detail().unwrap_or("");
    if detail.contains("committed locally") {
        UNREPLICATED.fetch_add(1, Ordering::Relaxed);
        SEEN.with(|s| s.set(true));
        log::error!(target: "db", "COMMIT acknowledged by the primary alone (not a success): {}: {detail}", n.message());
    } else {
        log::info!(target: "db", "{}: {}", n.severity(), n.message());
    }
}

/// True (once) when a statement on this thread drew the unreplicated-commit warning since the last call.
pub fn take_unreplicated() -> bool {
    SEEN.with(|s| s.replace(false))
}

/// What a call whose commit may not have been replicated answers.
pub fn unreplicated() -> proto::Status {
    proto::Status::new(
        proto::Code::Unavailable,
        "the write may not have reached the standby; repeat it with the same Idempotency-Key",
    )
}

/// Commits the server reported as possibly not replicated, since start.
pub fn unreplicated_commits() -> u64 {
    UNREPLICATED.load(Ordering::Relaxed)
}

/// Whether reads may go to the standby now, and how many times the primary
/// was lost or changed (a failover: pooled connections to the old one are
/// dead and the pools are rebuilt); kept by [`watch`].
#[derive(Clone, Default)]
pub struct StandbyState {
    usable: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
}

impl StandbyState {
    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

/// Starts the watcher thread: it asks the primary (over `primary`, which
/// finds whichever node accepts writes) how far its synchronous standby is
/// behind, and marks the standby usable while that is at most
/// [`MAX_LAG_BYTES`], or while the primary cannot be reached at all (then
/// the standby is the node that survives). Losing the primary, or finding
/// another node as the primary, bumps the generation. Needs `pg_monitor` for
/// the role (the scripts grant it); without it the standby is used only
/// while the primary is away.
pub fn watch(primary: postgres::Config) -> StandbyState {
    let state = StandbyState::default();
    let out = state.clone();
    let spawned = std::thread::Builder::new().name("standby-watch".into()).spawn(move || {
        // The connection, with the lag query prepared on it once (it runs four
        // times a second for as long as the process lives).
        let mut client: Option<(postgres::Client, postgres::Statement)> = None;
        let mut known: Option<String> = None;
        loop {
            if client.is_none() {
                client = primary.connect(postgres::NoTls).ok().and_then(|mut c| {
                    let lag = c.prepare(SYNC_STANDBY_LAG).ok()?;
                    Some((c, lag))
                });
                let id = client.as_mut().and_then(|(c, _)| identity(c).ok());
                if id.is_some() && known.is_some() && id != known {
                    state.generation.fetch_add(1, Ordering::Relaxed);
                    log::warn!(target: "db", "the primary is now {}: fresh connections", id.as_deref().unwrap_or("?"));
                }
                known = id.or(known);
            }
            let lag = client.as_mut().map(|(c, lag)| sync_standby_lag(c, lag));
            let usable = match lag {
                Some(Ok(lag)) => lag.is_some_and(|l| l <= MAX_LAG_BYTES),
                Some(Err(_)) | None => {
                    if client.take().is_some() {
                        state.generation.fetch_add(1, Ordering::Relaxed);
                        log::warn!(target: "db", "lost the primary: reads go to the standby, fresh connections");
                    }
                    true
                }
            };
            if state.usable.swap(usable, Ordering::Relaxed) != usable {
                log::info!(target: "db", "reads on the standby: {}", if usable { "yes" } else { "no (lag, or not synchronous)" });
            }
            std::thread::sleep(WATCH_EVERY);
        }
    });
    if let Err(e) = spawned {
        log::error!(target: "db", "cannot start the standby watcher ({e}); every read goes to the primary");
    }
    out
}

/// Which node answers as the primary (address and start time: a restarted node is a new one).
fn identity(c: &mut postgres::Client) -> Result<String, postgres::Error> {
    let row = c.query_one(
        "SELECT concat(inet_server_addr(), ':', inet_server_port(), ' ', pg_postmaster_start_time())",
        &[],
    )?;
    row.try_get(0)
}

/// Bytes of WAL the synchronous standby has not replayed; NULL without one.
const SYNC_STANDBY_LAG: &str = "SELECT min(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::bigint \
     FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'";

/// [`SYNC_STANDBY_LAG`], prepared on `c` as `lag`: the bytes, or None without a synchronous standby.
fn sync_standby_lag(c: &mut postgres::Client, lag: &postgres::Statement) -> Result<Option<i64>, postgres::Error> {
    c.query_one(lag, &[])?.try_get(0)
}

/// Wraps a service's handler so that a call whose write drew the
/// unreplicated-commit warning answers UNAVAILABLE instead of success.
pub struct ReplicatedWrites(pub Arc<dyn proto::Handler>);

impl proto::Handler for ReplicatedWrites {
    fn handle(&self, ctx: &proto::CallContext<'_>, payload: &[u8]) -> Result<Vec<u8>, proto::Status> {
        take_unreplicated();
        let out = self.0.handle(ctx, payload);
        if take_unreplicated() && out.is_ok() {
            return Err(unreplicated());
        }
        out
    }

    /// A call the service takes over is a cache hit, answered without a
    /// write, or handed to the pool, where [`Self::handle`] runs it.
    fn take_over(&self, later: proto::rpc_server::Later) -> Result<(), proto::rpc_server::Later> {
        self.0.take_over(later)
    }

    fn loop_work(&self) -> Option<Box<dyn proto::rpc_server::LoopWork>> {
        self.0.loop_work()
    }
}

/// The database lines of a service process's `/metrics` (its `--admin` address; see main.rs).
pub fn render_metrics(service: &str, standby: Option<&StandbyState>) -> String {
    let mut out = String::new();
    out.push_str("# HELP stackwire_db_unreplicated_commits_total COMMITs the server reported as committed locally but possibly not replicated (answered UNAVAILABLE).\n");
    out.push_str("# TYPE stackwire_db_unreplicated_commits_total counter\n");
    out.push_str(&format!(
        "stackwire_db_unreplicated_commits_total{{service=\"{service}\"}} {}\n",
        unreplicated_commits()
    ));
    if let Some(s) = standby {
        out.push_str("# HELP stackwire_db_standby_reads 1 while reads go to the synchronous standby.\n");
        out.push_str("# TYPE stackwire_db_standby_reads gauge\n");
        out.push_str(&format!("stackwire_db_standby_reads{{service=\"{service}\"}} {}\n", u8::from(s.usable())));
        out.push_str(
            "# HELP stackwire_db_primary_changes_total Times the primary was lost or another node became it.\n",
        );
        out.push_str("# TYPE stackwire_db_primary_changes_total counter\n");
        out.push_str(&format!("stackwire_db_primary_changes_total{{service=\"{service}\"}} {}\n", s.generation()));
    }
    super::group_commit::render_metrics(service, &mut out);
    out
}

//! What every service stands on: [`db`], the connection pool (and where a
//! read may run) and running the migrations; `migrations`, the schema as an
//! append-only list; [`group_commit`], writes that arrive together
//! written together; [`replicas`], reads on the standby and commits whose
//! replication is unknown; `sql`, statements prepared once per connection.

pub mod db;
pub mod group_commit;
pub(crate) mod migrations;
pub mod replicas;
pub(crate) mod sql;

//! What every service stands on: [`db`], the connection pool (and where a
//! read may run) and running the migrations; `migrations`, the schema as an
//! append-only list; [`replicas`], reads on the standby and commits whose
//! replication is unknown; `sql`, statements prepared once per connection.

pub mod db;
pub(crate) mod migrations;
pub mod replicas;
pub(crate) mod sql;

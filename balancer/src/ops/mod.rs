//! What operators see and set: the command line with its environment
//! variables and TOML file (`config`), the admin port (`/metrics`, `/healthz`, `/status`), the metrics
//! themselves and the access log.

pub(crate) mod access_log;
pub(crate) mod admin;
pub(crate) mod config;
mod db_status;
pub(crate) mod metrics;
pub(crate) mod status;

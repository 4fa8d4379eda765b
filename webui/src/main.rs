//! `webui --listen ADDR`: serves stackwire's HTML pages over RPC until
//! SIGTERM or SIGINT. See `webui::server` for the life cycle.

use std::process::ExitCode;

fn main() -> ExitCode {
    proto::alloc::keep_freed_memory();
    // Before any thread starts, so that every thread inherits the blocked mask.
    let signals = proto::signals::block();
    proto::logger::init();
    // A mistake prints clap's message naming the flag and exits 2; --help
    // and --version print and exit 0.
    let args = webui::server::Args::parse_args(std::env::args_os().skip(1)).unwrap_or_else(|e| e.exit());
    match webui::server::run(&args, signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!(target: "webui", "{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

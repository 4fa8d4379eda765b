//! `webui --listen ADDR`: serves stackwire's HTML pages over RPC until
//! SIGTERM or SIGINT. See `webui::server` for the life cycle.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts, so that every thread inherits the blocked mask.
    let signals = proto::signals::block();
    proto::logger::init();
    let args = match webui::server::Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", webui::server::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("webui: {e}\n{}", webui::server::USAGE);
            return ExitCode::from(2);
        }
    };
    match webui::server::run(&args, signals) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!(target: "webui", "{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

//! The `tailgate` binary: parse the arguments, run the command, exit with its code.

use clap::Parser;

fn main() {
    // In the Docker action, the `command` input picks the subcommand.
    let args = tailgate::context::action_args(
        std::env::args_os().collect(),
        std::env::var("INPUT_COMMAND").ok(),
    );
    let cli = tailgate::cli::Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tailgate: could not start the async runtime: {err}");
            std::process::exit(tailgate::judge::verdict::exit::ERROR);
        }
    };
    let code = runtime.block_on(tailgate::cli::execute(cli));
    // Do not wait for detached tasks (idle keep-alive connections) at shutdown.
    runtime.shutdown_background();
    std::process::exit(code);
}

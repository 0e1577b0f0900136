//! The `tailgate` binary: parse the arguments, run the command, exit with its code.

use clap::Parser;

fn main() {
    let cli = tailgate::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tailgate: could not start the async runtime: {err}");
            std::process::exit(tailgate::verdict::exit::ERROR);
        }
    };
    let code = runtime.block_on(tailgate::cli::execute(cli));
    // Do not wait for detached tasks (idle keep-alive connections) at shutdown.
    runtime.shutdown_background();
    std::process::exit(code);
}

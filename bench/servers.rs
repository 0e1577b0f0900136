//! The test servers of `tests/servers` as a process, for `bench/accuracy.sh`.
//!
//! ```text
//! bench-servers stall PERIOD_MS STALL_MS BASE_MS
//! bench-servers delays FAST_MS SLOW_FRACTION SLOW_MIN_MS SLOW_MAX_MS
//! bench-servers ok
//! ```
//!
//! Prints `listening on http://127.0.0.1:PORT`, then reads commands on stdin:
//! `reset` forgets the service times recorded so far; `stats` prints
//! `server p50 P p99 P p99.9 P max P n N` (milliseconds, the server's own service
//! times, `delays` only). Exits when stdin closes.

#[expect(
    dead_code,
    unused_imports,
    reason = "the suite's shared servers; this binary serves only some of them"
)]
#[path = "../tests/servers/mod.rs"]
mod servers;

use std::io::BufRead as _;
use std::time::Duration;

use servers::{Behavior, Server};

fn usage() -> ! {
    eprintln!(
        "usage: bench-servers stall PERIOD_MS STALL_MS BASE_MS\n       bench-servers delays FAST_MS SLOW_FRACTION SLOW_MIN_MS SLOW_MAX_MS\n       bench-servers ok"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ms = |v: f64| Duration::from_secs_f64(v / 1000.0);
    let behavior = match args.first().map(String::as_str) {
        Some("stall") => Behavior::Stall {
            period: ms(arg(&args, 1)),
            stall: ms(arg(&args, 2)),
            base: ms(arg(&args, 3)),
        },
        Some("delays") => Behavior::Delays {
            fast: ms(arg(&args, 1)),
            slow_fraction: arg(&args, 2),
            slow: (ms(arg(&args, 3)), ms(arg(&args, 4))),
        },
        Some("ok") => Behavior::Ok,
        _ => usage(),
    };
    let server = Server::start(behavior);
    println!("listening on {}", server.base_url());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "reset" => {
                server.take_service_times();
                println!("reset");
            }
            "stats" => {
                let h = server.take_service_times();
                let q = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
                println!(
                    "server p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3} n {}",
                    q(0.5),
                    q(0.99),
                    q(0.999),
                    h.max() as f64 / 1000.0,
                    h.len()
                );
            }
            _ => println!("unknown command: {line}"),
        }
    }
}

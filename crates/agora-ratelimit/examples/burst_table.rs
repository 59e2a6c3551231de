//! Prints the burst-then-steady table of docs/RATE-LIMITING.md, computed with the real
//! in-process implementation: limit 10 per 10 s, 15 requests at t = 0, then 1 request per second.
//!
//! `cargo run -p agora-ratelimit --example burst_table [start-offset-seconds]`
//! (the offset moves t = 0 inside the aligned 10 s window; default 0 = at a window start).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agora_ratelimit::{Algorithm, Check, ManualClock, MemoryStore, Policy};

fn main() {
    let offset: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let seconds = 20;
    let mut columns = Vec::new();
    for alg in Algorithm::ALL {
        let clock = ManualClock::new(Duration::from_secs(1_000 + offset));
        let store = MemoryStore::new(clock.clone());
        let c = [Check::new(Policy::new("demo", alg, 10, Duration::from_secs(10)).unwrap(), "client")];
        let mut cells = Vec::new();
        let mut total = 0;
        let burst = (0..15).filter(|_| store.check_now(&c).allowed()).count();
        total += burst;
        cells.push(format!("{burst}/15"));
        for _ in 1..=seconds {
            clock.advance(Duration::from_secs(1));
            let o = store.check_now(&c);
            if o.allowed() {
                total += 1;
                cells.push(format!("✓ ({})", o.decisions[0].remaining));
            } else {
                let wait = o.decisions[0].retry_after.unwrap_or_default();
                cells.push(format!("✗ {:.1}s", wait.as_secs_f64()));
            }
        }
        cells.push(format!("**{total}**"));
        columns.push(cells);
    }
    println!("| t (s) | {} |", Algorithm::ALL.map(|a| a.as_str()).join(" | "));
    println!("|---|{}", "---|".repeat(Algorithm::ALL.len()));
    for row in 0..=seconds + 1 {
        let label = match row {
            0 => "0 (15 req)".to_owned(),
            r if r == seconds + 1 => "admitted".to_owned(),
            r => r.to_string(),
        };
        let cells: Vec<&str> = columns.iter().map(|c| c[row].as_str()).collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
}

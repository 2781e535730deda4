//! Instruction counts per operation, for `benches/instructions.sh`: runs one
//! workload of `common` (the same code the criterion suite times) under
//! `valgrind --tool=callgrind`, which counts only inside `measure_ops`.
//!
//! `instructions <function> <n>`: builds the workload, warms it up, then
//! calls `measure_ops` twice, with 0 and with `n` runs; the script takes the
//! difference of the two dumps and divides by `n`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{FUNCTIONS, Fixtures, Op};

/// The only function callgrind counts in (`--toggle-collect`), dumped after
/// each call (`--dump-after`).
#[inline(never)]
fn measure_ops(op: &mut dyn Op, n: u64) {
    for _ in 0..n {
        op.run();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(name), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: instructions <function> <n>; functions: {FUNCTIONS:?}");
        std::process::exit(2);
    };
    let mut fixtures = Fixtures::default();
    let mut op = fixtures.warmed(name, n);
    measure_ops(&mut *op, 0);
    measure_ops(&mut *op, n);
}

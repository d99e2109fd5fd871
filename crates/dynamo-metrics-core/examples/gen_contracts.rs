//! Writes the TS contracts file from the core (see `dynamo_metrics_core::contracts`):
//! `cargo run -p dynamo-metrics-core --example gen_contracts`
use std::path::Path;

use dynamo_metrics_core::contracts;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(contracts::GENERATED_PATH);
    std::fs::write(&path, contracts::typescript()).expect("write the generated contracts");
    println!("wrote {}", path.display());
}

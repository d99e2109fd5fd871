//! The generated TS contracts file must be what the core generates now.
use std::path::Path;

use dynamo_metrics_core::contracts;

#[test]
fn the_generated_ts_contracts_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(contracts::GENERATED_PATH);
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == contracts::typescript(),
        "{} is stale: run `cargo run -p dynamo-metrics-core --example gen_contracts`",
        contracts::GENERATED_PATH
    );
}

//! What a scrape encodes: the slab values it copied, and how far the series table reached when
//! it copied them. The encoder reads the table later (the streaming render locks it per chunk
//! only), when a series may have been removed and its slot taken by a new series: the copied
//! value at that slot is the old series'. So a snapshot notes, per family, how many series the
//! family had ever been given, and the encoder renders only the series born before it; the
//! others show in the next scrape. Nothing is added per series: a family's series only grow
//! (a removed one keeps its place), and a reset counts the series it drops.

use crate::series::{Family, Registry};

/// The slab values of one scrape and the series they cover.
pub struct Snapshot {
    /// Slot values, copied from the slabs.
    pub values: Vec<f64>,
    /// Per family id: the series it had ever been given when `values` was copied.
    born: Vec<u64>,
}

impl Snapshot {
    /// A snapshot of `values`, which must have been copied while `registry` was held as it is
    /// now (no series added or removed in between): the series it has cover them.
    pub fn new(registry: &Registry, values: Vec<f64>) -> Snapshot {
        Snapshot {
            values,
            born: registry.families().iter().map(Family::born).collect(),
        }
    }

    /// How many of family `id`'s series (`f`, as the table holds it now) the values cover: the
    /// ones before that index were born before the snapshot. A family created since, or reset
    /// since, has none covered.
    pub fn series_end(&self, id: u32, f: &Family) -> usize {
        let born = self.born.get(id as usize).copied().unwrap_or(0);
        born.saturating_sub(f.dropped()).min(f.series_len() as u64) as usize
    }
}

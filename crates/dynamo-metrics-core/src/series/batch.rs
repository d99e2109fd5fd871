//! Decoding of a series batch: the JS side creates series without a call per series and
//! registers them in batches (see `src-ts` pending series).

use super::registry::Registry;
use crate::error::{ErrorKind, MetricsError, Result};

impl Registry {
    /// Adds the series of a batch: `ints` holds, per series, its family, its slot (from
    /// [`Registry::reserve_slots`]) and the UTF-8 byte length of each label value (as many as the
    /// family has label names); `bytes` holds the values back to back. Lengths, not separators,
    /// so a value may contain any character. A malformed batch is an error, never a panic; the
    /// series before the bad record stay added.
    pub fn add_series_batch(&mut self, ints: &[u32], bytes: &[u8]) -> Result<()> {
        let bad = |what: &str| {
            MetricsError::new(
                ErrorKind::InvalidLabel,
                format!("malformed series batch: {what}"),
            )
        };
        // One validation for the whole batch (cheaper than one per value); a value is then a slice
        // of it, whose ends must be char boundaries (checked by `get`).
        let text = std::str::from_utf8(bytes).map_err(|_| bad("the values are not UTF-8"))?;
        let (mut i, mut at) = (0, 0);
        let mut set: Vec<&str> = Vec::new();
        while i < ints.len() {
            let (Some(&family), Some(&slot)) = (ints.get(i), ints.get(i + 1)) else {
                return Err(bad("a record is cut short"));
            };
            let n = self.family(family)?.label_names.len();
            let lens = ints
                .get(i + 2..i + 2 + n)
                .ok_or_else(|| bad("a record is cut short"))?;
            set.clear();
            for &len in lens {
                let end = at + len as usize;
                if end > text.len() {
                    return Err(bad("a value runs past the bytes"));
                }
                let value = text
                    .get(at..end)
                    .ok_or_else(|| bad("a value does not end on a character boundary"))?;
                set.push(value);
                at = end;
            }
            self.add_series_at(family, slot, &set)?;
            i += 2 + n;
        }
        if at != bytes.len() {
            return Err(bad("bytes left over after the last record"));
        }
        Ok(())
    }
}

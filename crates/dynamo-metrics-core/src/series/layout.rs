//! Where a series' values sit in its slot range, per metric kind. JS writes these slots and Rust
//! reads them; both take the offsets from here (each family's [`SlotLayout`] goes to JS with the
//! family), so neither side computes them on its own.
//!
//! A label-less counter has an integer lane: slot 0 holds `incBy` amounts (f64), slot 1 a u64
//! that `inc()` adds 1 to as two u32 halves. Repeated float adds to one slot wait on each other's
//! result; integer adds do not, so the most common call, `inc()` on one hot counter, stays cheap.
//! Vec series keep one slot: less memory, and their writes spread over many slots anyway.

use super::family::MetricKind;

/// The offsets of one family's series, from its first slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    /// Slots per series.
    pub width: u32,
    /// The u64 integer lane of a label-less counter.
    pub int_lane: Option<u32>,
    /// A histogram's first bucket count: one count per bound, then `+Inf`. The count of
    /// observations is not stored: it is the sum of the bucket counts.
    pub buckets: Option<u32>,
    /// A histogram's sum of observed values, after the `+Inf` count.
    pub sum: Option<u32>,
    /// A Vec with idle-series expiry: the slot JS sets to 1 on every write and the expiry sweep
    /// clears (see [`super::expiry`]); never rendered.
    pub touched: Option<u32>,
}

impl SlotLayout {
    /// The layout of a family of `kind` with `bounds` histogram bounds; `labelled` for a Vec.
    pub fn of(kind: MetricKind, labelled: bool, bounds: usize) -> SlotLayout {
        let counter = matches!(kind, MetricKind::Counter | MetricKind::IntCounter);
        match kind {
            MetricKind::Histogram => {
                let bounds = bounds as u32;
                SlotLayout {
                    width: bounds + 2,
                    int_lane: None,
                    buckets: Some(0),
                    sum: Some(bounds + 1),
                    touched: None,
                }
            }
            _ if counter && !labelled => SlotLayout {
                width: 2,
                int_lane: Some(1),
                buckets: None,
                sum: None,
                touched: None,
            },
            _ => SlotLayout {
                width: 1,
                int_lane: None,
                buckets: None,
                sum: None,
                touched: None,
            },
        }
    }

    /// The same layout with a touched mark after the values (one more slot per series).
    pub fn with_touched(self) -> SlotLayout {
        SlotLayout {
            width: self.width + 1,
            touched: Some(self.width),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_per_kind() {
        let h = SlotLayout::of(MetricKind::Histogram, true, 3);
        assert_eq!(
            (h.width, h.buckets, h.sum, h.int_lane),
            (5, Some(0), Some(4), None)
        );
        let c = SlotLayout::of(MetricKind::IntCounter, false, 0);
        assert_eq!((c.width, c.int_lane), (2, Some(1)));
        let v = SlotLayout::of(MetricKind::Counter, true, 0);
        assert_eq!((v.width, v.int_lane), (1, None));
        let g = SlotLayout::of(MetricKind::Gauge, false, 0);
        assert_eq!((g.width, g.int_lane, g.sum), (1, None, None));
        let t = SlotLayout::of(MetricKind::Histogram, true, 3).with_touched();
        assert_eq!((t.width, t.sum, t.touched), (6, Some(4), Some(5)));
    }
}

//! Views of the JS-allocated `Float64Array` slabs that hold every JS-side metric value.
//!
//! JS writes the slabs without crossing N-API; Rust only reads them. A read on the JS thread
//! (inside `commit_snapshot`) is consistent because JS is not running; a read from another thread
//! (the fallback when the JS thread misses the scrape deadline) may see a histogram mid-update,
//! which is acceptable for a scrape and never unsafe for aligned 8-byte words.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

#[derive(Clone, Copy)]
struct RawSlab {
    ptr: usize,
    len: usize,
}

/// The slab table. Index `i` covers slots `i * slab_size .. (i + 1) * slab_size`.
pub struct Slabs {
    slab_size: usize,
    slabs: RwLock<Vec<Option<RawSlab>>>,
}

impl Slabs {
    /// An empty table of slabs of `slab_size` slots.
    pub fn new(slab_size: usize) -> Self {
        Slabs {
            slab_size,
            slabs: RwLock::new(Vec::new()),
        }
    }

    /// Slots per slab.
    pub fn slab_size(&self) -> usize {
        self.slab_size
    }

    /// Records where slab `index` lives.
    ///
    /// # Safety
    /// `ptr` must point to `len` 8-byte-aligned f64 values that stay allocated and in place until
    /// [`Slabs::detach_all`] returns (the binding holds a reference to the typed array until then).
    /// Slabs are attached in order (index = number attached so far); anything else is refused,
    /// so a bad index can never make the table allocate without bound. A slab shorter than
    /// `slab_size` is refused too: slots are addressed as if every slab were full.
    pub unsafe fn attach(&self, index: usize, ptr: *const f64, len: usize) -> crate::Result<()> {
        if len < self.slab_size {
            return Err(crate::MetricsError::new(
                crate::ErrorKind::InvalidValue,
                format!("slab {index} has {len} slots, expected {}", self.slab_size),
            ));
        }
        let mut slabs = self.slabs.write().unwrap_or_else(|e| e.into_inner());
        if index > slabs.len() {
            return Err(crate::MetricsError::new(
                crate::ErrorKind::InvalidValue,
                format!(
                    "slab {index} attached out of order ({} attached so far)",
                    slabs.len()
                ),
            ));
        }
        let raw = Some(RawSlab {
            ptr: ptr as usize,
            len: self.slab_size,
        });
        match slabs.get_mut(index) {
            Some(slot) => *slot = raw,
            None => slabs.push(raw),
        }
        Ok(())
    }

    /// Forgets every slab; afterwards copies read zeros. Call before the typed arrays are released.
    pub fn detach_all(&self) {
        self.slabs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Copies slots `0..used` into `out` (resized to `used`); slots of unattached slabs read 0.
    pub fn copy_into(&self, used: usize, out: &mut Vec<f64>) {
        out.clear();
        out.resize(used, 0.0);
        let slabs = self.slabs.read().unwrap_or_else(|e| e.into_inner());
        for (i, slab) in slabs.iter().enumerate() {
            let Some(slab) = slab else { continue };
            let start = i * self.slab_size;
            if start >= used {
                break;
            }
            let n = slab.len.min(used - start);
            let dst = &mut out[start..start + n];
            // SAFETY: attach()'s contract keeps `ptr..ptr+len` valid while it is in the table, and
            // we hold the read lock so detach_all cannot run concurrently. Relaxed atomic loads make
            // the concurrent-writer case (the off-thread fallback) a defined read of whole words.
            let words = slab.ptr as *const AtomicU64;
            for (j, d) in dst.iter_mut().enumerate() {
                *d = f64::from_bits(unsafe { (*words.add(j)).load(Ordering::Relaxed) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slabs_attach_in_order_and_copy_what_is_attached() {
        let slabs = Slabs::new(4);
        let a = [1.0f64, 2.0, 3.0, 4.0];
        let b = [5.0f64, 6.0, 7.0, 8.0];
        // SAFETY: the arrays outlive `slabs` in this test.
        unsafe {
            assert!(slabs.attach(1, b.as_ptr(), 4).is_err(), "out of order");
            assert!(
                slabs.attach(0, a.as_ptr(), 3).is_err(),
                "shorter than a slab"
            );
            slabs.attach(0, a.as_ptr(), 4).unwrap();
            slabs.attach(1, b.as_ptr(), 4).unwrap();
            assert!(slabs.attach(usize::MAX, a.as_ptr(), 4).is_err());
        }
        let mut out = Vec::new();
        slabs.copy_into(6, &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        slabs.detach_all();
        slabs.copy_into(3, &mut out);
        assert_eq!(out, vec![0.0; 3]);
    }
}

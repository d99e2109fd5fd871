//! The slot allocator: hands out slot ranges of the JS slabs and takes them back.

use crate::error::{ErrorKind, MetricsError, Result};

/// Hands out slot ranges in slabs of `slab_size` f64; a range never straddles two slabs.
pub struct SlotAllocator {
    slab_size: u32,
    /// Slots ever handed out.
    pub(crate) next: u32,
    /// Freed first slots by series width (few distinct widths: 1, and buckets + 2).
    free: Vec<(u32, Vec<u32>)>,
}

impl SlotAllocator {
    /// A range of `width` slots.
    pub fn alloc(&mut self, width: u32) -> Result<u32> {
        if width > self.slab_size {
            return Err(MetricsError::new(
                ErrorKind::InvalidBuckets,
                format!(
                    "a series needs {width} slots but a slab holds {}; use fewer buckets",
                    self.slab_size
                ),
            ));
        }
        if let Some(slot) = self
            .free
            .iter_mut()
            .find(|(w, _)| *w == width)
            .and_then(|(_, v)| v.pop())
        {
            return Ok(slot);
        }
        let off = self.next % self.slab_size;
        if off + width > self.slab_size {
            self.next += self.slab_size - off;
        }
        let slot = self.next;
        self.next += width;
        Ok(slot)
    }

    /// Takes back the range at `slot` for reuse by a series of the same width.
    pub fn release(&mut self, slot: u32, width: u32) {
        match self.free.iter_mut().find(|(w, _)| *w == width) {
            Some((_, v)) => v.push(slot),
            None => self.free.push((width, vec![slot])),
        }
    }
}

impl SlotAllocator {
    /// An allocator for slabs of `slab_size` slots.
    pub fn new(slab_size: u32) -> SlotAllocator {
        SlotAllocator {
            slab_size,
            next: 0,
            free: Vec::new(),
        }
    }
}

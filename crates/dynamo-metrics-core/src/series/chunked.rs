//! Growable storage in fixed-size chunks for the per-series tables. A `Vec` that doubles copies
//! itself and leaves the old buffer with the allocator (glibc keeps most of it resident), so a
//! table of 100k series cost about twice its size; chunks after the first are allocated once at
//! their final size and never move. The first chunk grows like a `Vec` up to that size, so the
//! many families with a handful of series stay small.

/// Elements per chunk of a [`Chunked`].
const CHUNK: usize = 4096;

/// A list of `T` stored in chunks of `CHUNK` elements.
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T: Copy> Chunked<T> {
    /// An empty list.
    pub const fn new() -> Chunked<T> {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `v`.
    pub fn push(&mut self, v: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(if self.chunks.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(CHUNK)
            });
        }
        self.chunks[self.len / CHUNK].push(v);
        self.len += 1;
    }

    /// Element `i`.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// Element `i`, to change.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    /// Sets element `i`, first growing the list with `fill` up to it.
    pub fn set_growing(&mut self, i: usize, v: T, fill: T) {
        while self.len <= i {
            self.push(fill);
        }
        if let Some(slot) = self.get_mut(i) {
            *slot = v;
        }
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

impl<T: Copy> Default for Chunked<T> {
    fn default() -> Self {
        Chunked::new()
    }
}

/// Bytes per chunk of a [`ByteArena`]; an offset is `chunk << 16 | offset in chunk`.
const ARENA_CHUNK: usize = 1 << 16;

/// Byte records that never straddle two chunks. A record longer than a chunk gets a chunk of
/// its own, so any record fits; offsets address up to 65,536 chunks (4 GiB).
#[derive(Default)]
pub struct ByteArena {
    chunks: Vec<Vec<u8>>,
}

impl ByteArena {
    /// Stores `record`; returns its offset.
    pub fn add(&mut self, record: &[u8]) -> u32 {
        // A record starts below 64 KiB in its chunk; the first chunk may grow to hold it.
        let fits = self.chunks.last().is_some_and(|c| {
            c.len() < ARENA_CHUNK && c.len() + record.len() <= c.capacity().max(ARENA_CHUNK)
        });
        if !fits {
            let first = self.chunks.is_empty();
            self.chunks.push(Vec::with_capacity(if first {
                record.len()
            } else {
                ARENA_CHUNK.max(record.len())
            }));
        }
        let chunk = self.chunks.len() - 1;
        let c = &mut self.chunks[chunk];
        let off = c.len();
        c.extend_from_slice(record);
        ((chunk as u32) << 16) | off as u32
    }

    /// The bytes from the record at `at` to the end of its chunk (records carry their lengths).
    pub fn from(&self, at: u32) -> &[u8] {
        let c = &self.chunks[(at >> 16) as usize];
        &c[(at & 0xffff) as usize..]
    }

    /// Removes every record.
    pub fn clear(&mut self) {
        self.chunks.clear();
    }
}

/// Appends `n` as LEB128 (one byte below 128: the usual label value length).
pub fn write_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 number at the start of `b`; returns it and the bytes it took.
pub fn read_varint(b: &[u8]) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    for (i, &byte) in b.iter().enumerate() {
        n |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return (n, i + 1);
        }
        shift += 7;
    }
    (n, b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_keeps_order_across_chunks_and_grows_on_set() {
        let mut c = Chunked::new();
        for i in 0..(CHUNK * 2 + 5) {
            c.push(i as u32);
        }
        assert_eq!(c.len(), CHUNK * 2 + 5);
        assert_eq!(c.get(CHUNK), Some(&(CHUNK as u32)));
        assert!(c.iter().copied().eq(0..(CHUNK * 2 + 5) as u32));
        c.set_growing(CHUNK * 3, 7, u32::MAX);
        assert_eq!(c.get(CHUNK * 3), Some(&7));
        assert_eq!(c.get(CHUNK * 3 - 1), Some(&u32::MAX));
        assert_eq!(c.get(CHUNK * 3 + 1), None);
    }

    #[test]
    fn arena_records_never_straddle_and_big_ones_fit() {
        let mut a = ByteArena::default();
        let small = vec![1u8; 40_000];
        let big = vec![2u8; 200_000];
        let o1 = a.add(&small);
        let o2 = a.add(&small); // does not fit the rest of chunk 0
        let o3 = a.add(&big);
        let o4 = a.add(b"xy");
        assert_eq!(o1, 0);
        assert_eq!(o2 >> 16, 1);
        assert_eq!(&a.from(o2)[..40_000], &small[..]);
        assert_eq!(&a.from(o3)[..200_000], &big[..]);
        assert_eq!(&a.from(o4)[..2], b"xy");
    }

    #[test]
    fn a_few_entries_take_little_memory() {
        let mut c = Chunked::new();
        c.push(1u64);
        assert!(c.chunks[0].capacity() < 16);
        let mut a = ByteArena::default();
        a.add(b"abc");
        a.add(b"defg");
        assert!(a.chunks.len() == 1 && a.chunks[0].capacity() < 64);
        assert_eq!(&a.from(3)[..4], b"defg");
    }

    #[test]
    fn varints_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 65_535, 1 << 30] {
            let mut b = Vec::new();
            write_varint(&mut b, n);
            assert_eq!(read_varint(&b), (n, b.len()));
        }
    }
}

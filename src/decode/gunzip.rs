//! Decompression on a thread of its own, so that inflating a large profile
//! and decoding it overlap. The thread fills blocks of a fixed size and sends
//! them over a bounded channel. The decoder reads them through [`Blocks`] and
//! hands each one back once it has consumed it. At most [`BLOCKS`] blocks
//! exist, so memory stays bounded however far the thread could run ahead.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, RecvError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use flate2::bufread::MultiGzDecoder;

/// Size of one block of decompressed data.
const BLOCK_BYTES: usize = 256 << 10;

/// Blocks in existence at once: one being decoded, the rest filled or being
/// filled.
const BLOCKS: usize = 4;

/// Compressed inputs at least this large are inflated on a thread of their
/// own when the machine has a spare core. For smaller ones, starting the
/// thread costs more than it saves.
pub(super) const THREAD_MIN_BYTES: u64 = 256 << 10;

/// How long a thread waiting for a block yields its core before it sleeps.
/// A block takes about a quarter of a millisecond to fill or decode, and
/// waking a sleeping thread can take as long on a virtual machine. On one
/// with 2 virtual cores, sleeping at once made reading a 15 MB profile take
/// 31 ms instead of 16 ms in about half of the runs.
const YIELD_BEFORE_SLEEP: Duration = Duration::from_millis(2);

/// Waits for a message, yielding the core to other threads while the wait
/// is short and sleeping once it is not.
fn receive<T>(receiver: &Receiver<T>) -> Result<T, RecvError> {
    let mut started = None;
    loop {
        match receiver.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
            Err(TryRecvError::Empty) => {}
        }
        let started = *started.get_or_insert_with(Instant::now);
        if started.elapsed() > YIELD_BEFORE_SLEEP {
            return receiver.recv();
        }
        std::thread::yield_now();
    }
}

/// A message from the inflating thread.
enum Message {
    /// A block and the number of bytes filled, never 0.
    Data(Vec<u8>, usize),
    End,
    Failed(io::Error),
}

/// Returns true when a gzip input of `compressed` bytes is worth a thread.
pub(super) fn worth_a_thread(compressed: u64) -> bool {
    compressed >= THREAD_MIN_BYTES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Runs `decode` on the decompressed contents of the gzip `input`, which are
/// inflated on another thread meanwhile.
pub(super) fn on_thread<R, T>(input: R, decode: impl FnOnce(&mut Blocks) -> T) -> T
where
    R: BufRead + Send,
{
    let (full_sender, full) = sync_channel(BLOCKS);
    // With room for every block that exists, handing one back never waits.
    let (empty, empty_receiver) = sync_channel(BLOCKS);
    std::thread::scope(|scope| {
        scope.spawn(move || inflate(input, &full_sender, &empty_receiver));
        // `blocks` is dropped when `decode` returns, even early on an error;
        // the thread then finds its channels closed and ends, and the scope
        // joins it.
        let mut blocks = Blocks {
            current: Vec::new(),
            filled: 0,
            pos: 0,
            full,
            empty,
            done: false,
        };
        decode(&mut blocks)
    })
}

/// Fills blocks with decompressed data and sends them, taking spent ones
/// back, until the end of the data, an error, or the decoder stops.
fn inflate<R: BufRead>(input: R, full: &SyncSender<Message>, empty: &Receiver<Vec<u8>>) {
    let mut gz = MultiGzDecoder::new(input);
    let mut made = 0;
    loop {
        let mut block = if made < BLOCKS {
            made += 1;
            vec![0; BLOCK_BYTES]
        } else {
            match receive(empty) {
                Ok(block) => block,
                // The decoder has stopped.
                Err(_) => return,
            }
        };
        let mut filled = 0;
        let outcome = loop {
            if filled == block.len() {
                break Ok(false);
            }
            match gz.read(&mut block[filled..]) {
                Ok(0) => break Ok(true),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        if filled > 0 && full.send(Message::Data(block, filled)).is_err() {
            return;
        }
        let last = match outcome {
            Ok(false) => continue,
            Ok(true) => Message::End,
            Err(e) => Message::Failed(e),
        };
        // If the decoder has stopped there is no one left to tell.
        let _ = full.send(last);
        return;
    }
}

/// The decoder's side: the decompressed bytes, block by block.
pub(super) struct Blocks {
    current: Vec<u8>,
    filled: usize,
    pos: usize,
    full: Receiver<Message>,
    empty: SyncSender<Vec<u8>>,
    done: bool,
}

impl BufRead for Blocks {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.filled && !self.done {
            let spent = std::mem::take(&mut self.current);
            if !spent.is_empty() {
                // The channel has room for every block, and a thread that
                // has ended needs none back.
                let _ = self.empty.try_send(spent);
            }
            self.pos = 0;
            self.filled = 0;
            match receive(&self.full) {
                Ok(Message::Data(block, filled)) => {
                    self.current = block;
                    self.filled = filled;
                }
                Ok(Message::End) => self.done = true,
                Ok(Message::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other(
                        "the decompressing thread stopped before the end of the data",
                    ));
                }
            }
        }
        Ok(&self.current[self.pos..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

impl Read for Blocks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).expect("compress");
        encoder.finish().expect("compress")
    }

    /// Data that spans several blocks and does not end on a block boundary.
    fn data() -> Vec<u8> {
        (0..BLOCK_BYTES * BLOCKS * 2 + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect()
    }

    #[test]
    fn blocks_give_every_byte_in_order() {
        let data = data();
        let compressed = gzip(&data);
        let read = on_thread(&compressed[..], |blocks| {
            let mut out = Vec::new();
            blocks.read_to_end(&mut out).map(|_| out)
        });
        assert!(read.as_ref().is_ok_and(|out| *out == data), "bytes differ");
    }

    #[test]
    fn truncated_stream_gives_data_then_error() {
        let data = data();
        let compressed = gzip(&data);
        let cut = &compressed[..compressed.len() / 2];
        let (count, error) = on_thread(cut, |blocks| {
            let mut out = Vec::new();
            let error = blocks.read_to_end(&mut out).err();
            (out.len(), error.map(|e| e.kind()))
        });
        assert!(count > BLOCK_BYTES, "only {count} bytes before the error");
        assert_eq!(error, Some(io::ErrorKind::UnexpectedEof));
    }

    #[test]
    fn stopping_early_ends_the_thread() {
        let data = data();
        let compressed = gzip(&data);
        // Returning after one byte leaves the thread with blocks to send;
        // on_thread returns only once the thread has ended.
        let first = on_thread(&compressed[..], |blocks| {
            blocks.fill_buf().ok().and_then(|b| b.first().copied())
        });
        assert_eq!(first, Some(data[0]));
    }
}

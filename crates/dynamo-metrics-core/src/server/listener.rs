//! The listener and the connection stream: the connection cap, the header-read, idle and write
//! timeouts, and failing every connection's I/O once shutdown reaches [`Phase::Closing`].
//!
//! axum spawns a detached task per connection and gives no hook into hyper's connection builder,
//! so these limits live in the I/O object each connection reads and writes through: an error
//! from it makes hyper drop the connection (and with it any response body and render permit).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::shutdown::{reached, Phase};
use super::ServerLimits;

/// Back-off after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A TCP listener that caps open connections and hands out [`AbortableStream`]s.
pub(super) struct AbortableListener {
    inner: TcpListener,
    phase: watch::Receiver<Phase>,
    limits: Arc<ServerLimits>,
    open: Arc<AtomicUsize>,
}

impl AbortableListener {
    pub(super) fn new(
        inner: TcpListener,
        phase: watch::Receiver<Phase>,
        limits: Arc<ServerLimits>,
    ) -> Self {
        AbortableListener {
            inner,
            phase,
            limits,
            open: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl axum::serve::Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    if self.open.load(Ordering::Acquire) >= self.limits.max_connections {
                        // Closed at once: the connections already open (the scrapes going on)
                        // keep their file descriptors and memory.
                        drop(stream);
                        continue;
                    }
                    self.open.fetch_add(1, Ordering::AcqRel);
                    let slot = OpenSlot(Arc::clone(&self.open));
                    // Responses are small; sending them at once beats Nagle's batching.
                    let _ = stream.set_nodelay(true);
                    let aborted = Box::pin(reached(self.phase.clone(), Phase::Closing));
                    return (
                        AbortableStream::new(stream, aborted, Arc::clone(&self.limits), slot),
                        addr,
                    );
                }
                // Per-connection failures (reset before accept, fd exhaustion) are transient.
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One place in the connection count, given back when the connection is gone.
struct OpenSlot(Arc<AtomicUsize>);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the request handler and the stream of one connection share: whether a request is in
/// flight, so the stream knows which read deadline applies.
#[derive(Debug, Default)]
pub(super) struct ConnState {
    active: AtomicUsize,
    /// Bumped each time the connection goes idle after a response.
    idle_epoch: AtomicU64,
    idle_since: Mutex<Option<Instant>>,
    /// The connection task, when it waits on a read: hyper does not read again once a response
    /// is sent, so without a wake-up the idle deadline would not replace the previous one.
    reader: Mutex<Option<Waker>>,
}

/// The connection's shared state, handed to each request through axum's `ConnectInfo`.
#[derive(Debug, Clone)]
pub(super) struct ConnInfo(pub(super) Arc<ConnState>);

impl Connected<IncomingStream<'_, AbortableListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        ConnInfo(Arc::clone(&stream.io().conn))
    }
}

impl ConnInfo {
    /// Marks a request in flight until the returned guard (kept with its response body) drops.
    pub(super) fn request_started(&self) -> RequestGuard {
        self.0.active.fetch_add(1, Ordering::AcqRel);
        RequestGuard(Arc::clone(&self.0))
    }
}

/// A request in flight on its connection; dropped when its response is sent (or abandoned).
pub(super) struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.0.idle_epoch.fetch_add(1, Ordering::AcqRel);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        if let Some(w) = self
            .0
            .reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            w.wake();
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_string())
}

/// A connection's I/O: fails once shutdown reaches [`Phase::Closing`] or a timeout of
/// [`ServerLimits`] passes, which makes hyper close the connection.
pub(super) struct AbortableStream {
    inner: TcpStream,
    aborted: Pin<Box<dyn Future<Output = ()> + Send>>,
    is_aborted: bool,
    conn: Arc<ConnState>,
    limits: Arc<ServerLimits>,
    accepted: Instant,
    /// The idle epoch the fields below belong to.
    epoch_seen: u64,
    /// When the first byte of the next request head arrived (while no request is in flight).
    head_started: Option<Instant>,
    read_timer: Pin<Box<Sleep>>,
    read_deadline: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    /// Since when writes have made no progress.
    write_blocked_since: Option<Instant>,
    _slot: OpenSlot,
}

impl AbortableStream {
    fn new(
        inner: TcpStream,
        aborted: Pin<Box<dyn Future<Output = ()> + Send>>,
        limits: Arc<ServerLimits>,
        slot: OpenSlot,
    ) -> Self {
        let now = Instant::now();
        AbortableStream {
            inner,
            aborted,
            is_aborted: false,
            conn: Arc::new(ConnState::default()),
            limits,
            accepted: now,
            epoch_seen: 0,
            head_started: None,
            read_timer: Box::pin(tokio::time::sleep_until(now)),
            read_deadline: None,
            write_timer: Box::pin(tokio::time::sleep_until(now)),
            write_blocked_since: None,
            _slot: slot,
        }
    }

    /// Also registers the task's waker, so a connection blocked on I/O wakes up on abort.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.is_aborted && self.aborted.as_mut().poll(cx).is_ready() {
            self.is_aborted = true;
        }
        if self.is_aborted {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the system status server shut down",
            ))
        } else {
            Ok(())
        }
    }

    /// Forgets the head of the previous request once the connection went idle again.
    fn sync_epoch(&mut self) -> u64 {
        let epoch = self.conn.idle_epoch.load(Ordering::Acquire);
        if epoch != self.epoch_seen {
            self.epoch_seen = epoch;
            self.head_started = None;
        }
        epoch
    }

    fn on_read(&mut self) {
        self.sync_epoch();
        if self.conn.active.load(Ordering::Acquire) == 0 && self.head_started.is_none() {
            self.head_started = Some(Instant::now());
        }
    }

    /// While no request is in flight, a read that waits is bounded: by the header-read timeout
    /// on a new connection or once a head has begun, else by the idle timeout.
    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        // Woken when a request ends, since which deadline applies changes then.
        *self.conn.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        let epoch = self.sync_epoch();
        if self.conn.active.load(Ordering::Acquire) > 0 {
            self.read_deadline = None;
            return Ok(());
        }
        let (deadline, what) = match (epoch, self.head_started) {
            (0, _) => (
                self.accepted + self.limits.header_read_timeout,
                "request head not received within the header-read timeout",
            ),
            (_, Some(t)) => (
                t + self.limits.header_read_timeout,
                "request head not received within the header-read timeout",
            ),
            (_, None) => {
                let since = self
                    .conn
                    .idle_since
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or(self.accepted);
                (
                    since + self.limits.idle_timeout,
                    "keep-alive connection idle past the idle timeout",
                )
            }
        };
        if self.read_deadline != Some(deadline) {
            self.read_deadline = Some(deadline);
            self.read_timer.as_mut().reset(deadline);
        }
        if self.read_timer.as_mut().poll(cx).is_ready() {
            return Err(timed_out(what));
        }
        Ok(())
    }

    /// A write that cannot go on is bounded by the write timeout, counted from when writes
    /// stopped making progress.
    fn poll_write_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.write_blocked_since.is_none() {
            let now = Instant::now();
            self.write_blocked_since = Some(now);
            self.write_timer
                .as_mut()
                .reset(now + self.limits.write_timeout);
        }
        if self.write_timer.as_mut().poll(cx).is_ready() {
            return Err(timed_out(
                "the client read nothing within the write timeout",
            ));
        }
        Ok(())
    }

    fn after_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => match self.poll_write_deadline(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            done => {
                self.write_blocked_since = None;
                done
            }
        }
    }
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.on_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                this.poll_read_deadline(cx)?;
                Poll::Pending
            }
            err => err,
        }
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.after_write(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing is always allowed; it is what an abort wants anyway.
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

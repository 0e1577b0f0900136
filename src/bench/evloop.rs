//! The hot path for plain-TCP HTTP/1.1: one epoll event loop per generator thread.
//!
//! What wrk does, with the engine's schedule and recording: each connection is a
//! small state machine (waiting for its due time, connecting, writing, reading)
//! driven by edge-triggered readiness from `mio`; the request is written from the
//! plan's pre-rendered bytes in one `write`, and the response is read into the
//! connection's one reusable buffer and parsed in place by [`ResponseReader`].
//! There is no task, waker, future or timer wheel per request: one `epoll_wait`
//! serves every connection of the thread, its timeout being the nearest due time
//! or request deadline.
//!
//! The semantics are the async path's (`engine.rs`), which still serves TLS and
//! HTTP/2: latency counts from the due time for a request that queued behind
//! busy connections, from the send otherwise (the timer's lateness is reported as
//! lag); the per-request timeout covers connecting, writing and reading; errors
//! are samples by kind; connections are kept per target from one phase to the
//! next. The clock is read once per `read` that completes responses (their end
//! time, which is also the send time of the requests that follow in a closed
//! loop) and once per wake-up of the loop.
//!
//! Kept connections are handled as `keepalive.rs` says: those in the pool are
//! taken off the poll between phases and probed when a phase takes them, the
//! server's `Keep-Alive` limits are honoured before each reuse, and a request
//! that meets a stale reused connection before any byte of its response is
//! replayed once on a new connection (its bytes are kept in `Conn::out` for it).

use std::collections::HashMap;
use std::io::{self, Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use tokio::time::Instant;

use super::conn::{connect_backoff, connect_error, is_connect_failure, TargetSpec};
use super::h1reader::{ResponseMeta, ResponseReader};
use super::keepalive::{may_replay, probe, Kept, Probe, Stale};
use super::outcome::ErrorKind;
use super::record::{Recorder, Sent};
use super::request::RequestPlan;
use super::schedule::Schedule;

/// Read buffer per connection; grown only for a response head larger than it.
const READ_BUF: usize = 16 * 1024;

/// An open connection and its read buffer (`buf[pos..end]` not yet parsed).
struct Sock {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    kept: Kept,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// No request in flight (between requests, or between phases in the pool).
    Idle,
    /// Holding a slot that is due at this time.
    Waiting(Instant),
    /// After connection errors: no slot held, the next one is taken at this time.
    Backoff(Instant),
    Connecting,
    Writing,
    Reading,
    /// The schedule has no more slots for this connection.
    Done,
}

/// The request in flight on a connection.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    sent: Sent,
    deadline: Instant,
}

struct Conn {
    sock: Option<Sock>,
    state: State,
    req: InFlight,
    /// The request in flight (kept whole for a replay) and how much of it was
    /// written.
    out: Vec<u8>,
    out_pos: usize,
    /// The request went out on a reused connection.
    reused: bool,
    /// A byte of its response arrived.
    got: bool,
    /// It is a replay (it is not replayed again).
    replayed: bool,
    reader: ResponseReader,
    /// The peer closed its side of the connection: the next request opens a new one.
    peer_closed: bool,
    /// Connection errors in a row (the backoff before the next attempt grows).
    failures: u32,
}

/// One generator thread's event loop and its idle connections per target.
pub(crate) struct EventLoop {
    poll: Poll,
    events: Events,
    pools: HashMap<u64, Vec<Sock>>,
}

/// What stays fixed during one phase.
struct Phase<'a> {
    target: &'a TargetSpec,
    plan: &'a RequestPlan,
    schedule: &'a Schedule,
    timeout: Duration,
    start: Instant,
    rec: Recorder,
    scratch: Vec<u8>,
    active: usize,
}

impl EventLoop {
    pub(crate) fn new() -> io::Result<EventLoop> {
        Ok(EventLoop {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            pools: HashMap::new(),
        })
    }

    /// Run one phase on `connections` connections until the schedule ends and
    /// every request in flight has ended; returns what was recorded.
    pub(crate) fn run(
        &mut self,
        target: &TargetSpec,
        plan: &RequestPlan,
        schedule: &Schedule,
        connections: u32,
        timeout: Duration,
    ) -> Recorder {
        let n = connections.max(1) as usize;
        let pool = self.pools.entry(target.key).or_default();
        let mut conns: Vec<Conn> = Vec::with_capacity(n);
        let mut reconnects = 0;
        let taken = Instant::now();
        for i in 0..n {
            // A kept connection the server closed while it sat in the pool (its
            // idle timeout), or is about to: dropped here, reopened when needed.
            let mut sock = pool.pop().filter(|s| {
                let open = !s.kept.expired(taken) && probe(s.stream.as_fd()) == Probe::Open;
                reconnects += u64::from(!open);
                open
            });
            if let Some(s) = sock.as_mut() {
                if self
                    .poll
                    .registry()
                    .register(
                        &mut s.stream,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .is_err()
                {
                    sock = None;
                }
            }
            conns.push(Conn {
                sock,
                state: State::Idle,
                req: InFlight {
                    sent: Sent {
                        due: None,
                        waited: false,
                        at: schedule.start(),
                        body_len: 0,
                    },
                    deadline: schedule.start(),
                },
                out: Vec::new(),
                out_pos: 0,
                reused: false,
                got: false,
                replayed: false,
                reader: ResponseReader::new(),
                peer_closed: false,
                failures: 0,
            });
        }
        let mut ph = Phase {
            target,
            plan,
            schedule,
            timeout,
            start: schedule.start(),
            rec: Recorder {
                reconnects,
                ..Recorder::default()
            },
            scratch: Vec::new(),
            active: n,
        };
        let mut now = Instant::now();
        for (i, conn) in conns.iter_mut().enumerate() {
            ph.next(&self.poll, i, conn, now);
        }
        loop {
            // Due times and deadlines; the nearest one still ahead bounds the wait.
            let mut wake: Option<Instant> = None;
            for (i, conn) in conns.iter_mut().enumerate() {
                match conn.state {
                    State::Waiting(due) if due <= now => ph.send_due(&self.poll, i, conn, due, now),
                    State::Backoff(until) if until <= now => {
                        conn.state = State::Idle;
                        ph.next(&self.poll, i, conn, now);
                    }
                    State::Connecting | State::Writing | State::Reading
                        if conn.req.deadline <= now =>
                    {
                        ph.complete(&self.poll, i, conn, Err(ErrorKind::Timeout), now);
                    }
                    _ => {}
                }
                let at = match conn.state {
                    State::Waiting(due) | State::Backoff(due) => due,
                    State::Connecting | State::Writing | State::Reading => conn.req.deadline,
                    State::Idle | State::Done => continue,
                };
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
            if ph.active == 0 {
                break;
            }
            let wait = wake.map(|w| w.saturating_duration_since(now));
            if let Err(e) = self.poll.poll(&mut self.events, wait) {
                if e.kind() != io::ErrorKind::Interrupted {
                    // The loop cannot wait any more (it never happens in practice):
                    // stop the schedule and end what is in flight as errors.
                    schedule.stop();
                    for conn in &mut conns {
                        if conn.state != State::Done {
                            if !matches!(conn.state, State::Idle | State::Backoff(_)) {
                                ph.record(conn.req, Err(ErrorKind::Reset), now);
                            }
                            conn.sock = None;
                        }
                    }
                    break;
                }
            }
            now = Instant::now();
            for event in self.events.iter() {
                let i = event.token().0;
                if let Some(conn) = conns.get_mut(i) {
                    ph.ready(&self.poll, i, conn, event, now);
                }
            }
        }
        // Kept connections leave the poll while pooled: an event of theirs (the
        // server closing them) must not reach a connection of another phase that
        // has the same token. One with bytes nobody asked for is not kept.
        let pool = self.pools.entry(target.key).or_default();
        for conn in conns {
            if let Some(mut sock) = conn.sock {
                if !conn.peer_closed
                    && sock.pos == sock.end
                    && self.poll.registry().deregister(&mut sock.stream).is_ok()
                {
                    pool.push(sock);
                }
            }
        }
        ph.rec
    }
}

impl Phase<'_> {
    /// Take the next slot for an idle connection (and send it when it is due).
    fn next(&mut self, poll: &Poll, i: usize, conn: &mut Conn, now: Instant) {
        loop {
            let Some(slot) = self.schedule.next_at(now) else {
                conn.state = State::Done;
                self.active -= 1;
                return;
            };
            match slot.due {
                // Not yet due: wait for it (the loop wakes at the due time).
                Some(due) if due > now => {
                    conn.state = State::Waiting(due);
                    return;
                }
                // Already due (queued behind busy connections) or closed loop.
                due => {
                    if self.start_request(poll, i, conn, due, false, now) {
                        return;
                    }
                }
            }
        }
    }

    /// The slot a connection was waiting for is due: send it.
    fn send_due(&mut self, poll: &Poll, i: usize, conn: &mut Conn, due: Instant, now: Instant) {
        if !self.start_request(poll, i, conn, Some(due), true, now) {
            self.next(poll, i, conn, now);
        }
    }

    /// Send a request; false when writing it failed at once (recorded; the caller
    /// takes the next slot). A failed connect is recorded too, and the connection
    /// then backs off before its next slot.
    fn start_request(
        &mut self,
        poll: &Poll,
        i: usize,
        conn: &mut Conn,
        due: Option<Instant>,
        waited: bool,
        sent_at: Instant,
    ) -> bool {
        let (rendered, _, _) = self.plan.next(&mut self.scratch);
        conn.req = InFlight {
            sent: Sent {
                due,
                waited,
                at: sent_at,
                body_len: rendered.body_len as u64,
            },
            deadline: sent_at + self.timeout,
        };
        conn.out.clear();
        conn.out.extend_from_slice(rendered.h1);
        conn.replayed = false;
        self.dispatch(poll, i, conn, sent_at)
    }

    /// Send the request in `conn.out` on the kept connection when the server has
    /// not closed it (and its `Keep-Alive` limits allow), on a new one otherwise.
    /// False when writing failed at once and the request was recorded as failed.
    fn dispatch(&mut self, poll: &Poll, i: usize, conn: &mut Conn, now: Instant) -> bool {
        conn.reader.expect(self.plan.head, self.plan.decode);
        conn.out_pos = 0;
        conn.got = false;
        let peer_closed = std::mem::take(&mut conn.peer_closed);
        if conn
            .sock
            .as_ref()
            .is_some_and(|s| peer_closed || s.kept.expired(now))
        {
            conn.sock = None;
            self.rec.reconnects += 1;
        }
        let Some(sock) = conn.sock.as_mut() else {
            conn.reused = false;
            match connect(poll, self.target, i, now) {
                Ok(sock) => {
                    conn.sock = Some(sock);
                    conn.state = State::Connecting;
                }
                Err(kind) => {
                    self.record(conn.req, Err(kind), now);
                    conn.failures = conn.failures.saturating_add(1);
                    conn.state = State::Backoff(now + connect_backoff(conn.failures));
                }
            }
            return true;
        };
        conn.reused = sock.kept.reused();
        sock.kept.sent();
        match (&sock.stream).write(&conn.out) {
            Ok(n) => {
                conn.out_pos = n;
                conn.state = if n == conn.out.len() {
                    State::Reading
                } else {
                    State::Writing
                };
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.state = State::Writing;
                true
            }
            Err(_) if self.replayable(conn) => self.replay(poll, i, conn, now),
            Err(_) => {
                conn.sock = None;
                conn.state = State::Idle;
                self.record(conn.req, Err(ErrorKind::Reset), now);
                false
            }
        }
    }

    /// Whether the request in flight met a stale kept connection and may be sent
    /// again (`keepalive::may_replay`): on a reused connection, no byte of its
    /// response, not a replay already.
    fn replayable(&self, conn: &Conn) -> bool {
        let stale = if conn.out_pos == 0 {
            Stale::Unwritten
        } else {
            Stale::Written
        };
        conn.reused && !conn.got && !conn.replayed && may_replay(stale, self.plan.idempotent)
    }

    /// Send the request in flight again on a new connection; it keeps its send
    /// time and deadline.
    fn replay(&mut self, poll: &Poll, i: usize, conn: &mut Conn, now: Instant) -> bool {
        conn.sock = None;
        conn.replayed = true;
        self.rec.replays += 1;
        self.rec.reconnects += 1;
        self.dispatch(poll, i, conn, now)
    }

    /// The request in flight failed with `kind`: replayed when it met a stale
    /// connection, recorded otherwise.
    fn fail(&mut self, poll: &Poll, i: usize, conn: &mut Conn, kind: ErrorKind, now: Instant) {
        if self.replayable(conn) {
            self.replay(poll, i, conn, now);
        } else {
            self.complete(poll, i, conn, Err(kind), now);
        }
    }

    /// Readiness on connection `i`.
    fn ready(
        &mut self,
        poll: &Poll,
        i: usize,
        conn: &mut Conn,
        event: &mio::event::Event,
        now: Instant,
    ) {
        match conn.state {
            State::Connecting => {
                let Some(sock) = conn.sock.as_ref() else {
                    return;
                };
                match sock.stream.take_error() {
                    Ok(None) => {}
                    Ok(Some(_)) | Err(_) => {
                        return self.complete(poll, i, conn, Err(ErrorKind::Connect), now);
                    }
                }
                match sock.stream.peer_addr() {
                    Ok(_) => {
                        let _ = sock.stream.set_nodelay(true);
                        conn.state = State::Writing;
                        self.flush(poll, i, conn, now);
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected && !event.is_error() => {}
                    Err(_) => self.complete(poll, i, conn, Err(ErrorKind::Connect), now),
                }
            }
            State::Writing => self.flush(poll, i, conn, now),
            State::Reading => self.read(poll, i, conn, event.is_read_closed() || event.is_error()),
            State::Idle | State::Waiting(_) | State::Backoff(_) | State::Done => {
                // A connection without a request in flight that the peer closed
                // (e.g. its keep-alive timeout): open a new one for the next request.
                if (event.is_read_closed() || event.is_error())
                    && conn.sock.take().is_some()
                    && conn.state != State::Done
                {
                    self.rec.reconnects += 1;
                }
            }
        }
    }

    /// Write what is left of the request.
    fn flush(&mut self, poll: &Poll, i: usize, conn: &mut Conn, now: Instant) {
        let Some(sock) = conn.sock.as_ref() else {
            return;
        };
        while conn.out_pos < conn.out.len() {
            match (&sock.stream).write(&conn.out[conn.out_pos..]) {
                Ok(0) => return self.fail(poll, i, conn, ErrorKind::Reset, now),
                Ok(n) => conn.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(poll, i, conn, ErrorKind::Reset, now),
            }
        }
        conn.state = State::Reading;
    }

    /// Read what arrived and complete the responses it ends. `closed`: the peer
    /// has closed its side (or the socket has an error), which a read that
    /// returns the last bytes does not show: read on until it does.
    fn read(&mut self, poll: &Poll, i: usize, conn: &mut Conn, closed: bool) {
        conn.peer_closed |= closed;
        loop {
            let Some(sock) = conn.sock.as_mut() else {
                return;
            };
            if sock.pos == sock.end {
                sock.pos = 0;
                sock.end = 0;
            } else if sock.end == sock.buf.len() {
                if sock.pos > 0 {
                    sock.buf.copy_within(sock.pos..sock.end, 0);
                    sock.end -= sock.pos;
                    sock.pos = 0;
                } else {
                    // A head larger than the buffer (the reader bounds it).
                    sock.buf.resize(sock.buf.len() * 2, 0);
                }
            }
            let space = sock.buf.len() - sock.end;
            let n = match (&sock.stream).read(&mut sock.buf[sock.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    return self.fail(poll, i, conn, ErrorKind::Reset, Instant::now());
                }
            };
            let end = Instant::now();
            if n == 0 {
                if !conn.got {
                    // Closed before any byte of the response: a stale connection
                    // when it was a reused one.
                    return self.fail(poll, i, conn, ErrorKind::Reset, end);
                }
                let result = conn.reader.eof();
                conn.sock = None;
                return self.complete(poll, i, conn, result, end);
            }
            conn.got = true;
            sock.end += n;
            // Every response this read completed ends now.
            while conn.state == State::Reading {
                let Some(sock) = conn.sock.as_mut() else {
                    return;
                };
                match conn.reader.feed(&sock.buf[sock.pos..sock.end]) {
                    Ok((used, done)) => {
                        sock.pos += used;
                        match done {
                            Some(meta) => self.complete(poll, i, conn, Ok(meta), end),
                            None => break,
                        }
                    }
                    Err(kind) => return self.complete(poll, i, conn, Err(kind), end),
                }
            }
            // A peer that sends faster than it is read (an endless body) would keep
            // this loop reading: its deadline ends the request here.
            if conn.state == State::Reading && end >= conn.req.deadline {
                return self.complete(poll, i, conn, Err(ErrorKind::Timeout), end);
            }
            // A short read emptied the socket: the next bytes bring a new edge
            // (the end of the stream, already signalled, does not).
            if (n < space && !closed) || conn.state != State::Reading {
                return;
            }
        }
    }

    /// The request in flight ended at `end`: record it and go on with the next.
    fn complete(
        &mut self,
        poll: &Poll,
        i: usize,
        conn: &mut Conn,
        result: Result<ResponseMeta, ErrorKind>,
        end: Instant,
    ) {
        match (&result, conn.sock.as_mut()) {
            (Ok(meta), Some(sock)) if meta.keep_alive => sock.kept.answered(meta, end),
            _ => conn.sock = None,
        }
        let connect_failed = matches!(&result, Err(kind) if is_connect_failure(*kind));
        conn.state = State::Idle;
        self.record(conn.req, result, end);
        if connect_failed {
            // A dead target: wait before the next attempt rather than spin.
            conn.failures = conn.failures.saturating_add(1);
            conn.state = State::Backoff(end + connect_backoff(conn.failures));
        } else {
            conn.failures = 0;
            self.next(poll, i, conn, end);
        }
    }

    fn record(&mut self, req: InFlight, result: Result<ResponseMeta, ErrorKind>, end: Instant) {
        self.rec
            .request(req.sent, &result, end, self.start, self.plan);
    }
}

/// Open a connection (non-blocking; the loop sees it complete).
fn connect(poll: &Poll, target: &TargetSpec, i: usize, now: Instant) -> Result<Sock, ErrorKind> {
    let mut stream = TcpStream::connect(target.addr).map_err(|e| connect_error(&e))?;
    poll.registry()
        .register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )
        .map_err(|_| ErrorKind::Connect)?;
    Ok(Sock {
        stream,
        buf: vec![0; READ_BUF],
        pos: 0,
        end: 0,
        kept: Kept::new(now),
    })
}

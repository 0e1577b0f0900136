//! The engine: long-lived generator threads, one worker path.
//!
//! Each generator thread runs a single-threaded tokio runtime and keeps its own
//! pool of keep-alive connections per target, so connections survive from one
//! round to the next. Plain-TCP HTTP/1.1 phases run on the thread's epoll event
//! loop instead (`evloop.rs`, the hot path), with the same schedule, semantics
//! and recording; TLS and HTTP/2 run as the tasks described here. A phase hands every thread a share of the connections; each
//! connection is a worker that takes [`Slot`]s from the phase's shared
//! [`Schedule`] until it ends. Workers of a thread record into the thread's
//! [`Recorder`] (no locks on the hot path); the threads' recorders are merged when
//! the phase ends.
//!
//! Latency is counted from the slot's due time when it has one (open loop), so
//! time spent queued behind a stalled server is measured as users would feel it,
//! and never from a guessed interval after the fact.
//!
//! Kept connections follow `keepalive.rs`: probed when a worker takes one from
//! the pool, dropped when the server's `Keep-Alive` limits or hyper (an HTTP/2
//! `GOAWAY`) say so, and a request that meets a stale one is replayed once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::conn::{connect_backoff, is_connect_failure, Conn, HttpVersion, TargetSpec};
use super::evloop::EventLoop;
use super::keepalive::may_replay;
use super::outcome::ErrorKind;
use super::record::{Recorder, Sent};
use super::request::RequestPlan;
use super::schedule::{Pacing, Schedule, Slot};

/// What one phase (warm-up, a measured round, a ladder step) produced.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// Everything the workers recorded, merged.
    pub recorder: Recorder,
    /// Wall time from the start of the schedule to the last response.
    pub elapsed: Duration,
    /// For an open loop: whether it delivered its rate.
    pub pacing: Option<PacingReport>,
    /// CPU time of the busiest generator thread over the phase, as a fraction
    /// of one core (`getrusage(RUSAGE_THREAD)`), when it could be read. The
    /// busiest thread is the one that was runnable longest (running or waiting
    /// for a CPU).
    pub generator_cpu: Option<f64>,
    /// Time the same thread was ready to run but waited for a CPU (its
    /// run-queue wait, `/proc/thread-self/schedstat`), as a fraction of the
    /// phase: other processes held its core. `None` where Linux does not keep it.
    pub generator_wait: Option<f64>,
    /// Share of the phase a CPU quota held the whole process back (its cgroup,
    /// or one above it, throttled: [`super::cgroup`]), where there are cgroup
    /// files to read.
    pub generator_throttled: Option<f64>,
}

/// How well an open loop kept its schedule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PacingReport {
    /// The rate asked for, requests per second.
    pub target_rate: f64,
    /// Requests the schedule planned (`rate x duration`, or the request limit).
    #[serde(default)]
    pub planned: u64,
    /// Requests sent per second of the phase's time window. A request queued
    /// behind busy connections and sent after the window still counts: its wait
    /// is in its latency (measured from its due time), not a shortfall of the
    /// generator.
    pub achieved_rate: f64,
    /// p99 of how late the generator sent requests that were waiting for their
    /// due time with a connection free (its timer and CPU jitter; not counted in
    /// latency), ms.
    pub lag_p99_ms: f64,
    /// Largest such lateness, ms.
    pub lag_max_ms: f64,
    /// Requests already due when a connection became free: they waited for one
    /// (behind a slow or stalled server), and their latency counts from their
    /// due time.
    #[serde(default)]
    pub queued: u64,
    /// Planned requests never sent.
    pub unsent: u64,
    /// False when the achieved rate fell more than 1 % short of the target or
    /// requests went unsent: the run did not deliver the load it claims.
    /// `planned == ok + errors + unsent` always holds.
    pub valid: bool,
}

struct Job {
    target: TargetSpec,
    plan: Arc<RequestPlan>,
    schedule: Arc<Schedule>,
    connections: u32,
    timeout: Duration,
    reply: oneshot::Sender<(Recorder, Option<ThreadTimes>)>,
}

struct Thread {
    jobs: mpsc::UnboundedSender<Job>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// A set of generator threads. Dropping it stops them after their current job.
pub struct Engine {
    threads: Vec<Thread>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// Stops a schedule when a phase is abandoned (its future dropped).
struct StopOnDrop(Arc<Schedule>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl Engine {
    /// An engine with `threads` generator threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<Engine> {
        raise_open_files_limit();
        let mut list = Vec::new();
        for i in 0..threads.max(1) {
            let (tx, rx) = mpsc::unbounded_channel();
            let handle = std::thread::Builder::new()
                .name(format!("tailgate-gen-{i}"))
                .spawn(move || thread_main(rx))?;
            list.push(Thread {
                jobs: tx,
                handle: Some(handle),
            });
        }
        Ok(Engine { threads: list })
    }

    /// As many threads as the cores this process may use.
    pub fn auto() -> std::io::Result<Engine> {
        Engine::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Number of generator threads.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Run one phase: `connections` workers take slots from `schedule` until it ends.
    pub async fn run_phase(
        &self,
        target: &TargetSpec,
        plan: &Arc<RequestPlan>,
        schedule: Arc<Schedule>,
        connections: u32,
        timeout: Duration,
    ) -> PhaseOutcome {
        let _stop = StopOnDrop(Arc::clone(&schedule));
        let connections = connections.max(1);
        let throttle = super::cgroup::Throttle::of_this_process();
        let throttled_before = (!throttle.is_empty()).then(|| throttle.read());
        let used = (connections as usize).min(self.threads.len());
        let mut replies = Vec::with_capacity(used);
        for (i, thread) in self.threads.iter().take(used).enumerate() {
            let share =
                connections / used as u32 + u32::from((i as u32) < connections % used as u32);
            let (reply, rx) = oneshot::channel();
            let job = Job {
                target: target.clone(),
                plan: Arc::clone(plan),
                schedule: Arc::clone(&schedule),
                connections: share,
                timeout,
                reply,
            };
            if thread.jobs.send(job).is_ok() {
                replies.push(rx);
            }
        }
        let mut recorder = Recorder::default();
        let mut busiest: Option<ThreadTimes> = None;
        for rx in replies {
            if let Ok((part, times)) = rx.await {
                recorder.merge(&part);
                if times.map(ThreadTimes::runnable) > busiest.map(ThreadTimes::runnable) {
                    busiest = times;
                }
            }
        }
        let elapsed = schedule.start().elapsed();
        let share = |d: Duration| d.as_secs_f64() / elapsed.as_secs_f64();
        let busiest = busiest.filter(|_| !elapsed.is_zero());
        let generator_cpu = busiest.map(|t| share(t.cpu));
        let generator_wait = busiest.and_then(|t| t.waited).map(share);
        let generator_throttled = throttled_before
            .filter(|_| !elapsed.is_zero())
            .and_then(|before| super::cgroup::Throttle::held_back(&before, &throttle.read()))
            .map(share);
        if let Some(planned) = schedule.planned() {
            recorder.unsent = planned.saturating_sub(schedule.issued());
        }
        let pacing = match schedule.pacing() {
            Pacing::Open { rate } => {
                let window = schedule
                    .window()
                    .map_or(elapsed.as_secs_f64(), |d| d.as_secs_f64())
                    .max(1e-9);
                let achieved = recorder.sent_in_window as f64 / window;
                let lag_ms =
                    |per_mille| crate::stats::quantile_ms(&recorder.lag, per_mille).unwrap_or(0.0);
                Some(PacingReport {
                    target_rate: rate,
                    planned: schedule.planned().unwrap_or_else(|| schedule.issued()),
                    achieved_rate: achieved,
                    lag_p99_ms: lag_ms(990),
                    lag_max_ms: lag_ms(1000),
                    queued: recorder.queued,
                    unsent: recorder.unsent,
                    valid: achieved >= rate * 0.99 && recorder.unsent == 0,
                })
            }
            Pacing::Closed => None,
        };
        PhaseOutcome {
            recorder,
            elapsed,
            pacing,
            generator_cpu,
            generator_wait,
            generator_throttled,
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let handles: Vec<_> = self
            .threads
            .drain(..)
            .filter_map(|mut t| {
                drop(t.jobs);
                t.handle.take()
            })
            .collect();
        // Threads end after their current job, whose schedule is stopped; do not
        // block an async caller on them.
        drop(handles);
    }
}

fn thread_main(mut jobs: mpsc::UnboundedReceiver<Job>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("tailgate: a generator thread could not start its runtime: {err}");
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let pools: Rc<RefCell<HashMap<u64, Vec<Conn>>>> = Rc::default();
        // Plain-TCP HTTP/1.1 runs on the thread's epoll loop (the hot path); TLS
        // and HTTP/2 on the runtime's tasks.
        let mut event_loop: Option<EventLoop> = None;
        while let Some(job) = jobs.recv().await {
            let before = ThreadTimes::now();
            let cpu_used = || Some(ThreadTimes::now()?.since(before?));
            if job.target.tls.is_none() && job.target.version == HttpVersion::Http1 {
                if event_loop.is_none() {
                    match EventLoop::new() {
                        Ok(l) => event_loop = Some(l),
                        Err(err) => {
                            eprintln!("tailgate: no event loop ({err}); using the async client")
                        }
                    }
                }
                if let Some(l) = event_loop.as_mut() {
                    let result = l.run(
                        &job.target,
                        &job.plan,
                        &job.schedule,
                        job.connections,
                        job.timeout,
                    );
                    let _ = job.reply.send((result, cpu_used()));
                    continue;
                }
            }
            let recorder = Rc::new(RefCell::new(Recorder::default()));
            let mut workers = Vec::with_capacity(job.connections as usize);
            for _ in 0..job.connections {
                workers.push(tokio::task::spawn_local(worker(
                    job.target.clone(),
                    Arc::clone(&job.plan),
                    Arc::clone(&job.schedule),
                    job.timeout,
                    Rc::clone(&recorder),
                    Rc::clone(&pools),
                )));
            }
            for w in workers {
                let _ = w.await;
            }
            let result = std::mem::take(&mut *recorder.borrow_mut());
            let _ = job.reply.send((result, cpu_used()));
        }
    });
}

async fn worker(
    target: TargetSpec,
    plan: Arc<RequestPlan>,
    schedule: Arc<Schedule>,
    timeout: Duration,
    recorder: Rc<RefCell<Recorder>>,
    pools: Rc<RefCell<HashMap<u64, Vec<Conn>>>>,
) {
    // A kept connection the server closed while it sat in the pool (its idle
    // timeout) is dropped here and reopened when a request needs it.
    let mut conn = pools
        .borrow_mut()
        .get_mut(&target.key)
        .and_then(|pool| pool.pop())
        .filter(|c| {
            let alive = c.is_alive();
            if !alive {
                recorder.borrow_mut().reconnects += 1;
            }
            alive
        });
    let mut scratch = Vec::new();
    let start = schedule.start();
    // One timer per worker, moved to each request's deadline: moving a registered
    // timer later only updates its expiry (tokio re-files it lazily), where a
    // `timeout()` per request inserted and removed a timer-wheel entry each time.
    let timer = tokio::time::sleep(timeout);
    tokio::pin!(timer);
    // The clock is read twice per request (send and end); the end of one request
    // is "now" for taking the next slot.
    let mut now = Instant::now();
    // Connection errors in a row: the worker backs off before its next slot.
    let mut failures = 0u32;
    while let Some(Slot { due, .. }) = schedule.next_at(now) {
        // A request that is already due when a connection takes it has been
        // queued (every connection was busy): its latency counts from its due
        // time, so a stalled server shows up in the percentiles. A request that is
        // not yet due waits for its time; the timer's own lateness (the generator's
        // jitter, not the server's) is reported as lag, not counted as latency.
        let waited = match due {
            Some(due) if due > Instant::now() => {
                tokio::time::sleep_until(due).await;
                true
            }
            _ => false,
        };
        let sent_at = Instant::now();
        let (rendered, counter, random) = plan.next(&mut scratch);
        let body_len = rendered.body_len as u64;
        let trace = rendered.trace;
        let h1 = rendered.h1;
        timer.as_mut().reset(sent_at + timeout);
        let result = {
            // Pinned where it is made: moving a future copies all of its state.
            let exchange = std::pin::pin!(async {
                if conn.as_ref().is_some_and(|c| !c.is_usable()) {
                    conn = None;
                    recorder.borrow_mut().reconnects += 1;
                }
                if conn.is_none() {
                    conn = Some(Conn::open(&target).await?);
                }
                let Some(c) = conn.as_mut() else {
                    return Err(ErrorKind::Connect);
                };
                let h2 = || plan.h2_request(counter, random, trace.as_ref());
                let result = c.send(h1, h2, plan.head, plan.decode).await;
                match (&result, c.stale()) {
                    // A stale kept connection: the request is sent again, once,
                    // on a new connection (`keepalive.rs`); it keeps its send time.
                    (Err(_), Some(stale)) if may_replay(stale, plan.idempotent) => {
                        {
                            let mut r = recorder.borrow_mut();
                            r.replays += 1;
                            r.reconnects += 1;
                        }
                        conn = None;
                        let c = conn.insert(Conn::open(&target).await?);
                        c.send(h1, h2, plan.head, plan.decode).await
                    }
                    _ => result,
                }
            });
            // The timer first: a body that streams faster than it is read keeps
            // the exchange ready until tokio's cooperative budget runs out, and a
            // timer polled after it with no budget left would never fire.
            tokio::select! {
                biased;
                () = &mut timer => Err(ErrorKind::Timeout),
                result = exchange => result,
            }
        };
        let end = Instant::now();
        now = end;
        let sent = Sent {
            due,
            waited,
            at: sent_at,
            body_len,
        };
        recorder
            .borrow_mut()
            .request(sent, &result, end, start, &plan);
        let connect_failed = matches!(&result, Err(kind) if is_connect_failure(*kind));
        if !result.is_ok_and(|meta| meta.keep_alive) {
            conn = None;
        }
        if connect_failed {
            // A dead target (or a client out of sockets): wait before the next
            // attempt rather than spin on failing connects.
            failures = failures.saturating_add(1);
            tokio::time::sleep(connect_backoff(failures)).await;
            now = Instant::now();
        } else {
            failures = 0;
        }
    }
    if let Some(c) = conn.filter(Conn::is_usable) {
        pools.borrow_mut().entry(target.key).or_default().push(c);
    }
}

/// What a generator thread has spent so far, or over a phase.
#[derive(Debug, Clone, Copy)]
struct ThreadTimes {
    /// CPU time, user and system.
    cpu: Duration,
    /// Time ready to run but waiting for a CPU, where Linux keeps it.
    waited: Option<Duration>,
}

impl ThreadTimes {
    /// The calling thread's times so far, `None` where its CPU cannot be read.
    fn now() -> Option<Self> {
        Some(ThreadTimes {
            cpu: thread_cpu()?,
            waited: run_queue_wait(),
        })
    }

    /// The times spent since `earlier`.
    fn since(self, earlier: ThreadTimes) -> ThreadTimes {
        ThreadTimes {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            waited: self
                .waited
                .zip(earlier.waited)
                .map(|(now, then)| now.saturating_sub(then)),
        }
    }

    /// Time the thread wanted a CPU: running on one or waiting for one.
    fn runnable(self) -> Duration {
        self.cpu + self.waited.unwrap_or_default()
    }
}

/// Time the calling thread has spent runnable but waiting for a CPU: the second
/// field of `/proc/thread-self/schedstat`, in nanoseconds (Linux keeps it when
/// built with `CONFIG_SCHED_INFO`, as distribution kernels are). `None` elsewhere.
fn run_queue_wait() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// CPU time (user + system) the calling thread has used so far
/// (`getrusage(RUSAGE_THREAD)`), `None` where it cannot be read.
fn thread_cpu() -> Option<Duration> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_THREAD).ok()?;
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).ok()?)
            .checked_add(Duration::from_micros(u64::try_from(t.tv_usec()).ok()?))
    };
    time(usage.user_time())?.checked_add(time(usage.system_time())?)
}

/// Raise this process's soft limit of open files to its hard limit (at most 2^20),
/// once: a desktop's default soft limit of 1,024 would otherwise turn a ladder step
/// or `-c 2000` into `connect` errors of the client, not of the server. Returns the
/// soft limit in force.
pub fn raise_open_files_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
            return 0;
        };
        let wanted = hard.min(1 << 20);
        if wanted > soft && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_ok() {
            wanted
        } else {
            soft
        }
    })
}

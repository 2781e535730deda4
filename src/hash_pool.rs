//! `HashPool`: a few std threads, owned by the server, on which slow hashes
//! (PBKDF2, or a host's Argon2 or bcrypt) run, so that they never run on the
//! async executor's threads and never more of them at once than the pool has
//! threads (RB-06).
//!
//! The core is runtime-agnostic, so the pool depends on no runtime: a job
//! is a closure queued to the pool's threads, and its result comes back
//! through a small one-shot slot (a `Mutex` and the awaiting task's
//! `Waker`), which any executor can await.
//!
//! The queue is bounded too. When it is full, [`HashPool::run`] answers
//! [`HashPoolError::Busy`] at once instead of queueing without end: the
//! server answers such a request `temporarily_unavailable` (503 with
//! `Retry-After`), and counts it as no failed authentication, because
//! nothing was checked.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Why a job did not run.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashPoolError {
    /// The pool's queue is full: the server is busy. The job was not
    /// queued. A [`PasswordVerifier`](crate::PasswordVerifier) that returns
    /// `Err(StoreError::new(HashPoolError::Busy))` has its request answered
    /// `temporarily_unavailable` (503) like the server's own, not
    /// `server_error`, and not as a failed attempt.
    #[error("the hash pool is busy")]
    Busy,
    /// The job was lost: it panicked, or no thread could be started to run it.
    #[error("the hash pool could not run the job")]
    Failed,
}

/// The sizes of a [`HashPool`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct HashPoolConfig {
    /// How many slow hashes may run at once: the number of threads. `None`
    /// (the default) takes the machine's available parallelism less one
    /// (at least one), so a flood of slow checks always leaves a core to
    /// the async executor. Threads are
    /// started when work arrives, so a server whose secrets are all
    /// generated (one SHA-256 each, checked inline) starts none.
    pub threads: Option<NonZeroUsize>,
    /// How many jobs may wait for a thread (default 64). One more is
    /// refused with [`HashPoolError::Busy`].
    pub queue: usize,
}

impl Default for HashPoolConfig {
    fn default() -> Self {
        Self {
            threads: None,
            queue: 64,
        }
    }
}

/// What a [`HashPool`] has done so far.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashPoolStats {
    /// The most threads the pool runs (its bound on concurrent jobs).
    pub threads: usize,
    /// The threads started so far (at most `threads`).
    pub started: usize,
    /// Jobs waiting for a thread now.
    pub queued: usize,
    /// Jobs a thread has taken and finished: run to completion or to a
    /// panic, or skipped because their future was dropped.
    pub completed: u64,
    /// Jobs refused because the queue was full.
    pub refused: u64,
}

/// A queued job: runs the hash and returns what hands its result over.
/// The worker counts itself free between the two, so the awaiting task
/// never sees its result before the pool sees the thread free again.
type Task = Box<dyn FnOnce() -> Deliver + Send + 'static>;
type Deliver = Box<dyn FnOnce() + Send + 'static>;

struct State {
    queue: VecDeque<Task>,
    started: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// Threads running a job.
    busy: usize,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    completed: AtomicU64,
    refused: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bounded pool of threads for slow hashes, usable from any async runtime.
///
/// The server owns one (see `ServerBuilder::hash_pool` and
/// `AuthorizationServer::hash_pool`) and runs on it every PBKDF2 check of a
/// people-chosen client secret, and the dummy check spent on an unknown
/// client. A host's [`PasswordVerifier`](crate::PasswordVerifier) should run
/// its own slow hash on the same pool, so that one bound covers both:
///
/// ```
/// # async fn f(server: &portcullis::AuthorizationServer) -> Result<(), portcullis::HashPoolError> {
/// let stored = portcullis::SecretHash::sha256("from the user database");
/// let presented = String::from("what the user typed");
/// let ok = server.hash_pool().run(move || stored.verify(&presented)).await?;
/// # let _ = ok; Ok(()) }
/// ```
///
/// Dropping the pool lets its threads finish the queued jobs and exit.
pub struct HashPool {
    shared: Arc<Shared>,
    threads: usize,
    queue: usize,
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Default for HashPool {
    fn default() -> Self {
        Self::new(HashPoolConfig::default())
    }
}

impl HashPool {
    /// A pool of these sizes. No thread starts until a job arrives.
    pub fn new(config: HashPoolConfig) -> Self {
        let threads = config
            .threads
            .map(NonZeroUsize::get)
            .or_else(|| {
                std::thread::available_parallelism()
                    .ok()
                    .map(|n| n.get().saturating_sub(1))
            })
            .map_or(1, |n| n.max(1));
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    started: 0,
                    idle: 0,
                    busy: 0,
                    closed: false,
                }),
                work: Condvar::new(),
                completed: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
            threads,
            queue: config.queue,
        }
    }

    /// Runs `job` on one of the pool's threads; the returned future
    /// resolves to its result. Fails at once with [`HashPoolError::Busy`]
    /// when the queue is full. A job whose future is dropped before a
    /// thread takes it is skipped.
    pub fn run<T, F>(&self, job: F) -> HashJob<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            sent: false,
            waker: None,
            abandoned: false,
        }));
        let sender = Sender(slot.clone());
        let task: Task = Box::new(move || {
            if sender.abandoned() {
                return Box::new(move || drop(sender));
            }
            // A panicking job loses its result (the sender's drop reports
            // `Failed`) but not the thread.
            let result = std::panic::catch_unwind(AssertUnwindSafe(job));
            Box::new(move || {
                if let Ok(value) = result {
                    sender.send(Ok(value));
                }
            })
        });
        if let Err(e) = self.submit(task) {
            // The refused task (and its sender) is gone: this result stands.
            let mut s = lock(&slot);
            s.result = Some(Err(e));
        }
        HashJob { slot }
    }

    fn submit(&self, task: Task) -> Result<(), HashPoolError> {
        let mut state = self.shared.state();
        // Jobs not yet taken may fill the threads not running a job (idle
        // or not started yet), and the queue.
        let takers = self.threads.saturating_sub(state.busy);
        if state.queue.len() >= self.queue.saturating_add(takers) {
            drop(state);
            self.shared.refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("hash pool queue full: request answered as busy");
            return Err(HashPoolError::Busy);
        }
        state.queue.push_back(task);
        // More jobs waiting than idle threads to take them: one more thread.
        let spawn = state.queue.len() > state.idle && state.started < self.threads;
        if spawn {
            state.started += 1;
        }
        let started = state.started;
        drop(state);
        if spawn {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("portcullis-hash-{started}"))
                .spawn(move || worker(&shared));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "hash pool: could not start a thread");
                let mut state = self.shared.state();
                state.started -= 1;
                if state.started == 0 {
                    // No thread will ever take the queued jobs: fail them
                    // (dropping a task reports `Failed` to its future).
                    let lost: Vec<Task> = state.queue.drain(..).collect();
                    drop(state);
                    drop(lost);
                }
                return Ok(());
            }
        }
        self.shared.work.notify_one();
        Ok(())
    }

    /// The most jobs that run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// What the pool has done so far (for metrics, and for tests).
    pub fn stats(&self) -> HashPoolStats {
        let state = self.shared.state();
        HashPoolStats {
            threads: self.threads,
            started: state.started,
            queued: state.queue.len(),
            completed: self.shared.completed.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
        }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.state().closed = true;
        self.shared.work.notify_all();
    }
}

fn worker(shared: &Shared) {
    let mut state = shared.state();
    loop {
        if let Some(task) = state.queue.pop_front() {
            state.busy += 1;
            drop(state);
            let deliver = task();
            shared.completed.fetch_add(1, Ordering::Relaxed);
            shared.state().busy -= 1;
            deliver();
            state = shared.state();
        } else if state.closed {
            state.started -= 1;
            return;
        } else {
            state.idle += 1;
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }
}

struct Slot<T> {
    result: Option<Result<T, HashPoolError>>,
    /// A result was sent (it may have been taken since).
    sent: bool,
    waker: Option<Waker>,
    /// The future was dropped: nobody wants the result.
    abandoned: bool,
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The pool's end of a job's one-shot slot. Dropped without a result (the
/// job panicked or was never run), it reports [`HashPoolError::Failed`].
struct Sender<T>(Arc<Mutex<Slot<T>>>);

impl<T> Sender<T> {
    fn abandoned(&self) -> bool {
        lock(&self.0).abandoned
    }

    fn send(&self, result: Result<T, HashPoolError>) {
        let waker = {
            let mut s = lock(&self.0);
            if s.sent {
                return;
            }
            s.sent = true;
            s.result = Some(result);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.send(Err(HashPoolError::Failed));
    }
}

/// The result of a job on a [`HashPool`], to await.
#[must_use = "a job is skipped if its future is dropped before it starts"]
pub struct HashJob<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> fmt::Debug for HashJob<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashJob")
    }
}

impl<T> Future for HashJob<T> {
    type Output = Result<T, HashPoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.slot);
        match s.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                match &s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for HashJob<T> {
    fn drop(&mut self) {
        let mut s = lock(&self.slot);
        s.abandoned = true;
        s.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn pool(threads: usize, queue: usize) -> HashPool {
        HashPool::new(HashPoolConfig {
            threads: NonZeroUsize::new(threads),
            queue,
        })
    }

    /// A gate jobs wait at until the test opens it.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        cv: Condvar,
    }

    impl Gate {
        fn wait(&self) {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.cv.wait(open).unwrap();
            }
        }
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    /// Waits (without asserting on time) until `cond` holds.
    fn eventually(cond: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("condition never held");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_on_the_pools_named_threads() {
        // covers: RB-06
        // issue 15 finding 3
        let p = pool(2, 8);
        let caller = std::thread::current().id();
        let (id, name) = p
            .run(|| {
                let t = std::thread::current();
                (t.id(), t.name().map(str::to_owned))
            })
            .await
            .unwrap();
        assert_ne!(id, caller);
        assert!(name.unwrap().starts_with("portcullis-hash-"));
        assert_eq!(p.stats().completed, 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrency_never_exceeds_the_thread_count() {
        // covers: RB-06
        let p = pool(2, 16);
        let gate = Arc::new(Gate::default());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|i| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                p.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    gate.wait();
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        // Two run, six wait in the queue, and no third thread starts.
        eventually(|| running.load(Ordering::SeqCst) == 2);
        let s = p.stats();
        assert_eq!((s.started, s.queued), (2, 6));
        gate.open();
        let mut out = Vec::new();
        for j in jobs {
            out.push(j.await.unwrap());
        }
        assert_eq!(out, (0..8).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(p.stats().completed, 8);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_is_busy_at_once_and_recovers() {
        // covers: RB-06
        let p = pool(1, 1);
        let gate = Arc::new(Gate::default());
        let started = Arc::new(AtomicUsize::new(0));
        let (g, s) = (gate.clone(), started.clone());
        let first = p.run(move || {
            s.fetch_add(1, Ordering::SeqCst);
            g.wait();
        });
        eventually(|| started.load(Ordering::SeqCst) == 1);
        let second = p.run(|| 2);
        assert_eq!(p.run(|| 3).await, Err(HashPoolError::Busy));
        assert_eq!(p.stats().refused, 1);
        gate.open();
        first.await.unwrap();
        assert_eq!(second.await, Ok(2));
        assert_eq!(p.run(|| 4).await, Ok(4));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_fails_alone() {
        let p = pool(1, 4);
        #[allow(clippy::panic)]
        let bad = p.run(|| -> u8 { panic!("job panics") });
        assert_eq!(bad.await, Err(HashPoolError::Failed));
        assert_eq!(p.run(|| 7).await, Ok(7));
    }

    #[test]
    fn a_dropped_job_that_has_not_started_is_skipped() {
        let p = pool(1, 4);
        let gate = Arc::new(Gate::default());
        let ran = Arc::new(AtomicUsize::new(0));
        let g = gate.clone();
        let first = p.run(move || g.wait());
        let r = ran.clone();
        drop(p.run(move || r.fetch_add(1, Ordering::SeqCst)));
        gate.open();
        drop(first);
        eventually(|| p.stats().completed == 2 && p.stats().queued == 0);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}

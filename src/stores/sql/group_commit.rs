//! Group commit of the token issuance that starts a grant (issue 20).
//!
//! `TokenStore::issue` for a fresh grant (a `client_credentials` token, the
//! tokens of a password grant: every grant whose id derives from its new
//! access token) needs no lock and reads nothing: it is one insert. Under
//! load, many of them arrive at once; one database commit each means one
//! log flush (fsync) each, and on SQLite one writer at a time competing for
//! the database lock. Here they queue for one writer task per store, which
//! takes everything queued (up to [`MAX_BATCH`] issuances) and stores it as
//! **one multi-row `INSERT`**: one statement, one commit, one flush.
//!
//! # The durability contract
//! A caller is answered only after the statement that holds its tokens has
//! committed: a token answered to a client is as durable as the database
//! makes a commit (SQLite's `synchronous = FULL`, PostgreSQL's
//! `synchronous_commit = on`). Grouping changes how many tokens share a
//! commit, never whether an answered token was committed.
//!
//! # Failure
//! The statement is atomic: it stores the whole batch or nothing. When it
//! fails, every issuance of the batch is retried on its own
//! ([`Writer::one`]), so each caller gets its own answer, and one bad row
//! (a duplicate hash, say) fails only its own request.
//!
//! Outside a tokio runtime (the writer task needs one), or when the task
//! has stopped (its runtime shut down), an issuance is stored directly;
//! the next call in a runtime starts a new task.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::stores::NewTokens;

/// The most issuances one statement stores. Each is at most two rows of
/// twelve parameters: 256 issuances stay under every database's parameter
/// limit (SQLite's 32 766, PostgreSQL's and MySQL's 65 535).
pub(crate) const MAX_BATCH: usize = 256;

/// How many issuances may wait for the writer before a caller waits to
/// queue (back-pressure instead of unbounded memory).
const QUEUE: usize = 4 * MAX_BATCH;

/// One issuance waiting for the writer, and where its answer goes.
type Job = (NewTokens, oneshot::Sender<Result<(), StoreError>>);

/// What the writer task does with a batch: the database side, written once
/// per SQL store (`sql_store!`).
pub(crate) trait Writer: Send + Sync + 'static {
    /// Stores every issuance of `batch` in one statement, all or nothing.
    fn many(&self, batch: &[NewTokens]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores one issuance on its own (the fallback).
    fn one(&self, tokens: &NewTokens) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.many(std::slice::from_ref(tokens))
    }
}

/// The queue in front of one store's writer task, started on first use.
#[derive(Default)]
pub(crate) struct GroupCommit {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Stores `tokens` with the next group commit, answering once it has
    /// committed. `writer` makes the database side: for the writer task
    /// if none is running, or to store `tokens` directly outside a tokio
    /// runtime or when the task has stopped.
    pub(crate) async fn issue<W: Writer>(
        &self,
        tokens: NewTokens,
        writer: impl Fn() -> W,
    ) -> Result<(), StoreError> {
        let Some(sender) = self.sender(&writer) else {
            return writer().one(&tokens).await;
        };
        let (answer, answered) = oneshot::channel();
        if let Err(mpsc::error::SendError((tokens, _))) = sender.send((tokens, answer)).await {
            // The task stopped (its runtime shut down) between our look and
            // the send: forget it, so the next call starts another.
            self.forget(&sender);
            return writer().one(&tokens).await;
        }
        answered
            .await
            .unwrap_or_else(|_| Err(StoreError::msg("the store's writer stopped")))
    }

    /// The running task's queue, starting one if there is none (or the
    /// last one stopped). `None` outside a tokio runtime.
    fn sender<W: Writer>(&self, writer: &impl Fn() -> W) -> Option<mpsc::Sender<Job>> {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Some(sender.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        runtime.spawn(run(writer(), receiver));
        *slot = Some(sender.clone());
        Some(sender)
    }

    fn forget(&self, stopped: &mpsc::Sender<Job>) {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|s| s.same_channel(stopped)) {
            *slot = None;
        }
    }
}

/// The writer task: until every sender is gone, takes what is queued (at
/// most [`MAX_BATCH`]) and stores it in one statement.
async fn run<W: Writer>(writer: W, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (batch, answers): (Vec<NewTokens>, Vec<_>) = jobs.drain(..).unzip();
        match writer.many(&batch).await {
            Ok(()) => {
                for answer in answers {
                    // A caller that has gone away needs no answer.
                    let _ = answer.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 => {
                let _ = answers.into_iter().next().map(|a| a.send(Err(e)));
            }
            Err(_) => {
                for (tokens, answer) in batch.iter().zip(answers) {
                    let _ = answer.send(writer.one(tokens).await);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::client::ClientId;
    use crate::clock::UnixTime;
    use crate::scope::ScopeSet;
    use crate::stores::AccessRecord;
    use crate::tokens::{GrantId, TokenHash};

    /// Counts statements; fails a batch holding a "bad" token as a whole,
    /// and that token alone when it is stored on its own.
    #[derive(Clone, Default)]
    struct Recorder {
        statements: Arc<AtomicUsize>,
        stored: Arc<Mutex<Vec<TokenHash>>>,
        bad: Option<TokenHash>,
    }

    impl Writer for Recorder {
        async fn many(&self, batch: &[NewTokens]) -> Result<(), StoreError> {
            self.statements.fetch_add(1, Ordering::SeqCst);
            // Let the other callers queue behind this statement.
            tokio::task::yield_now().await;
            if batch.iter().any(|t| Some(t.access.hash) == self.bad) {
                return Err(StoreError::msg("duplicate"));
            }
            let mut stored = self.stored.lock().unwrap_or_else(PoisonError::into_inner);
            stored.extend(batch.iter().map(|t| t.access.hash));
            Ok(())
        }
    }

    fn tokens(n: usize) -> NewTokens {
        let hash = TokenHash::of(&format!("token {n}"));
        let access = AccessRecord {
            hash,
            grant: GrantId::derive(&hash),
            client_id: ClientId::parse("c").expect("a valid id"),
            subject: None,
            scope: ScopeSet::parse("read").expect("a valid scope"),
            issued_at: UnixTime::from_secs(1),
            expires_at: UnixTime::from_secs(2),
            openid: None,
            dpop_jkt: None,
            resources: Vec::new(),
            act: None,
        };
        NewTokens {
            access,
            refresh: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_issuances_share_statements_and_each_is_answered_after_its_own() {
        let group = Arc::new(GroupCommit::default());
        let recorder = Recorder::default();
        let calls = (0..100).map(|n| {
            let (group, recorder) = (group.clone(), recorder.clone());
            tokio::spawn(async move { group.issue(tokens(n), || recorder.clone()).await })
        });
        let calls: Vec<_> = calls.collect();
        for call in calls {
            assert!(call.await.expect("no panic").is_ok());
        }
        let stored = recorder.stored.lock().expect("not poisoned").len();
        assert_eq!(stored, 100, "every issuance stored once");
        let statements = recorder.statements.load(Ordering::SeqCst);
        assert!(
            statements < 100,
            "{statements} statements for 100 concurrent issuances"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failing_batch_is_retried_one_by_one_so_only_the_bad_issuance_fails() {
        let group = Arc::new(GroupCommit::default());
        let recorder = Recorder {
            bad: Some(tokens(7).access.hash),
            ..Recorder::default()
        };
        let calls: Vec<_> = (0..20)
            .map(|n| {
                let (group, recorder) = (group.clone(), recorder.clone());
                tokio::spawn(async move { (n, group.issue(tokens(n), || recorder.clone()).await) })
            })
            .collect();
        for call in calls {
            let (n, result) = call.await.expect("no panic");
            assert_eq!(result.is_err(), n == 7, "issuance {n}: {result:?}");
        }
        assert_eq!(recorder.stored.lock().expect("not poisoned").len(), 19);
    }

    #[test]
    fn a_writer_whose_runtime_shut_down_is_replaced_and_outside_one_tokens_are_stored_directly() {
        let group = Arc::new(GroupCommit::default());
        let recorder = Recorder::default();
        for n in 0..3 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            let result = runtime.block_on(group.issue(tokens(n), || recorder.clone()));
            assert!(result.is_ok(), "runtime {n}: {result:?}");
            // Dropping the runtime stops the writer task it ran.
        }
        assert_eq!(recorder.stored.lock().expect("not poisoned").len(), 3);
    }
}

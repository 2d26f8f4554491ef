//! Waking workers: a [`WorkSignal`] per [`WorkChannel`] that wakes when this instance stores
//! work and, on PostgreSQL, when any instance sharing the database does (`LISTEN/NOTIFY`).
//! Polling with a bounded wait stays the fallback, so a lost wake-up costs latency, never work.
//!
//! Owns: the channels and the listener task. The rooms announce on commit; nothing here reads
//! or writes a table.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::SqlStore;
use crate::secret::Secret;

/// Which kind of work a [`WorkSignal`] announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkChannel {
    /// New events in the inbox.
    Inbox,
    /// New pending actions.
    Actions,
}

impl WorkChannel {
    /// The PostgreSQL `LISTEN/NOTIFY` channel it travels on between instances.
    pub fn pg_channel(self) -> &'static str {
        match self {
            WorkChannel::Inbox => "commentguard_inbox",
            WorkChannel::Actions => "commentguard_actions",
        }
    }
}

/// Wakes a worker when work was announced on one [`WorkChannel`].
///
/// An announcement made after the subscription and before a [`WorkSignal::wait`] is
/// remembered, so the loop "subscribe once; claim until empty; wait" never misses one. Several
/// announcements between two waits wake once.
#[derive(Debug, Clone)]
pub struct WorkSignal {
    rx: watch::Receiver<u64>,
}

impl WorkSignal {
    pub fn new(rx: watch::Receiver<u64>) -> Self {
        WorkSignal { rx }
    }

    /// Waits until work was announced since the last wait (or the subscription), or until
    /// `max_wait` passes. Returns `true` when woken by an announcement, `false` on time out:
    /// then poll anyway, the announcement may have been lost (a listener reconnecting).
    pub async fn wait(&mut self, max_wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + max_wait;
        match tokio::time::timeout_at(deadline, self.rx.changed()).await {
            Ok(Ok(())) => {
                self.rx.borrow_and_update();
                true
            }
            // The store is gone: nothing will announce anything, polling is all that is left.
            Ok(Err(_)) => {
                tokio::time::sleep_until(deadline).await;
                false
            }
            Err(_) => false,
        }
    }
}

/// Subscribing to announcements of new work: what a worker loop needs beside its room.
#[async_trait]
pub trait WorkSignals: Send + Sync + 'static {
    /// Subscribes to announcements of new work on `channel`: inbox events stored and pending
    /// actions planned by this instance, and on PostgreSQL by every instance on the database.
    /// Subscribe once, before the first claim, and keep the signal across the loop.
    fn subscribe(&self, channel: WorkChannel) -> WorkSignal;

    /// Waits for work announced on `channel` after this call, or `max_wait`. Returns `true`
    /// when woken by an announcement. A loop should prefer [`WorkSignals::subscribe`], which also
    /// remembers announcements made while it was busy claiming.
    async fn wait_for_work(&self, channel: WorkChannel, max_wait: Duration) -> bool {
        self.subscribe(channel).wait(max_wait).await
    }
}

impl WorkSignals for SqlStore {
    fn subscribe(&self, channel: WorkChannel) -> WorkSignal {
        self.work.subscribe(channel)
    }
}

/// Announces new work to this instance's [`WorkSignal`]s: fed by this store's own commits and,
/// on PostgreSQL, by a `LISTEN` on the channels every instance `NOTIFY`s.
#[derive(Debug)]
pub(super) struct WorkHub {
    inbox: Arc<watch::Sender<u64>>,
    actions: Arc<watch::Sender<u64>>,
    /// Where the listener connects; `None` on SQLite. It may hold a password: never logged.
    pg_url: Option<Secret>,
    /// The listener task, started by the first subscription.
    listener: OnceLock<Option<AbortHandle>>,
}

impl WorkHub {
    pub(super) fn new(pg_url: Option<Secret>) -> WorkHub {
        WorkHub {
            inbox: Arc::new(watch::channel(0).0),
            actions: Arc::new(watch::channel(0).0),
            pg_url,
            listener: OnceLock::new(),
        }
    }

    fn sender(&self, channel: WorkChannel) -> &watch::Sender<u64> {
        match channel {
            WorkChannel::Inbox => &self.inbox,
            WorkChannel::Actions => &self.actions,
        }
    }

    pub(super) fn announce(&self, channel: WorkChannel) {
        bump(self.sender(channel));
    }

    pub(super) fn subscribe(&self, channel: WorkChannel) -> WorkSignal {
        if let Some(url) = &self.pg_url {
            self.listener.get_or_init(|| {
                // Without a runtime there is no listener: the signal then only carries this
                // instance's announcements, and polling covers the rest.
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                let task = runtime.spawn(listen(
                    url.clone(),
                    self.inbox.clone(),
                    self.actions.clone(),
                ));
                Some(task.abort_handle())
            });
        }
        WorkSignal::new(self.sender(channel).subscribe())
    }
}

impl Drop for WorkHub {
    fn drop(&mut self) {
        if let Some(Some(task)) = self.listener.get() {
            task.abort();
        }
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|n| *n = n.wrapping_add(1));
}

/// Relays other instances' `NOTIFY`s to this instance's signals, reconnecting for as long as
/// the store lives. Whenever it was not listening, it wakes every waiter once: what was
/// announced meanwhile is lost, and a claim that finds nothing is cheap.
async fn listen(url: Secret, inbox: Arc<watch::Sender<u64>>, actions: Arc<watch::Sender<u64>>) {
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let channels = [
        WorkChannel::Inbox.pg_channel(),
        WorkChannel::Actions.pg_channel(),
    ];
    let wake_all = || {
        bump(&inbox);
        bump(&actions);
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect(url.expose()).await?;
            listener.listen_all(channels).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64,
                    "work listener cannot LISTEN; workers poll meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == WorkChannel::Inbox.pg_channel() => bump(&inbox),
                Ok(Some(n)) if n.channel() == WorkChannel::Actions.pg_channel() => bump(&actions),
                Ok(Some(_)) => {}
                // Connection lost; the next try_recv reconnects and LISTENs again.
                Ok(None) => wake_all(),
                Err(e) => {
                    tracing::warn!(error = %e, "work listener lost its connection; reconnecting");
                    wake_all();
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

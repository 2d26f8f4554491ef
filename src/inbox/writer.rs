//! Group commit: one writer task stores concurrent deliveries in one transaction.
//!
//! Each request waits for the commit that contains it, so a 200 is only ever sent for a stored
//! body, while one fsync serves many requests.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Delivery, InboxStore, InsertOutcome};

/// Largest number of deliveries committed together.
const MAX_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the inbox could not store the notification: {0}")]
    Store(String),
    #[error("the inbox writer has stopped")]
    Stopped,
}

struct Job {
    delivery: Delivery,
    reply: oneshot::Sender<Result<InsertOutcome, String>>,
}

#[derive(Clone)]
pub struct InboxWriter {
    route: Route,
}

#[derive(Clone)]
enum Route {
    /// Through this module's writer task, which batches.
    Batching(mpsc::Sender<Job>),
    /// Straight to a store that batches by itself ([`InboxStore::groups_inserts`]).
    Direct(Arc<dyn InboxStore>),
}

impl InboxWriter {
    /// Starts the writer task. The store announces new events after each commit
    /// (`WorkSignals::subscribe(WorkChannel::Inbox)`), which wakes the pipeline workers.
    pub fn spawn(store: Arc<dyn InboxStore>) -> (InboxWriter, tokio::task::JoinHandle<()>) {
        if store.groups_inserts() {
            let writer = InboxWriter {
                route: Route::Direct(store),
            };
            // Every request is answered after its commit: nothing is left to finish at the end.
            return (writer, tokio::spawn(async {}));
        }
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let handle = tokio::spawn(async move {
            let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            // Ends when every sender is dropped (the HTTP server has finished), after the last
            // batch is committed.
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let (deliveries, replies): (Vec<Delivery>, Vec<_>) =
                    batch.drain(..).map(|j| (j.delivery, j.reply)).unzip();
                let started = std::time::Instant::now();
                let result = store.insert_deliveries(&deliveries).await;
                metrics::histogram!("commentguard_inbox_commit_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!("commentguard_inbox_batch_size").record(replies.len() as f64);
                match result {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, batch.size = replies.len(), "inbox commit failed");
                        let msg = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(msg.clone()));
                        }
                    }
                }
            }
        });
        (
            InboxWriter {
                route: Route::Batching(tx),
            },
            handle,
        )
    }

    /// Stores a delivery; returns once it is committed.
    pub async fn submit(&self, delivery: Delivery) -> Result<InsertOutcome, InboxError> {
        let tx = match &self.route {
            Route::Batching(tx) => tx,
            Route::Direct(store) => {
                return store
                    .insert_delivery(delivery)
                    .await
                    .map_err(|e| InboxError::Store(e.to_string()));
            }
        };
        let (reply, rx) = oneshot::channel();
        tx.send(Job { delivery, reply })
            .await
            .map_err(|_| InboxError::Stopped)?;
        rx.await
            .map_err(|_| InboxError::Stopped)?
            .map_err(InboxError::Store)
    }
}

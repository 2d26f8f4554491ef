//! The public front door: the webhook handshake, signed deliveries, and health probes.
//!
//! A POST is answered 200 only after its body is committed to the inbox. Nothing here parses
//! before the signature is verified over the exact bytes received.

pub mod gate;
pub mod signature;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::inbox::{self, InboxWriter};
use crate::secret::{constant_time_eq, Secret};
use crate::store::{Delivery, Store};

/// Longest `hub.challenge` echoed back; Meta sends a short number.
const MAX_CHALLENGE_LEN: usize = 256;
/// The longest a delivery waits for its commit before it is answered 503.
const ACK_DEADLINE: Duration = Duration::from_secs(4);

#[derive(Clone)]
pub struct IngressState {
    pub app_secrets: Arc<Vec<Secret>>,
    /// Closed while the database does not take writes (see [`gate`]).
    pub gate: Arc<gate::WriteGate>,
    pub verify_token: Secret,
    pub writer: InboxWriter,
    pub store: Arc<dyn Store>,
}

pub fn router(state: IngressState, body_limit: usize) -> Router {
    // Shared, not cloned per request (a clone copied the verify token's string every time).
    let state = Arc::new(state);
    Router::new()
        .route("/webhook", get(handshake).post(receive))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(body_limit))
        // A body over the limit is refused before the handler runs: say so, and count it.
        .layer(axum::middleware::map_response(move |resp: Response| async move {
            if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
                metrics::counter!("commentguard_notifications_received_total", "outcome" => "too_large")
                    .increment(1);
                tracing::warn!(
                    body.limit = body_limit,
                    "webhook refused: the body is over COMMENTGUARD_BODY_LIMIT (413)"
                );
            }
            resp
        }))
        .with_state(state)
}

async fn handshake(
    State(state): State<Arc<IngressState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let challenge = q.get("hub.challenge").map(String::as_str).unwrap_or("");
    if mode != Some("subscribe")
        || !constant_time_eq(token.as_bytes(), &state.verify_token)
        || challenge.is_empty()
        || challenge.len() > MAX_CHALLENGE_LEN
    {
        tracing::warn!(hub.mode = mode.unwrap_or(""), "webhook handshake refused");
        return StatusCode::FORBIDDEN.into_response();
    }
    tracing::info!("webhook handshake answered");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        challenge.to_string(),
    )
        .into_response()
}

async fn receive(
    State(state): State<Arc<IngressState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(sig, &body, &state.app_secrets) {
        metrics::counter!("commentguard_signature_failures_total", "reason" => e.label())
            .increment(1);
        tracing::warn!(
            reason = e.label(),
            body.bytes = body.len(),
            "webhook refused: {e}"
        );
        return (StatusCode::UNAUTHORIZED, e.to_string()).into_response();
    }
    let delivery = inbox::split(&body);
    // Built only when the line below is written (its strings cost more than the line's check).
    let summary = tracing::enabled!(tracing::Level::INFO).then(|| summarize(&delivery));
    // A database that cannot take the write (locked, failing over, out of disk) gets a quick
    // 503, well inside Meta's 20 s: Meta retries a 503, and it counts a timeout as a failure.
    // A write that commits after the deadline is harmless: the retry is stored once.
    let ticket = state.gate.pass();
    if ticket.pass == gate::Pass::Refuse {
        metrics::counter!("commentguard_notifications_received_total", "outcome" => "store_error")
            .increment(1);
        return (StatusCode::SERVICE_UNAVAILABLE, "not stored, retry").into_response();
    }
    let submitted = match tokio::time::timeout(ACK_DEADLINE, state.writer.submit(delivery)).await {
        Ok(r) => r,
        Err(_) => Err(crate::inbox::InboxError::Store(format!(
            "the database did not commit within {} s",
            ACK_DEADLINE.as_secs()
        ))),
    };
    match &submitted {
        Ok(_) => state.gate.outcome(ticket, Ok(())),
        Err(crate::inbox::InboxError::Store(why)) => state.gate.outcome(ticket, Err(why)),
        // The writer stopped (shutting down): not the database's doing.
        Err(crate::inbox::InboxError::Stopped) => drop(ticket),
    }
    match submitted {
        Ok(outcome) => {
            let outcome_label = if outcome.dead_letters > 0 {
                "dead_letter"
            } else if outcome.stored == 0 {
                "duplicate"
            } else {
                "stored"
            };
            metrics::counter!("commentguard_notifications_received_total", "outcome" => outcome_label)
                .increment(1);
            metrics::histogram!("commentguard_ack_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            if let Some(summary) = summary {
                tracing::info!(
                    notification.fields = %summary.fields,
                    notification.ids = %summary.ids,
                    notification.changes = summary.changes,
                    stored = outcome.stored,
                    duplicates = outcome.duplicates,
                    outcome = outcome_label,
                    "webhook stored"
                );
            }
            (StatusCode::OK, "EVENT_RECEIVED").into_response()
        }
        Err(e) => {
            metrics::counter!("commentguard_notifications_received_total", "outcome" => "store_error")
                .increment(1);
            // Logged once per outage by the gate; this one only while writes still work.
            if state.gate.down().is_none() {
                tracing::error!(error = %e, "webhook not stored; answering 503 so Meta retries");
            }
            (StatusCode::SERVICE_UNAVAILABLE, "not stored, retry").into_response()
        }
    }
}

struct Summary {
    fields: String,
    ids: String,
    changes: usize,
}

fn summarize(d: &Delivery) -> Summary {
    match d {
        Delivery::Events(events) => {
            let mut fields: Vec<&str> = events.iter().map(|e| e.field.as_str()).collect();
            fields.dedup();
            let ids: Vec<&str> = events
                .iter()
                .take(5)
                .map(|e| e.dedup_key.as_str())
                .collect();
            Summary {
                fields: fields.join(","),
                ids: ids.join(","),
                changes: events.len(),
            }
        }
        Delivery::DeadLetter { reason, .. } => Summary {
            fields: "dead_letter".into(),
            ids: reason.clone(),
            changes: 0,
        },
    }
}

/// The database answers. (The rules loaded before the listener opened: serve does not start
/// without them, and a broken edit later keeps the last good ones.)
async fn ready(State(state): State<Arc<IngressState>>) -> Response {
    // The details (the database's own words) go to the log, not to this public endpoint.
    // While deliveries are refused, a read is not enough (a full disk still reads): the
    // database must take a write where deliveries are written.
    let refusing = state.gate.down().is_some();
    let probe = async {
        if refusing {
            state.store.probe_write().await
        } else {
            state.store.ping().await
        }
    };
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(())) => {
            // The database takes writes again: deliveries go through (the next one that fails
            // closes the gate again). Without this, a load balancer that stopped sending
            // deliveries because of this endpoint would never see one commit. Only a write
            // reopens it: a ping that raced with a delivery's failed commit proves nothing.
            if refusing {
                state.gate.reopen("the database takes /readyz's write");
            } else if state.gate.down().is_some() {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not ready: the database took no write a moment ago",
                )
                    .into_response();
            }
            (StatusCode::OK, "ready").into_response()
        }
        Ok(Err(e)) if refusing => {
            tracing::debug!(error = %e, "not ready: the database takes no writes");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database takes no writes (a full disk, or it is read-only)",
            )
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer",
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database did not answer within 2 s",
        )
            .into_response(),
    }
}

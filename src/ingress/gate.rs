//! While the database does not take writes, deliveries are answered 503 at once instead of
//! each waiting the full commit deadline: Meta retries a 503, and a quick one keeps Meta's
//! connections (and ours) free. One delivery at a time is let through as a probe; the first
//! that commits opens the gate again. The state change is logged once each way and counted,
//! not once per delivery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What a delivery may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The database takes writes: commit.
    Go,
    /// The database did not take the last write: this delivery tries, the others wait for it.
    Probe,
    /// Another delivery is probing: answer 503 at once.
    Refuse,
}

#[derive(Debug, Default)]
pub struct WriteGate {
    down_since: Mutex<Option<(Instant, String)>>,
    probing: AtomicBool,
}

/// A delivery's way through the gate. A probe that is dropped unsettled (the client went
/// away and the request was cancelled mid-commit) lets the next delivery probe: the gate
/// never stays closed because one probe vanished.
pub struct Ticket<'a> {
    gate: &'a WriteGate,
    pub pass: Pass,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.pass == Pass::Probe {
            self.gate.probing.store(false, Ordering::Release);
        }
    }
}

impl WriteGate {
    pub fn pass(&self) -> Ticket<'_> {
        let pass = if self.down().is_none() {
            Pass::Go
        } else {
            match self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => Pass::Probe,
                Err(_) => Pass::Refuse,
            }
        };
        Ticket { gate: self, pass }
    }

    /// Why writes fail and since when, while they do.
    pub fn down(&self) -> Option<(Instant, String)> {
        self.down_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Opens the gate when the database is known to answer again (`/readyz` pinged it).
    pub fn reopen(&self, why: &str) {
        let mut down = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((since, _)) = down.take() {
            tracing::info!(
                outage.seconds = since.elapsed().as_secs_f64(),
                reason = why,
                "the database answers again: webhooks go through"
            );
            metrics::gauge!("commentguard_database_writable").set(1.0);
        }
    }

    /// Records how a delivery that went through ([`Pass::Go`] or [`Pass::Probe`]) ended; the
    /// ticket's probe, if it was one, ends with it.
    pub fn outcome(&self, ticket: Ticket<'_>, result: Result<(), &str>) {
        {
            let mut down = self.down_since.lock().unwrap_or_else(|e| e.into_inner());
            match (result, down.as_ref()) {
                (Ok(()), Some((since, _))) => {
                    tracing::info!(
                        outage.seconds = since.elapsed().as_secs_f64(),
                        "the database takes writes again: webhooks are stored and answered 200"
                    );
                    metrics::gauge!("commentguard_database_writable").set(1.0);
                    *down = None;
                }
                (Err(why), None) => {
                    tracing::error!(error = %why, "the database does not take writes: webhooks are answered 503 at once (Meta retries them) until one commits");
                    metrics::gauge!("commentguard_database_writable").set(0.0);
                    metrics::counter!("commentguard_database_outages_total").increment(1);
                    *down = Some((Instant::now(), why.to_string()));
                }
                _ => {}
            }
        }
        drop(ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_closes_the_gate_to_all_but_one_probe_and_a_commit_opens_it() {
        let g = WriteGate::default();
        let go = g.pass();
        assert_eq!(go.pass, Pass::Go);
        g.outcome(go, Err("connection refused"));
        assert!(g.down().is_some_and(|(_, why)| why == "connection refused"));
        let probe = g.pass();
        assert_eq!(probe.pass, Pass::Probe);
        assert_eq!(g.pass().pass, Pass::Refuse);
        assert_eq!(g.pass().pass, Pass::Refuse);
        g.outcome(probe, Err("connection refused"));
        let probe = g.pass();
        assert_eq!(probe.pass, Pass::Probe);
        g.outcome(probe, Ok(()));
        assert!(g.down().is_none());
        assert_eq!(g.pass().pass, Pass::Go);
    }

    #[test]
    fn a_ping_that_answers_reopens_the_gate() {
        let g = WriteGate::default();
        g.outcome(g.pass(), Err("connection refused"));
        assert!(g.down().is_some());
        g.reopen("ping answered");
        assert_eq!(g.pass().pass, Pass::Go);
    }

    #[test]
    fn a_probe_cancelled_before_its_outcome_lets_the_next_delivery_probe() {
        let g = WriteGate::default();
        g.outcome(g.pass(), Err("connection refused"));
        let probe = g.pass();
        assert_eq!(probe.pass, Pass::Probe);
        // The request was cancelled mid-commit (the client went away): no outcome.
        drop(probe);
        assert_eq!(g.pass().pass, Pass::Probe);
    }
}

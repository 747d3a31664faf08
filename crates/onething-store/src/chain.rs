//! The hash chain of the event log: the hash of an event and the verifier that walks the log.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{EventRow, GENESIS, Store, StoreError};

/// The outcome of checking the event chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: i64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// The hash of an event: SHA-256 (hex) over its fields and both previous hashes, each on its own line.
/// `at` is written as RFC 3339 in UTC with the precision the store keeps (milliseconds).
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    seq: i64,
    id: &str,
    case_id: Option<&str>,
    kind: &str,
    actor: &str,
    at: Timestamp,
    payload: &str,
    prev_hash: &str,
    case_prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.to_string();
    for part in [&seq.to_string(), id, case_id.unwrap_or(""), kind, actor, &at, payload, prev_hash, case_prev_hash] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Truncates an instant to the millisecond precision the stores keep.
pub fn to_millis(ts: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(ts.as_millisecond()).unwrap_or(ts)
}

/// Checks a run of events (in seq order, from seq 1) against each other and against the stored head: seq
/// without gaps, every hash recomputed, every global and per-case link. Call it on the whole log, streamed in
/// pages by the caller through `state`.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: Option<String>,
    case_heads: std::collections::HashMap<String, String>,
    broken: Option<BrokenLink>,
}

impl ChainVerifier {
    /// Feeds the next event; returns false once a link is broken (the first break is kept).
    pub fn feed(&mut self, e: &EventRow) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let fail = |reason: String| Some(BrokenLink { seq: e.seq, reason });
        let expected_prev = self.last_hash.clone().unwrap_or_else(|| GENESIS.to_string());
        let expected_case_prev =
            e.case_id.as_ref().and_then(|c| self.case_heads.get(c).cloned()).unwrap_or_else(|| GENESIS.to_string());
        if e.seq != self.last_seq + 1 {
            self.broken = fail(format!(
                "expected event {} next, found {} (an event was deleted or inserted)",
                self.last_seq + 1,
                e.seq
            ));
        } else if e.prev_hash != expected_prev {
            self.broken = fail("its previous-event hash does not match the event before it".to_string());
        } else if e.case_prev_hash != expected_case_prev {
            self.broken = fail("its previous-case-event hash does not match the case's event before it".to_string());
        } else {
            let h = event_hash(
                e.seq,
                &e.id,
                e.case_id.as_deref(),
                &e.kind,
                &e.actor,
                e.at,
                &e.payload,
                &e.prev_hash,
                &e.case_prev_hash,
            );
            if h != e.hash {
                self.broken = fail("its content does not match its hash (the row was altered)".to_string());
            }
        }
        if self.broken.is_some() {
            return false;
        }
        self.last_seq = e.seq;
        self.last_hash = Some(e.hash.clone());
        if let Some(c) = &e.case_id {
            self.case_heads.insert(c.clone(), e.hash.clone());
        }
        true
    }

    /// Ends the check against the stored head (catches deleting the newest events).
    pub fn finish(mut self, head: (i64, String)) -> ChainReport {
        if self.broken.is_none() {
            let last = self.last_hash.clone().unwrap_or_else(|| GENESIS.to_string());
            if head.0 != self.last_seq || head.1 != last {
                self.broken = Some(BrokenLink {
                    seq: self.last_seq + 1,
                    reason: format!(
                        "the log ends at event {} but its head says {} (events were deleted)",
                        self.last_seq, head.0
                    ),
                });
            }
        }
        ChainReport { events: self.last_seq, broken: self.broken }
    }
}

/// Verifies the whole chain of a store, page by page.
pub async fn verify_chain(store: &dyn Store) -> Result<ChainReport, StoreError> {
    let mut v = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.events_after(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if !v.feed(e) {
                let head = store.chain_head().await?;
                return Ok(v.finish(head));
            }
        }
    }
    let head = store.chain_head().await?;
    Ok(v.finish(head))
}

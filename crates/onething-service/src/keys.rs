//! The installation's signing keys (签名密钥): Ed25519 keys that sign what the installation vouches for —
//! electronic licences (电子证照) and checkpoints of the event chain. Made at first start, kept in the store
//! so that every node signs with the same key, rotated on demand: the newest key signs, the retired ones
//! stay published so that what they signed still verifies.
//!
//! The ring is one record (kind `installation_keys`, id `ring`) written over the version read, so two nodes
//! starting at once make one ring, not two. Its secrets never enter the event log: the events of the ring
//! carry only key ids and public keys. They are in the database (and in its exports and backups): protect
//! those as the key itself.

use jiff::Timestamp;
use onething_licence::IssuerKey;
use onething_store::{Changeset, StoreError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::{Role, User};
use crate::events::{Event, ServiceEvent};
use crate::records::{Record, RecordDoc};
use crate::{Service, back_off};

/// One key of the ring.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredKey {
    /// The key id (derived from the public key).
    pub id: String,
    /// The public key as a Multikey value (`z6Mk…`).
    pub public_key: String,
    /// The secret key as a Multikey value (`z3u2…`). Never logged, never shown.
    secret: String,
    pub created_at: Timestamp,
    /// When a newer key took over signing.
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("id", &self.id)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    fn of(key: &IssuerKey, now: Timestamp) -> Result<StoredKey, String> {
        Ok(StoredKey {
            id: key.id().to_string(),
            public_key: key.public_key_multibase(),
            secret: key.to_secret_multibase().map_err(|e| e.to_string())?.to_string(),
            created_at: now,
            retired_at: None,
        })
    }

    /// The key, to sign with.
    pub fn signing_key(&self) -> Result<IssuerKey, String> {
        let secret = Zeroizing::new(self.secret.clone());
        IssuerKey::from_secret_multibase(&secret).map_err(|e| e.to_string())
    }
}

/// The installation's keys, newest last; the last one not retired signs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyRing {
    pub keys: Vec<StoredKey>,
}

impl RecordDoc for KeyRing {
    const KIND: &'static str = "installation_keys";
}

impl KeyRing {
    const ID: &'static str = "ring";

    /// The key that signs now.
    pub fn current(&self) -> Result<&StoredKey, String> {
        self.keys.iter().rev().find(|k| k.retired_at.is_none()).ok_or_else(|| "the key ring has no current key".into())
    }

    /// A key by its id, current or retired.
    pub fn key(&self, id: &str) -> Option<&StoredKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// Why the keys could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("only an administrator rotates the installation's keys")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl Service {
    /// The installation's key ring, made (with one key) if there is none yet.
    pub async fn key_ring(&self) -> Result<KeyRing, KeyError> {
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            if let Some(row) = self.store.record(KeyRing::KIND, KeyRing::ID).await? {
                return Ok(Record::<KeyRing>::from_row(row).map_err(KeyError::Internal)?.doc);
            }
            let now = self.now();
            let key = IssuerKey::generate().map_err(|e| KeyError::Internal(e.to_string()))?;
            let ring = KeyRing { keys: vec![StoredKey::of(&key, now).map_err(KeyError::Internal)?] };
            let event = ServiceEvent::KeyCreated {
                key_id: key.id().to_string(),
                public_key: key.public_key_multibase(),
                retired: None,
            };
            match self.commit_ring(Record::new(KeyRing::ID, "active", now, ring.clone()), event, "system", now).await {
                Ok(()) => return Ok(ring),
                // Another node made the ring first: read theirs.
                Err(KeyError::Store(StoreError::Duplicate { .. } | StoreError::Conflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(KeyError::Store(StoreError::Conflict { what: "installation keys".into() }))
    }

    /// The key that signs now.
    pub async fn signing_key(&self) -> Result<IssuerKey, KeyError> {
        self.key_ring().await?.current().and_then(StoredKey::signing_key).map_err(KeyError::Internal)
    }

    /// Makes a new key current and retires the one before (it stays published). Administrators only.
    pub async fn rotate_keys(&self, user: &User) -> Result<KeyRing, KeyError> {
        if !user.has(Role::Admin) {
            return Err(KeyError::Forbidden);
        }
        self.key_ring().await?;
        for attempt in 0..crate::WRITE_ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let row = self.store.record(KeyRing::KIND, KeyRing::ID).await?;
            let row = row.ok_or_else(|| KeyError::Internal("the key ring disappeared".into()))?;
            let mut record = Record::<KeyRing>::from_row(row).map_err(KeyError::Internal)?;
            let now = self.now();
            let retired = record.doc.current().ok().map(|k| k.id.clone());
            for k in &mut record.doc.keys {
                k.retired_at.get_or_insert(now);
            }
            let key = IssuerKey::generate().map_err(|e| KeyError::Internal(e.to_string()))?;
            record.doc.keys.push(StoredKey::of(&key, now).map_err(KeyError::Internal)?);
            record.updated_at = now;
            let ring = record.doc.clone();
            let event = ServiceEvent::KeyCreated {
                key_id: key.id().to_string(),
                public_key: key.public_key_multibase(),
                retired,
            };
            match self.commit_ring(record, event, &user.id, now).await {
                Ok(()) => return Ok(ring),
                Err(KeyError::Store(StoreError::Conflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(KeyError::Store(StoreError::Conflict { what: "installation keys".into() }))
    }

    async fn commit_ring(
        &self,
        record: Record<KeyRing>,
        event: ServiceEvent,
        actor: &str,
        now: Timestamp,
    ) -> Result<(), KeyError> {
        let write = record.write().map_err(KeyError::Internal)?;
        let event = Event::from(event).to_new(None, actor, now).map_err(KeyError::Internal)?;
        self.store.commit(Changeset { records: vec![write], event: Some(event), ..Changeset::default() }).await?;
        Ok(())
    }
}

//! Who someone is, as people read it: the display name (姓名) of an account id, for the pages that show who
//! filed, decided, escalated or noted something — never an internal id.

use std::collections::BTreeMap;

use crate::Service;
use crate::errors::ReadError;

impl Service {
    /// The display names of these accounts (`system` is the deadline worker); an id with no account is shown as
    /// it is, so a deleted account still reads as something.
    pub async fn display_names(&self, ids: &[&str]) -> Result<BTreeMap<String, String>, ReadError> {
        let mut out = BTreeMap::new();
        for id in ids {
            if id.is_empty() || out.contains_key(*id) {
                continue;
            }
            let name = match self.store.user(id).await? {
                Some(u) if !u.display_name.trim().is_empty() => u.display_name,
                Some(u) => u.username,
                None => id.to_string(),
            };
            out.insert(id.to_string(), name);
        }
        Ok(out)
    }
}

//! Each workspace's share of the database's read capacity.
//!
//! Lists and counts can scan. Without a bound, one workspace sending many expensive lists
//! at once holds every SQLite reader (or PostgreSQL connection) and both cores, and every
//! other workspace waits behind it. So a workspace runs at most `per_workspace` scanning
//! reads at once; its further ones wait here — holding no connection — and are refused
//! with `Busy` when no turn comes within the wait. The other connections stay free for
//! other workspaces, and key lookups have connections of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{StoreError, StoreResult};

pub struct WorkspaceShare {
    per_workspace: usize,
    wait: Duration,
    turns: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A turn to run one scanning read; given back when dropped.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

impl WorkspaceShare {
    pub fn new(per_workspace: usize, wait: Duration) -> WorkspaceShare {
        WorkspaceShare {
            per_workspace: per_workspace.max(1),
            wait,
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a turn of the workspace, at most the configured wait.
    pub async fn turn(&self, workspace_id: &str) -> StoreResult<Turn> {
        let semaphore = self.semaphore(workspace_id);
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn { _permit: permit }),
            Ok(Err(_)) => Err(StoreError::Unavailable("the database is closed".into())),
            Err(_) => Err(StoreError::Busy(format!(
                "this workspace already runs {} lists or counts at once; retry shortly",
                self.per_workspace
            ))),
        }
    }

    fn semaphore(&self, workspace_id: &str) -> Arc<Semaphore> {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(semaphore) = turns.get(workspace_id) {
            return semaphore.clone();
        }
        // Forget workspaces with no read running or waiting, so the map stays small.
        if turns.len() >= 1024 {
            let full = self.per_workspace;
            turns.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() < full);
        }
        let semaphore = Arc::new(Semaphore::new(self.per_workspace));
        turns.insert(workspace_id.to_owned(), semaphore.clone());
        semaphore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_workspace_waits_for_its_own_turns_only() {
        let share = WorkspaceShare::new(2, Duration::from_millis(50));
        let a1 = share.turn("a").await.unwrap();
        let _a2 = share.turn("a").await.unwrap();
        assert!(matches!(share.turn("a").await, Err(StoreError::Busy(_))));
        let _b = share.turn("b").await.unwrap();
        drop(a1);
        assert!(share.turn("a").await.is_ok());
    }
}

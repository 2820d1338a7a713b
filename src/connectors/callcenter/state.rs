//! What an account keeps: the collection cursors (committed with the records they follow)
//! and each task creation's progress (committed before every step).

use crate::connectors::state::{Json, Key};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The end (epoch seconds) of the last CDR window collected.
pub const CDR_CURSOR: Key<u64> = Key::new("cdr_cursor");
/// The largest record `key` collected.
pub const RECORDS_CURSOR: Key<String> = Key::new("records_cursor");

/// A `cc.task.create` command's progress: what was sent, what the platform said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskJob {
    /// The `userData` every request of the job carries (the caller's, or a marker).
    pub user_data: String,
    /// The seat's task before the first creation was sent (CallTaskQuery); `Some("")`
    /// when it had none.
    pub before: Option<String>,
    /// Creations sent (committed before each).
    pub create_tries: u32,
    pub task_id: Option<String>,
    /// Callee lists of 1000 taken by the platform (the creation's included).
    pub chunks_done: usize,
    /// Each step's `report`.
    pub reports: Vec<Value>,
    /// The task was found by CallTaskQuery after a creation whose answer was lost.
    #[serde(default)]
    pub adopted: bool,
}

pub fn task_key(cmd_id: &str) -> Key<Json<TaskJob>> {
    Key::item("task", cmd_id)
}

//! Cloud commands: the wire format, the handler registry, and the dispatcher.
//!
//! A command is published to `{prefix}/{agent}/cmd/{target}` as
//! `{"id":"c-1","cmd":"agent.ping","args":{…}}`. The dispatcher records it in the
//! store's inbox **before** acknowledging the MQTT message, so a crash loses nothing; a
//! repeated id is answered again with the stored result, never executed twice. Every
//! command gets exactly one result on `res/{id}` (see [`protocol`]), queued through the
//! outbox in the same transaction that marks the command done.
//!
//! Drivers add handlers with [`Registry::register`]. A handler that is safe to run again
//! after a crash says so (`resumable`); the others are answered with an `interrupted`
//! error at the next start.

pub mod agent;
mod diagnostics;
mod dispatch;
pub mod protocol;

pub use dispatch::{Dispatcher, Effect};
pub use protocol::{Command, CommandError, Outcome};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler returns.
pub type Reply = Result<Outcome, CommandError>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type HandlerFn = Arc<dyn Fn(Command) -> BoxFuture<Reply> + Send + Sync>;

/// A registered command.
#[derive(Clone)]
pub struct Handler {
    run: HandlerFn,
    /// Safe to execute again when a crash interrupted it.
    pub resumable: bool,
}

impl Handler {
    pub fn call(&self, command: Command) -> BoxFuture<Reply> {
        (self.run)(command)
    }
}

/// Handlers by (target, command name); targets are `agent` or a driver instance.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<(String, String), Handler>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("handlers", &names).finish()
    }
}

impl Registry {
    /// Adds a handler for `name` on `target`, replacing any earlier one.
    pub fn register<F, Fut>(&mut self, target: &str, name: &str, resumable: bool, f: F)
    where
        F: Fn(Command) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let run: HandlerFn = Arc::new(move |c| Box::pin(f(c)));
        self.handlers.insert((target.to_string(), name.to_string()), Handler { run, resumable });
    }

    pub fn get(&self, target: &str, name: &str) -> Option<&Handler> {
        self.handlers.get(&(target.to_string(), name.to_string()))
    }

    /// The command names known for a target, sorted.
    pub fn names(&self, target: &str) -> Vec<String> {
        let mut names: Vec<_> = self.handlers.keys().filter(|(t, _)| t == target).map(|(_, n)| n.clone()).collect();
        names.sort();
        names
    }
}

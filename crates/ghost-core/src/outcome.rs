//! What an ensure did: the result type of every `ensure_*` in every lens.

use std::fmt;

use serde::Serialize;

/// One difference between the desired and the found state of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl Change {
    pub fn new(field: impl Into<String>, from: impl fmt::Display, to: impl fmt::Display) -> Self {
        Self { field: field.into(), from: from.to_string(), to: to.to_string() }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.field, self.from, self.to)
    }
}

/// The result of reconciling one resource. `Unchanged` guarantees that no write call was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome<T> {
    Created(T),
    Updated(T, Vec<Change>),
    Unchanged(T),
}

impl<T> Outcome<T> {
    pub fn id(&self) -> &T {
        match self {
            Self::Created(t) | Self::Updated(t, _) | Self::Unchanged(t) => t,
        }
    }

    pub fn into_id(self) -> T {
        match self {
            Self::Created(t) | Self::Updated(t, _) | Self::Unchanged(t) => t,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Self::Created(_) => Action::Create,
            Self::Updated(..) => Action::Update,
            Self::Unchanged(_) => Action::Unchanged,
        }
    }

    pub fn changes(&self) -> &[Change] {
        match self {
            Self::Updated(_, c) => c,
            _ => &[],
        }
    }

    /// `Unchanged` when there is nothing to change, else `Updated` with the changes.
    pub fn from_changes(id: T, changes: Vec<Change>) -> Self {
        if changes.is_empty() { Self::Unchanged(id) } else { Self::Updated(id, changes) }
    }
}

/// What happened (deploy, destroy) or would happen (plan) to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(PartialOrd, Ord, Hash)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
    /// Destroy left it in place on purpose (retained data, or already absent).
    Keep,
}

impl Action {
    /// The plan symbol: `+` create, `~` update, `-` delete, `=` unchanged, `!` kept.
    pub fn symbol(self) -> char {
        match self {
            Self::Create => '+',
            Self::Update => '~',
            Self::Delete => '-',
            Self::Unchanged => '=',
            Self::Keep => '!',
        }
    }

    pub fn is_change(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Delete)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Delete => "delete",
            Self::Keep => "keep",
        })
    }
}

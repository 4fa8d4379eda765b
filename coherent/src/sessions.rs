//! Sessions confirmed by the user service, kept so that a request with a
//! session costs no call and no SQL to check it while nothing about its user
//! changed.
//!
//! Two stores: who a token belongs to (`owners`; that never changes, so it is
//! kept without a stamp, and only after the user service vouched for the
//! token), and what the token authenticated to (`sessions`), stamped with the
//! version of the user's sessions (a logout bumps it, so the next request asks
//! the user service again and hears the session is gone) and, where the
//! user's reputation and counts are shown (the webui's pages), with the
//! user's version as well. The session's end time is kept too and checked on
//! every use. Knowing the owner first is what lets a request read those
//! versions before it reads the session: a stamp must be taken before the
//! data it covers.

use crate::feed::Invalidate;
use crate::{Stamp, Store, Topic, Versions, Weigh};
use proto::pb::User;
use std::sync::Arc;

struct Session(User);

impl Weigh for Session {
    fn weight(&self) -> usize {
        96 + self.0.username.len()
    }
}

struct Owner(i64);

impl Weigh for Owner {
    fn weight(&self) -> usize {
        8
    }
}

/// What a [`Sessions::check`] found.
pub enum Checked<E> {
    /// The session's user (from memory or from the user service).
    User(User),
    /// The user service's refusal or failure, as the caller's `confirm` gave it.
    Failed(E),
}

/// The session stores of one process.
pub struct Sessions {
    versions: Arc<Versions>,
    sessions: Arc<Store<Session>>,
    owners: Arc<Store<Owner>>,
}

impl Sessions {
    /// Stores of `budget` bytes each (0: nothing kept, every check asks).
    pub fn new(versions: Arc<Versions>, budget: usize) -> Sessions {
        Sessions { versions, sessions: Store::new("sessions", budget), owners: Store::new("owners", budget) }
    }

    pub fn enabled(&self) -> bool {
        self.sessions.enabled()
    }

    /// Who `token` belongs to, if the user service said so before.
    pub fn owner(&self, token: &str) -> Option<i64> {
        self.owners.get(token, &Stamp::timeless()).map(|o| o.0)
    }

    pub fn set_owner(&self, token: &str, user: i64) {
        self.owners.put(token, Stamp::timeless(), Arc::new(Owner(user)));
    }

    /// The session's user if it was confirmed under `stamp` (the user's
    /// version) and has not ended since.
    pub fn get(&self, token: &str, stamp: &Stamp) -> Option<User> {
        let s = self.sessions.get(token, stamp)?;
        (s.0.session_expires_ms > proto::clock::now_ms()).then(|| s.0.clone())
    }

    pub fn put(&self, token: &str, stamp: Stamp, user: User) {
        self.sessions.put(token, stamp, Arc::new(Session(user)));
    }

    /// Who is behind `token`: from memory when it was confirmed under the
    /// current version of the user's sessions, else from `confirm` (the user
    /// service), whose answer is kept for next time. For callers that need
    /// who the user is, not their current reputation (the services: an author
    /// id, a viewer id). A token seen for the first time is confirmed and its
    /// owner noted (whose versions to read is known only then).
    pub fn check<E>(&self, token: &str, confirm: impl FnOnce() -> Result<User, E>) -> Checked<E> {
        let owner = self.owner(token);
        let stamp = owner.and_then(|u| self.versions.read(&[Topic::Sessions(u)]));
        if let Some(user) = stamp.as_ref().and_then(|s| self.get(token, s)) {
            return Checked::User(user);
        }
        match confirm() {
            Ok(user) => {
                match (owner, stamp) {
                    (Some(u), Some(stamp)) if u == user.id => self.put(token, stamp, user.clone()),
                    (None, _) => self.set_owner(token, user.id),
                    _ => {}
                }
                Checked::User(user)
            }
            Err(e) => Checked::Failed(e),
        }
    }

    /// What the change feed drops values from.
    pub fn feed_targets(&self) -> Vec<Arc<dyn Invalidate>> {
        vec![self.sessions.clone()]
    }

    pub fn render(&self, out: &mut String) {
        self.sessions.render(out);
        self.owners.render(out);
    }
}

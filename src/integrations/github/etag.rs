//! Conditional requests. GitHub does not count a `304 Not Modified` against the primary rate
//! limit when the request carried `If-None-Match` and was authorised, so for REST resources that
//! rarely change (organisation settings, webhooks, workflow permissions, repository settings,
//! rulesets) the collector remembers each page's `ETag` and body and sends the tag next time.
//!
//! The cache lives between runs: the caller serialises it (it is plain serde data) and hands it
//! back to the next [`collect`](super::collect). Entries no run touched any more (a deleted
//! repository) are dropped when a run saw the whole organisation.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One cached page: the validator GitHub gave it, its body, and the `Link: rel="next"` target,
/// which a 304 does not repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedPage {
    pub etag: String,
    pub body: String,
    pub next: Option<String>,
}

/// ETags and bodies by request path (path and query, as sent). Shared by the concurrent requests
/// of one run, hence the lock inside.
#[derive(Debug, Default)]
pub struct EtagCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    pages: BTreeMap<String, CachedPage>,
    /// Paths looked up or stored during the current run (not persisted).
    touched: BTreeSet<String>,
}

impl EtagCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached page for `path`, if any; marks it as still in use.
    pub fn get(&self, path: &str) -> Option<CachedPage> {
        let mut inner = self.lock();
        inner.touched.insert(path.to_string());
        inner.pages.get(path).cloned()
    }

    pub fn put(&self, path: &str, page: CachedPage) {
        let mut inner = self.lock();
        inner.touched.insert(path.to_string());
        inner.pages.insert(path.to_string(), page);
    }

    pub fn len(&self) -> usize {
        self.lock().pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the pages this run did not ask for and starts a new run's bookkeeping. Called only
    /// after a run that listed every repository, so a failed run never empties the cache.
    pub(crate) fn keep_only_touched(&self) {
        let mut inner = self.lock();
        let touched = std::mem::take(&mut inner.touched);
        inner.pages.retain(|path, _| touched.contains(path));
    }

    /// Forgets which pages this run touched, without dropping any.
    pub(crate) fn end_run(&self) {
        self.lock().touched.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clone for EtagCache {
    fn clone(&self) -> Self {
        let pages = self.lock().pages.clone();
        EtagCache { inner: Mutex::new(Inner { pages, touched: BTreeSet::new() }) }
    }
}

impl Serialize for EtagCache {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.lock().pages.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EtagCache {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pages = BTreeMap::<String, CachedPage>::deserialize(deserializer)?;
        Ok(EtagCache { inner: Mutex::new(Inner { pages, touched: BTreeSet::new() }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(etag: &str) -> CachedPage {
        CachedPage { etag: etag.into(), body: "{}".into(), next: None }
    }

    #[test]
    fn round_trips_through_json() {
        let cache = EtagCache::new();
        cache.put("/orgs/acme", page("W/\"1\""));
        let text = serde_json::to_string(&cache).unwrap();
        let back: EtagCache = serde_json::from_str(&text).unwrap();
        assert_eq!(back.get("/orgs/acme"), Some(page("W/\"1\"")));
    }

    #[test]
    fn pages_no_run_asked_for_are_dropped() {
        let cache = EtagCache::new();
        cache.put("/repos/acme/old", page("a"));
        cache.put("/repos/acme/api", page("b"));
        cache.end_run();
        assert!(cache.get("/repos/acme/api").is_some());
        cache.keep_only_touched();
        assert_eq!(cache.len(), 1);
        assert!(cache.get("/repos/acme/old").is_none());
    }
}

//! [`ObjectStore`] in memory: the test double handler tests use instead of S3.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use super::{OPERATIONS, ObjectStore, PutIfAbsent, PutIfMatch, StoreError, Version, Versioned};
use relay_clients::upstream::FailureClass;

/// [`ObjectStore`] in memory, for handler unit tests: objects with their content types, and
/// injected failures.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, (Bytes, String)>>,
    /// Bumped on every write: the versions [`ObjectStore::get_versioned`] hands out.
    writes: std::sync::atomic::AtomicU64,
    versions: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<Vec<(&'static str, FailureClass)>>,
    /// `put_if_absent` writes, then answers `AlreadyExists` (a retried write's answer).
    lose_put_if_absent_answer: std::sync::atomic::AtomicBool,
    /// How long each `put_if_absent` takes.
    put_if_absent_delay: Mutex<std::time::Duration>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }

    /// The body at `key`, without going through the async trait.
    pub fn get_now(&self, key: &str) -> Option<Bytes> {
        lock(&self.objects).get(key).map(|(body, _)| body.clone())
    }

    /// The content type the object at `key` was written with.
    pub fn content_type_of(&self, key: &str) -> Option<String> {
        lock(&self.objects)
            .get(key)
            .map(|(_, content_type)| content_type.clone())
    }

    /// Makes the next call of `operation` (one of [`OPERATIONS`]) fail with `class`, once;
    /// calling it again queues another failure.
    ///
    /// # Panics
    /// When `operation` is not one of [`OPERATIONS`] (a typo would otherwise never fire).
    pub fn fail_next(&self, operation: &'static str, class: FailureClass) {
        assert!(
            OPERATIONS.contains(&operation),
            "unknown store operation {operation:?}; expected one of {OPERATIONS:?}"
        );
        lock(&self.faults).push((operation, class));
    }

    /// Makes the next `put_if_absent` that creates its object answer `AlreadyExists`, as S3
    /// answers an SDK's retry of a conditional write whose first answer was lost.
    pub fn lose_next_put_if_absent_answer(&self) {
        self.lose_put_if_absent_answer
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every `put_if_absent` take `delay` (a slow S3).
    pub fn delay_put_if_absent(&self, delay: std::time::Duration) {
        *lock(&self.put_if_absent_delay) = delay;
    }

    fn write(&self, key: &str, body: Bytes, content_type: &str) {
        let mut objects = lock(&self.objects);
        objects.insert(key.to_owned(), (body, content_type.to_owned()));
        self.bump(key);
    }

    /// Gives `key` a new version and returns it.
    fn bump(&self, key: &str) -> Version {
        let version = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        lock(&self.versions).insert(key.to_owned(), version);
        Version(version.to_string())
    }

    fn injected(&self, operation: &'static str, key: &str) -> Result<(), StoreError> {
        let mut faults = lock(&self.faults);
        match faults.iter().position(|(op, _)| *op == operation) {
            Some(at) => {
                let (_, class) = faults.remove(at);
                Err(StoreError::new(operation, key, class, "injected fault"))
            }
            None => Ok(()),
        }
    }
}

impl ObjectStore for MemoryStore {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), StoreError> {
        self.injected("put", key)?;
        self.write(key, body, content_type);
        Ok(())
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        version: &Version,
    ) -> Result<PutIfMatch, StoreError> {
        self.injected("put_if_match", key)?;
        // Yield as a network call would, so concurrent callers really interleave in tests.
        tokio::task::yield_now().await;
        let mut objects = lock(&self.objects);
        let current = lock(&self.versions).get(key).map(u64::to_string);
        if !objects.contains_key(key) || current.as_deref() != Some(version.0.as_str()) {
            return Ok(PutIfMatch::Changed);
        }
        objects.insert(key.to_owned(), (body, content_type.to_owned()));
        Ok(PutIfMatch::Written(self.bump(key)))
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.injected("get_versioned", key)?;
        tokio::task::yield_now().await;
        let objects = lock(&self.objects);
        Ok(objects.get(key).map(|(body, _)| Versioned {
            body: body.clone(),
            version: Version(
                lock(&self.versions)
                    .get(key)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
            ),
        }))
    }

    async fn put_if_absent(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<PutIfAbsent, StoreError> {
        self.injected("put_if_absent", key)?;
        let delay = *lock(&self.put_if_absent_delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match lock(&self.objects).entry(key.to_owned()) {
            Entry::Occupied(_) => Ok(PutIfAbsent::AlreadyExists),
            Entry::Vacant(slot) => {
                slot.insert((body, content_type.to_owned()));
                let created = self.bump(key);
                let lost = self
                    .lose_put_if_absent_answer
                    .swap(false, std::sync::atomic::Ordering::SeqCst);
                Ok(if lost {
                    PutIfAbsent::AlreadyExists
                } else {
                    PutIfAbsent::Created(created)
                })
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.injected("get", key)?;
        Ok(self.get_now(key))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.injected("delete", key)?;
        lock(&self.objects).remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.injected("list", prefix)?;
        Ok(lock(&self.objects)
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.injected("list_folders", prefix)?;
        let mut folders: Vec<String> = lock(&self.objects)
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .filter_map(|key| {
                let rest = &key[prefix.len()..];
                rest.find('/').map(|at| format!("{prefix}{}", &rest[..=at]))
            })
            .collect();
        folders.dedup();
        Ok(folders)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn when_a_memory_object_is_put_then_get_and_list_see_it() {
        let store = MemoryStore::new();
        block_on(async {
            store
                .put("a/2", Bytes::from_static(b"two"), "text/plain")
                .await
                .expect("put");
            store
                .put("a/1", Bytes::from_static(b"one"), "application/json")
                .await
                .expect("put");
            store
                .put("b/1", Bytes::from_static(b"other"), "text/plain")
                .await
                .expect("put");
            assert_eq!(
                store.get("a/1").await.expect("get"),
                Some(Bytes::from_static(b"one"))
            );
            assert_eq!(store.get("a/3").await.expect("get"), None);
            assert_eq!(store.list("a/").await.expect("list"), ["a/1", "a/2"]);
            assert_eq!(store.list_folders("").await.expect("folders"), ["a/", "b/"]);
            assert!(store.list_folders("a/").await.expect("folders").is_empty());
            assert_eq!(store.list("").await.expect("list").len(), 3);
            store.delete("a/1").await.expect("delete");
            store
                .delete("a/1")
                .await
                .expect("deleting a missing key is fine");
        });
        assert_eq!(store.keys(), ["a/2", "b/1"]);
        assert_eq!(store.content_type_of("a/2").as_deref(), Some("text/plain"));
        assert_eq!(store.get_now("a/1"), None);
    }

    #[test]
    fn when_a_memory_key_exists_then_put_if_absent_keeps_the_first_body() {
        let store = MemoryStore::new();
        block_on(async {
            let first = store
                .put_if_absent("m", Bytes::from_static(b"first"), "text/plain")
                .await;
            let second = store
                .put_if_absent("m", Bytes::from_static(b"second"), "text/plain")
                .await;
            assert!(matches!(first.expect("first"), PutIfAbsent::Created(_)));
            assert_eq!(second.expect("second"), PutIfAbsent::AlreadyExists);
        });
        assert_eq!(store.get_now("m"), Some(Bytes::from_static(b"first")));
    }

    #[test]
    fn when_a_fault_is_injected_then_only_the_next_call_of_that_operation_fails() {
        let store = MemoryStore::new();
        store.fail_next("put", FailureClass::Transient);
        block_on(async {
            store.get("k").await.expect("other operations still work");
            let err = store
                .put("k", Bytes::from_static(b"x"), "text/plain")
                .await
                .expect_err("injected");
            assert_eq!(err.operation, "put");
            assert_eq!(err.key, "k");
            assert_eq!(err.class, FailureClass::Transient);
            store
                .put("k", Bytes::from_static(b"x"), "text/plain")
                .await
                .expect("one failure only");
        });
        assert_eq!(store.keys(), ["k"]);
    }

    #[test]
    #[should_panic(expected = "unknown store operation")]
    fn when_a_fault_names_an_unknown_operation_then_it_panics() {
        MemoryStore::new().fail_next("upload", FailureClass::Permanent);
    }
}

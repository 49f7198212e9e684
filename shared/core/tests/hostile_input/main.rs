//! Hostile input through relay-core's readers, each on a thread with the 2 MiB stack of a
//! tokio worker (where the functions parse): JSON nested 10,000 deep in every parser (a
//! clean error, never a stack overflow), invalid UTF-8 in bodies, headers and export lines,
//! XML entity expansion, external entities and DTDs, and repeated signature headers.

mod headers;
mod nesting;
mod utf8;
mod xml;

/// Runs `check` on a thread with a tokio worker's default stack (2 MiB): a recursion the
/// input controls overflows it and aborts the test binary instead of passing.
fn on_worker_stack<T: Send + 'static>(check: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(check)
        .expect("a thread")
        .join()
        .expect("the check ran to its end")
}

/// `[[[ .. ]]]` nested `depth` deep.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a": .. 1 ..}}` nested `depth` deep.
fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// The depth every test uses.
const DEEP: usize = 10_000;

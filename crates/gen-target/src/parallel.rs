//! Support: an ordered parallel map over a slice on scoped threads. Hosts are
//! rendered and written independently, so a fleet build uses every core; the
//! results come back in input order, and when several items fail the error of
//! the first one (in input order) is returned, so output and diagnostics are
//! the same whatever the thread count.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Worker threads: `GEN_THREADS` when set to a positive number, else one per
/// core. `GEN_THREADS=1` gives the single-threaded reference behaviour.
pub fn threads() -> usize {
    std::env::var("GEN_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `f` applied to every item, on up to `threads` threads, results in input
/// order. After a failure no new item is started, but the error returned is
/// the one of the lowest failing index among those run, and items are taken
/// in index order, so every item before it ran and succeeded.
pub fn map<T, R, E, F>(items: &[T], threads: usize, f: F) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
    F: Fn(&T) -> Result<R, E> + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<R, E>)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = Vec::new();
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = f(item);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    local.push((index, result));
                }
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(local);
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order_on_any_thread_count() {
        let items: Vec<u32> = (0..1000).collect();
        for threads in [1, 2, 7] {
            let out: Result<Vec<u32>, ()> = map(&items, threads, |&i| Ok(i * 2));
            assert_eq!(out, Ok(items.iter().map(|i| i * 2).collect()));
        }
    }

    #[test]
    fn the_first_failure_in_input_order_wins() {
        let items: Vec<u32> = (0..200).collect();
        for threads in [1, 2, 7] {
            let out: Result<Vec<u32>, u32> =
                map(
                    &items,
                    threads,
                    |&i| if i % 50 == 49 { Err(i) } else { Ok(i) },
                );
            assert_eq!(out, Err(49));
        }
    }
}

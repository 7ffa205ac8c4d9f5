//! Write stage, incremental: the build cache on disk. It is JSON lines — a
//! header naming the gen that wrote it, one line per host folder
//! (`[profile, host, record]`), and a closing line counting the hosts — so
//! a build writes each host's record as soon as the host is done and never
//! holds the fleet's records (27,000 files' worth for 1000 hosts) at once.
//! Lines go out in host order whatever the thread count, so the same build
//! writes the same cache. A file without its closing line, or with a line
//! that does not parse, is no cache at all: it is a hint, and a hint that
//! cannot be read whole is not used.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write as _};
use std::sync::Mutex;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use super::{salt, Cache, HostCache, ProfileCache};
use crate::output::sibling;

#[derive(Serialize, Deserialize)]
struct Header {
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Closing {
    hosts: usize,
}

/// The cache read back, or `None` when it is missing, unreadable, cut
/// short, or written by another gen.
pub(super) fn parse(bytes: &[u8]) -> Option<Cache> {
    let text = bytes.strip_suffix(b"\n")?;
    let last_break = text.iter().rposition(|b| *b == b'\n')?;
    let (body, closing) = (&text[..last_break], &text[last_break + 1..]);
    let mut lines = body.split(|b| *b == b'\n');
    let header: Header = serde_json::from_slice(lines.next()?).ok()?;
    if header.salt != salt() {
        return None;
    }
    let mut cache = Cache::default();
    let mut hosts = 0;
    for line in lines {
        let (profile, host, record): (String, String, HostCache) =
            serde_json::from_slice(line).ok()?;
        cache
            .profiles
            .entry(profile)
            .or_default()
            .insert(host, record);
        hosts += 1;
    }
    let closing: Closing = serde_json::from_slice(closing).ok()?;
    (closing.hosts == hosts).then_some(cache)
}

/// Writes a cache line by line into a temporary file beside the cache, which
/// [`CacheWriter::finish`] renames over it. Dropped unfinished (a failed
/// build), it removes the temporary file and leaves the old cache alone.
/// Writing is best effort: after a failed write nothing more is written,
/// and finishing removes the old cache instead (it no longer matches the
/// tree), which costs the next build its speed, not its correctness.
pub(in crate::output) struct CacheWriter {
    path: Utf8PathBuf,
    temp: Utf8PathBuf,
    state: Mutex<State>,
}

struct State {
    /// `None` once a write failed.
    out: Option<BufWriter<fs::File>>,
    /// The index of the next host line to write.
    next: usize,
    /// Indices handed out by [`CacheWriter::reserve`].
    reserved: usize,
    /// Lines of hosts after `next`, finished early on another thread.
    waiting: BTreeMap<usize, Vec<u8>>,
    hosts: usize,
    /// The latest modification time among the files and folders recorded.
    newest: i64,
    finished: bool,
}

impl CacheWriter {
    /// A writer for the cache at `path`, its header written.
    pub(in crate::output) fn create(path: &Utf8Path) -> CacheWriter {
        let temp = sibling(path, ".tmp");
        let mut out = fs::File::create(&temp).ok().map(BufWriter::new);
        if let Some(file) = &mut out {
            if write_line(file, &Header { salt: salt() }).is_err() {
                out = None;
            }
        }
        CacheWriter {
            path: path.to_path_buf(),
            temp,
            state: Mutex::new(State {
                out,
                next: 0,
                reserved: 0,
                waiting: BTreeMap::new(),
                hosts: 0,
                newest: i64::MIN,
                finished: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first of `count` consecutive host indices, after those handed
    /// out before: the lines of a profile's hosts, in host order.
    pub(in crate::output) fn reserve(&self, count: usize) -> usize {
        let mut state = self.state();
        let first = state.reserved;
        state.reserved += count;
        first
    }

    /// Records host number `index` (from [`CacheWriter::reserve`]); each
    /// index comes exactly once, from any thread. Its line waits until the
    /// lines of every index before it are written.
    pub(in crate::output) fn host(
        &self,
        index: usize,
        profile: &str,
        host: &str,
        record: &HostCache,
    ) {
        let line = host_line(profile, host, record);
        let newest = record.newest_mtime();
        let mut state = self.state();
        state.newest = state.newest.max(newest);
        state.take(index, line);
    }

    /// Records every host of `profiles`, in order, after those reserved so far.
    pub(in crate::output) fn profiles<'a>(
        &self,
        profiles: impl IntoIterator<Item = (&'a String, &'a ProfileCache)>,
    ) {
        for (profile, cache) in profiles {
            let first = self.reserve(cache.hosts.len());
            for (offset, (host, record)) in cache.hosts.iter().enumerate() {
                self.host(first + offset, profile, host, record);
            }
        }
    }

    /// Closes the cache and puts it in place of the old one, or removes
    /// both when a write failed or a host line is still missing.
    pub(in crate::output) fn finish(self) {
        let mut state = self.state();
        state.finished = true;
        let complete = state.waiting.is_empty() && state.next == state.reserved;
        let (hosts, newest) = (state.hosts, state.newest);
        let written = state.out.take().filter(|_| complete).and_then(|mut out| {
            write_line(&mut out, &Closing { hosts }).ok()?;
            out.flush().ok()?;
            dated_after(out.get_ref(), newest)
        });
        drop(state);
        if written.is_none() || fs::rename(&self.temp, &self.path).is_err() {
            let _ = fs::remove_file(&self.temp);
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        if !self.state().finished {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl State {
    /// Takes line `index` and writes every waiting line that is next in
    /// order. A line that could not be made stops the writing: the lines
    /// after it would wait for it forever, and the cache is not finished.
    fn take(&mut self, index: usize, line: Option<Vec<u8>>) {
        match line {
            Some(line) => {
                self.waiting.insert(index, line);
            }
            None => self.out = None,
        }
        self.write_ready();
    }

    /// Writes the waiting lines that are next in order.
    fn write_ready(&mut self) {
        while let Some(line) = self.waiting.remove(&self.next) {
            self.next += 1;
            self.hosts += 1;
            let failed = self
                .out
                .as_mut()
                .is_some_and(|out| out.write_all(&line).is_err());
            if failed {
                self.out = None;
            }
        }
    }
}

/// A host's line, newline included; `None` if it cannot be serialised.
fn host_line(profile: &str, host: &str, record: &HostCache) -> Option<Vec<u8>> {
    let mut line = serde_json::to_vec(&(profile, host, record)).ok()?;
    line.push(b'\n');
    Some(line)
}

/// The cache's own modification time tells the next build which recorded
/// files and folders could have changed unseen: those modified at or after
/// it, within the file system clock's tick (a few milliseconds). Finished in
/// the same tick as the last folders it records, the cache would make them
/// look unsettled, and the next build would replace them whole although gen
/// wrote nothing in them after recording them; so such a cache is dated
/// with the precise time instead, as if written once that tick had passed.
fn dated_after(file: &fs::File, newest: i64) -> Option<()> {
    let written = super::Fingerprint::of(&file.metadata().ok()?).mtime;
    if written <= newest {
        file.set_modified(std::time::SystemTime::now()).ok()?;
    }
    Some(())
}

fn write_line(out: &mut impl std::io::Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::super::{FileEntry, Fingerprint};
    use super::*;

    fn record(n: u64) -> HostCache {
        let mut record = HostCache::default();
        record.files.insert(
            format!("root/etc/{n}.conf"),
            FileEntry {
                key: format!("{n:064x}"),
                sha256: format!("{:064x}", n + 1),
                size: n,
                fingerprint: Fingerprint::from((n, n, 0o100644, n as i64)),
            },
        );
        record
    }

    /// Hosts given out of order, from several threads, as a parallel build does.
    fn written(dir: &Utf8Path, order: &[usize]) -> Vec<u8> {
        let path = dir.join("generated.gen-cache");
        let writer = CacheWriter::create(&path);
        let first = writer.reserve(order.len());
        std::thread::scope(|scope| {
            for &i in order {
                let writer = &writer;
                scope.spawn(move || {
                    writer.host(first + i, "fleet", &format!("h{i}"), &record(i as u64))
                });
            }
        });
        writer.finish();
        fs::read(&path).expect("the cache is written")
    }

    fn scratch() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).expect("utf-8");
        (dir, path)
    }

    #[test]
    fn hosts_come_back_as_written_and_in_host_order_whatever_the_threads_did() {
        let (_keep, dir) = scratch();
        let forwards = written(&dir, &[0, 1, 2, 3, 4]);
        let backwards = written(&dir, &[4, 2, 0, 3, 1]);
        assert_eq!(forwards, backwards);
        let cache = parse(&forwards).expect("a whole cache parses");
        let hosts = &cache.profiles["fleet"].hosts;
        assert_eq!(hosts.len(), 5);
        assert_eq!(hosts["h3"].files, record(3).files);
        assert!(!dir.join("generated.gen-cache.tmp").exists());
    }

    #[test]
    fn a_cache_cut_short_or_of_another_gen_is_no_cache() {
        let (_keep, dir) = scratch();
        let whole = written(&dir, &[0, 1, 2]);
        let text = String::from_utf8(whole.clone()).expect("text");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "header, three hosts, closing");
        // Cut at a line break: the closing line is gone, or counts too many.
        assert!(parse(lines[..4].join("\n").as_bytes()).is_none());
        let without_a_host = [lines[0], lines[1], lines[2], lines[4]].join("\n") + "\n";
        assert!(parse(without_a_host.as_bytes()).is_none());
        assert!(parse(&whole[..whole.len() - 1]).is_none());
        let other_gen = text.replacen(&salt(), &"0".repeat(64), 1);
        assert!(parse(other_gen.as_bytes()).is_none());
        assert!(parse(b"").is_none());
        assert!(parse(&whole).is_some());
    }

    #[test]
    fn an_unfinished_writer_leaves_the_old_cache_and_no_temporary_file() {
        let (_keep, dir) = scratch();
        let old = written(&dir, &[0, 1]);
        let writer = CacheWriter::create(&dir.join("generated.gen-cache"));
        let first = writer.reserve(2);
        writer.host(first, "fleet", "h0", &record(7));
        drop(writer);
        assert_eq!(
            fs::read(dir.join("generated.gen-cache")).expect("old cache"),
            old
        );
        assert!(!dir.join("generated.gen-cache.tmp").exists());
        // Finished with a reserved host never given: no cache rather than a partial one.
        let writer = CacheWriter::create(&dir.join("generated.gen-cache"));
        let first = writer.reserve(2);
        writer.host(first + 1, "fleet", "h1", &record(1));
        writer.finish();
        assert!(!dir.join("generated.gen-cache").exists());
        assert!(!dir.join("generated.gen-cache.tmp").exists());
    }
}

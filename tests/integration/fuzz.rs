//! Bounded in-process fuzzing of the whole build pipeline (load → validate →
//! derive → render → hash), for CI and for anyone without cargo-fuzz.
//!
//! Seeds are the bundled profiles and the fixture profiles; each round applies
//! a few structural and byte-wise mutations (values swapped between keys,
//! hostile strings, huge numbers, deep nesting, duplicated tables and keys,
//! inserted, deleted and replaced bytes) and compiles the result. A round
//! fails the test when gen panics, takes longer than [`HANG`], or produces
//! more than [`MAX_OUTPUT`] bytes; the offending profile is written next to
//! the test binary so it can become a regression test.
//!
//! By default the session lasts [`DEFAULT_SECONDS`]; `GEN_FUZZ_SECONDS=60`
//! runs a minute (what CI does), `GEN_FUZZ_SEED` picks the random stream.
//! The mutator is a few lines of seeded xorshift rather than `arbitrary`:
//! the interesting inputs are near-valid TOML profiles, which structure-blind
//! byte generators rarely reach, and a fixed seed makes every CI run
//! reproducible.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gen_compile::compile;
use gen_compile::load::MemoryProfiles;
use gen_compile::render::Renderer;

use super::support::{hostile_values, repo, toml_string};

const DEFAULT_SECONDS: u64 = 3;
const HANG: Duration = Duration::from_secs(2);
const MAX_OUTPUT: usize = 32 << 20;
/// gen's main thread gets 8 MiB of stack; the worker gets the same.
const STACK: usize = 8 << 20;

/// xorshift64*: small, fast and reproducible from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Every profile file gen ships or tests with, by stem: the seeds.
pub fn seed_profiles() -> Vec<(String, String)> {
    let mut dirs = vec![repo().join("profiles")];
    let fixtures = repo().join("tests/fixtures");
    if let Ok(entries) = std::fs::read_dir(&fixtures) {
        let mut fixture_dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("profiles"))
            .collect();
        fixture_dirs.sort();
        dirs.extend(fixture_dirs);
    }
    let mut seeds = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.extension().is_some_and(|e| e == "toml") {
                let stem = path
                    .file_stem()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("seed profile is readable");
                seeds.push((stem, text));
            }
        }
    }
    seeds.push(("valid".into(), super::support::VALID.to_string()));
    seeds
}

/// The base every bundled profile extends, available to fuzzed profiles too.
fn base_profile() -> String {
    std::fs::read_to_string(repo().join("profiles/_base.toml")).expect("profiles/_base.toml")
}

fn replacement_value(rng: &mut Rng, hostile: &[(&'static str, String)], lines: &[&str]) -> String {
    match rng.below(12) {
        0..=2 => toml_string(&rng.pick(hostile).1),
        3 => rng
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "-1",
                "0",
                "65535",
                "65536",
                "4294967296",
                "1e308",
                "-1e308",
                "nan",
                "inf",
                "-inf",
                "0.0000001",
            ])
            .to_string(),
        4 => rng
            .pick(&[
                "\"18446744073709551615GiB\"",
                "\"99999999999TiB\"",
                "\"0B\"",
                "\"1B\"",
                "\"99999999999d\"",
                "\"0s\"",
                "\"-5s\"",
            ])
            .to_string(),
        5 => {
            let depth = 1 + rng.below(3000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
        6 => {
            let depth = 1 + rng.below(3000);
            format!("{}1{}", "{ a = ".repeat(depth), " }".repeat(depth))
        }
        7 => "[]".into(),
        8 => "{}".into(),
        9 => rng.pick(&["true", "false"]).to_string(),
        // A value taken from another key: types and shapes in the wrong place.
        _ => lines
            .iter()
            .filter_map(|l| l.split_once(" = ").map(|(_, v)| v))
            .nth(rng.below(lines.len()))
            .unwrap_or("1")
            .to_string(),
    }
}

/// One to four mutations of `text`.
fn mutate(
    rng: &mut Rng,
    text: &str,
    seeds: &[(String, String)],
    hostile: &[(&'static str, String)],
) -> String {
    let mut out = text.to_string();
    for _ in 0..1 + rng.below(4) {
        out = mutate_once(rng, &out, seeds, hostile);
    }
    out
}

fn mutate_once(
    rng: &mut Rng,
    text: &str,
    seeds: &[(String, String)],
    hostile: &[(&'static str, String)],
) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let line = rng.below(lines.len().max(1));
    let rebuild = |lines: Vec<String>| lines.join("\n") + "\n";
    let owned = || lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let mut bytes = text.as_bytes().to_vec();
    match rng.below(11) {
        // Replace the value of one key.
        0..=2 => {
            let mut l = owned();
            let candidates: Vec<usize> = (0..l.len())
                .filter(|i| l[*i].contains(" = ") && !l[*i].trim_start().starts_with('#'))
                .collect();
            if let Some(&i) = candidates.get(rng.below(candidates.len())) {
                let key = l[i].split_once(" = ").map(|(k, _)| k.to_string());
                if let Some(key) = key {
                    l[i] = format!("{key} = {}", replacement_value(rng, hostile, &lines));
                }
            }
            rebuild(l)
        }
        // A hostile string spliced into an existing string value.
        3 => {
            let mut l = owned();
            if let Some(target) = l.get_mut(line) {
                if let Some(quote) = target.find('"') {
                    let value = toml_string(&rng.pick(hostile).1);
                    target.insert_str(quote + 1, &value[1..value.len() - 1]);
                }
            }
            rebuild(l)
        }
        // Duplicate a line (a duplicate key) or a whole table.
        4 => {
            let mut l = owned();
            if line < l.len() {
                if l[line].starts_with('[') {
                    let end = (line + 1..l.len())
                        .find(|i| l[*i].starts_with('['))
                        .unwrap_or(l.len());
                    let block: Vec<String> = l[line..end].to_vec();
                    l.extend(block);
                } else {
                    let copy = l[line].clone();
                    l.insert(line, copy);
                }
            }
            rebuild(l)
        }
        // Delete or swap lines.
        5 => {
            let mut l = owned();
            if !l.is_empty() {
                if rng.below(2) == 0 {
                    l.remove(line);
                } else {
                    let other = rng.below(l.len());
                    l.swap(line, other);
                }
            }
            rebuild(l)
        }
        // Splice a line from another seed.
        6 => {
            let (_, other) = rng.pick(seeds);
            let other_lines: Vec<&str> = other.lines().collect();
            let mut l = owned();
            if !other_lines.is_empty() {
                l.insert(line.min(l.len()), rng.pick(&other_lines).to_string());
            }
            rebuild(l)
        }
        // Byte-wise: insert, delete, replace.
        7 => {
            let at = rng.below(bytes.len() + 1);
            let interesting = b"\"'[]{}=.,#\\\n\r\t\0 -_:/*&!|%$`;";
            let byte = if rng.below(2) == 0 {
                *rng.pick(interesting)
            } else {
                rng.next() as u8
            };
            bytes.insert(at, byte);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        8 => {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                let len = (1 + rng.below(16)).min(bytes.len() - at);
                bytes.drain(at..at + len);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        9 => {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        // A new table with a hostile key, or many hosts at once.
        _ => {
            let mut out = text.to_string();
            if rng.below(2) == 0 {
                let key = toml_string(&rng.pick(hostile).1);
                out.push_str(&format!("\n[services.{key}]\nruntime = \"native\"\n"));
            } else {
                let count = 1 + rng.below(200);
                for i in 0..count {
                    out.push_str(&format!(
                        "\n[hosts.h{i}]\naddress = \"10.{}.{}.{}\"\nroles = [\"api\"]\nhardware = {{ cores = 1, memory = \"1GiB\", storage = \"ssd\" }}\n",
                        i / 65536 % 256,
                        i / 256 % 256,
                        i % 256
                    ));
                }
            }
            out
        }
    }
}

/// What one compile produced, or how it went wrong.
enum Verdict {
    Built,
    Refused,
    Panicked(String),
    TooLarge(usize),
}

/// Compiles `text` as profile `fuzzed` (with the bundled `_base.toml` beside
/// it) and renders any error as gen prints it, so error rendering is fuzzed too.
fn compile_one(renderer: &Renderer, base: &str, text: &str) -> Verdict {
    let files = MemoryProfiles::default()
        .with("_base", base)
        .with("fuzzed", text);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        match compile::compile_from(&files, "fuzzed", renderer) {
            Ok(compiled) => Ok(compiled
                .hosts
                .iter()
                .flat_map(|h| &h.artifacts)
                .map(|a| a.content.len())
                .sum::<usize>()),
            Err(err) => {
                let mut shown = String::new();
                miette::GraphicalReportHandler::new_themed(
                    miette::GraphicalTheme::unicode_nocolor(),
                )
                .render_report(&mut shown, &err)
                .expect("an error renders");
                Err(shown.len())
            }
        }
    }));
    match outcome {
        Ok(Ok(size)) if size > MAX_OUTPUT => Verdict::TooLarge(size),
        Ok(Ok(_)) => Verdict::Built,
        Ok(Err(size)) if size > MAX_OUTPUT => Verdict::TooLarge(size),
        Ok(Err(_)) => Verdict::Refused,
        Err(panic) => Verdict::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

fn keep_failure(text: &str, what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("gen-fuzz-failures");
    std::fs::create_dir_all(&dir).expect("failure directory");
    let path = dir.join(format!(
        "{what}-{}.toml",
        gen_target::manifest::sha256_hex(text.as_bytes())
    ));
    std::fs::write(&path, text).expect("write failing input");
    path
}

#[test]
fn fuzz_the_pipeline_for_a_bounded_time() {
    let seconds = std::env::var("GEN_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let seed = std::env::var("GEN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
        | 1;
    let seeds = seed_profiles();
    let base = base_profile();
    let hostile = hostile_values();

    let (to_worker, inputs) = mpsc::channel::<String>();
    let (verdicts, from_worker) = mpsc::channel::<Verdict>();
    let worker_base = base.clone();
    let worker = std::thread::Builder::new()
        .name("fuzz-worker".into())
        .stack_size(STACK)
        .spawn(move || {
            let renderer = Renderer::new();
            for text in inputs {
                if verdicts
                    .send(compile_one(&renderer, &worker_base, &text))
                    .is_err()
                {
                    break;
                }
            }
        })
        .expect("worker thread");

    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut built, mut refused) = (0u64, 0u64, 0u64);
    // Every seed unmutated first: they must all build or be refused cleanly.
    let mut queue: Vec<String> = seeds.iter().map(|(_, t)| t.clone()).collect();
    while Instant::now() < deadline || !queue.is_empty() {
        let text = queue.pop().unwrap_or_else(|| {
            let (_, seed_text) = rng.pick(&seeds);
            mutate(&mut rng, seed_text, &seeds, &hostile)
        });
        to_worker.send(text.clone()).expect("worker is alive");
        let started = Instant::now();
        match from_worker.recv_timeout(HANG) {
            Ok(Verdict::Built) => built += 1,
            Ok(Verdict::Refused) => refused += 1,
            Ok(Verdict::Panicked(message)) => {
                let path = keep_failure(&text, "panic");
                panic!(
                    "gen panicked ({message}) on the profile kept in {}",
                    path.display()
                );
            }
            Ok(Verdict::TooLarge(size)) => {
                let path = keep_failure(&text, "large");
                panic!(
                    "gen produced {size} bytes for the profile kept in {}",
                    path.display()
                );
            }
            Err(_) => {
                let path = keep_failure(&text, "hang");
                panic!(
                    "gen took more than {HANG:?} (started {:?} ago) on the profile kept in {}",
                    started.elapsed(),
                    path.display()
                );
            }
        }
        runs += 1;
    }
    drop(to_worker);
    worker.join().expect("worker finishes");
    println!("fuzz: {runs} profiles in {seconds}s (seed {seed}): {built} built, {refused} refused");
    assert!(built > 0, "no seed built: the corpus is broken");
}

//! Inputs the fuzzer found that once made gen slow, crash or misbehave, each
//! pinned so it stays fixed.

use std::time::{Duration, Instant};

use gen_compile::compile;
use gen_compile::render::Renderer;
use gen_target::error::{Error, MAX_REPORTED_ERRORS};

use super::support::{rendered, VALID};

/// `count` extra api hosts, all outside `network.internal`: two errors each.
fn many_broken_hosts(count: usize) -> String {
    let mut text = VALID.to_string();
    for i in 0..count {
        text.push_str(&format!(
            "\n[hosts.h{i}]\naddress = \"10.9.{}.{}\"\nroles = [\"api\"]\nhardware = {{ cores = 1, memory = \"1GiB\", storage = \"ssd\" }}\n",
            i / 256,
            i % 256
        ));
    }
    text
}

/// Found by the fuzzer: 200 host tables took a second, 2000 took
/// minutes, because every error quoted the source (line numbers counted from
/// the top each time) and recording key locations rescanned every key.
#[test]
fn regression_thousands_of_errors_are_capped_and_fast() {
    let text = many_broken_hosts(1000);
    let started = Instant::now();
    let err = compile::compile_text("shop", &text, &Renderer::new())
        .expect_err("hosts outside the network");
    let shown = rendered(&err);
    let elapsed = started.elapsed();
    let Error::Many { count, errors, .. } = &err else {
        panic!("expected many errors, got {shown}");
    };
    assert!(*count >= 1000, "{count}");
    assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
    assert!(shown.contains("more problems are not shown"), "{shown}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

/// Found by the fuzzer: an error on a line longer than 65535 columns crashed
/// gen (exit 101) while it drew the underline. Such lines are now named by
/// `file:line:column` instead of quoted.
#[test]
fn regression_errors_on_very_long_lines_do_not_crash() {
    let long = "a".repeat(100 * 1024);
    let cases = [
        // A type error located by validation.
        (
            super::support::valid_with("port = 8000", &format!("port = \"{long}\"")),
            "profiles/shop.toml:15:8",
        ),
        // A TOML syntax error at the end of the line.
        (
            super::support::valid_with("port = 8000", &format!("port = \"{long}\"\"")),
            "profiles/shop.toml:15:",
        ),
    ];
    for (text, location) in cases {
        let err = compile::compile_text("shop", &text, &Renderer::new()).expect_err("refused");
        let shown = rendered(&err);
        assert!(shown.contains(location), "{shown}");
        assert!(shown.len() < 4096, "the error quotes the long line");
        let project = super::support::Project::new().profile("shop", &text);
        let run = project.gen(&["build"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.stderr.contains(location), "{}", run.stderr);
    }
}

//! `gen explain` covers every artifact kind: each file of every bundled and
//! fixture profile is explained, and the cross-host values it shows are the
//! ones the rendered file holds.

use std::collections::BTreeSet;

use camino::Utf8PathBuf;
use gen_compile::artifact_kind::ArtifactKind;
use gen_compile::catalog;
use gen_compile::compile;
use gen_compile::explain;
use gen_compile::render::Renderer;

fn projects() -> Vec<(Utf8PathBuf, String)> {
    let root = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(Utf8PathBuf, String)> = ["pilot", "production", "ha"]
        .iter()
        .map(|p| (root.clone(), p.to_string()))
        .collect();
    for fixture in super::support::FIXTURES {
        out.push((
            root.join("tests/fixtures").join(fixture),
            fixture.to_string(),
        ));
    }
    out
}

#[test]
fn every_kind_is_explained_and_its_cross_host_values_are_in_the_file() {
    let renderer = Renderer::new();
    let mut kinds_seen = BTreeSet::new();
    for (project, profile) in projects() {
        let (loaded, d, derived) = compile::analyse(&project, &profile).expect("profile compiles");
        for host in &d.hosts {
            let rendered = renderer
                .render_host(&d, &derived, host, loaded.file.as_str())
                .expect("renders");
            for spec in catalog::artifacts_for(&d, host) {
                kinds_seen.insert(spec.kind);
                let e = explain::explain(&d, &derived, &loaded.sources, host, &spec);
                assert_eq!(e.template, spec.kind.template());
                assert!(
                    e.inputs.iter().any(|i| i.key != "project"),
                    "{profile}/{}: {} lists no profile key beyond `project`",
                    host.name,
                    spec.path
                );
                let content = rendered
                    .iter()
                    .find(|a| a.spec.path == spec.path)
                    .map(|a| String::from_utf8_lossy(&a.content).into_owned())
                    .expect("the explained file is rendered");
                for value in &e.derived {
                    // Every piece of a listed value is printed in the file
                    // (lists are shown joined with ", ").
                    for piece in value.value.split(", ") {
                        let piece = piece.trim_end_matches(" s");
                        assert!(
                            content.contains(piece),
                            "{profile}/{}: {} explains `{}` = `{piece}`, not in the file",
                            host.name,
                            spec.path,
                            value.name
                        );
                    }
                }
                let expect_values = matches!(
                    spec.kind,
                    ArtifactKind::NginxSite
                        | ArtifactKind::PostgresqlConf
                        | ArtifactKind::PgbouncerIni
                        | ArtifactKind::PrometheusConfig
                        | ArtifactKind::PrometheusRules
                        | ArtifactKind::CronJobs
                        | ArtifactKind::RedisConf
                );
                assert!(
                    !expect_values || !e.derived.is_empty(),
                    "{profile}/{}: {} explains no derived value",
                    host.name,
                    spec.path
                );
            }
        }
    }
    let missing: Vec<_> = ArtifactKind::ALL
        .iter()
        .filter(|k| !kinds_seen.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "no bundled or fixture profile has {missing:?}"
    );
}

#[test]
fn a_pooled_service_is_explained_with_the_poolers_addresses() {
    let root = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (loaded, d, derived) = compile::analyse(&root, "production").expect("compiles");
    let api = d.hosts.iter().find(|h| h.name == "api1").expect("api1");
    let compose = catalog::artifacts_for(&d, api)
        .into_iter()
        .find(|s| s.kind == ArtifactKind::ComposeFile)
        .expect("api1 runs containers");
    let e = explain::explain(&d, &derived, &loaded.sources, api, &compose);
    let host = e
        .derived
        .iter()
        .find(|v| v.name.ends_with("DATABASE_HOST"))
        .expect("DATABASE_HOST is explained");
    let poolers: Vec<String> = d
        .hosts
        .iter()
        .filter(|h| h.name.starts_with("pool"))
        .map(|h| h.address.to_string())
        .collect();
    assert_eq!(host.value, poolers.join(","));
    assert!(host.formula.contains("pooler"));
    // The poolers' addresses are among the keys the file is built from.
    assert!(e
        .inputs
        .iter()
        .any(|i| i.key.starts_with("hosts.pool") && i.key.ends_with(".address")));
}

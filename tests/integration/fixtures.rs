//! Fixture profiles reproducing reference stacks; their rendered files are
//! snapshotted for review, and their key properties asserted.

use super::support::{gen_command, repo, run, tree};

fn build_fixture(name: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().expect("tmp");
    let project = repo().join("tests/fixtures").join(name);
    let result = run(gen_command()
        .arg("-C")
        .arg(&project)
        .args(["build", "--out"])
        .arg(out.path()));
    assert_eq!(result.code, 0, "{}", result.stderr);
    tree(out.path())
}

fn text(files: &std::collections::BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(
        files
            .get(path)
            .unwrap_or_else(|| panic!("{path} not generated; have {:?}", files.keys()))
            .clone(),
    )
    .expect("utf-8")
}

#[test]
fn docsense_runs_natively_without_containers() {
    let files = build_fixture("docsense");
    assert!(
        !files.keys().any(|p| p.contains("compose")),
        "no container runtime expected"
    );
    let unit = text(
        &files,
        "docsense/app1/root/etc/systemd/system/docsense-api.service",
    );
    assert!(unit.contains("User=docsense\n"));
    assert!(unit.contains("Restart=on-failure\n"));
    assert!(unit.contains("ProtectSystem=strict\n"));
    assert!(
        unit.contains("ProtectHome=read-only\n"),
        "the app lives under /home"
    );
    assert!(unit.contains("LoadCredential=database_url:/etc/docsense/secrets/database_url\n"));
    assert!(unit.contains("MemoryMax=4G\n") && unit.contains("CPUQuota=200%\n"));
    let hba = text(
        &files,
        "docsense/app1/root/etc/postgresql/15/main/pg_hba.conf",
    );
    assert!(
        hba.contains(
            "host        docsense_prod   docsense_prod   10.0.0.5/32         scram-sha-256"
        ),
        "{hba}"
    );
    insta::assert_snapshot!("docsense_unit", unit);
    insta::assert_snapshot!(
        "docsense_site",
        text(
            &files,
            "docsense/app1/root/etc/nginx/sites-enabled/docsense.conf"
        )
    );
}

#[test]
fn smartattend_has_workers_and_a_queue_redis() {
    let files = build_fixture("smartattend");
    let compose = text(&files, "smartattend/app1/root/etc/smartattend/compose.yaml");
    assert!(compose.contains("\"celery-worker\":"));
    assert!(compose.contains("\"celery-beat\":"));
    assert!(compose.contains("condition: service_healthy"));
    assert!(
        !compose.contains("container_name"),
        "replicated services never get a fixed container name"
    );
    assert!(
        compose.contains("\"172.20.0.10:8000-8003:8000\""),
        "four backend replicas, one host port each"
    );
    let redis = text(&files, "smartattend/app1/root/etc/redis/redis.conf");
    assert!(redis.contains("maxmemory-policy noeviction\n"));
    assert!(redis.contains("appendonly yes\n"));
    insta::assert_snapshot!("smartattend_compose", compose);
    insta::assert_snapshot!(
        "smartattend_pgbouncer",
        text(&files, "smartattend/app1/root/etc/pgbouncer/pgbouncer.ini")
    );
}

#[test]
fn stet_has_a_replica_and_budgeted_pools() {
    let files = build_fixture("stet");
    let primary = text(
        &files,
        "stet/db1/root/etc/postgresql/15/main/postgresql.conf",
    );
    let replica = text(
        &files,
        "stet/db2/root/etc/postgresql/15/main/postgresql.conf",
    );
    assert!(primary.contains("max_connections = 100\n"));
    assert!(replica.contains("hot_standby = on\n"));
    assert!(replica.contains("primary_conninfo = 'host=10.0.2.10 port=5432 user=replicator"));
    let ini = text(&files, "stet/db1/root/etc/pgbouncer/pgbouncer.ini");
    assert!(ini.contains("default_pool_size = 25\n"));
    let cron = text(&files, "stet/db1/root/etc/cron.d/stet");
    assert!(cron.contains("0 2 * * * postgres /usr/bin/flock --nonblock /run/lock/stet-vacuum.lock /usr/bin/vacuumdb --all --analyze --quiet"));
    insta::assert_snapshot!("stet_primary_postgresql_conf", primary);
    insta::assert_snapshot!(
        "stet_replica_pg_hba",
        text(&files, "stet/db2/root/etc/postgresql/15/main/pg_hba.conf")
    );
    insta::assert_snapshot!("stet_cron", cron);
}

/// Every rendered file of every fixture, one snapshot each, for review with
/// `cargo insta review` whenever a template or a derivation changes.
#[test]
fn every_fixture_file_is_snapshotted() {
    for fixture in super::support::FIXTURES {
        for (path, content) in build_fixture(fixture) {
            let name = path.replace('/', "__");
            let text = String::from_utf8(content).expect("generated files are UTF-8");
            insta::with_settings!({ snapshot_path => "snapshots/files", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(name, text);
            });
        }
    }
}

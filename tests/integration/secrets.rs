//! Secret canaries: a profile references files holding canary values, and
//! environment entries that look like credentials carry one. No generated
//! file, manifest, `gen explain` or `gen graph` output, and no error message
//! (human or `--format json`) may ever contain a canary; files that reference
//! credentials get restrictive modes and their service's owner.

use std::path::Path;

use super::support::{tree, valid_with, Project, VALID};

const CANARY: &str = "CANARY-8f2c1e";

/// Canary files in `dir`, and a profile whose every credential reference
/// points at one of them.
fn profile_with_secret_files(dir: &Path) -> String {
    for name in [
        "api_key",
        "jobs_token",
        "redis_password",
        "userlist",
        "exporter_pgpass",
        "pgpass",
        "tls_key",
        "site_key",
    ] {
        std::fs::write(dir.join(name), format!("{CANARY}-{name}\n")).expect("canary file");
    }
    let at = |name: &str| format!("{}/{name}", dir.display());
    let mut text = valid_with(
        "limits = { memory = \"1GiB\" }\n",
        &format!(
            "limits = {{ memory = \"1GiB\" }}\nsecrets = {{ api_key = \"{}\" }}\n",
            at("api_key")
        ),
    )
    .replace(
        "users = [\"shop\"]\n",
        &format!(
            "users = [\"shop\"]\nreplication_passfile = \"{}\"\ntls_certificate = \"/etc/ssl/pg.pem\"\ntls_key = \"{}\"\n",
            at("pgpass"),
            at("tls_key")
        ),
    )
    .replace(
        "pool_mode = \"transaction\"\n",
        &format!(
            "pool_mode = \"transaction\"\nauth_file = \"{}\"\nexporter_passfile = \"{}\"\n",
            at("userlist"),
            at("exporter_pgpass")
        ),
    )
    .replace(
        "queues = true\n",
        &format!("queues = true\npassword_file = \"{}\"\n", at("redis_password")),
    )
    .replace(
        "certificate_key = \"/etc/ssl/shop.key\"\n",
        &format!("certificate_key = \"{}\"\n", at("site_key")),
    );
    text.push_str(&format!(
        "\n[services.jobs]\nruntime = \"native\"\nrole = \"api\"\ncommand = [\"/opt/jobs/bin/run\"]\nuser = \"jobs\"\nsecrets = {{ jobs_token = \"{}\" }}\n",
        at("jobs_token")
    ));
    text
}

fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "{what} contains the canary:\n{text}"
    );
}

#[test]
fn no_output_of_a_build_holds_a_secret_value() {
    let secrets = tempfile::tempdir().expect("temporary directory");
    let project = Project::new().profile("shop", &profile_with_secret_files(secrets.path()));
    for format in ["human", "json"] {
        let run = project.gen(&["--format", format, "build"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_no_canary("build output", &(run.stdout + &run.stderr));
    }
    let generated = project.path().join("generated");
    let files = tree(&generated);
    assert!(files.len() > 10);
    for (path, content) in &files {
        assert_no_canary(path, &String::from_utf8_lossy(content));
    }

    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(generated.join("shop/web1/manifest.json")).expect("manifest"),
    )
    .expect("manifest is JSON");
    let records = manifest["files"].as_array().expect("file records");
    for record in records {
        let path = record["path"].as_str().expect("path");
        for format in ["human", "json"] {
            let run = project.gen(&[
                "--format",
                format,
                "explain",
                path,
                "--profile",
                "shop",
                "--host",
                "web1",
            ]);
            assert_eq!(run.code, 0, "{path}: {}", run.stderr);
            assert_no_canary(&format!("gen explain {path}"), &(run.stdout + &run.stderr));
        }
    }
    for graph in ["dot", "mermaid", "svg"] {
        let run = project.gen(&["graph", "--profile", "shop", "--as", graph]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_no_canary("gen graph", &(run.stdout + &run.stderr));
    }

    // Files that reference credentials: restrictive modes, the service's owner.
    let expect = |path: &str, mode: &str, owner: &str, group: &str| {
        let record = records
            .iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("no {path} in the manifest"));
        assert_eq!(record["mode"], mode, "{path}");
        assert_eq!(record["owner"], owner, "{path}");
        assert_eq!(record["group"], group, "{path}");
        // It names credential files and holds none: it stays reviewable.
        assert_eq!(record["sensitive"], false, "{path}");
    };
    expect("/etc/shop/compose.yaml", "0640", "root", "root");
    expect(
        "/etc/pgbouncer/pgbouncer.ini",
        "0640",
        "postgres",
        "postgres",
    );
    expect("/etc/redis/redis.conf", "0640", "redis", "redis");
    expect(
        "/etc/systemd/system/shop-jobs.service",
        "0644",
        "root",
        "root",
    );
    let unit =
        String::from_utf8_lossy(&files["shop/web1/root/etc/systemd/system/shop-jobs.service"])
            .into_owned();
    assert!(unit.contains("LoadCredential=jobs_token:"), "{unit}");
}

/// Credential-looking values are refused, and neither the human nor the JSON
/// error output prints them, not even as context around the line in error.
#[test]
fn errors_never_print_a_secret_value() {
    let cases = [
        valid_with(
            "limits = { memory = \"1GiB\" }\n",
            &format!("limits = {{ memory = \"1GiB\" }}\nenvironment = {{ DB_PASSWORD = \"{CANARY}\" }}\n"),
        ),
        valid_with(
            "limits = { memory = \"1GiB\" }\n",
            &format!("limits = {{ memory = \"1GiB\" }}\nenvironment = {{ DATABASE_URL = \"postgres://shop:{CANARY}@db/shop\" }}\n"),
        ),
        // A credential next to an unrelated mistake: the mistake's error
        // must not quote the credential's line as context.
        valid_with(
            "image = \"ghcr.io/shop/api:1.0.0\"\n",
            &format!("image = \"ghcr.io/shop/api:latest\"\nenvironment = {{ API_TOKEN = \"{CANARY}\" }}\n"),
        ),
        // A secret value pasted where its file's path belongs.
        valid_with(
            "limits = { memory = \"1GiB\" }\n",
            &format!("limits = {{ memory = \"1GiB\" }}\nsecrets = {{ db = \"{CANARY}\" }}\n"),
        ),
        valid_with(
            "limits = { memory = \"1GiB\" }\n",
            &format!("limits = {{ memory = \"1GiB\" }}\nsecrets = \"{CANARY}\"\n"),
        ),
        valid_with("queues = true\n", &format!("queues = true\npassword_file = \"{CANARY}\"\n")),
        valid_with(
            "pool_mode = \"transaction\"\n",
            &format!("pool_mode = \"transaction\"\nauth_file = [\"{CANARY}\"]\n"),
        ),
        valid_with(
            "certificate_key = \"/etc/ssl/shop.key\"",
            &format!("certificate_key = \"{CANARY}\""),
        ),
    ];
    for text in cases {
        assert_ne!(text, VALID);
        let project = Project::new().profile("shop", &text);
        for format in ["human", "json"] {
            let run = project.gen(&["--format", format, "build"]);
            assert_eq!(run.code, 2, "{}", run.stderr);
            // Located: `file:line` in text, `"file": …` in a JSON error.
            let located = match format {
                "json" => "\"file\": \"profiles/shop.toml\"",
                _ => "profiles/shop.toml:",
            };
            assert!(run.stderr.contains(located), "{}", run.stderr);
            assert_no_canary("the error", &(run.stdout + &run.stderr));
        }
    }
}

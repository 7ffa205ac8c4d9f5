//! Render stage: the minijinja environment and the templates embedded in the
//! binary. Strict undefined behaviour: a template that names a missing value
//! fails the build instead of writing an empty string into a config file.

use minijinja::{Environment, UndefinedBehavior};

use crate::artifact_kind::templates;
use crate::catalog::ArtifactSpec;
use crate::derive::Derived;
use crate::escape;
use crate::model::{Deployment, HostSpec};
use crate::views::{self, Want};
use gen_target::error::{Error, Result};

/// A rendered file for one host.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub spec: ArtifactSpec,
    pub content: Vec<u8>,
}

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        // Output is config files, never HTML: escaping is done per format by filters.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        for (name, source) in templates() {
            // Embedded templates are part of gen itself; a syntax error is caught by the test suite.
            if let Err(err) = env.add_template(name, source) {
                eprintln!("internal error: template {name}: {err}");
            }
        }
        env.add_filter("pg", |value: String| escape::postgres_quote(&value));
        env.add_filter("sd", |value: String| escape::systemd_quote(&value));
        env.add_filter("sh", |value: String| escape::shell_quote(&value));
        env.add_filter(
            "json",
            |value: minijinja::Value| -> Result<String, minijinja::Error> {
                serde_json::to_string(&value).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
                })
            },
        );
        Renderer { env }
    }

    /// Renders every artifact of `host`, each from its kind's typed view.
    pub fn render_host(
        &self,
        d: &Deployment,
        derived: &Derived,
        host: &HostSpec,
        profile_file: &str,
    ) -> Result<Vec<Artifact>> {
        crate::catalog::artifacts_for(d, host)
            .into_iter()
            .map(|spec| {
                let context = self.context(d, derived, host, profile_file, &spec, Want::Value)?;
                let content = match &context.value {
                    Some(value) => self.render(&spec, value)?,
                    None => return Err(no_context(&spec)),
                };
                Ok(Artifact { spec, content })
            })
            .collect()
    }

    /// The template context `spec` renders from, built for `want`: the file
    /// is a function of its template and this value alone, which is what
    /// lets a rebuild skip a file whose context did not change.
    pub fn context(
        &self,
        d: &Deployment,
        derived: &Derived,
        host: &HostSpec,
        profile_file: &str,
        spec: &ArtifactSpec,
        want: Want<'_>,
    ) -> Result<views::Context> {
        let scope = views::Scope {
            d,
            derived,
            host,
            spec,
            profile_file,
            want,
        };
        views::context(&scope).ok_or_else(|| no_context(spec))
    }

    /// One artifact's bytes: its template rendered over `context`, normalised.
    pub fn render(&self, spec: &ArtifactSpec, context: &minijinja::Value) -> Result<Vec<u8>> {
        let render_error = |message: String| Error::Render {
            template: spec.template.to_string(),
            message,
        };
        let template = self
            .env
            .get_template(spec.template)
            .map_err(|e| render_error(format!("{e:#}")))?;
        let text = template
            .render(context)
            .map_err(|e| render_error(format!("{e:#}")))?;
        Ok(normalise(&text).into_bytes())
    }
}

/// Trailing spaces removed, runs of blank lines folded to one, exactly one
/// newline at the end: every file comes out the same however templates are indented.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// The deployment lacks what `spec`'s kind needs: the catalogue places no
/// such artifact, so this is a bug, reported as a render error.
fn no_context(spec: &ArtifactSpec) -> Error {
    Error::Render {
        template: spec.template.to_string(),
        message: format!("the deployment lacks what a {:?} needs", spec.kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_blank_runs_and_ends_with_one_newline() {
        assert_eq!(normalise("\n\na  \n\n\n\nb\n\n\n"), "a\n\nb\n");
        assert_eq!(normalise(""), "\n");
    }

    #[test]
    fn every_template_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk: Vec<String> = walkdir::WalkDir::new(&dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = templates()
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        assert_eq!(
            on_disk, embedded,
            "templates/ and the embedded templates must be the same files"
        );
    }

    #[test]
    fn every_embedded_template_parses() {
        let mut env = Environment::new();
        for (name, source) in templates() {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }
}

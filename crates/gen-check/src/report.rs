//! Check stage output: what each validator said about each generated file,
//! serializable for `gen check --format json`.

use camino::Utf8PathBuf;
use serde::Serialize;

use gen_target::{Exposure, Validator};

/// The verdict on one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    /// The validator is not installed here; `--strict` turns this into a failure.
    Skipped,
    /// Valid, but a service unit that `systemd-analyze security` scores above
    /// its kind's exposure budget; `--strict` turns this into a failure.
    OverBudget,
    Failed,
}

/// One generated file and what its validator said.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Absolute path on the host.
    pub path: String,
    /// Where the file is in the generated tree.
    pub generated: Utf8PathBuf,
    pub validator: Validator,
    pub status: Status,
    /// The programs that checked the file, as run (e.g. `nginx -t`).
    pub tools: Vec<String>,
    /// The validators' own messages, staged paths mapped back to `generated`.
    pub messages: Vec<String>,
    /// A service unit's exposure budget, from the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure_budget: Option<Exposure>,
    /// What `systemd-analyze security --offline=yes` scored the unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
}

impl FileReport {
    pub fn new(path: &str, generated: Utf8PathBuf, validator: Validator) -> FileReport {
        FileReport {
            path: path.to_string(),
            generated,
            validator,
            status: Status::Passed,
            tools: Vec::new(),
            messages: Vec::new(),
            exposure_budget: None,
            exposure: None,
        }
    }

    /// Records a unit's exposure score; above its budget, the file is
    /// over budget unless it already failed or was skipped.
    pub fn scored(&mut self, score: Exposure) {
        self.exposure = Some(score);
        match self.exposure_budget {
            Some(budget) if score > budget => {
                if self.status == Status::Passed {
                    self.status = Status::OverBudget;
                }
                self.messages.push(format!(
                    "exposure {score} is above this kind of unit's budget of {budget} (README \"Least privilege\")"
                ));
            }
            Some(budget) => self
                .messages
                .push(format!("exposure {score} (budget {budget})")),
            None => self.messages.push(format!("exposure {score}")),
        }
    }

    /// Records a failure; the file stays failed whatever is recorded after.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.status = Status::Failed;
        self.messages.push(message.into());
    }

    /// Records a missing validator unless the file already failed.
    pub fn skip(&mut self, message: impl Into<String>) {
        if self.status == Status::Passed {
            self.status = Status::Skipped;
        }
        self.messages.push(message.into());
    }

    pub fn note(&mut self, message: impl Into<String>) {
        self.messages.push(message.into());
    }

    pub fn ran(&mut self, tool: impl Into<String>) {
        let tool = tool.into();
        if !self.tools.contains(&tool) {
            self.tools.push(tool);
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub profile: String,
    pub host: String,
    pub files: Vec<FileReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub strict: bool,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Service units scored above their budget.
    pub over_budget: usize,
    pub hosts: Vec<HostReport>,
}

impl CheckReport {
    pub fn new(strict: bool, hosts: Vec<HostReport>) -> CheckReport {
        let count = |status: Status| {
            hosts
                .iter()
                .flat_map(|h| &h.files)
                .filter(|f| f.status == status)
                .count()
        };
        CheckReport {
            strict,
            passed: count(Status::Passed),
            failed: count(Status::Failed),
            skipped: count(Status::Skipped),
            over_budget: count(Status::OverBudget),
            hosts,
        }
    }

    /// Every file passed, or was skipped or over its budget without `--strict`.
    pub fn ok(&self) -> bool {
        self.failed == 0 && (!self.strict || (self.skipped == 0 && self.over_budget == 0))
    }
}

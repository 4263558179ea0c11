//! The control catalog: 64 SOC 2 controls kept as data in `manifest/controls/*.toml`, each mapped
//! to Trust Services Criteria (`manifest/criteria.toml`) and backed by automated checks, manual
//! evidence, or both.
//!
//! The built-in catalog is compiled into the binary; `catalog_dir` in `kushim.toml` points at a
//! user's own copy. Either way the catalog is validated on load, and every problem names the file
//! and the entry.

mod duration;

use std::{collections::BTreeMap, fmt, fs, path::Path};

use serde::{Deserialize, Serialize};

use crate::checks;
pub use duration::FreshnessWindow;

include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));

const BUILTIN_CRITERIA: &str = include_str!("../../manifest/criteria.toml");

/// How a control is evidenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    /// Judged entirely by automated checks.
    Automated,
    /// Evidenced by documents a person uploads (`kushim evidence add`) on a schedule.
    Manual,
    /// Both: the checks must pass and the manual evidence must be current.
    Hybrid,
}

impl ControlKind {
    pub fn has_checks(self) -> bool {
        matches!(self, ControlKind::Automated | ControlKind::Hybrid)
    }

    pub fn has_manual_evidence(self) -> bool {
        matches!(self, ControlKind::Manual | ControlKind::Hybrid)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ControlKind::Automated => "automated",
            ControlKind::Manual => "manual",
            ControlKind::Hybrid => "hybrid",
        }
    }
}

/// How much a failing control matters; also the weight in the posture score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The five Trust Services Categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Security,
    Availability,
    Confidentiality,
    ProcessingIntegrity,
    Privacy,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Security => "security",
            Category::Availability => "availability",
            Category::Confidentiality => "confidentiality",
            Category::ProcessingIntegrity => "processing_integrity",
            Category::Privacy => "privacy",
        }
    }
}

/// One Trust Services Criterion, e.g. CC6.1.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub category: Category,
    pub title: String,
}

/// One control as the catalog defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub description: String,
    pub criteria: Vec<String>,
    pub kind: ControlKind,
    /// Automated checks (by id in [`checks::registry`]); empty for manual controls.
    pub checks: Vec<String>,
    /// Automated evidence older than this makes the control stale.
    pub freshness: Option<FreshnessWindow>,
    /// What manual evidence an auditor expects.
    pub evidence: Option<String>,
    /// How long uploaded manual evidence stays current.
    pub evidence_every: Option<FreshnessWindow>,
    pub severity: Severity,
    /// The role that owns the control (security, engineering, it, people, leadership, legal…).
    pub owner: String,
    pub remediation: String,
    /// The catalog file that defined it, for error messages.
    pub file: String,
}

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    controls: Vec<Control>,
    criteria: Vec<Criterion>,
}

/// One thing wrong with a catalog, located by file and entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// The control id, or `#N` (1-based position in the file) when the id itself is missing.
    pub entry: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: control {}: {}", self.file, self.entry, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog at {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("the catalog is invalid:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
}

/// A control as written in TOML, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    id: String,
    title: String,
    description: String,
    criteria: Vec<String>,
    kind: ControlKind,
    checks: Option<Vec<String>>,
    freshness: Option<String>,
    evidence: Option<String>,
    evidence_every: Option<String>,
    severity: Severity,
    owner: String,
    remediation: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControlFile {
    #[serde(default)]
    control: Vec<RawControl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriteriaFile {
    criterion: Vec<Criterion>,
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        let files = BUILTIN_CONTROL_FILES
            .iter()
            .map(|(name, text)| (format!("manifest/controls/{name}"), (*text).to_owned()));
        Catalog::from_files(files)
    }

    /// A user's own catalog: every `*.toml` file in `dir`, read in name order.
    pub fn from_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let read_error = |source| CatalogError::Read { path: dir.display().to_string(), source };
        let mut paths: Vec<_> = fs::read_dir(dir)
            .map_err(read_error)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = fs::read_to_string(&path).map_err(|source| CatalogError::Read {
                path: path.display().to_string(),
                source,
            })?;
            files.push((path.display().to_string(), text));
        }
        Catalog::from_files(files)
    }

    /// Parses and validates control files given as (file name, TOML text).
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Catalog, CatalogError> {
        let criteria = builtin_criteria();
        let mut controls = Vec::new();
        let mut problems = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();

        for (file, text) in files {
            let raw: RawControlFile = toml::from_str(&text)
                .map_err(|e| CatalogError::Parse { file: file.clone(), message: e.to_string() })?;
            for (position, raw_control) in raw.control.into_iter().enumerate() {
                let entry = if raw_control.id.trim().is_empty() {
                    format!("#{}", position + 1)
                } else {
                    raw_control.id.clone()
                };
                let problem =
                    |message| Problem { file: file.clone(), entry: entry.clone(), message };
                if let Some(first_file) = seen.insert(raw_control.id.clone(), file.clone()) {
                    problems.push(problem(format!(
                        "duplicate id; it is already defined in {first_file}"
                    )));
                    continue;
                }
                match validate(raw_control, &file, &criteria) {
                    Ok(control) => controls.push(control),
                    Err(messages) => problems.extend(messages.into_iter().map(problem)),
                }
            }
        }
        if controls.is_empty() && problems.is_empty() {
            problems.push(Problem {
                file: "(catalog)".into(),
                entry: "-".into(),
                message: "no controls found; each file needs [[control]] tables".into(),
            });
        }
        if !problems.is_empty() {
            return Err(CatalogError::Invalid { problems });
        }
        controls.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Catalog { controls, criteria })
    }

    /// All controls, ordered by id.
    pub fn controls(&self) -> &[Control] {
        &self.controls
    }

    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }

    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    /// Control ids closest to a mistyped one, best first, for "did you mean" answers. The same
    /// family and number without the zero padding (`AC-1` for `AC-01`) comes first.
    pub fn suggest(&self, typed: &str) -> Vec<&str> {
        let typed = typed.to_ascii_uppercase();
        let same_number = |id: &str| match (split_id(&typed), split_id(id)) {
            (Some((family, number)), Some((id_family, id_number))) => {
                family == id_family && number == id_number
            }
            _ => false,
        };
        crate::suggest::closest(self.controls.iter().map(|c| {
            let bonus = if same_number(&c.id) { 1.0 } else { 0.0 };
            (strsim::jaro_winkler(&typed, &c.id) + bonus, c.id.as_str())
        }))
    }

    /// The categories a control belongs to, through its criteria.
    pub fn categories_of(&self, control: &Control) -> Vec<Category> {
        let mut categories: Vec<Category> = control
            .criteria
            .iter()
            .filter_map(|id| self.criterion(id).map(|c| c.category))
            .collect();
        categories.sort();
        categories.dedup();
        categories
    }
}

/// `AC-01` → (`AC`, 1).
fn split_id(id: &str) -> Option<(&str, u32)> {
    let (family, number) = id.rsplit_once('-')?;
    Some((family, number.parse().ok()?))
}

fn builtin_criteria() -> Vec<Criterion> {
    let raw: RawCriteriaFile =
        toml::from_str(BUILTIN_CRITERIA).expect("manifest/criteria.toml is valid (tested)");
    raw.criterion
}

/// Turns a raw entry into a control, or lists everything wrong with it.
fn validate(raw: RawControl, file: &str, criteria: &[Criterion]) -> Result<Control, Vec<String>> {
    let mut problems = Vec::new();
    let kind = raw.kind.as_str();

    if !is_valid_id(&raw.id) {
        problems.push(format!("id {:?} must be letters, digits and dashes, like AC-01", raw.id));
    }
    for (field, value) in [
        ("title", &raw.title),
        ("description", &raw.description),
        ("owner", &raw.owner),
        ("remediation", &raw.remediation),
    ] {
        if value.trim().is_empty() {
            problems.push(format!("{field} must not be empty"));
        }
    }
    if raw.criteria.is_empty() {
        problems.push(
            "criteria must list at least one Trust Services Criterion, e.g. [\"CC6.1\"]".into(),
        );
    }
    for id in &raw.criteria {
        if !criteria.iter().any(|c| &c.id == id) {
            problems.push(format!("unknown criterion {id:?} (see manifest/criteria.toml)"));
        }
    }

    let checks = raw.checks.unwrap_or_default();
    if raw.kind.has_checks() {
        if checks.is_empty() {
            problems.push(format!("a {kind} control needs at least one check in `checks`"));
        }
        if raw.freshness.is_none() {
            problems.push(format!("a {kind} control needs `freshness`, e.g. \"2d\""));
        }
    } else {
        if !checks.is_empty() {
            problems.push(
                "a manual control has no `checks`; use kind = \"hybrid\" to combine both".into(),
            );
        }
        if raw.freshness.is_some() {
            problems.push(
                "`freshness` applies to automated evidence; a manual control uses `evidence_every`"
                    .into(),
            );
        }
    }
    if raw.kind.has_manual_evidence() {
        if raw.evidence.as_deref().is_none_or(|e| e.trim().is_empty()) {
            problems.push(format!("a {kind} control needs `evidence`: what an auditor expects"));
        }
        if raw.evidence_every.is_none() {
            problems.push(format!("a {kind} control needs `evidence_every`, e.g. \"365d\""));
        }
    } else if raw.evidence.is_some() || raw.evidence_every.is_some() {
        problems
            .push("an automated control has no manual `evidence`; use kind = \"hybrid\"".into());
    }
    for check in &checks {
        if checks::find(check).is_none() {
            problems.push(format!("unknown check {check:?}"));
        }
    }

    let mut window = |field: &str, text: &Option<String>| -> Option<FreshnessWindow> {
        match text.as_deref()?.parse() {
            Ok(window) => Some(window),
            Err(message) => {
                problems.push(format!("{field}: {message}"));
                None
            }
        }
    };
    let freshness = window("freshness", &raw.freshness);
    let evidence_every = window("evidence_every", &raw.evidence_every);

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Control {
        id: raw.id,
        title: raw.title.trim().to_owned(),
        description: raw.description.trim().to_owned(),
        criteria: raw.criteria,
        kind: raw.kind,
        checks,
        freshness,
        evidence: raw.evidence.map(|e| e.trim().to_owned()),
        evidence_every,
        severity: raw.severity,
        owner: raw.owner.trim().to_owned(),
        remediation: raw.remediation.trim().to_owned(),
        file: file.to_owned(),
    })
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests;

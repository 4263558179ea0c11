use std::collections::BTreeSet;

use super::*;
use crate::checks;

fn catalog() -> Catalog {
    Catalog::builtin().expect("the built-in catalog is valid")
}

/// Loads one control file made of the given `[[control]]` bodies.
fn load(text: &str) -> Result<Catalog, CatalogError> {
    Catalog::from_files([("custom.toml".to_owned(), text.to_owned())])
}

fn problems(text: &str) -> Vec<String> {
    match load(text) {
        Err(CatalogError::Invalid { problems }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected validation problems, got {other:?}"),
    }
}

const AUTOMATED: &str = r#"
[[control]]
id = "AC-99"
title = "Root account locked down"
description = "The root user has MFA and no keys."
criteria = ["CC6.1"]
kind = "automated"
checks = ["aws.iam.root_mfa"]
freshness = "2d"
severity = "critical"
owner = "security"
remediation = "Enable MFA on the root user."
"#;

#[test]
fn the_builtin_catalog_has_64_controls() {
    assert_eq!(catalog().controls().len(), 64);
}

#[test]
fn every_common_criterion_is_covered_by_a_control() {
    let catalog = catalog();
    let covered: BTreeSet<&str> =
        catalog.controls().iter().flat_map(|c| c.criteria.iter().map(String::as_str)).collect();
    let common: Vec<&str> = catalog
        .criteria()
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| id.starts_with("CC"))
        .collect();
    assert_eq!(common.len(), 33, "the 2017 criteria have 33 common criteria");
    let missing: Vec<&&str> = common.iter().filter(|id| !covered.contains(**id)).collect();
    assert!(missing.is_empty(), "criteria without a control: {missing:?}");
    let categories: BTreeSet<Category> =
        covered.iter().filter_map(|id| catalog.criterion(id)).map(|c| c.category).collect();
    assert_eq!(categories.len(), 5, "every Trust Services Category has a control: {categories:?}");
}

#[test]
fn every_check_a_control_names_exists() {
    for control in catalog().controls() {
        for check in &control.checks {
            assert!(checks::find(check).is_some(), "{} names unknown check {check}", control.id);
        }
    }
}

#[test]
fn every_registered_check_is_used_by_a_control() {
    let catalog = catalog();
    let used: BTreeSet<&str> =
        catalog.controls().iter().flat_map(|c| c.checks.iter().map(String::as_str)).collect();
    let unused: Vec<&str> =
        checks::registry().iter().map(|c| c.id).filter(|id| !used.contains(id)).collect();
    assert!(unused.is_empty(), "checks no control uses: {unused:?}");
}

#[test]
fn check_ids_are_unique() {
    let mut seen = BTreeSet::new();
    for check in checks::registry() {
        assert!(seen.insert(check.id), "duplicate check id {}", check.id);
    }
    assert!(checks::registry().len() >= 45, "only {} checks", checks::registry().len());
}

#[test]
fn every_control_says_how_it_is_evidenced() {
    for control in catalog().controls() {
        assert_eq!(control.kind.has_checks(), !control.checks.is_empty(), "{}", control.id);
        assert_eq!(control.kind.has_checks(), control.freshness.is_some(), "{}", control.id);
        assert_eq!(
            control.kind.has_manual_evidence(),
            control.evidence_every.is_some(),
            "{}",
            control.id
        );
        assert!(!control.remediation.is_empty(), "{}", control.id);
    }
}

#[test]
fn a_valid_custom_catalog_loads() {
    let catalog = load(AUTOMATED).unwrap();
    let control = catalog.control("ac-99").expect("ids are found in any case");
    assert_eq!(control.freshness, Some(FreshnessWindow::days(2)));
    assert_eq!(control.file, "custom.toml");
}

#[test]
fn a_duplicate_id_names_both_files() {
    let error = Catalog::from_files([
        ("a.toml".to_owned(), AUTOMATED.to_owned()),
        ("b.toml".to_owned(), AUTOMATED.to_owned()),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("b.toml: control AC-99: duplicate id; it is already defined in a.toml"),
        "{error}"
    );
}

#[test]
fn unknown_criteria_checks_and_bad_durations_are_each_named() {
    let text = AUTOMATED
        .replace(r#"["CC6.1"]"#, r#"["CC6.1", "CC6.9"]"#)
        .replace("aws.iam.root_mfa", "aws.iam.root_mfaa")
        .replace(r#""2d""#, r#""2 days""#);
    let found = problems(&text);
    for expected in [
        "custom.toml: control AC-99: unknown criterion \"CC6.9\"",
        "custom.toml: control AC-99: unknown check \"aws.iam.root_mfaa\"",
        "custom.toml: control AC-99: freshness: \"2 days\" is not a duration",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "missing {expected:?} in {found:#?}"
        );
    }
}

#[test]
fn kind_specific_fields_are_enforced() {
    let manual_with_checks = AUTOMATED.replace(r#"kind = "automated""#, r#"kind = "manual""#);
    let found = problems(&manual_with_checks);
    assert!(found.iter().any(|p| p.contains("a manual control has no `checks`")), "{found:#?}");
    assert!(found.iter().any(|p| p.contains("a manual control needs `evidence`")), "{found:#?}");

    let automated_without_freshness = AUTOMATED.replace("freshness = \"2d\"\n", "");
    assert!(problems(&automated_without_freshness).iter().any(|p| p.contains("needs `freshness`")));
}

#[test]
fn an_unknown_key_is_a_parse_error_with_its_line() {
    let error = load(&AUTOMATED.replace("owner =", "ownr =")).unwrap_err().to_string();
    assert!(error.starts_with("custom.toml: "), "{error}");
    assert!(error.contains("line 11"), "{error}");
    assert!(error.contains("ownr"), "{error}");
}

#[test]
fn a_file_without_controls_is_refused() {
    assert!(problems("# nothing here\n")[0].contains("no controls found"));
}

#[test]
fn mistyped_ids_get_suggestions() {
    let catalog = catalog();
    let first = &catalog.controls()[0].id;
    let typo = format!("{}x", first);
    assert_eq!(catalog.suggest(&typo).first(), Some(&first.as_str()));
    assert!(catalog.suggest("completely-unrelated").is_empty());
}

#[test]
fn the_unpadded_number_is_suggested_first() {
    assert_eq!(catalog().suggest("ac-1").first(), Some(&"AC-01"));
}

#[test]
fn categories_follow_criteria() {
    let catalog =
        load(&AUTOMATED.replace(r#"["CC6.1"]"#, r#"["CC6.1", "C1.1", "CC6.6"]"#)).unwrap();
    let control = &catalog.controls()[0];
    assert_eq!(catalog.categories_of(control), vec![Category::Security, Category::Confidentiality]);
}

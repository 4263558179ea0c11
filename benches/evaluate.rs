//! Evaluating all 64 controls over a generated organisation of 10,000 resources: every check
//! over every resource, then every control's state and the posture score. Pure CPU, no store.
//!
//! Run: `cargo bench --bench evaluate` (criterion prints the time per evaluation; compare the
//! groups within one run, as the machines here are noisy).

use std::collections::HashMap;

use chrono::TimeDelta;
use criterion::{Criterion, criterion_group, criterion_main};
use kushim::{
    catalog::Catalog,
    checks::{self, CheckContext, Finding},
    controls::{self, Evidence},
    integrations::{Integration, Snapshot},
    sandbox,
};

const RESOURCES: usize = 10_000;

fn run_every_check(snapshot: &Snapshot, ctx: &CheckContext) -> Vec<Finding> {
    Integration::ALL
        .into_iter()
        .flat_map(|integration| checks::run_checks(snapshot, integration, ctx))
        .collect()
}

fn evaluate(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("the built-in catalog loads");
    let now = sandbox::as_of() + TimeDelta::hours(1);
    let snapshot = sandbox::generated_org(RESOURCES, sandbox::as_of());
    let ctx = CheckContext::new(now);
    let (manual, exceptions, out_of_scope) = (HashMap::new(), HashMap::new(), HashMap::new());

    let findings = run_every_check(&snapshot, &ctx);
    let assessments = controls::assess_all(
        &catalog,
        Evidence {
            findings: &findings,
            manual: &manual,
            exceptions: &exceptions,
            out_of_scope: &out_of_scope,
        },
        now,
    );
    eprintln!(
        "generated org: ~{RESOURCES} resources, {} checks, {} findings, {} controls",
        checks::registry().len(),
        findings.len(),
        assessments.len()
    );

    let mut group = c.benchmark_group("evaluate_10k_resources");
    group.bench_function("checks_and_64_controls", |b| {
        b.iter(|| {
            let findings = run_every_check(&snapshot, &ctx);
            let evidence = Evidence {
                findings: &findings,
                manual: &manual,
                exceptions: &exceptions,
                out_of_scope: &out_of_scope,
            };
            let assessments = controls::assess_all(&catalog, evidence, now);
            controls::posture(&catalog, |id| {
                assessments.iter().find(|a| a.control_id == id).map(|a| a.state)
            })
        })
    });
    group.bench_function("checks_only", |b| b.iter(|| run_every_check(&snapshot, &ctx)));
    group.bench_function("64_controls_from_findings", |b| {
        b.iter(|| {
            let evidence = Evidence {
                findings: &findings,
                manual: &manual,
                exceptions: &exceptions,
                out_of_scope: &out_of_scope,
            };
            controls::assess_all(&catalog, evidence, now)
        })
    });
    group.finish();
}

criterion_group!(benches, evaluate);
criterion_main!(benches);

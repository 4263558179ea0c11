//! Cron schedules, and the scheduler that turns their occurrences into jobs.
//!
//! Expressions are the `cron` crate's: **seconds first** (`sec min hour day month weekday`), and
//! weekdays are best written by name (`Mon-Fri`) because its numbers run 1 = Sunday … 7 =
//! Saturday. Each schedule has a timezone (IANA name, default `[jobs] timezone`, default UTC).
//!
//! Policies, each tested:
//! - **Exactly once across replicas.** Every occurrence is enqueued with the idempotency key
//!   `schedule:<name>:<occurrence unix seconds>`, so N replicas ticking the same occurrence create
//!   one job.
//! - **Missed occurrences** (everything was down): on the next tick, the latest missed occurrence
//!   runs once; earlier ones are skipped. A schedule seen for the first time starts from now.
//! - **Daylight saving time.** A wall-clock time that happens twice (the autumn fall-back) fires
//!   once, at its first instant. A wall-clock time that does not exist (inside the spring-forward
//!   gap, e.g. 02:30 in New York on 2027-03-14) does not fire that day, so the default schedules
//!   avoid 01:00–03:00.

use std::{collections::BTreeMap, str::FromStr};

use chrono::{DateTime, LocalResult, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::{JobError, JobRequest};
use crate::{
    config::{JobsConfig, ScheduleConfig},
    integrations::Integration,
    store::{Job, Store},
};

/// One schedule: when, in which timezone, and which job.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub cron: cron::Schedule,
    pub timezone: Tz,
    pub request: JobRequest,
}

impl Schedule {
    pub fn parse(
        name: &str,
        expression: &str,
        timezone: &str,
        request: JobRequest,
    ) -> Result<Schedule, JobError> {
        let problem = |problem: String| JobError::Schedule { name: name.to_owned(), problem };
        let cron = cron::Schedule::from_str(expression).map_err(|e| {
            problem(format!(
                "cron {expression:?} does not parse ({e}); the format is seconds first, \
                 `sec min hour day month weekday`, e.g. \"0 0 9 * * Mon-Fri\""
            ))
        })?;
        let timezone = Tz::from_str(timezone).map_err(|_| {
            problem(format!("unknown timezone {timezone:?}; use an IANA name like Europe/Berlin"))
        })?;
        Ok(Schedule { name: name.to_owned(), cron, timezone, request })
    }

    /// The job key of one occurrence.
    pub fn key(&self, occurrence: DateTime<Utc>) -> String {
        format!("schedule:{}:{}", self.name, occurrence.timestamp())
    }

    /// Occurrences strictly after `after`, in order, a repeated wall-clock time (DST fall-back)
    /// only once, at its first instant.
    ///
    /// The cron crate yields both instants of a repeated wall-clock time; the second is known
    /// as such from the timezone alone, so no earlier occurrence has to be looked at (a lookback
    /// over the previous hours made every tick of a seconds-fine schedule scan thousands of them).
    pub fn occurrences(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.cron.after(&after.with_timezone(&self.timezone)).filter_map(move |local| {
            let repeated = matches!(
                self.timezone.from_local_datetime(&local.naive_local()),
                LocalResult::Ambiguous(first, _) if first != local
            );
            let at = local.with_timezone(&Utc);
            (!repeated && at > after).then_some(at)
        })
    }

    /// The newest occurrence in `(after, until]`, if any.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        // Look back in growing windows so an every-second schedule after a year of downtime
        // stays cheap, and a yearly one is still found.
        for window in [1, 24, 24 * 8, 24 * 32, 24 * 367] {
            let start = after.max(until - TimeDelta::hours(window));
            let latest = self.occurrences(start).take_while(|at| *at <= until).last();
            if latest.is_some() || start == after {
                return latest;
            }
        }
        None
    }
}

/// The schedules Kushim runs without configuration, in the team's timezone: each configured
/// integration collected every four hours (staggered), an hourly evaluation, the digest at 09:00
/// on weekdays, the exception sweep daily at 08:00, evidence reminders on Mondays at 10:00,
/// evidence retention on Sundays at 04:30, and with Jira a ticket sync every 30 minutes.
pub fn default_schedules(integrations: &[Integration]) -> BTreeMap<String, ScheduleConfig> {
    let mut defaults = BTreeMap::new();
    let mut add = |name: &str, cron: &str, job: &str, integration: Option<Integration>| {
        defaults.insert(
            name.to_owned(),
            ScheduleConfig {
                cron: Some(cron.to_owned()),
                job: Some(job.to_owned()),
                integration: integration.map(|i| i.as_str().to_owned()),
                ..ScheduleConfig::default()
            },
        );
    };
    for (n, integration) in integrations.iter().enumerate() {
        let minute = (n * 10) % 60;
        add(
            &format!("collect-{integration}"),
            &format!("0 {minute} */4 * * *"),
            "collect",
            Some(*integration),
        );
    }
    add("evaluate", "0 45 * * * *", "evaluate", None);
    add("digest", "0 0 9 * * Mon-Fri", "digest", None);
    add("exception-sweep", "0 0 8 * * *", "exception_sweep", None);
    add("evidence-reminders", "0 0 10 * * Mon", "evidence_reminders", None);
    add("evidence-retention", "0 30 4 * * Sun", "evidence_retention", None);
    if integrations.contains(&Integration::Jira) {
        // Ticket statuses back from Jira between webhooks (or without them).
        add("jira-sync", "0 5/30 * * * *", "jira_sync", None);
    }
    defaults
}

/// The defaults with `[schedules]` applied: a table with a default's name changes only the keys
/// it sets (`enabled = false` turns it off); any other name adds a schedule.
pub fn schedules(
    jobs: &JobsConfig,
    configured: &BTreeMap<String, ScheduleConfig>,
    integrations: &[Integration],
) -> Result<Vec<Schedule>, JobError> {
    let mut merged = default_schedules(integrations);
    for (name, overrides) in configured {
        let entry = merged.entry(name.clone()).or_default();
        entry.cron = overrides.cron.clone().or(entry.cron.take());
        entry.timezone = overrides.timezone.clone().or(entry.timezone.take());
        entry.job = overrides.job.clone().or(entry.job.take());
        entry.integration = overrides.integration.clone().or(entry.integration.take());
        entry.enabled = overrides.enabled.or(entry.enabled);
    }
    let mut list = Vec::new();
    for (name, config) in merged {
        if config.enabled == Some(false) {
            continue;
        }
        let problem =
            |problem: &str| JobError::Schedule { name: name.clone(), problem: problem.into() };
        let cron = config.cron.as_deref().ok_or_else(|| problem("set `cron`"))?;
        let job = config.job.as_deref().ok_or_else(|| problem("set `job`"))?;
        let request = request_for(job, config.integration.as_deref()).map_err(|p| problem(&p))?;
        let timezone = config.timezone.as_deref().unwrap_or(jobs.timezone());
        list.push(Schedule::parse(&name, cron, timezone, request)?);
    }
    Ok(list)
}

fn request_for(job: &str, integration: Option<&str>) -> Result<JobRequest, String> {
    let integration = integration
        .map(|name| {
            Integration::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Integration::ALL.iter().map(|i| i.as_str()).collect();
                format!("unknown integration {name:?}; use one of {}", known.join(", "))
            })
        })
        .transpose()?;
    JobRequest::parse(job, integration).map_err(|e| e.to_string())
}

/// Turns schedule occurrences into jobs. Every replica runs one; they agree through the store.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    schedules: Vec<Schedule>,
}

impl Scheduler {
    pub fn new(store: Store, schedules: Vec<Schedule>) -> Scheduler {
        Scheduler { store, schedules }
    }

    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    /// Enqueues the latest due occurrence of each schedule not enqueued yet; returns the jobs
    /// this call created (another replica may have created the rest).
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<Job>, JobError> {
        let mut created = Vec::new();
        for schedule in &self.schedules {
            let Some(mark) = self.store.schedule_mark(&schedule.name).await? else {
                self.store.advance_schedule_mark(&schedule.name, now).await?;
                continue;
            };
            let Some(occurrence) = schedule.latest_between(mark, now) else { continue };
            let job = schedule.request.to_job(schedule.key(occurrence), occurrence);
            let (job, new) = self.store.enqueue_job(&job, now).await?;
            // Moved after the enqueue: a crash in between re-enqueues the same key, a no-op.
            self.store.advance_schedule_mark(&schedule.name, occurrence).await?;
            if new {
                tracing::info!(schedule = %schedule.name, job = job.id, %occurrence, "scheduled");
                created.push(job);
            }
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobKind;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn daily(time: &str) -> Schedule {
        let (h, m) = time.split_once(':').unwrap();
        Schedule::parse("t", &format!("0 {m} {h} * * *"), "America/New_York", JobRequest::Digest)
            .unwrap()
    }

    fn between(schedule: &Schedule, from: &str, to: &str) -> Vec<String> {
        schedule
            .occurrences(at(from))
            .take_while(|t| *t <= at(to))
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn the_default_schedules_parse_and_name_registered_jobs() {
        let list = schedules(
            &JobsConfig::default(),
            &BTreeMap::new(),
            &[Integration::GitHub, Integration::Okta, Integration::Jira],
        )
        .unwrap();
        let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "collect-github",
                "collect-jira",
                "collect-okta",
                "digest",
                "evaluate",
                "evidence-reminders",
                "evidence-retention",
                "exception-sweep",
                "jira-sync"
            ]
        );
        for schedule in &list {
            assert!(JobKind::ALL.contains(&schedule.request.kind()));
            assert!(schedule.occurrences(at("2026-11-25T00:00:00Z")).next().is_some());
        }
    }

    #[test]
    fn the_digest_runs_at_nine_on_weekdays_in_the_teams_timezone() {
        let jobs = JobsConfig { timezone: Some("Europe/Berlin".into()), ..JobsConfig::default() };
        let list = schedules(&jobs, &BTreeMap::new(), &[]).unwrap();
        let digest = list.iter().find(|s| s.name == "digest").unwrap();
        // Friday 2026-11-27, then Monday: 09:00 CET is 08:00 UTC.
        assert_eq!(
            between(digest, "2026-11-27T00:00:00Z", "2026-12-01T00:00:00Z"),
            ["2026-11-27T08:00:00+00:00", "2026-11-30T08:00:00+00:00"]
        );
    }

    #[test]
    fn spring_forward_skips_a_time_that_does_not_exist() {
        // 2027-03-14: New York clocks jump from 02:00 EST to 03:00 EDT.
        assert_eq!(
            between(&daily("02:30"), "2027-03-13T00:00:00Z", "2027-03-16T00:00:00Z"),
            ["2027-03-13T07:30:00+00:00", "2027-03-15T06:30:00+00:00"]
        );
        // 09:00 keeps its wall-clock time: 14:00 UTC before, 13:00 UTC after.
        assert_eq!(
            between(&daily("09:00"), "2027-03-13T00:00:00Z", "2027-03-15T00:00:00Z"),
            ["2027-03-13T14:00:00+00:00", "2027-03-14T13:00:00+00:00"]
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_time_once() {
        // 2027-11-07: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
        assert_eq!(
            between(&daily("01:30"), "2027-11-06T00:00:00Z", "2027-11-08T12:00:00Z"),
            ["2027-11-06T05:30:00+00:00", "2027-11-07T05:30:00+00:00", "2027-11-08T06:30:00+00:00"]
        );
        // Starting between the two instants does not fire the repeat either.
        assert_eq!(
            between(&daily("01:30"), "2027-11-07T06:00:00Z", "2027-11-07T12:00:00Z"),
            Vec::<String>::new()
        );
        let hourly =
            Schedule::parse("h", "0 0 * * * *", "America/New_York", JobRequest::Evaluate).unwrap();
        assert_eq!(
            between(&hourly, "2027-11-07T04:30:00Z", "2027-11-07T07:30:00Z"),
            ["2027-11-07T05:00:00+00:00", "2027-11-07T07:00:00+00:00"],
            "01:00 EST repeats 01:00 EDT's wall-clock time, so it is skipped"
        );
    }

    #[test]
    fn a_schedule_finer_than_the_repeated_hour_fires_in_its_first_pass_only() {
        // 2027-11-07 in New York: 01:00–02:00 happens in EDT (05:00–06:00 UTC), then again in
        // EST (06:00–07:00 UTC). The cron crate interleaves the two passes' instants.
        let every_20_minutes =
            Schedule::parse("m", "0 */20 * * * *", "America/New_York", JobRequest::Evaluate)
                .unwrap();
        assert_eq!(
            between(&every_20_minutes, "2027-11-07T04:30:00Z", "2027-11-07T07:30:00Z"),
            [
                "2027-11-07T04:40:00+00:00",
                "2027-11-07T05:00:00+00:00",
                "2027-11-07T05:20:00+00:00",
                "2027-11-07T05:40:00+00:00",
                "2027-11-07T07:00:00+00:00",
                "2027-11-07T07:20:00+00:00"
            ]
        );
        assert_eq!(
            every_20_minutes.latest_between(at("2027-11-07T05:40:00Z"), at("2027-11-07T06:50:00Z")),
            None,
            "the second pass is not due"
        );
    }

    #[test]
    fn the_latest_missed_occurrence_is_found_after_long_downtime() {
        let every_second =
            Schedule::parse("s", "* * * * * *", "UTC", JobRequest::Evaluate).unwrap();
        assert_eq!(
            every_second.latest_between(at("2025-01-01T00:00:00Z"), at("2026-11-25T10:00:00Z")),
            Some(at("2026-11-25T10:00:00Z"))
        );
        let yearly = Schedule::parse("y", "0 0 0 1 1 *", "UTC", JobRequest::Evaluate).unwrap();
        assert_eq!(
            yearly.latest_between(at("2024-06-01T00:00:00Z"), at("2026-11-25T10:00:00Z")),
            Some(at("2026-01-01T00:00:00Z"))
        );
        assert_eq!(
            yearly.latest_between(at("2026-01-01T00:00:00Z"), at("2026-11-25T10:00:00Z")),
            None,
            "an occurrence already enqueued is not due again"
        );
    }

    #[test]
    fn configuration_overrides_adds_and_disables_schedules() {
        let configured: BTreeMap<String, ScheduleConfig> = toml::from_str(
            r#"
            digest = { cron = "0 30 8 * * Mon-Fri", timezone = "Asia/Tokyo" }
            evidence-reminders = { enabled = false }
            nightly-github = { cron = "0 0 3 * * *", job = "collect", integration = "github" }
            "#,
        )
        .unwrap();
        let list = schedules(&JobsConfig::default(), &configured, &[]).unwrap();
        let digest = list.iter().find(|s| s.name == "digest").unwrap();
        assert_eq!(
            (digest.cron.source(), digest.timezone),
            ("0 30 8 * * Mon-Fri", chrono_tz::Asia::Tokyo)
        );
        assert!(list.iter().all(|s| s.name != "evidence-reminders"));
        let nightly = list.iter().find(|s| s.name == "nightly-github").unwrap();
        assert_eq!(nightly.request, JobRequest::Collect { integration: Some(Integration::GitHub) });
    }

    #[test]
    fn bad_schedules_say_what_to_fix() {
        let error = |text: &str| {
            let configured: BTreeMap<String, ScheduleConfig> = toml::from_str(text).unwrap();
            schedules(&JobsConfig::default(), &configured, &[]).unwrap_err().to_string()
        };
        let five_fields = error(r#"x = { cron = "*/5 * * * *", job = "evaluate" }"#);
        assert!(
            five_fields.starts_with("schedule \"x\": cron \"*/5 * * * *\" does not parse"),
            "{five_fields}"
        );
        assert!(five_fields.contains("seconds first"), "{five_fields}");
        assert!(
            error(r#"x = { cron = "0 0 9 * * *", job = "evaluate", timezone = "Mars/Base" }"#)
                .contains("unknown timezone \"Mars/Base\"")
        );
        assert!(
            error(r#"x = { cron = "0 0 9 * * *", job = "colect" }"#)
                .contains("unknown job \"colect\"; jobs are collect, evaluate")
        );
        assert!(error(r#"x = { job = "evaluate" }"#).contains("set `cron`"));
        assert!(
            error(r#"x = { cron = "0 0 9 * * *", job = "digest", integration = "github" }"#)
                .contains("only `collect` takes an integration")
        );
    }
}

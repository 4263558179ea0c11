//! The credential report's CSV, parsed exactly as the IAM User Guide documents it ("Getting
//! credential reports for your AWS account", `id_credentials_getting-report`).
//!
//! Columns are found by header name, not position, so a column AWS adds later cannot shift the
//! others. Every cell is either a value or one of the documented sentinels (`N/A`,
//! `no_information`, `not_supported`); anything else, a missing column, or a row with the wrong
//! number of fields (a truncated download) rejects the whole report. A report that cannot be read
//! completely is a gap, never a shorter list of users that would pass.
//!
//! Where tools disagree, this follows AWS's documentation: root's `password_enabled` (and its
//! other password columns) is `not_supported`, kept as that sentinel rather than read as `true`
//! the way Steampipe's `passwordEnabledToBool` does or compared with `"true"` as Prowler does;
//! root checks use `GetAccountSummary` instead (checks.md §1.2). Any sentinel is accepted in any
//! cell that may hold one, because emulators differ from AWS in which they write (moto writes
//! `not_supported` where AWS writes `N/A`, checks.md §1.5); the checks judge meaning, not spelling.

use chrono::{DateTime, Utc};

use super::{AccessKeyColumns, CertColumns, CredentialReport, CredentialReportRow, ReportCell};

/// The `user` of the root row.
const ROOT_USER: &str = "<root_account>";

/// Every column Kushim reads, as the documented header names them.
const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// Parses `GetCredentialReport` → `Content` (already Base64-decoded by the SDK). The error says
/// what is wrong and where, for the snapshot's gap.
pub(crate) fn parse(
    content: &[u8],
    generated_at: DateTime<Utc>,
) -> Result<CredentialReport, String> {
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err("the credential report is empty (not even a header)".to_owned());
    }
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(content);
    let header = reader
        .headers()
        .map_err(|error| format!("the credential report's header cannot be read: {error}"))?
        .clone();
    let index = |name: &str| header.iter().position(|column| column == name);
    let mut positions = [0_usize; COLUMNS.len()];
    for (slot, name) in positions.iter_mut().zip(COLUMNS) {
        *slot = index(name).ok_or_else(|| {
            format!(
                "the credential report has no `{name}` column (header: {}); it is truncated or not the documented format",
                header.iter().collect::<Vec<_>>().join(",")
            )
        })?;
    }

    let mut root = None;
    let mut users = Vec::new();
    for (number, record) in reader.records().enumerate() {
        // Data rows are numbered from 1, the header being line 1 of the file.
        let line = number + 2;
        let record = record.map_err(|error| match error.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                "the credential report is truncated or malformed: line {line} has {len} fields where the header has {expected_len}"
            ),
            _ => format!("the credential report cannot be read at line {line}: {error}"),
        })?;
        let cells = Cells { record: &record, positions: &positions, line };
        let row = cells.row()?;
        if row.user == ROOT_USER {
            if root.is_some() {
                return Err(format!(
                    "the credential report has a second {ROOT_USER} row at line {line}"
                ));
            }
            root = Some(row);
        } else {
            users.push(row);
        }
    }
    Ok(CredentialReport { generated_at, root, users })
}

/// One CSV record with the positions of the columns Kushim reads.
struct Cells<'a> {
    record: &'a csv::StringRecord,
    positions: &'a [usize; COLUMNS.len()],
    line: usize,
}

impl Cells<'_> {
    fn row(&self) -> Result<CredentialReportRow, String> {
        Ok(CredentialReportRow {
            user: self.text("user")?.to_owned(),
            arn: self.text("arn")?.to_owned(),
            user_creation_time: self.time("user_creation_time")?,
            password_enabled: self.cell("password_enabled", boolean)?,
            password_last_used: self.cell("password_last_used", time)?,
            password_last_changed: self.cell("password_last_changed", time)?,
            password_next_rotation: self.cell("password_next_rotation", time)?,
            mfa_active: self.flag("mfa_active")?,
            access_key_1: self.access_key(1)?,
            access_key_2: self.access_key(2)?,
            cert_1: self.cert(1)?,
            cert_2: self.cert(2)?,
        })
    }

    fn access_key(&self, number: u8) -> Result<AccessKeyColumns, String> {
        let column = |suffix: &str| format!("access_key_{number}_{suffix}");
        Ok(AccessKeyColumns {
            active: self.flag(&column("active"))?,
            last_rotated: self.cell(&column("last_rotated"), time)?,
            last_used_date: self.cell(&column("last_used_date"), time)?,
            last_used_region: self.cell(&column("last_used_region"), text)?,
            last_used_service: self.cell(&column("last_used_service"), text)?,
        })
    }

    fn cert(&self, number: u8) -> Result<CertColumns, String> {
        Ok(CertColumns {
            active: self.flag(&format!("cert_{number}_active"))?,
            last_rotated: self.cell(&format!("cert_{number}_last_rotated"), time)?,
        })
    }

    /// The raw text of a column; an empty cell is never a documented value.
    fn text(&self, column: &str) -> Result<&str, String> {
        let slot = COLUMNS.iter().position(|name| *name == column).expect("a known column");
        let value = self.record.get(self.positions[slot]).unwrap_or_default();
        if value.is_empty() {
            return Err(self.invalid(column, value, "a value"));
        }
        Ok(value)
    }

    /// A cell that may hold a sentinel instead of a value.
    fn cell<T>(&self, column: &str, parse: fn(&str) -> Option<T>) -> Result<ReportCell<T>, String> {
        let value = self.text(column)?;
        Ok(match value {
            "N/A" => ReportCell::NotApplicable,
            "no_information" => ReportCell::NoInformation,
            "not_supported" => ReportCell::NotSupported,
            other => ReportCell::Value(
                parse(other).ok_or_else(|| self.invalid(column, other, "a value or a sentinel"))?,
            ),
        })
    }

    /// A column the documentation gives only as `TRUE`/`FALSE`.
    fn flag(&self, column: &str) -> Result<bool, String> {
        let value = self.text(column)?;
        boolean(value).ok_or_else(|| self.invalid(column, value, "true or false"))
    }

    /// A column that always holds a time (`user_creation_time`, root's included).
    fn time(&self, column: &str) -> Result<DateTime<Utc>, String> {
        let value = self.text(column)?;
        time(value).ok_or_else(|| self.invalid(column, value, "an ISO 8601 time"))
    }

    fn invalid(&self, column: &str, value: &str, expected: &str) -> String {
        format!(
            "the credential report is truncated or malformed: line {} has `{value}` in `{column}` where {expected} belongs",
            self.line
        )
    }
}

/// The documentation writes `TRUE`/`FALSE`; IAM and moto actually write `true`/`false`.
fn boolean(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// ISO 8601 with an offset, as IAM writes it (`2014-10-20T17:44:43+00:00`).
fn time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value).ok().map(|at| at.with_timezone(&Utc))
}

fn text(value: &str) -> Option<String> {
    Some(value.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    const ROOT: &str = "<root_account>,arn:aws:iam::123456789012:root,2019-01-01T10:00:00+00:00,not_supported,2025-05-30T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    const ALICE: &str = "alice,arn:aws:iam::123456789012:user/alice,2024-01-01T00:00:00+00:00,true,no_information,2024-01-01T00:00:00+00:00,N/A,false,true,2025-01-02T03:04:05+00:00,2025-05-01T00:00:00+00:00,N/A,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    const BOT: &str = "deploy-bot,arn:aws:iam::123456789012:user/deploy-bot,2023-06-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2023-06-01T00:00:00+00:00,N/A,N/A,N/A,true,2024-06-01T00:00:00Z,2025-05-31T00:00:00+00:00,eu-west-1,ec2,true,2023-06-01T00:00:00+00:00,false,N/A";

    fn generated() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
    }

    fn report(rows: &[&str]) -> Result<CredentialReport, String> {
        let text = [HEADER].iter().chain(rows).copied().collect::<Vec<_>>().join("\n");
        parse(text.as_bytes(), generated())
    }

    #[test]
    fn the_root_row_is_kept_apart_and_its_sentinels_are_read() {
        let report = report(&[ROOT, ALICE, BOT]).unwrap();
        let root = report.root.expect("a root row");
        assert_eq!(root.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(root.password_enabled, ReportCell::NotSupported);
        assert_eq!(root.password_last_changed, ReportCell::NotSupported);
        assert!(root.mfa_active);
        assert_eq!(
            report.users.iter().map(|u| u.user.as_str()).collect::<Vec<_>>(),
            ["alice", "deploy-bot"]
        );
        assert_eq!(report.generated_at, generated());
    }

    #[test]
    fn each_documented_sentinel_and_value_is_read() {
        let report = report(&[ALICE, BOT]).unwrap();
        let alice = &report.users[0];
        assert_eq!(alice.password_enabled, ReportCell::Value(true));
        assert_eq!(alice.password_last_used, ReportCell::NoInformation);
        assert_eq!(alice.password_next_rotation, ReportCell::NotApplicable);
        assert!(alice.access_key_1.active);
        assert_eq!(
            alice.access_key_1.last_rotated,
            ReportCell::Value(Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap())
        );
        // A non-regional service (S3) has no region.
        assert_eq!(alice.access_key_1.last_used_region, ReportCell::NotApplicable);
        assert_eq!(alice.access_key_1.last_used_service, ReportCell::Value("s3".to_owned()));
        let bot = &report.users[1];
        assert_eq!(bot.password_last_used, ReportCell::NotApplicable);
        assert_eq!(bot.access_key_1.last_used_date, ReportCell::NotApplicable);
        assert_eq!(
            bot.access_key_2.last_rotated,
            ReportCell::Value(Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap()),
            "a `Z` offset is ISO 8601 too"
        );
        assert!(bot.cert_1.active);
        assert!(report.root.is_none(), "moto's reports have no root row");
    }

    #[test]
    fn columns_are_found_by_name_whatever_their_order() {
        let swap = |line: &str| {
            let mut fields: Vec<&str> = line.split(',').collect();
            fields.swap(0, 7);
            fields.join(",")
        };
        let text = format!("{}\n{}\n", swap(HEADER), swap(ALICE));
        let report = parse(text.as_bytes(), generated()).unwrap();
        assert_eq!(report.users[0].user, "alice");
        assert!(!report.users[0].mfa_active);
    }

    #[test]
    fn a_header_only_report_has_no_users() {
        let report = parse(format!("{HEADER}\n").as_bytes(), generated()).unwrap();
        assert!(report.users.is_empty() && report.root.is_none());
    }

    #[test]
    fn a_report_cut_mid_row_is_rejected_with_the_line() {
        let cut = &ALICE[..ALICE.len() - 30];
        let error = report(&[ROOT, cut]).unwrap_err();
        assert!(error.contains("truncated") && error.contains("line 3"), "{error}");
        assert!(error.contains("where the header has 22"), "{error}");
    }

    #[test]
    fn a_report_cut_inside_a_cell_is_rejected() {
        let cut = &BOT[..BOT.len() - 2];
        let error = report(&[cut]).unwrap_err();
        assert!(error.contains("`N` in `cert_2_last_rotated`"), "{error}");
    }

    #[test]
    fn a_cut_header_or_an_empty_body_is_rejected() {
        let error = parse(&HEADER.as_bytes()[..100], generated()).unwrap_err();
        assert!(error.contains("no `"), "{error}");
        let error = parse(b"", generated()).unwrap_err();
        assert!(error.contains("empty"), "{error}");
    }

    #[test]
    fn an_undocumented_value_is_rejected_not_guessed() {
        let odd = ALICE.replace(",false,true,", ",maybe,true,");
        let error = report(&[&odd]).unwrap_err();
        assert!(error.contains("`maybe` in `mfa_active`"), "{error}");
        let empty = ALICE.replace(",no_information,", ",,");
        let error = report(&[&empty]).unwrap_err();
        assert!(error.contains("`password_last_used`"), "{error}");
    }

    #[test]
    fn a_second_root_row_is_rejected() {
        let error = report(&[ROOT, ROOT]).unwrap_err();
        assert!(error.contains("second <root_account>"), "{error}");
    }
}

//! Working hours in a rep's own time zone, and working-time arithmetic.
//!
//! Routing skips reps who are not at work, and the speed-to-lead SLA clock only runs
//! while the rep is working: a lead captured on Friday at 18:00 with a five-minute SLA is
//! due on Monday at 09:05, not on Friday at 18:05. Both questions are answered here from
//! plain epoch milliseconds, so callers pass the time in and tests are exact.
//!
//! Hours are local wall-clock times in an IANA time zone ("Europe/London"). Each local
//! interval is turned into real instants day by day, so a day on which the clocks change
//! is as long as it really is: an interval 00:00–03:00 on a spring-forward day holds two
//! hours of work, on a fall-back day four. A local time that does not exist (inside a
//! spring-forward gap) is pushed forward by the length of the gap (01:30 becomes 02:30),
//! as calendar applications do; one that occurs twice (inside a fall-back fold) means
//! its first occurrence.
//!
//! The time-zone database is compiled into the binary, so results never depend on the
//! machine's `/usr/share/zoneinfo`.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Minutes in a day; `24:00` is accepted as the end of an interval.
const DAY_MINUTES: u16 = 24 * 60;

/// A day of the week, written `mon` … `sun` (full names are accepted too).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    #[serde(alias = "monday")]
    Mon,
    #[serde(alias = "tuesday")]
    Tue,
    #[serde(alias = "wednesday")]
    Wed,
    #[serde(alias = "thursday")]
    Thu,
    #[serde(alias = "friday")]
    Fri,
    #[serde(alias = "saturday")]
    Sat,
    #[serde(alias = "sunday")]
    Sun,
}

impl Weekday {
    /// Monday to Sunday, in that order.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn of(date: Date) -> Weekday {
        let i = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        Weekday::ALL[i % 7]
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        })
    }
}

/// One working interval on one weekday, in local "HH:MM" wall-clock time.
///
/// `start` is included and `end` excluded. An interval may not cross midnight: a night
/// shift 22:00–02:00 is written as `22:00`–`24:00` on one day and `00:00`–`02:00` on the
/// next, which keeps each day's hours readable and DST handling unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    pub day: Weekday,
    pub start: String,
    pub end: String,
}

impl DayHours {
    /// Shorthand for building hours in code and tests.
    pub fn new(day: Weekday, start: &str, end: &str) -> Self {
        DayHours {
            day,
            start: start.to_string(),
            end: end.to_string(),
        }
    }
}

/// When a rep works: weekly intervals in their own time zone, minus holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// IANA time-zone name, e.g. "Europe/London" or "America/New_York".
    pub time_zone: String,
    /// Working intervals; a day may have several (09:00–12:00 and 13:00–17:00) or none.
    pub week: Vec<DayHours>,
    /// Local dates (in `time_zone`) with no working hours at all.
    #[serde(default)]
    pub holidays: Vec<Date>,
}

/// Why working hours cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {0:?}; use an IANA name such as \"Europe/London\"")]
    UnknownTimeZone(String),
    #[error(
        "{day}: {value:?} is not a time; use HH:MM from 00:00 to 23:59 (24:00 only as an end)"
    )]
    MalformedTime { day: Weekday, value: String },
    #[error("{day}: {start}–{end} must end after it starts; an interval cannot cross midnight, so split it into …–24:00 and 00:00–… on the next day")]
    EndNotAfterStart {
        day: Weekday,
        start: String,
        end: String,
    },
    #[error("{day}: intervals {first} and {second} overlap")]
    Overlap {
        day: Weekday,
        first: String,
        second: String,
    },
}

impl Default for WorkingHours {
    /// Monday to Friday, 09:00–17:00 UTC: a safe start until a rep sets their own.
    fn default() -> Self {
        WorkingHours {
            time_zone: "UTC".to_string(),
            week: Weekday::ALL[..5]
                .iter()
                .map(|&d| DayHours::new(d, "09:00", "17:00"))
                .collect(),
            holidays: Vec::new(),
        }
    }
}

/// Parses "HH:MM" into minutes after midnight; `24:00` only when `allow_24` (an end).
fn parse_clock(s: &str, allow_24: bool) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let well_formed = (1..=2).contains(&h.len())
        && m.len() == 2
        && h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(DAY_MINUTES),
        (h, m) if h < 24 && m < 60 => Some(h * 60 + m),
        _ => None,
    }
}

fn bundled_zone(name: &str) -> Option<TimeZone> {
    if name.trim().is_empty() {
        return None;
    }
    TimeZoneDatabase::bundled().get(name.trim()).ok()
}

/// The instant (epoch ms) of `time` ("09:00") on `date` ("2026-12-07") in the IANA zone
/// `time_zone`, UTC when the zone is unknown or empty: when a next step given as a
/// day falls due. `None` when the date or time does not parse.
pub fn local_instant(date: &str, time: &str, time_zone: &str) -> Option<i64> {
    let date: Date = date.trim().parse().ok()?;
    let time: Time = time.trim().parse().ok()?;
    let zone = bundled_zone(time_zone).unwrap_or(TimeZone::UTC);
    let zoned = date.to_datetime(time).to_zoned(zone).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The first and the last-plus-one instant (epoch ms) of a calendar day ("2026-12-07")
/// in the IANA zone `time_zone` (UTC when unknown or empty): a "created from … to …"
/// filter covers whole days as the person reads them, also across a DST change.
pub fn local_day_bounds(date: &str, time_zone: &str) -> Option<(i64, i64)> {
    let day: Date = date.trim().parse().ok()?;
    let zone = bundled_zone(time_zone).unwrap_or(TimeZone::UTC);
    let start = day
        .to_zoned(zone.clone())
        .ok()?
        .timestamp()
        .as_millisecond();
    let end = day
        .tomorrow()
        .ok()?
        .to_zoned(zone)
        .ok()?
        .timestamp()
        .as_millisecond();
    Some((start, end))
}

/// An instant (epoch ms) as an RFC 3339 UTC time (`2026-12-07T09:00:00Z`), for
/// exports; the number itself when it is out of range.
pub fn utc_rfc3339(at_ms: i64) -> String {
    Timestamp::from_millisecond(at_ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| at_ms.to_string())
}

/// An instant (epoch ms) as people read it in the IANA zone `time_zone` (UTC when the
/// zone is unknown or empty): `2026-12-07 09:00`, with ` UTC` added when shown in UTC
/// so nobody takes it for their own time.
pub fn local_time(at_ms: i64, time_zone: &str) -> String {
    let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
        return at_ms.to_string();
    };
    match bundled_zone(time_zone) {
        Some(zone) => zone.to_datetime(ts).strftime("%Y-%m-%d %H:%M").to_string(),
        None => format!(
            "{} UTC",
            TimeZone::UTC.to_datetime(ts).strftime("%Y-%m-%d %H:%M")
        ),
    }
}

/// Working hours made ready for arithmetic: zone resolved, intervals parsed and sorted.
/// Malformed intervals are dropped here, so unvalidated input degrades instead of
/// panicking.
struct Compiled {
    tz: TimeZone,
    days: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<Date>,
}

impl Compiled {
    fn has_any_interval(&self) -> bool {
        self.days.iter().any(|d| !d.is_empty())
    }

    /// Real instants `[start, end)` (epoch ms) of the working intervals on a local date,
    /// in order, empty ones (swallowed by a DST gap) left out.
    fn intervals_on(&self, date: Date) -> Vec<(i64, i64)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &(start, end) in &self.days[Weekday::of(date).index()] {
            let (Some(s), Some(e)) = (self.instant(date, start), self.instant(date, end)) else {
                continue;
            };
            if e > s {
                out.push((s, e));
            }
        }
        out
    }

    /// The instant of a local wall-clock time (minutes after midnight, 1440 = the next
    /// midnight) on `date`, resolving gaps and folds "compatibly".
    fn instant(&self, date: Date, minutes: u16) -> Option<i64> {
        let (date, minutes) = if minutes >= DAY_MINUTES {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minutes)
        };
        let h = i8::try_from(minutes / 60).ok()?;
        let m = i8::try_from(minutes % 60).ok()?;
        let time = Time::new(h, m, 0, 0).ok()?;
        let ts = self
            .tz
            .to_timestamp(DateTime::from_parts(date, time))
            .ok()?;
        Some(ts.as_millisecond())
    }

    fn local(&self, at_ms: i64) -> Option<DateTime> {
        let ts = Timestamp::from_millisecond(at_ms).ok()?;
        Some(self.tz.to_datetime(ts))
    }

    /// How many consecutive days may pass without a working interval before we give up:
    /// a full week always has one unless holidays (each blanks one date) or a rare DST
    /// gap swallow it.
    fn max_idle_days(&self) -> usize {
        7 * (self.holidays.len() + 3)
    }

    /// Calls `visit` with every working interval from the local day before `at_ms`
    /// onwards, in order, until it returns `Some` or the search gives up.
    fn scan<T>(&self, at_ms: i64, mut visit: impl FnMut(i64, i64) -> Option<T>) -> Option<T> {
        if !self.has_any_interval() {
            return None;
        }
        // Start a day early: near midnight and around DST changes an instant's local date
        // and the date of the interval it falls in can differ.
        let mut date = self.local(at_ms)?.date().yesterday().ok()?;
        let mut idle_days = 0usize;
        loop {
            let intervals = self.intervals_on(date);
            if intervals.is_empty() {
                idle_days += 1;
                if idle_days > self.max_idle_days() {
                    return None;
                }
            } else {
                idle_days = 0;
            }
            for (s, e) in intervals {
                if let Some(found) = visit(s, e) {
                    return Some(found);
                }
            }
            date = date.tomorrow().ok()?;
        }
    }
}

impl WorkingHours {
    /// Always at work (24x7, UTC): for reps or queues that take leads round the clock.
    pub fn always() -> Self {
        WorkingHours {
            time_zone: "UTC".to_string(),
            week: Weekday::ALL
                .iter()
                .map(|&d| DayHours::new(d, "00:00", "24:00"))
                .collect(),
            holidays: Vec::new(),
        }
    }

    /// Checks the zone and every interval, returning all problems at once so a form can
    /// show them together. An empty week is allowed: it means "never working".
    pub fn validate(&self) -> Result<(), Vec<ScheduleError>> {
        let mut errors = Vec::new();
        if bundled_zone(&self.time_zone).is_none() {
            errors.push(ScheduleError::UnknownTimeZone(self.time_zone.clone()));
        }
        let mut per_day: [Vec<(u16, u16, &DayHours)>; 7] = Default::default();
        for h in &self.week {
            let start = parse_clock(&h.start, false);
            let end = parse_clock(&h.end, true);
            for (parsed, raw) in [(start, &h.start), (end, &h.end)] {
                if parsed.is_none() {
                    errors.push(ScheduleError::MalformedTime {
                        day: h.day,
                        value: raw.clone(),
                    });
                }
            }
            let (Some(s), Some(e)) = (start, end) else {
                continue;
            };
            if e <= s {
                errors.push(ScheduleError::EndNotAfterStart {
                    day: h.day,
                    start: h.start.clone(),
                    end: h.end.clone(),
                });
                continue;
            }
            per_day[h.day.index()].push((s, e, h));
        }
        for day in &mut per_day {
            day.sort_by_key(|&(s, e, _)| (s, e));
            for pair in day.windows(2) {
                let ((_, e1, a), (s2, _, b)) = (pair[0], pair[1]);
                if s2 < e1 {
                    errors.push(ScheduleError::Overlap {
                        day: a.day,
                        first: format!("{}–{}", a.start, a.end),
                        second: format!("{}–{}", b.start, b.end),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn compile(&self) -> Option<Compiled> {
        let tz = bundled_zone(&self.time_zone)?;
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for h in &self.week {
            if let (Some(s), Some(e)) = (parse_clock(&h.start, false), parse_clock(&h.end, true)) {
                if e > s {
                    days[h.day.index()].push((s, e));
                }
            }
        }
        for d in &mut days {
            d.sort_unstable();
        }
        Some(Compiled {
            tz,
            days,
            holidays: self.holidays.iter().copied().collect(),
        })
    }

    /// True when `at_ms` falls inside a working interval. Unusable hours (unknown zone,
    /// out-of-range instant) count as not working.
    pub fn is_working(&self, at_ms: i64) -> bool {
        self.next_working_start(at_ms) == Some(at_ms)
    }

    /// The first instant at or after `at_ms` at which the rep is working (`at_ms` itself
    /// when working now). `None` when the week has no usable interval, the zone is
    /// unknown, or the answer would lie beyond the supported calendar.
    pub fn next_working_start(&self, at_ms: i64) -> Option<i64> {
        let c = self.compile()?;
        c.scan(at_ms, |s, e| (e > at_ms).then_some(s.max(at_ms)))
    }

    /// The instant at which `duration_ms` of working time has passed since `from_ms`:
    /// time outside working hours (nights, weekends, holidays) does not count, which is
    /// how an SLA clock pauses. A zero or negative duration gives `from_ms`. Ending
    /// exactly at the close of an interval gives that close, not the next opening.
    /// `None` when the hours are unusable (see [`WorkingHours::next_working_start`]).
    pub fn add_working_time(&self, from_ms: i64, duration_ms: i64) -> Option<i64> {
        if duration_ms <= 0 {
            return Some(from_ms);
        }
        let c = self.compile()?;
        let mut remaining = duration_ms;
        // `cursor` never moves backwards, so even oddly ordered instants around a DST
        // change can't be counted twice.
        let mut cursor = from_ms;
        c.scan(from_ms, |s, e| {
            let start = s.max(cursor);
            if e <= start {
                return None;
            }
            let available = e - start;
            if remaining <= available {
                return Some(start + remaining);
            }
            remaining -= available;
            cursor = e;
            None
        })
    }

    /// The local time at `at_ms` for explanations, e.g. "Europe/London, Sat 18:42".
    pub fn local_time_label(&self, at_ms: i64) -> Option<String> {
        let c = self.compile()?;
        let dt = c.local(at_ms)?;
        let holiday = if c.holidays.contains(&dt.date()) {
            ", holiday"
        } else {
            ""
        };
        Some(format!(
            "{}, {} {:02}:{:02}{}",
            self.time_zone.trim(),
            Weekday::of(dt.date()),
            dt.hour(),
            dt.minute(),
            holiday
        ))
    }
}

/// Why a working-hours shorthand cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShorthandError {
    #[error("{0:?} is not a day or a range of days; use mon … sun, e.g. mon-fri or sat,sun")]
    Days(String),
    #[error("{0:?} is not a time range; use HH:MM-HH:MM, e.g. 09:00-17:00 (several: 09:00-12:00,13:00-17:00)")]
    Times(String),
    #[error("{0:?} needs days and times, e.g. \"mon-fri 09:00-17:00\"")]
    Group(String),
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    Weekday::ALL
        .into_iter()
        .find(|d| s == d.to_string().to_ascii_lowercase() || s == full_day_name(*d))
}

fn full_day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// `mon-fri`, `sat,sun`, `mon,wed-fri`, `fri-mon` (wrapping over the weekend).
fn parse_days(text: &str) -> Result<Vec<Weekday>, ShorthandError> {
    let mut days = Vec::new();
    for part in text.split(',') {
        let bad = || ShorthandError::Days(part.trim().to_string());
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (
                    parse_weekday(a).ok_or_else(bad)?,
                    parse_weekday(b).ok_or_else(bad)?,
                );
                let mut i = a.index();
                loop {
                    days.push(Weekday::ALL[i]);
                    if i == b.index() {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
            None => days.push(parse_weekday(part).ok_or_else(bad)?),
        }
    }
    Ok(days)
}

impl WorkingHours {
    /// Reads the shorthand people type on a command line: groups of days and times
    /// separated by `;`, such as `mon-fri 09:00-17:00`, `mon-fri 09:00-12:00,13:00-17:00;
    /// sat 10:00-14:00`, or `none` for an empty week. The result still needs
    /// [`WorkingHours::validate`] (times, overlaps, the zone).
    pub fn from_shorthand(text: &str, time_zone: &str) -> Result<WorkingHours, ShorthandError> {
        let mut week = Vec::new();
        let text = text.trim();
        if !text.eq_ignore_ascii_case("none") {
            for group in text.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                let (days, times) = group
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| ShorthandError::Group(group.to_string()))?;
                let days = parse_days(days)?;
                let times = times.trim();
                let mut intervals = Vec::new();
                for range in times.split(',').map(str::trim) {
                    let (start, end) = range
                        .split_once('-')
                        .filter(|(a, b)| a.contains(':') && b.contains(':'))
                        .ok_or_else(|| ShorthandError::Times(range.to_string()))?;
                    intervals.push((start.trim().to_string(), end.trim().to_string()));
                }
                for day in days {
                    for (start, end) in &intervals {
                        week.push(DayHours::new(day, start, end));
                    }
                }
            }
            if week.is_empty() {
                return Err(ShorthandError::Group(text.to_string()));
            }
        }
        Ok(WorkingHours {
            time_zone: time_zone.trim().to_string(),
            week,
            holidays: Vec::new(),
        })
    }

    /// The week as shorthand, consecutive days with the same hours grouped:
    /// `mon-fri 09:00-17:00; sat 10:00-14:00` (or `none`). Reads back with
    /// [`WorkingHours::from_shorthand`].
    pub fn to_shorthand(&self) -> String {
        let mut per_day: [Vec<(String, String)>; 7] = Default::default();
        for h in &self.week {
            per_day[h.day.index()].push((h.start.trim().to_string(), h.end.trim().to_string()));
        }
        for d in &mut per_day {
            d.sort_by_key(|(s, e)| (parse_clock(s, false), parse_clock(e, true)));
        }
        let mut groups: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if per_day[i].is_empty() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < 7 && per_day[j + 1] == per_day[i] {
                j += 1;
            }
            let name = |k: usize| Weekday::ALL[k].to_string().to_ascii_lowercase();
            let days = if i == j {
                name(i)
            } else {
                format!("{}-{}", name(i), name(j))
            };
            let times: Vec<String> = per_day[i].iter().map(|(s, e)| format!("{s}-{e}")).collect();
            groups.push(format!("{days} {}", times.join(",")));
            i = j + 1;
        }
        if groups.is_empty() {
            "none".to_string()
        } else {
            groups.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn local_instants_follow_the_zone() {
        // 09:00 in London in winter is 09:00 UTC; in New York, 14:00 UTC.
        let london = local_instant("2026-12-07", "09:00", "Europe/London").unwrap();
        let new_york = local_instant("2026-12-07", "09:00", "America/New_York").unwrap();
        assert_eq!(new_york - london, 5 * 3_600_000);
        assert_eq!(local_instant("2026-12-07", "09:00", ""), Some(london));
        assert_eq!(
            local_instant("2026-12-07", "09:00", "Mars/Olympus"),
            Some(london)
        );
        assert_eq!(local_instant("2026-13-07", "09:00", "UTC"), None);
        assert_eq!(local_instant("yesterday", "09:00", "UTC"), None);
        assert_eq!(local_instant("2026-12-07", "25:00", "UTC"), None);
    }

    #[test]
    fn days_are_bounded_in_the_persons_zone() {
        let (start, end) = local_day_bounds("2026-03-29", "Europe/Berlin").unwrap();
        assert_eq!(
            end - start,
            23 * 3_600_000,
            "the spring-forward day is 23 hours"
        );
        assert_eq!(local_time(start, "Europe/Berlin"), "2026-03-29 00:00");
        let (utc_start, _) = local_day_bounds("2026-03-29", "").unwrap();
        assert_eq!(utc_start - start, 3_600_000);
        assert_eq!(local_day_bounds("2026-02-30", "UTC"), None);
    }

    #[test]
    fn instants_read_in_the_persons_zone() {
        let at = local_instant("2026-07-01", "09:30", "Europe/Berlin").unwrap();
        assert_eq!(local_time(at, "Europe/Berlin"), "2026-07-01 09:30");
        assert_eq!(local_time(at, "America/New_York"), "2026-07-01 03:30");
        assert_eq!(local_time(at, ""), "2026-07-01 07:30 UTC");
        assert_eq!(local_time(at, "Mars/Olympus"), "2026-07-01 07:30 UTC");
        assert_eq!(local_time(i64::MAX, "UTC"), i64::MAX.to_string());
        assert_eq!(utc_rfc3339(at), "2026-07-01T07:30:00Z");
    }

    /// Epoch ms of a local wall-clock time in a zone (test helper).
    fn at(tz: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        let zone = TimeZoneDatabase::bundled().get(tz).unwrap();
        zone.to_timestamp(date(y, mo, d).at(h, mi, 0, 0))
            .unwrap()
            .as_millisecond()
    }

    fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        at("UTC", y, mo, d, h, mi)
    }

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn weekdays(tz: &str, start: &str, end: &str) -> WorkingHours {
        WorkingHours {
            time_zone: tz.into(),
            week: Weekday::ALL[..5]
                .iter()
                .map(|&d| DayHours::new(d, start, end))
                .collect(),
            holidays: vec![],
        }
    }

    fn split_day(tz: &str) -> WorkingHours {
        WorkingHours {
            time_zone: tz.into(),
            week: Weekday::ALL[..5]
                .iter()
                .flat_map(|&d| {
                    [
                        DayHours::new(d, "13:00", "17:00"),
                        DayHours::new(d, "09:00", "12:00"),
                    ]
                })
                .collect(),
            holidays: vec![],
        }
    }

    #[test]
    fn default_is_weekdays_nine_to_five_and_valid() {
        let h = WorkingHours::default();
        assert!(h.validate().is_ok());
        // 2024-06-03 is a Monday.
        assert!(h.is_working(utc(2024, 6, 3, 9, 0)));
        assert!(h.is_working(utc(2024, 6, 7, 16, 59)));
        assert!(!h.is_working(utc(2024, 6, 7, 17, 0)));
        assert!(!h.is_working(utc(2024, 6, 8, 12, 0)));
        assert!(!h.is_working(utc(2024, 6, 3, 8, 59)));
    }

    #[test]
    fn always_is_always_working_and_adds_plainly() {
        let h = WorkingHours::always();
        assert!(h.validate().is_ok());
        for t in [0, utc(2024, 3, 31, 1, 30), utc(2024, 12, 25, 23, 59)] {
            assert!(h.is_working(t));
            assert_eq!(h.next_working_start(t), Some(t));
            assert_eq!(h.add_working_time(t, 5 * MIN), Some(t + 5 * MIN));
        }
        // Across midnight and many days.
        let t = utc(2024, 6, 7, 23, 58);
        assert_eq!(h.add_working_time(t, 72 * HOUR), Some(t + 72 * HOUR));
    }

    #[test]
    fn validation_names_each_problem() {
        let bad = WorkingHours {
            time_zone: "Mars/Olympus".into(),
            week: vec![
                DayHours::new(Weekday::Mon, "9am", "17:00"),
                DayHours::new(Weekday::Mon, "09:00", "24:01"),
                DayHours::new(Weekday::Tue, "22:00", "02:00"),
                DayHours::new(Weekday::Wed, "12:00", "12:00"),
                DayHours::new(Weekday::Thu, "09:00", "12:30"),
                DayHours::new(Weekday::Thu, "12:00", "17:00"),
                DayHours::new(Weekday::Fri, "24:00", "24:00"),
                DayHours::new(Weekday::Fri, "9:5", "10:00"),
            ],
            holidays: vec![],
        };
        let errors = bad.validate().unwrap_err();
        assert!(errors.contains(&ScheduleError::UnknownTimeZone("Mars/Olympus".into())));
        assert!(errors.contains(&ScheduleError::MalformedTime {
            day: Weekday::Mon,
            value: "9am".into()
        }));
        assert!(errors.contains(&ScheduleError::MalformedTime {
            day: Weekday::Mon,
            value: "24:01".into()
        }));
        assert!(errors.contains(&ScheduleError::EndNotAfterStart {
            day: Weekday::Tue,
            start: "22:00".into(),
            end: "02:00".into()
        }));
        assert!(errors.contains(&ScheduleError::EndNotAfterStart {
            day: Weekday::Wed,
            start: "12:00".into(),
            end: "12:00".into()
        }));
        assert!(errors.contains(&ScheduleError::Overlap {
            day: Weekday::Thu,
            first: "09:00–12:30".into(),
            second: "12:00–17:00".into()
        }));
        assert!(errors.contains(&ScheduleError::MalformedTime {
            day: Weekday::Fri,
            value: "24:00".into()
        }));
        assert!(errors.contains(&ScheduleError::MalformedTime {
            day: Weekday::Fri,
            value: "9:5".into()
        }));
        assert!(errors[3].to_string().contains("cannot cross midnight"));

        // Touching intervals, a night shift split at midnight and an empty week are fine.
        let ok = WorkingHours {
            time_zone: "America/New_York".into(),
            week: vec![
                DayHours::new(Weekday::Mon, "09:00", "12:00"),
                DayHours::new(Weekday::Mon, "12:00", "17:00"),
                DayHours::new(Weekday::Mon, "22:00", "24:00"),
                DayHours::new(Weekday::Tue, "0:00", "02:00"),
            ],
            holidays: vec![],
        };
        assert_eq!(ok.validate(), Ok(()));
        let empty = WorkingHours {
            week: vec![],
            ..WorkingHours::default()
        };
        assert_eq!(empty.validate(), Ok(()));
        assert!(WorkingHours {
            time_zone: "".into(),
            ..WorkingHours::default()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn serde_uses_hh_mm_strings_short_day_names_and_iso_dates() {
        let h: WorkingHours = serde_json::from_value(serde_json::json!({
            "time_zone": "Europe/London",
            "week": [
                {"day": "mon", "start": "09:00", "end": "17:30"},
                {"day": "tuesday", "start": "09:00", "end": "17:30"}
            ],
            "holidays": ["2024-12-25"]
        }))
        .unwrap();
        assert_eq!(h.week[1].day, Weekday::Tue);
        assert_eq!(h.holidays, vec![date(2024, 12, 25)]);
        let back = serde_json::to_value(&h).unwrap();
        assert_eq!(back["week"][1]["day"], "tue");
        assert_eq!(back["holidays"][0], "2024-12-25");
        let again: WorkingHours = serde_json::from_value(back).unwrap();
        assert_eq!(again, h);
        // Holidays may be left out; unknown keys are refused.
        assert!(serde_json::from_value::<WorkingHours>(
            serde_json::json!({"time_zone": "UTC", "week": []})
        )
        .is_ok());
        assert!(serde_json::from_value::<WorkingHours>(
            serde_json::json!({"time_zone": "UTC", "week": [], "tz": 1})
        )
        .is_err());
    }

    #[test]
    fn friday_evening_rolls_to_monday_morning() {
        let h = weekdays("Europe/London", "09:00", "17:00");
        // 2024-06-07 is a Friday (BST).
        let fri_18 = at("Europe/London", 2024, 6, 7, 18, 0);
        let mon_9 = at("Europe/London", 2024, 6, 10, 9, 0);
        assert!(!h.is_working(fri_18));
        assert_eq!(h.next_working_start(fri_18), Some(mon_9));
        assert_eq!(h.add_working_time(fri_18, 5 * MIN), Some(mon_9 + 5 * MIN));
        // Finishing exactly at close stays on Friday.
        let fri_1655 = at("Europe/London", 2024, 6, 7, 16, 55);
        assert_eq!(
            h.add_working_time(fri_1655, 5 * MIN),
            Some(at("Europe/London", 2024, 6, 7, 17, 0))
        );
        // One minute more carries over the weekend.
        assert_eq!(h.add_working_time(fri_1655, 6 * MIN), Some(mon_9 + MIN));
        // A whole working week (40h) from Monday 09:00 ends Friday 17:00.
        assert_eq!(
            h.add_working_time(mon_9, 40 * HOUR),
            Some(at("Europe/London", 2024, 6, 14, 17, 0))
        );
        assert_eq!(h.add_working_time(fri_18, 0), Some(fri_18));
        assert_eq!(h.add_working_time(fri_18, -5), Some(fri_18));
    }

    #[test]
    fn multi_interval_days_pause_over_lunch() {
        let h = split_day("Europe/London");
        assert_eq!(h.validate(), Ok(()));
        let d = |hh, mm| at("Europe/London", 2024, 6, 4, hh, mm);
        assert!(h.is_working(d(11, 59)));
        assert!(!h.is_working(d(12, 0)));
        assert!(!h.is_working(d(12, 30)));
        assert!(h.is_working(d(13, 0)));
        assert_eq!(h.next_working_start(d(12, 30)), Some(d(13, 0)));
        assert_eq!(h.add_working_time(d(11, 50), 15 * MIN), Some(d(13, 5)));
        assert_eq!(h.add_working_time(d(12, 10), 15 * MIN), Some(d(13, 15)));
        // 7h of work from 09:00 fills the day exactly; 7h01 spills to the next morning.
        assert_eq!(h.add_working_time(d(9, 0), 7 * HOUR), Some(d(17, 0)));
        assert_eq!(
            h.add_working_time(d(9, 0), 7 * HOUR + MIN),
            Some(at("Europe/London", 2024, 6, 5, 9, 1))
        );
    }

    #[test]
    fn holidays_have_no_hours() {
        let mut h = weekdays("Europe/London", "09:00", "17:00");
        // Christmas and Boxing Day 2024 fall on Wednesday and Thursday.
        h.holidays = vec![date(2024, 12, 25), date(2024, 12, 26)];
        let tue_1658 = at("Europe/London", 2024, 12, 24, 16, 58);
        assert!(!h.is_working(at("Europe/London", 2024, 12, 25, 10, 0)));
        assert_eq!(
            h.add_working_time(tue_1658, 5 * MIN),
            Some(at("Europe/London", 2024, 12, 27, 9, 3))
        );
        assert_eq!(
            h.local_time_label(at("Europe/London", 2024, 12, 25, 10, 0)),
            Some("Europe/London, Wed 10:00, holiday".into())
        );
        // Many holidays in a row are skipped, not given up on.
        h.holidays = (0..60)
            .map(|i| {
                date(2025, 1, 1)
                    .checked_add(jiff::Span::new().days(i))
                    .unwrap()
            })
            .collect();
        assert_eq!(
            h.next_working_start(at("Europe/London", 2024, 12, 31, 18, 0)),
            Some(at("Europe/London", 2025, 3, 3, 9, 0))
        );
    }

    #[test]
    fn london_spring_forward_and_fall_back() {
        // UK clocks go forward at 01:00 GMT on Sun 2024-03-31 and back at 02:00 BST on
        // Sun 2024-10-27. Weekday hours are unchanged in local time across both.
        let h = weekdays("Europe/London", "09:00", "17:00");
        let fri = at("Europe/London", 2024, 3, 29, 16, 58);
        let mon = h.add_working_time(fri, 5 * MIN).unwrap();
        assert_eq!(mon, utc(2024, 4, 1, 8, 3)); // 09:03 BST
        assert_eq!(mon - fri, 2 * 24 * HOUR + 16 * HOUR + 5 * MIN - HOUR);
        let fri = at("Europe/London", 2024, 10, 25, 16, 58);
        let mon = h.add_working_time(fri, 5 * MIN).unwrap();
        assert_eq!(mon, utc(2024, 10, 28, 9, 3)); // 09:03 GMT
        assert_eq!(mon - fri, 2 * 24 * HOUR + 16 * HOUR + 5 * MIN + HOUR);

        // Sunday hours across the change are as long as they really are.
        let sunday_night = WorkingHours {
            time_zone: "Europe/London".into(),
            week: vec![DayHours::new(Weekday::Sun, "00:00", "03:00")],
            holidays: vec![],
        };
        let spring = at("Europe/London", 2024, 3, 31, 0, 0);
        // 00:00–01:00 GMT, then 02:00–03:00 BST: two real hours.
        assert_eq!(
            sunday_night.add_working_time(spring, 2 * HOUR),
            Some(utc(2024, 3, 31, 2, 0))
        );
        assert!(!sunday_night.is_working(utc(2024, 3, 31, 2, 0)));
        let fall = at("Europe/London", 2024, 10, 27, 0, 0);
        // 00:00 BST (23:00 UTC Sat) to 03:00 GMT: four real hours.
        assert_eq!(fall, utc(2024, 10, 26, 23, 0));
        assert_eq!(
            sunday_night.add_working_time(fall, 4 * HOUR),
            Some(utc(2024, 10, 27, 3, 0))
        );
        assert!(sunday_night.is_working(utc(2024, 10, 27, 1, 30)));

        // A start inside the gap is pushed forward by the gap: 01:30 → 02:30 BST.
        let gap = WorkingHours {
            time_zone: "Europe/London".into(),
            week: vec![DayHours::new(Weekday::Sun, "01:30", "04:00")],
            holidays: vec![],
        };
        assert_eq!(
            gap.next_working_start(utc(2024, 3, 30, 12, 0)),
            Some(utc(2024, 3, 31, 1, 30))
        );
    }

    #[test]
    fn new_york_spring_forward_and_fall_back() {
        // US clocks go forward at 02:00 EST on Sun 2024-03-10 and back at 02:00 EDT on
        // Sun 2024-11-03.
        let h = weekdays("America/New_York", "09:00", "17:00");
        let fri_17 = at("America/New_York", 2024, 3, 8, 17, 0);
        assert_eq!(fri_17, utc(2024, 3, 8, 22, 0));
        assert_eq!(h.next_working_start(fri_17), Some(utc(2024, 3, 11, 13, 0)));
        assert_eq!(
            h.add_working_time(fri_17 - 30 * MIN, HOUR),
            Some(utc(2024, 3, 11, 13, 30))
        );
        let fri_17 = at("America/New_York", 2024, 11, 1, 17, 0);
        assert_eq!(fri_17, utc(2024, 11, 1, 21, 0));
        assert_eq!(h.next_working_start(fri_17), Some(utc(2024, 11, 4, 14, 0)));
        assert!(h.is_working(utc(2024, 11, 4, 21, 59)));
        assert!(!h.is_working(utc(2024, 11, 4, 22, 0)));

        // A 24x7 desk in New York: the spring-forward day has 23 hours, fall-back 25.
        let mut desk = WorkingHours::always();
        desk.time_zone = "America/New_York".into();
        let sat = at("America/New_York", 2024, 3, 9, 12, 0);
        assert_eq!(desk.add_working_time(sat, 24 * HOUR), Some(sat + 24 * HOUR));
        assert_eq!(
            desk.add_working_time(sat, 24 * HOUR),
            Some(at("America/New_York", 2024, 3, 10, 13, 0))
        );
        let sat = at("America/New_York", 2024, 11, 2, 12, 0);
        assert_eq!(
            desk.add_working_time(sat, 24 * HOUR),
            Some(at("America/New_York", 2024, 11, 3, 11, 0))
        );
    }

    #[test]
    fn fixed_week_in_a_far_zone() {
        // Asia/Kolkata (+05:30) has half-hour offsets and no DST.
        let h = weekdays("Asia/Kolkata", "10:00", "18:00");
        let t = utc(2024, 6, 3, 4, 30); // 10:00 IST Monday
        assert!(h.is_working(t));
        assert!(!h.is_working(t - 1));
        assert_eq!(
            h.local_time_label(t),
            Some("Asia/Kolkata, Mon 10:00".into())
        );
    }

    #[test]
    fn unusable_hours_never_panic() {
        let empty = WorkingHours {
            week: vec![],
            ..WorkingHours::default()
        };
        assert_eq!(empty.next_working_start(0), None);
        assert_eq!(empty.add_working_time(0, MIN), None);
        assert!(!empty.is_working(0));
        let unknown = WorkingHours {
            time_zone: "Nowhere/Special".into(),
            ..WorkingHours::default()
        };
        assert!(!unknown.is_working(0));
        assert_eq!(unknown.add_working_time(0, MIN), None);
        assert_eq!(unknown.local_time_label(0), None);
        let garbage = WorkingHours {
            time_zone: "UTC".into(),
            week: vec![DayHours::new(Weekday::Mon, "x", "y")],
            holidays: vec![],
        };
        assert_eq!(garbage.next_working_start(0), None);
        let h = WorkingHours::default();
        for t in [i64::MIN, i64::MAX, -1, 253_402_300_799_000] {
            let _ = h.is_working(t);
            let _ = h.next_working_start(t);
            let _ = h.add_working_time(t, i64::MAX);
            let _ = h.local_time_label(t);
        }
        // Beyond the calendar the answer is None rather than a wrong instant.
        assert_eq!(h.add_working_time(0, i64::MAX), None);
    }

    #[test]
    fn shorthand_reads_days_and_times() {
        let h = WorkingHours::from_shorthand("mon-fri 09:00-17:00", "Europe/London").unwrap();
        assert_eq!(h.time_zone, "Europe/London");
        assert_eq!(h.week.len(), 5);
        assert_eq!(h.week[0], DayHours::new(Weekday::Mon, "09:00", "17:00"));
        assert_eq!(h.week[4].day, Weekday::Fri);
        assert!(h.validate().is_ok());
        assert_eq!(
            h,
            WorkingHours {
                time_zone: "Europe/London".into(),
                ..WorkingHours::default()
            }
        );

        let h = WorkingHours::from_shorthand(
            " Mon-Fri 09:00-12:00, 13:00-17:30 ; sat,sun 10:00-14:00 ",
            "UTC",
        )
        .unwrap();
        assert_eq!(h.week.len(), 12);
        assert!(h.validate().is_ok());
        assert_eq!(
            h.to_shorthand(),
            "mon-fri 09:00-12:00,13:00-17:30; sat-sun 10:00-14:00"
        );
        // A range may wrap over the weekend, and full names are fine.
        let h = WorkingHours::from_shorthand("fri-mon 22:00-24:00; tuesday 00:00-02:00", "UTC")
            .unwrap();
        let days: Vec<Weekday> = h.week.iter().map(|d| d.day).collect();
        assert_eq!(
            days,
            vec![
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
                Weekday::Mon,
                Weekday::Tue
            ]
        );
        assert_eq!(
            WorkingHours::from_shorthand("none", "UTC").unwrap().week,
            vec![]
        );
        assert_eq!(
            WorkingHours::from_shorthand("none", "UTC")
                .unwrap()
                .to_shorthand(),
            "none"
        );
        assert_eq!(WorkingHours::always().to_shorthand(), "mon-sun 00:00-24:00");

        assert_eq!(
            WorkingHours::from_shorthand("weekdays 09:00-17:00", "UTC"),
            Err(ShorthandError::Days("weekdays".into()))
        );
        assert_eq!(
            WorkingHours::from_shorthand("mon-fri 9-5", "UTC"),
            Err(ShorthandError::Times("9-5".into()))
        );
        assert_eq!(
            WorkingHours::from_shorthand("mon-fri", "UTC"),
            Err(ShorthandError::Group("mon-fri".into()))
        );
        assert_eq!(
            WorkingHours::from_shorthand("", "UTC"),
            Err(ShorthandError::Group("".into()))
        );
        // Parsed, not yet validated: bad clock times and zones are `validate`'s to report.
        let h = WorkingHours::from_shorthand("mon 17:00-09:00", "Mars/Olympus").unwrap();
        assert_eq!(h.validate().unwrap_err().len(), 2);
    }

    #[test]
    fn shorthand_round_trips() {
        for text in [
            "mon-fri 09:00-17:00",
            "mon 08:00-12:00; wed-thu 08:00-12:00,13:00-18:00; sun 10:00-11:00",
            "sat-sun 00:00-24:00",
            "mon-sun 00:00-24:00",
            "tue 09:00-10:00; thu 09:00-10:00",
        ] {
            let h = WorkingHours::from_shorthand(text, "Asia/Singapore").unwrap();
            assert_eq!(h.to_shorthand(), text);
            assert_eq!(
                WorkingHours::from_shorthand(&h.to_shorthand(), "Asia/Singapore").unwrap(),
                h
            );
        }
    }
}

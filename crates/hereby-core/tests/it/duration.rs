//! The one duration grammar as data: each text with what it reads as (milliseconds and the
//! canonical spelling) or why it is refused. Adding a case means adding a line to `CASES`;
//! regenerate the snapshot with `UPDATE_EXPECT=1 cargo test -p hereby-core`, then read it.

use expect_test::expect;
use hereby_core::duration::{ACCEPTED, Duration};
use proptest::prelude::*;

/// Texts people write in settings, flags and forms, accepted or not.
const CASES: &[&str] = &[
    // Every unit alone.
    "500ms",
    "30s",
    "10m",
    "2h",
    "1d",
    "1w",
    // Combinations, largest unit first, with or without spaces between the parts.
    "1h30m",
    "2h 30m",
    "1w2d3h4m5s6ms",
    "90m",
    "1500ms",
    // Zero is a duration; settings that need more say so themselves.
    "0s",
    "0h0m",
    // Surrounding spaces are ignored.
    "  15m ",
    // Refused.
    "",
    "   ",
    "30",
    "1.5h",
    "1,5h",
    "-1s",
    "+1s",
    "m",
    "30 m",
    "2x",
    "2H",
    "1M",
    "30min",
    "2 hours",
    "1y",
    "30m1h",
    "1h1h",
    "1s500ms1s",
    "1h-30m",
    "PT30M",
    "99999999999999999999s",
    "15250284452w",
    "15250284453w",
];

fn read(raw: &str) -> String {
    match Duration::parse(raw) {
        Ok(duration) => format!("{} ms, {duration}", duration.signed().as_millis()),
        Err(error) => {
            let message = error.to_string();
            let suffix = format!("; write {ACCEPTED}");
            // Every message ends with the grammar; the table shows only what differs.
            assert!(message.ends_with(&suffix), "{message}");
            format!("refused: {}", message.trim_end_matches(&suffix))
        }
    }
}

#[test]
fn the_grammar_as_data() {
    let table: Vec<String> = CASES
        .iter()
        .map(|raw| format!("{raw:?} -> {}", read(raw)))
        .collect();
    expect![[r#"
        "500ms" -> 500 ms, 500ms
        "30s" -> 30000 ms, 30s
        "10m" -> 600000 ms, 10m
        "2h" -> 7200000 ms, 2h
        "1d" -> 86400000 ms, 1d
        "1w" -> 604800000 ms, 1w
        "1h30m" -> 5400000 ms, 1h30m
        "2h 30m" -> 9000000 ms, 2h30m
        "1w2d3h4m5s6ms" -> 788645006 ms, 1w2d3h4m5s6ms
        "90m" -> 5400000 ms, 1h30m
        "1500ms" -> 1500 ms, 1s500ms
        "0s" -> 0 ms, 0s
        "0h0m" -> 0 ms, 0s
        "  15m " -> 900000 ms, 15m
        "" -> refused: no duration was given
        "   " -> refused: no duration was given
        "30" -> refused: `30` is not a duration: `30` has no unit
        "1.5h" -> refused: `1.5h` is not a duration: fractions are not accepted (write 1h30m rather than 1.5h)
        "1,5h" -> refused: `1,5h` is not a duration: fractions are not accepted (write 1h30m rather than 1.5h)
        "-1s" -> refused: `-1s` is not a duration: `-1s` does not start with a whole number
        "+1s" -> refused: `+1s` is not a duration: `+1s` does not start with a whole number
        "m" -> refused: `m` is not a duration: `m` does not start with a whole number
        "30 m" -> refused: `30 m` is not a duration: `30` has no unit
        "2x" -> refused: `2x` is not a duration: `x` is not a unit
        "2H" -> refused: `2H` is not a duration: `H` is not a unit
        "1M" -> refused: `1M` is not a duration: `M` is not a unit
        "30min" -> refused: `30min` is not a duration: `min` is not a unit
        "2 hours" -> refused: `2 hours` is not a duration: `2` has no unit
        "1y" -> refused: `1y` is not a duration: `y` is not a unit
        "30m1h" -> refused: `30m1h` is not a duration: `h` follows a smaller unit or itself; give each unit once, largest first
        "1h1h" -> refused: `1h1h` is not a duration: `h` follows a smaller unit or itself; give each unit once, largest first
        "1s500ms1s" -> refused: `1s500ms1s` is not a duration: `s` follows a smaller unit or itself; give each unit once, largest first
        "1h-30m" -> refused: `1h-30m` is not a duration: `-30m` does not start with a whole number
        "PT30M" -> refused: `PT30M` is not a duration: `PT30M` does not start with a whole number
        "99999999999999999999s" -> refused: `99999999999999999999s` is not a duration: it is too long
        "15250284452w" -> 9223372036569600000 ms, 15250284452w
        "15250284453w" -> refused: `15250284453w` is not a duration: it is too long"#]]
    .assert_eq(&table.join("\n"));
}

#[test]
fn a_refusal_names_every_accepted_unit() {
    let message = Duration::parse("2 fortnights")
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert!(message.contains("(w, d, h, m, s or ms)"), "{message}");
}

#[test]
fn the_conversions_agree() {
    let duration = Duration::parse("1h30m").unwrap();
    assert_eq!(duration.signed(), jiff::SignedDuration::from_mins(90));
    assert_eq!(duration.std(), std::time::Duration::from_secs(5_400));
    assert_eq!("1h30m".parse::<Duration>(), Ok(duration));
    assert!(Duration::ZERO.is_zero());
    assert_eq!(Duration::parse("0ms"), Ok(Duration::ZERO));
}

proptest! {
    /// Whatever a duration is, its canonical spelling reads back as the same duration.
    #[test]
    fn display_reads_back(millis in 0..i64::MAX) {
        let duration = Duration::parse(&format!("{millis}ms")).unwrap();
        prop_assert_eq!(duration.signed().as_millis(), i128::from(millis));
        prop_assert_eq!(Duration::parse(&duration.to_string()), Ok(duration));
    }

    /// No text makes the parser panic; anything it accepts is never negative.
    #[test]
    fn any_text_is_read_or_refused(raw in "[0-9a-z .,+-]{0,24}") {
        if let Ok(duration) = Duration::parse(&raw) {
            prop_assert!(!duration.signed().is_negative());
        }
    }
}

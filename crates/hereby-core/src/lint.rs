//! The post-mortem linter: blame language and real names in a blameless text.
//!
//! A blameless post-mortem explains what in the system let a problem happen, not who slipped,
//! and it refers to people by *role variable* ("Incident Commander", "Operations A"). The
//! `## People` section is the one place that maps role variables to real names, so it is
//! exempt from every check. [`lint`] reports both kinds of drift; [`substitute_names`] applies
//! the name suggestions.
//!
//! Matching is hand-written over characters (no regex). Both the body and every pattern or
//! name are *folded* one character for one character: Unicode lowercase, typographic
//! apostrophes (`’`) become `'` and Unicode hyphens become `-`. Keeping the fold one-to-one
//! means a match maps straight back to the text as written and to its line and column.
//!
//! A match must stand on word boundaries: the character before it and the one after it may not
//! be a word character (letter, digit, `_`, combining mark), nor a `-` or `.` glued to a word
//! character on its far side. So "forgot" does not match "forgotten", "lazy" does not match
//! "lazy-loaded", and the user name "bob" does not match "bobcat", "bob.smith" or "mary-bob";
//! it does match "bob's", "bob@host" and "bob." at the end of a sentence. Inside a blame
//! pattern, words may be separated in the text by any run of whitespace and dashes, so
//! "human error" also matches "human-error" and "human\nerror".

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One rule of the blame-language check: data, so admins can add their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlameRule {
    /// Words matched case-insensitively on word boundaries, e.g. "human error", "should have
    /// known", "{person} forgot". `{person}` stands for any known person: a user name, a
    /// display name or a role variable; `{person}'s` is its possessive. `*` stands for exactly
    /// one word (e.g. "fault of *"). A hyphen in a pattern separates words like a space does.
    pub pattern: String,
    /// What to write instead, shown with the finding, e.g. "Describe what in the system let the
    /// mistake happen."
    pub suggestion: String,
}

/// The longest pattern [`check_rule`] accepts, in characters.
const MAX_PATTERN_CHARS: usize = 200;
/// The longest suggestion [`check_rule`] accepts, in characters: it is shown next to the text.
const MAX_SUGGESTION_CHARS: usize = 500;

/// Checks a pattern an admin wants to add; the error is a sentence for a person.
///
/// [`lint`] skips any rule this rejects, so a bad rule in the configuration never stops the
/// other rules from running.
pub fn check_rule(rule: &BlameRule) -> Result<(), String> {
    compile(rule).map(|_| ())
}

/// The shipped rules.
///
/// Rules only see words, not meaning, so each one is chosen to be specific enough that
/// ordinary sentences about a system do not trip it. That is why most verbs of blame ("forgot",
/// "missed", "broke", "failed to") only count after `{person}` or in a form that describes an
/// action someone did not take ("forgot to"), and why "user error" only counts when it is given
/// as a cause: an API can return a user error without anyone being blamed.
pub fn default_blame_rules() -> Vec<BlameRule> {
    const MEMORY: &str = "Name the step that depended on someone remembering it, and what could \
                          remind them or do it for them next time.";
    const HINDSIGHT: &str = "Hindsight makes the signal look obvious. Describe what was visible \
                             at the time, where it was shown, and why it did not stand out.";
    const CARE: &str = "Describe the conditions around the work (time pressure, missing guard \
                        rails, an unclear tool) rather than judging how careful someone was.";
    const USER_CAUSE: &str = "Say what the product allowed users to do that led here, and how it \
                              could steer them away from it.";
    const FAULT: &str = "Faults belong to systems here: name the gap in tooling, process or \
                         information that let the problem through.";
    const BLAME: &str = "Leave out who is to blame; describe the sequence of events and the \
                         conditions that made each step seem reasonable.";
    const JUDGEMENT: &str = "This judges a person. Say what happened and what the system could \
                             change so the same step goes right next time.";
    let rule = |pattern: &str, suggestion: &str| BlameRule {
        pattern: pattern.to_owned(),
        suggestion: suggestion.to_owned(),
    };
    vec![
        rule(
            "human error",
            "Name the condition that made the slip easy: a confusing screen, a step done from \
             memory, a check that was missing.",
        ),
        rule(
            "operator error",
            "Describe what the operator saw and why the action looked right with what they knew \
             then.",
        ),
        rule("caused by user error", USER_CAUSE),
        rule("due to user error", USER_CAUSE),
        rule("was user error", USER_CAUSE),
        rule("forgot to", MEMORY),
        rule("forgot about", MEMORY),
        rule("{person} forgot", MEMORY),
        rule("someone forgot", MEMORY),
        rule("should have known", HINDSIGHT),
        rule("should have noticed", HINDSIGHT),
        rule("should have checked", HINDSIGHT),
        rule("should have caught", HINDSIGHT),
        rule(
            "{person} should have",
            "Write what happened and what would make the better path the easy one, not what a \
             person ought to have done.",
        ),
        rule("should have been more careful", CARE),
        rule("careless", CARE),
        rule("carelessness", CARE),
        rule("negligent", CARE),
        rule("negligence", CARE),
        rule("sloppy", CARE),
        rule("fault of *", FAULT),
        rule("{person}'s fault", FAULT),
        rule("to blame", BLAME),
        rule("blamed", BLAME),
        rule(
            "{person} failed to",
            "Describe what the process asked of them and what got in the way of doing it.",
        ),
        rule(
            "{person} neglected",
            "Say what competed for their attention and how the work could be made harder to \
             skip.",
        ),
        rule(
            "neglected to",
            "Say what competed for attention and how the step could be made harder to skip.",
        ),
        rule(
            "{person} missed",
            "Describe the signal: where it appeared, how loud it was, and what else was going \
             on at the time.",
        ),
        rule(
            "{person} broke",
            "Name the change and what let it reach production unchecked, instead of who made it.",
        ),
        rule("{person} messed up", JUDGEMENT),
        rule("{person} screwed up", JUDGEMENT),
        rule(
            "{person} didn't check",
            "Say which check the process relied on and why nothing prompted for it.",
        ),
        rule(
            "{person} did not check",
            "Say which check the process relied on and why nothing prompted for it.",
        ),
        rule("incompetent", JUDGEMENT),
        rule("lazy", JUDGEMENT),
        rule("stupid mistake", JUDGEMENT),
        rule("dropped the ball", JUDGEMENT),
        rule(
            "not paying attention",
            "Describe what was asking for attention at that moment and how the important signal \
             could stand out.",
        ),
        rule(
            "wasn't paying attention",
            "Describe what was asking for attention at that moment and how the important signal \
             could stand out.",
        ),
        rule(
            "fat fingered",
            "Say which input accepted the wrong value without a confirmation or a sanity check.",
        ),
    ]
}

/// A person the text may name: their names, and the role variable the People section maps them
/// to (None when they held no role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// User name, display name and any other spelling; a display name with spaces matches as
    /// a phrase.
    pub names: Vec<String>,
    /// How the body should refer to them, e.g. "Operations A".
    pub role_variable: Option<String>,
}

/// Which of the two checks a finding comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Language that points at a person rather than the system.
    Blame,
    /// A real name outside the People section.
    Name,
}

/// One thing the linter wants a writer to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check found it.
    pub kind: FindingKind,
    /// 1-based, in the whole body.
    pub line: usize,
    /// 1-based, in characters (not bytes).
    pub column: usize,
    /// The matched text as written.
    pub text: String,
    /// Why it was reported.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
    /// For a name with a role variable: the role variable to put in its place.
    pub replacement: Option<String>,
}

/// Every finding in `body` outside the `## People` section, in order of position (a longer
/// finding first when two start at the same place).
///
/// The People section runs from a level-two heading titled "People" to the next heading of
/// level one or two, or the end. Blame language is looked for in prose only: not in inline code
/// spans, fenced code blocks or URLs, since logs and commands quote what machines said. Names
/// are looked for in code too: people paste commands and log lines (`ssh bob@db-1`,
/// `--as=bob`), and a name there identifies someone just as well as in a sentence. Names in
/// URLs are left alone, as rewriting one would break the link. A role variable written in the
/// text shields its own words, and a name made only of role words ("Operations") is never
/// reported, so ordinary role words are not mistaken for people.
///
/// Rules that [`check_rule`] rejects are skipped. Where blame matches overlap, the one that
/// starts first (then the longest) is kept, so one phrase gives one finding.
pub fn lint(body: &str, rules: &[BlameRule], people: &[Person]) -> Vec<Finding> {
    let text = Text::new(body);
    let persons = Persons::new(people);
    let mut found: Vec<(usize, usize, Finding)> = Vec::new();

    let compiled: Vec<CompiledRule> = rules.iter().filter_map(|rule| compile(rule).ok()).collect();
    for (start, end, rule) in blame_spans(&text, &compiled, &persons) {
        let written = text.slice(start, end);
        found.push((
            start,
            end,
            text.finding(
                FindingKind::Blame,
                start,
                format!("“{written}” points at a person rather than the system"),
                rule.suggestion.clone(),
                None,
                written,
            ),
        ));
    }

    for span in name_spans(&text, people) {
        let written = text.slice(span.start, span.end);
        let role = people
            .get(span.person)
            .and_then(|person| person.role_variable.as_deref())
            .map(str::trim)
            .filter(|role| !role.is_empty());
        let suggestion = match role {
            Some(role) => format!("write “{role}” instead"),
            None => "name their role instead".to_owned(),
        };
        found.push((
            span.start,
            span.end,
            text.finding(
                FindingKind::Name,
                span.start,
                format!("“{written}” is a real name; the body names people by role"),
                suggestion,
                role.map(str::to_owned),
                written,
            ),
        ));
    }

    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found.into_iter().map(|(_, _, finding)| finding).collect()
}

/// The body with every mapped real name outside the People section replaced by its role
/// variable (what "accept the suggestions" does). Unmapped names stay.
///
/// It replaces exactly what [`lint`] reports with a replacement, so after it runs, `lint` finds
/// no name it could fix; running it twice changes nothing more.
pub fn substitute_names(body: &str, people: &[Person]) -> String {
    substitute_names_reporting(body, people).0
}

/// [`substitute_names`], also saying which people (indices into `people`) are named in the
/// text without a role variable to put in their place, in order of first mention: one pass
/// where drafting would otherwise need two.
pub fn substitute_names_reporting(body: &str, people: &[Person]) -> (String, Vec<usize>) {
    let text = Text::new(body);
    let mut out = String::with_capacity(body.len());
    let mut unmapped = Vec::new();
    let mut cursor = 0;
    for span in name_spans(&text, people) {
        let role = people
            .get(span.person)
            .and_then(|person| person.role_variable.as_deref())
            .map(str::trim)
            .filter(|role| !role.is_empty());
        match role {
            Some(role) => {
                out.extend(text.original.get(cursor..span.start).unwrap_or_default());
                out.push_str(role);
                cursor = span.end;
            }
            None if !unmapped.contains(&span.person) => unmapped.push(span.person),
            None => {}
        }
    }
    out.extend(text.original.get(cursor..).unwrap_or_default());
    (out, unmapped)
}

// ---- folding and boundaries -----------------------------------------------------------------

/// Folds one character for matching; always one character out, so positions stay aligned.
fn fold(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{FF07}' => '\'',
        '\u{2010}' | '\u{2011}' => '-',
        // Only U+0130 lowercases to two characters; its first one ('i') is the useful part.
        _ => c.to_lowercase().next().unwrap_or(c),
    }
}

fn fold_str(s: &str) -> Vec<char> {
    s.chars().map(fold).collect()
}

fn is_combining(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Letters, digits, `_` and combining marks (so a decomposed "José" stays one word).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining(c)
}

/// Characters that glue two words into one token (`mary-ann`, `j.doe`, `lazy-loaded`).
fn is_joiner(c: char) -> bool {
    matches!(c, '-' | '.')
}

/// Dashes other than the hyphen: they separate words but never join them.
fn is_dash(c: char) -> bool {
    matches!(c, '\u{2012}'..='\u{2015}' | '\u{2212}')
}

/// What may stand between two words of a blame pattern in the text.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '-' || is_dash(c)
}

fn is_word_at(f: &[char], i: usize) -> bool {
    f.get(i).is_some_and(|&c| is_word_char(c))
}

/// Whether a match may start at `i`.
fn left_boundary(f: &[char], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let before = f[i - 1];
    if is_word_char(before) {
        return false;
    }
    !(is_joiner(before) && i >= 2 && is_word_at(f, i - 2))
}

/// Whether a match may end just before `i`.
fn right_boundary(f: &[char], i: usize) -> bool {
    match f.get(i) {
        None => true,
        Some(&after) if is_word_char(after) => false,
        Some(&after) => !(is_joiner(after) && is_word_at(f, i + 1)),
    }
}

/// Matches a folded phrase at `i`; a space in the phrase matches any run of whitespace, so a
/// display name broken over two lines still matches. Boundaries are the caller's concern.
fn match_phrase(f: &[char], i: usize, phrase: &[char]) -> Option<usize> {
    let (mut p, mut k) = (i, 0);
    while k < phrase.len() {
        if phrase[k].is_whitespace() {
            while k < phrase.len() && phrase[k].is_whitespace() {
                k += 1;
            }
            let start = p;
            while f.get(p).is_some_and(|c| c.is_whitespace()) {
                p += 1;
            }
            if p == start {
                return None;
            }
        } else {
            if f.get(p) != Some(&phrase[k]) {
                return None;
            }
            p += 1;
            k += 1;
        }
    }
    Some(p)
}

/// A name or role variable folded for matching, with whitespace runs collapsed; empty when it
/// has no word character and so could never be told apart from punctuation.
fn fold_phrase(s: &str) -> Vec<char> {
    let folded = fold_str(&s.split_whitespace().collect::<Vec<_>>().join(" "));
    if folded.iter().any(|&c| is_word_char(c)) {
        folded
    } else {
        Vec::new()
    }
}

// ---- the text and its zones -----------------------------------------------------------------

/// What a character of the body is, for deciding which checks apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// Checked for blame and names.
    Prose,
    /// Inline code or a fenced block: checked for names only.
    Code,
    /// Not checked at all.
    Url,
    /// The People section: not checked at all.
    People,
}

struct Text {
    original: Vec<char>,
    folded: Vec<char>,
    zones: Vec<Zone>,
    /// Index of the first character of each line.
    line_starts: Vec<usize>,
}

impl Text {
    fn new(body: &str) -> Self {
        let original: Vec<char> = body.chars().collect();
        let folded: Vec<char> = original.iter().map(|&c| fold(c)).collect();
        let mut line_starts = vec![0];
        line_starts.extend(
            original
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == '\n')
                .map(|(i, _)| i + 1),
        );
        let zones = zones(&folded, &line_starts);
        Self {
            original,
            folded,
            zones,
            line_starts,
        }
    }

    fn slice(&self, start: usize, end: usize) -> String {
        self.original
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn all(&self, start: usize, end: usize, ok: impl Fn(Zone) -> bool) -> bool {
        self.zones
            .get(start..end)
            .is_some_and(|zones| zones.iter().all(|&zone| ok(zone)))
    }

    /// 1-based line and character column of index `i`.
    fn position(&self, i: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= i).max(1);
        (line, i - self.line_starts[line - 1] + 1)
    }

    fn finding(
        &self,
        kind: FindingKind,
        start: usize,
        message: String,
        suggestion: String,
        replacement: Option<String>,
        text: String,
    ) -> Finding {
        let (line, column) = self.position(start);
        Finding {
            kind,
            line,
            column,
            text,
            message,
            suggestion,
            replacement,
        }
    }
}

/// Classifies every character, line by line: fences and headings are recognised the CommonMark
/// way (up to three spaces of indent); indented code blocks are not, since list items are
/// indented too and telling them apart needs a full parser.
fn zones(f: &[char], line_starts: &[usize]) -> Vec<Zone> {
    let mut zones = vec![Zone::Prose; f.len()];
    let mut fence: Option<(char, usize)> = None;
    let mut in_people = false;
    for (n, &start) in line_starts.iter().enumerate() {
        // The line without its '\n'; `with_newline` includes it.
        let with_newline = line_starts.get(n + 1).copied().unwrap_or(f.len());
        let end = if with_newline > start && f.get(with_newline - 1) == Some(&'\n') {
            with_newline - 1
        } else {
            with_newline
        };
        let line = &f[start..end];
        let code = if in_people { Zone::People } else { Zone::Code };
        if let Some((mark, count)) = fence {
            zones[start..with_newline].fill(code);
            if closes_fence(line, mark, count) {
                fence = None;
            }
            if !in_people {
                mark_urls(f, start, end, &mut zones);
            }
            continue;
        }
        if let Some(opened) = opens_fence(line) {
            fence = Some(opened);
            zones[start..with_newline].fill(code);
            continue;
        }
        if let Some(title) = section_title(line) {
            in_people = title.iter().collect::<String>() == "people";
        }
        if in_people {
            zones[start..with_newline].fill(Zone::People);
            continue;
        }
        mark_code_spans(f, start, end, &mut zones);
        mark_urls(f, start, end, &mut zones);
    }
    zones
}

/// Skips up to three spaces of indentation.
fn unindent(line: &[char]) -> &[char] {
    let spaces = line.iter().take(4).take_while(|&&c| c == ' ').count();
    if spaces > 3 {
        &line[..0]
    } else {
        &line[spaces..]
    }
}

fn run_of(line: &[char], mark: char) -> usize {
    line.iter().take_while(|&&c| c == mark).count()
}

fn opens_fence(line: &[char]) -> Option<(char, usize)> {
    let line = unindent(line);
    let mark = *line.first()?;
    if mark != '`' && mark != '~' {
        return None;
    }
    let count = run_of(line, mark);
    if count < 3 || (mark == '`' && line[count..].contains(&'`')) {
        return None;
    }
    Some((mark, count))
}

fn closes_fence(line: &[char], mark: char, count: usize) -> bool {
    let line = unindent(line);
    let run = run_of(line, mark);
    run >= count && line[run..].iter().all(|c| c.is_whitespace())
}

/// The folded title of a level-one or level-two heading; deeper headings stay inside their
/// section.
fn section_title(line: &[char]) -> Option<&[char]> {
    let line = unindent(line);
    let level = run_of(line, '#');
    if !(1..=2).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if rest.first().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let trim = |c: &char| c.is_whitespace() || *c == '#' || *c == ':';
    let first = rest.iter().position(|c| !trim(c)).unwrap_or(rest.len());
    let last = rest.iter().rposition(|c| !trim(c)).map_or(first, |i| i + 1);
    Some(&rest[first..last.max(first)])
}

/// Inline code spans on one line: a run of backticks up to the next run of the same length.
/// A run with no partner is literal text.
fn mark_code_spans(f: &[char], start: usize, end: usize, zones: &mut [Zone]) {
    let mut i = start;
    while i < end {
        if f[i] != '`' {
            i += 1;
            continue;
        }
        let run = run_of(&f[i..end], '`');
        let mut j = i + run;
        let mut close = None;
        while j < end {
            if f[j] == '`' {
                let other = run_of(&f[j..end], '`');
                if other == run {
                    close = Some(j + other);
                    break;
                }
                j += other;
            } else {
                j += 1;
            }
        }
        match close {
            Some(close) => {
                zones[i..close].fill(Zone::Code);
                i = close;
            }
            None => i += run,
        }
    }
}

/// URLs on one line: `scheme://` up to whitespace, a quote, an angle bracket or a backtick, less
/// trailing sentence punctuation.
fn mark_urls(f: &[char], start: usize, end: usize, zones: &mut [Zone]) {
    let mut i = start;
    while i + 3 <= end {
        if f[i..i + 3] != [':', '/', '/'] {
            i += 1;
            continue;
        }
        let mut scheme = i;
        while scheme > start
            && (f[scheme - 1].is_ascii_alphanumeric() || matches!(f[scheme - 1], '+' | '.' | '-'))
        {
            scheme -= 1;
        }
        while scheme < i && !f[scheme].is_ascii_alphabetic() {
            scheme += 1;
        }
        let mut stop = i + 3;
        while stop < end && !f[stop].is_whitespace() && !matches!(f[stop], '<' | '>' | '"' | '`') {
            stop += 1;
        }
        while stop > i + 3
            && matches!(
                f[stop - 1],
                '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '\'' | '*' | '_'
            )
        {
            stop -= 1;
        }
        if scheme < i {
            zones[scheme..stop].fill(Zone::Url);
        }
        i = stop.max(i + 3);
    }
}

// ---- blame rules ----------------------------------------------------------------------------

/// One element of a pattern word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Folded characters, matched exactly.
    Literal(Vec<char>),
    /// Any known person's name or role variable.
    Person,
    /// `'s` (or a bare `'`, as in "James' fault") straight after a person.
    Possessive,
    /// Exactly one word.
    Any,
}

#[derive(Debug)]
struct CompiledRule {
    words: Vec<Vec<Piece>>,
    suggestion: String,
}

fn compile(rule: &BlameRule) -> Result<CompiledRule, String> {
    let pattern = rule.pattern.trim();
    if pattern.is_empty() {
        return Err("The pattern is empty: write the words the check should look for.".to_owned());
    }
    let length = pattern.chars().count();
    if length > MAX_PATTERN_CHARS {
        return Err(format!(
            "The pattern is {length} characters long; keep it to {MAX_PATTERN_CHARS} or fewer."
        ));
    }
    let suggestion = rule.suggestion.trim();
    if suggestion.is_empty() {
        return Err(
            "The suggestion is empty: say what a writer could put instead of the phrase."
                .to_owned(),
        );
    }
    let length = suggestion.chars().count();
    if length > MAX_SUGGESTION_CHARS {
        return Err(format!(
            "The suggestion is {length} characters long; keep it to {MAX_SUGGESTION_CHARS} or \
             fewer so it fits beside the text."
        ));
    }
    let words = pattern
        .split(|c: char| is_separator(fold(c)))
        .filter(|word| !word.is_empty())
        .map(parse_word)
        .collect::<Result<Vec<_>, _>>()?;
    let has_word = words.iter().flatten().any(|piece| match piece {
        Piece::Literal(chars) => chars.iter().any(|&c| is_word_char(c)),
        _ => false,
    });
    if !has_word {
        return Err(
            "The pattern needs at least one ordinary word: `*` and `{person}` on their \
                    own would flag almost every sentence."
                .to_owned(),
        );
    }
    Ok(CompiledRule {
        words,
        suggestion: suggestion.to_owned(),
    })
}

fn parse_word(word: &str) -> Result<Vec<Piece>, String> {
    if word == "*" {
        return Ok(vec![Piece::Any]);
    }
    if word.contains('*') {
        return Err(format!(
            "In “{word}”, `*` is glued to other text; it stands for one whole word, so write it \
             on its own, as in “fault of *”."
        ));
    }
    let Some(open) = word.find('{') else {
        if word.contains('}') {
            return Err(format!("“{word}” has a `}}` with no `{{` before it."));
        }
        return Ok(vec![Piece::Literal(fold_str(word))]);
    };
    let inside = &word[open + 1..];
    let Some(close) = inside.find('}') else {
        return Err(format!("“{word}” opens a `{{` that is never closed."));
    };
    let name = &inside[..close];
    if !name.eq_ignore_ascii_case("person") {
        return Err(format!(
            "`{{{name}}}` is not a placeholder this check knows; the only one is `{{person}}`."
        ));
    }
    if open > 0 {
        return Err(format!(
            "In “{word}”, `{{person}}` must start its word: names are matched as whole words."
        ));
    }
    let tail = &inside[close + 1..];
    let mut pieces = vec![Piece::Person];
    if !tail.is_empty() {
        if fold_str(tail) != ['\'', 's'] {
            return Err(format!(
                "In “{word}”, only a possessive “'s” may follow `{{person}}` in the same word."
            ));
        }
        pieces.push(Piece::Possessive);
    }
    Ok(pieces)
}

impl CompiledRule {
    /// The end of a match starting at `start`, trying longer names first.
    fn match_at(&self, f: &[char], start: usize, persons: &Persons) -> Option<usize> {
        if !left_boundary(f, start) {
            return None;
        }
        self.match_from(f, 0, 0, start, persons)
    }

    fn match_from(
        &self,
        f: &[char],
        word: usize,
        piece: usize,
        at: usize,
        persons: &Persons,
    ) -> Option<usize> {
        let Some(pieces) = self.words.get(word) else {
            return right_boundary(f, at).then_some(at);
        };
        let Some(current) = pieces.get(piece) else {
            if word + 1 == self.words.len() {
                return self.match_from(f, word + 1, 0, at, persons);
            }
            let gap = f
                .get(at..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&c| is_separator(c))
                .count();
            return (gap > 0)
                .then(|| self.match_from(f, word + 1, 0, at + gap, persons))
                .flatten();
        };
        let next = |end: usize| self.match_from(f, word, piece + 1, end, persons);
        match current {
            Piece::Literal(chars) => f
                .get(at..)
                .is_some_and(|rest| rest.starts_with(chars))
                .then(|| next(at + chars.len()))
                .flatten(),
            Piece::Any => {
                let mut end = at;
                while is_word_at(f, end)
                    || (f.get(end) == Some(&'\'') && end > at && is_word_at(f, end + 1))
                {
                    end += 1;
                }
                (end > at).then(|| next(end)).flatten()
            }
            Piece::Person => persons
                .starting_with(f.get(at).copied())
                .filter_map(|name| match_phrase(f, at, name))
                .find_map(next),
            Piece::Possessive => {
                if f.get(at) != Some(&'\'') {
                    return None;
                }
                let with_s = (f.get(at + 1) == Some(&'s')).then(|| next(at + 2));
                with_s.flatten().or_else(|| next(at + 1))
            }
        }
    }
}

/// Every phrase `{person}` stands for, longest first.
/// The phrases `{person}` stands for, indexed by their first character: a rule tries at each
/// word only the few that can start there, not every user of a large installation.
struct Persons {
    phrases: Vec<Vec<char>>,
    by_first: std::collections::HashMap<char, Vec<usize>>,
}

impl Persons {
    fn new(people: &[Person]) -> Self {
        let phrases = person_phrases(people);
        let mut by_first: std::collections::HashMap<char, Vec<usize>> =
            std::collections::HashMap::new();
        for (index, phrase) in phrases.iter().enumerate() {
            if let Some(&first) = phrase.first() {
                by_first.entry(first).or_default().push(index);
            }
        }
        Self { phrases, by_first }
    }

    /// The phrases starting with `first`, longest first.
    fn starting_with(&self, first: Option<char>) -> impl Iterator<Item = &Vec<char>> {
        first
            .and_then(|c| self.by_first.get(&c))
            .into_iter()
            .flatten()
            .filter_map(|&index| self.phrases.get(index))
    }
}

fn person_phrases(people: &[Person]) -> Vec<Vec<char>> {
    let mut phrases: Vec<Vec<char>> = people
        .iter()
        .flat_map(|person| person.names.iter().chain(person.role_variable.as_ref()))
        .map(|name| fold_phrase(name))
        .filter(|phrase| !phrase.is_empty())
        .collect();
    phrases.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    phrases.dedup();
    phrases
}

/// Non-overlapping blame matches in prose: earliest first, then longest.
fn blame_spans<'r>(
    text: &Text,
    rules: &'r [CompiledRule],
    persons: &Persons,
) -> Vec<(usize, usize, &'r CompiledRule)> {
    let f = &text.folded;
    // Matches start at words in prose only: finding those once, and skipping a rule at once
    // where its first letter differs, keeps the check linear in practice on long documents.
    let starts: Vec<usize> = (0..f.len())
        .filter(|&i| text.zones[i] == Zone::Prose && left_boundary(f, i))
        .collect();
    let mut spans = Vec::new();
    for rule in rules {
        let first = match rule.words.first().and_then(|pieces| pieces.first()) {
            Some(Piece::Literal(chars)) => chars.first().copied(),
            _ => None,
        };
        let mut resume = 0;
        for &i in &starts {
            if i < resume || first.is_some_and(|c| f.get(i) != Some(&c)) {
                continue;
            }
            let end = rule
                .match_at(f, i, persons)
                .filter(|&end| end > i && text.all(i, end, |zone| zone == Zone::Prose));
            if let Some(end) = end {
                spans.push((i, end, rule));
                resume = end;
            }
        }
    }
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept: Vec<(usize, usize, &CompiledRule)> = Vec::new();
    for span in spans {
        if kept.last().is_none_or(|last| span.0 >= last.1) {
            kept.push(span);
        }
    }
    kept
}

// ---- names ----------------------------------------------------------------------------------

/// Words of the standard role names: a person "named" only with these is indistinguishable
/// from the role itself, so such a name is never reported.
const ROLE_WORDS: &[&str] = &[
    "incident",
    "commander",
    "operations",
    "communications",
    "scribe",
    "subject",
    "matter",
    "expert",
    "sme",
    "planning",
    "release",
    "manager",
    "responder",
];

struct NameSpan {
    start: usize,
    end: usize,
    person: usize,
}

fn words_of(phrase: &[char]) -> impl Iterator<Item = String> + '_ {
    phrase
        .split(|&c| !is_word_char(c))
        .filter(|word| !word.is_empty())
        .map(|word| word.iter().collect())
}

/// Real names outside the People section and URLs, longest name first at each position.
fn name_spans(text: &Text, people: &[Person]) -> Vec<NameSpan> {
    let f = &text.folded;
    let roles: Vec<Vec<char>> = people
        .iter()
        .filter_map(|person| person.role_variable.as_deref())
        .map(fold_phrase)
        .filter(|role| !role.is_empty())
        .collect();

    // A role variable in the text is the blameless way to name someone: no name may start or
    // end inside one. Besides role words, this keeps `substitute_names` idempotent: an inserted
    // "Operations A" followed by "Lee" must not become the name "A Lee" on a second pass.
    let mut shielded = vec![false; f.len()];
    for i in 0..f.len() {
        if !left_boundary(f, i) {
            continue;
        }
        for role in &roles {
            if let Some(end) = match_phrase(f, i, role).filter(|&end| right_boundary(f, end)) {
                shielded[i..end].fill(true);
            }
        }
    }

    let mut role_words: BTreeSet<String> = ROLE_WORDS.iter().map(|&w| w.to_owned()).collect();
    role_words.extend(roles.iter().flat_map(|role| words_of(role)));
    let mut names: Vec<(Vec<char>, usize)> = people
        .iter()
        .enumerate()
        .flat_map(|(n, person)| person.names.iter().map(move |name| (fold_phrase(name), n)))
        .filter(|(name, _)| !name.is_empty() && !words_of(name).all(|w| role_words.contains(&w)))
        .collect();
    // Longest first, so "Bob Stone" wins over "Bob"; stable, so ties go to the earlier person.
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    // Indexed by first character (keeping that order), so each word tries only the names
    // that can start there.
    let mut names_by_first: std::collections::HashMap<char, Vec<usize>> =
        std::collections::HashMap::new();
    for (index, (name, _)) in names.iter().enumerate() {
        if let Some(&first) = name.first() {
            names_by_first.entry(first).or_default().push(index);
        }
    }

    let checked = |zone: Zone| matches!(zone, Zone::Prose | Zone::Code);
    let mut spans = Vec::new();
    let mut i = 0;
    while i < f.len() {
        if !checked(text.zones[i]) || shielded[i] || !left_boundary(f, i) {
            i += 1;
            continue;
        }
        let candidates = f
            .get(i)
            .and_then(|c| names_by_first.get(c))
            .into_iter()
            .flatten()
            .filter_map(|&index| names.get(index));
        let found = candidates.into_iter().find_map(|(name, person)| {
            let end = match_phrase(f, i, name)?;
            let clear = right_boundary(f, end)
                && text.all(i, end, checked)
                && !shielded[i..end].contains(&true);
            clear.then_some((end, *person))
        });
        match found {
            Some((end, person)) => {
                spans.push(NameSpan {
                    start: i,
                    end,
                    person,
                });
                i = end;
            }
            None => i += 1,
        }
    }
    spans
}

//! Three-way merge of texts, line by line (feature `merge`), for documents that several
//! members edit at once: [`three_way`] merges a member's save with the head written
//! meanwhile, [`line_diff`] lists the lines a revision changed.
//!
//! The merge is `diffy`'s (Myers' diff, conflict style diff3). Its output is parsed back
//! into [`Region`]s for the conflict view, and into a French `proposal` ([`Merge::Conflict`])
//! for the textarea, whose markers [`has_markers`] finds again when the member saves:
//!
//! ```text
//! <<<<<<< Votre texte
//! the member's lines
//! =======
//! the head's lines
//! >>>>>>> Version 3 (Anne Martin)
//! ```
//!
//! Every input is [`normalize`]d first: a browser's CRLF must not make every line differ.
//! The markers are longer than 7 characters when a text itself holds a line starting
//! with 7 or more of `<`, `|`, `=` or `>` (a setext heading's `=======`), so that they
//! can never be mistaken for the text.

use diffy::{ConflictStyle, DiffOptions, IncompleteHunkStyle, Line, MergeOptions};

/// Most lines a text may have for an automatic merge; above it `three_way` returns one
/// conflict region of the whole texts.
///
/// Myers' diff costs O((N+M)·D): a total rewrite of 5,000 lines on both sides still
/// merges in tens of milliseconds.
pub const MAX_LINES: usize = 5000;

/// The label of the member's own side in the conflict's `proposal`.
const MINE_LABEL: &str = "Votre texte";

/// The shortest conflict marker, git's and diffy's.
const MIN_MARKER_LEN: usize = 7;

/// CRLF and lone CR become LF, a leading BOM is dropped, a final "\n" is ensured on a
/// non-empty text ("" stays "").
pub fn normalize(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = text.replace("\r\n", "\n").replace('\r', "\n");
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The outcome of [`three_way`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Both sides' changes, merged: the text to save.
    Clean(String),
    /// Both sides changed the same passages.
    Conflict {
        /// The whole text, in order: passages the merge settled, and passages both
        /// sides changed.
        regions: Vec<Region>,
        /// The text for the member to correct: the settled passages, and each conflict
        /// between the marker lines of [`has_markers`] (the base's lines left out).
        proposal: String,
        /// The length of the proposal's markers (7 or more), for [`has_markers`].
        marker_len: usize,
    },
}

/// A passage of a conflicting merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Region {
    /// Lines the merge settled (unchanged, or changed by one side only).
    Same(String),
    /// Lines both sides changed differently: the member's (`mine`), the head's
    /// (`theirs`) and the text both started from (`base`). Each is whole lines, each
    /// ending with "\n", and may be empty (a side that deleted the passage).
    Both {
        mine: String,
        theirs: String,
        base: String,
    },
}

/// base, theirs (the current head) and mine (the member's save), each normalized inside.
/// `theirs_label` e.g. "Version 3 (Anne Martin)".
///
/// If base == theirs the outcome is `Clean(mine)`; if base == mine (or theirs == mine),
/// `Clean(theirs)`. Above [`MAX_LINES`] in any input, diffy is skipped and the conflict
/// is one [`Region::Both`] of the whole texts.
pub fn three_way(base: &str, theirs: &str, mine: &str, theirs_label: &str) -> Merge {
    let base = normalize(base);
    let theirs = normalize(theirs);
    let mine = normalize(mine);
    if base == theirs || theirs == mine {
        return Merge::Clean(mine);
    }
    if base == mine {
        return Merge::Clean(theirs);
    }

    let marker_len = marker_len_for(&[base.as_str(), theirs.as_str(), mine.as_str()]);
    let too_long = [base.as_str(), theirs.as_str(), mine.as_str()]
        .iter()
        .any(|text| line_count(text) > MAX_LINES);
    if too_long {
        let regions = vec![Region::Both { mine, theirs, base }];
        let proposal = proposal(&regions, marker_len, theirs_label);
        return Merge::Conflict {
            regions,
            proposal,
            marker_len,
        };
    }

    let mut options = MergeOptions::new();
    options
        .set_conflict_marker_length(marker_len)
        .set_conflict_style(ConflictStyle::Diff3)
        // Every marker on its own line, even after a last line without "\n" (which the
        // normalized inputs never have anyway).
        .set_incomplete_hunk_style(IncompleteHunkStyle::Git);
    // diffy's "ours" is the member's text.
    match options.merge(&base, &mine, &theirs) {
        Ok(merged) => Merge::Clean(merged),
        Err(marked) => {
            let regions = parse_conflicts(&marked, marker_len);
            let proposal = proposal(&regions, marker_len, theirs_label);
            Merge::Conflict {
                regions,
                proposal,
                marker_len,
            }
        }
    }
}

/// The marker lines `proposal` uses: "<"*n + " Votre texte", "="*n, ">"*n + " " + theirs_label.
/// True when `text` still holds a line starting with "<"*n + " Votre texte", or ">"*n +
/// " Version ", or equal to "="*n (trailing spaces aside).
pub fn has_markers(text: &str, marker_len: usize) -> bool {
    let start = format!("{} {}", "<".repeat(marker_len), MINE_LABEL);
    let end = format!("{} Version ", ">".repeat(marker_len));
    let separator = "=".repeat(marker_len);
    text.lines().any(|line| {
        line.starts_with(start.as_str())
            || line.starts_with(end.as_str())
            || line.trim_end() == separator
    })
}

/// A line of [`line_diff`], without its trailing "\n".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// Every line of old and new in order, as removed / added / same (for a "diff" page),
/// computed with diffy (a full-context diff), inputs normalized. Lines without their
/// trailing "\n".
///
/// Where a passage changed, its removed lines come before its added ones.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let old = normalize(old);
    let new = normalize(new);
    let old_lines: Vec<&str> = old.lines().collect();
    if old == new {
        return old_lines
            .into_iter()
            .map(|line| DiffLine::Same(line.to_owned()))
            .collect();
    }

    let mut options = DiffOptions::new();
    options.set_context_len(usize::MAX);
    let patch = options.create_patch(&old, &new);

    // With full context there is one hunk holding every line; the old lines between or
    // around hunks are still emitted, should there ever be more than one.
    let mut out = Vec::with_capacity(old_lines.len() + 8);
    let mut next_old = 0; // index of the first old line not emitted yet
    for hunk in patch.hunks() {
        let range = hunk.old_range();
        // 1-based start, or for an empty range the line it follows.
        let first = if range.is_empty() {
            range.start()
        } else {
            range.start() - 1
        };
        if let Some(between) = old_lines.get(next_old..first) {
            out.extend(
                between
                    .iter()
                    .map(|line| DiffLine::Same((*line).to_owned())),
            );
        }
        next_old = next_old.max(first);
        for line in hunk.lines() {
            match line {
                Line::Context(text) => {
                    out.push(DiffLine::Same(without_newline(text)));
                    next_old += 1;
                }
                Line::Delete(text) => {
                    out.push(DiffLine::Removed(without_newline(text)));
                    next_old += 1;
                }
                Line::Insert(text) => out.push(DiffLine::Added(without_newline(text))),
            }
        }
    }
    if let Some(rest) = old_lines.get(next_old..) {
        out.extend(rest.iter().map(|line| DiffLine::Same((*line).to_owned())));
    }
    out
}

fn without_newline(line: &str) -> String {
    line.strip_suffix('\n').unwrap_or(line).to_owned()
}

/// Lines of a normalized text (each ends with "\n").
fn line_count(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// max(7, 1 + the longest run of one of '<', '|', '=', '>' starting a line in any text).
fn marker_len_for(texts: &[&str]) -> usize {
    let mut longest = 0;
    for text in texts {
        for line in text.split('\n') {
            let Some(&first) = line.as_bytes().first() else {
                continue;
            };
            if matches!(first, b'<' | b'|' | b'=' | b'>') {
                let run = line.bytes().take_while(|&b| b == first).count();
                longest = longest.max(run);
            }
        }
    }
    (longest + 1).max(MIN_MARKER_LEN)
}

/// Where the parser is in diffy's diff3 output.
#[derive(Clone, Copy)]
enum Section {
    Outside,
    Mine,
    Base,
    Theirs,
}

/// Splits diffy's conflict output, whose marker lines are exactly "<"*n + " ours",
/// "|"*n + " original", "="*n and ">"*n + " theirs" (diffy's labels are fixed), into
/// regions. No line of the texts can equal a marker, as n is longer than any run.
fn parse_conflicts(marked: &str, n: usize) -> Vec<Region> {
    let ours = format!("{} ours\n", "<".repeat(n));
    let original = format!("{} original\n", "|".repeat(n));
    let separator = format!("{}\n", "=".repeat(n));
    let end = format!("{} theirs\n", ">".repeat(n));

    let mut regions = Vec::new();
    let mut same = String::new();
    let mut mine = String::new();
    let mut base = String::new();
    let mut theirs = String::new();
    let mut section = Section::Outside;
    for line in marked.split_inclusive('\n') {
        match section {
            Section::Outside => {
                if line == ours {
                    if !same.is_empty() {
                        regions.push(Region::Same(std::mem::take(&mut same)));
                    }
                    section = Section::Mine;
                } else {
                    same.push_str(line);
                }
            }
            Section::Mine => {
                if line == original {
                    section = Section::Base;
                } else {
                    mine.push_str(line);
                }
            }
            Section::Base => {
                if line == separator {
                    section = Section::Theirs;
                } else {
                    base.push_str(line);
                }
            }
            Section::Theirs => {
                if line == end {
                    regions.push(Region::Both {
                        mine: std::mem::take(&mut mine),
                        theirs: std::mem::take(&mut theirs),
                        base: std::mem::take(&mut base),
                    });
                    section = Section::Outside;
                } else {
                    theirs.push_str(line);
                }
            }
        }
    }
    // An unterminated conflict cannot come out of diffy; keep its lines all the same.
    if !matches!(section, Section::Outside) {
        regions.push(Region::Both { mine, theirs, base });
    }
    if !same.is_empty() {
        regions.push(Region::Same(same));
    }
    regions
}

/// The textarea's text: settled passages as they are, each conflict as the member's
/// lines then the head's, between French markers of length `n`.
fn proposal(regions: &[Region], n: usize, theirs_label: &str) -> String {
    // The label sits on a marker line: it must not break it.
    let label = theirs_label.replace(['\r', '\n'], " ");
    let mut out = String::new();
    for region in regions {
        match region {
            Region::Same(text) => push_lines(&mut out, text),
            Region::Both { mine, theirs, .. } => {
                out.push_str(&"<".repeat(n));
                out.push(' ');
                out.push_str(MINE_LABEL);
                out.push('\n');
                push_lines(&mut out, mine);
                out.push_str(&"=".repeat(n));
                out.push('\n');
                push_lines(&mut out, theirs);
                out.push_str(&">".repeat(n));
                out.push(' ');
                out.push_str(&label);
                out.push('\n');
            }
        }
    }
    out
}

/// Appends whole lines: a passage whose last line lacks its "\n" gets one, so that the
/// marker after it starts a line.
fn push_lines(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "Version 3 (Anne Martin)";

    fn lines(prefix: &str, count: usize) -> String {
        (0..count).map(|i| format!("{prefix} {i}\n")).collect()
    }

    #[test]
    fn normalize_unifies_line_endings_and_the_end() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("a\r\nb\rc"), "a\nb\nc\n");
        assert_eq!(normalize("\u{feff}titre\n"), "titre\n");
        assert_eq!(normalize("a\n\n"), "a\n\n");
    }

    #[test]
    fn disjoint_edits_merge_clean_with_both() {
        let base = "a\nb\nc\nd\ne\n";
        let theirs = "a\nB (eux)\nc\nd\ne\n";
        let mine = "a\nb\nc\nD (moi)\ne\n";
        assert_eq!(
            three_way(base, theirs, mine, LABEL),
            Merge::Clean("a\nB (eux)\nc\nD (moi)\ne\n".into())
        );
    }

    #[test]
    fn one_side_unchanged_takes_the_other() {
        assert_eq!(
            three_way("a\n", "a\n", "b\n", LABEL),
            Merge::Clean("b\n".into())
        );
        assert_eq!(
            three_way("a\n", "b\n", "a\n", LABEL),
            Merge::Clean("b\n".into())
        );
    }

    #[test]
    fn insertions_at_the_end_on_both_sides_lose_nothing() {
        let base = "a\nb\n";
        let theirs = "a\nb\nleur ajout\n";
        let mine = "a\nb\nmon ajout\n";
        match three_way(base, theirs, mine, LABEL) {
            Merge::Clean(text) => {
                assert!(
                    text.contains("leur ajout\n") && text.contains("mon ajout\n"),
                    "{text}"
                );
            }
            Merge::Conflict {
                regions,
                proposal,
                marker_len,
            } => {
                assert_eq!(marker_len, 7);
                let both: Vec<&Region> = regions
                    .iter()
                    .filter(|r| matches!(r, Region::Both { .. }))
                    .collect();
                assert_eq!(
                    both,
                    vec![&Region::Both {
                        mine: "mon ajout\n".into(),
                        theirs: "leur ajout\n".into(),
                        base: String::new(),
                    }]
                );
                assert_eq!(
                    proposal,
                    "a\nb\n<<<<<<< Votre texte\nmon ajout\n=======\nleur ajout\n\
                     >>>>>>> Version 3 (Anne Martin)\n"
                );
                assert!(has_markers(&proposal, marker_len));
            }
        }
    }

    #[test]
    fn delete_against_edit_is_a_conflict() {
        let base = "a\nb\nc\n";
        let theirs = "a\nc\n";
        let mine = "a\nB modifiée\nc\n";
        let Merge::Conflict {
            regions,
            proposal,
            marker_len,
        } = three_way(base, theirs, mine, LABEL)
        else {
            panic!("a deletion against an edit must conflict");
        };
        assert_eq!(marker_len, 7);
        assert_eq!(
            regions,
            vec![
                Region::Same("a\n".into()),
                Region::Both {
                    mine: "B modifiée\n".into(),
                    theirs: String::new(),
                    base: "b\n".into(),
                },
                Region::Same("c\n".into()),
            ]
        );
        assert_eq!(
            proposal,
            "a\n<<<<<<< Votre texte\nB modifiée\n=======\n>>>>>>> Version 3 (Anne Martin)\nc\n"
        );
        assert!(has_markers(&proposal, 7));
        assert!(!has_markers("a\nB modifiée\nc\n", 7));
    }

    #[test]
    fn an_identical_edit_on_both_sides_is_clean() {
        assert_eq!(
            three_way("a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n", LABEL),
            Merge::Clean("a\nB\nc\n".into())
        );
        // The same change, plus another on one side only: through diffy.
        assert_eq!(
            three_way(
                "a\nb\nc\nd\ne\n",
                "a\nB\nc\nd\nE\n",
                "a\nB\nc\nd\ne\n",
                LABEL
            ),
            Merge::Clean("a\nB\nc\nd\nE\n".into())
        );
    }

    #[test]
    fn marker_like_lines_in_the_texts_lengthen_the_markers() {
        let base = "Titre\n=======\n<<<<<<< citation\na\nz\n";
        let theirs = "Titre\n=======\n<<<<<<< citation\neux\nz\n";
        let mine = "Titre\n=======\n<<<<<<< citation\nmoi\n=======\nz\n";
        let Merge::Conflict {
            regions,
            proposal,
            marker_len,
        } = three_way(base, theirs, mine, LABEL)
        else {
            panic!("both changed line 4");
        };
        assert_eq!(marker_len, 8);
        assert_eq!(
            regions,
            vec![
                Region::Same("Titre\n=======\n<<<<<<< citation\n".into()),
                Region::Both {
                    mine: "moi\n=======\n".into(),
                    theirs: "eux\n".into(),
                    base: "a\n".into(),
                },
                Region::Same("z\n".into()),
            ]
        );
        assert_eq!(
            proposal,
            "Titre\n=======\n<<<<<<< citation\n<<<<<<<< Votre texte\nmoi\n=======\n========\n\
             eux\n>>>>>>>> Version 3 (Anne Martin)\nz\n"
        );
        assert!(has_markers(&proposal, 8));
        // The texts' own 7-long lines are not markers of length 8.
        assert!(!has_markers(
            "Titre\n=======\n<<<<<<< citation\nmoi\n=======\nz\n",
            8
        ));
        assert!(!has_markers("Sous-titre\n=======\n", 8));
        assert!(has_markers("Sous-titre\n=======\n", 7));
        assert!(has_markers("x\n>>>>>>>> Version 3 (Anne Martin)\n", 8));
        assert!(has_markers("x\r\n========  \r\n", 8));
    }

    #[test]
    fn crlf_against_lf_merges_clean() {
        let base = "a\nb\nc\nd\n";
        let theirs = "a\nB\nc\nd\n";
        // The browser sends CRLF: only line 4 really changed.
        assert_eq!(
            three_way(base, theirs, "a\r\nb\r\nc\r\nD\r\n", LABEL),
            Merge::Clean("a\nB\nc\nD\n".into())
        );
        // No change at all but the line endings: the head stays.
        assert_eq!(
            three_way(base, theirs, "a\r\nb\r\nc\r\nd\r\n", LABEL),
            Merge::Clean(theirs.into())
        );
        // CRLF on both sides of a real merge.
        assert_eq!(
            three_way(
                "a\r\nb\r\nc\r\nd\r\n",
                "a\r\nB\r\nc\r\nd\r\n",
                "a\nb\nc\nD",
                LABEL
            ),
            Merge::Clean("a\nB\nc\nD\n".into())
        );
    }

    #[test]
    fn a_last_line_without_newline_merges_like_the_others() {
        assert_eq!(
            three_way("a\nb\nc", "a\nb\nC", "A\nb\nc", LABEL),
            Merge::Clean("A\nb\nC\n".into())
        );
        assert_eq!(
            three_way("a\nb\n", "a\nb", "a\nB\n", LABEL),
            Merge::Clean("a\nB\n".into())
        );
        let Merge::Conflict {
            regions, proposal, ..
        } = three_way("a\nb", "a\nT", "a\nM", LABEL)
        else {
            panic!("both changed the last line");
        };
        assert_eq!(
            regions,
            vec![
                Region::Same("a\n".into()),
                Region::Both {
                    mine: "M\n".into(),
                    theirs: "T\n".into(),
                    base: "b\n".into()
                },
            ]
        );
        assert_eq!(
            proposal,
            "a\n<<<<<<< Votre texte\nM\n=======\nT\n>>>>>>> Version 3 (Anne Martin)\n"
        );
    }

    #[test]
    fn a_total_rewrite_of_5000_lines_on_both_sides_conflicts() {
        let base = lines("départ", MAX_LINES);
        let theirs = lines("eux", MAX_LINES);
        let mine = lines("moi", MAX_LINES);
        let started = std::time::Instant::now();
        let Merge::Conflict {
            regions,
            proposal,
            marker_len,
        } = three_way(&base, &theirs, &mine, LABEL)
        else {
            panic!("both rewrote everything");
        };
        eprintln!("5,000-line total rewrite merged in {:?}", started.elapsed());
        assert_eq!(marker_len, 7);
        assert!(proposal.starts_with("<<<<<<< Votre texte\nmoi 0\n"));
        assert!(proposal.ends_with("eux 4999\n>>>>>>> Version 3 (Anne Martin)\n"));
        assert_eq!(regions, vec![Region::Both { mine, theirs, base }]);
    }

    #[test]
    fn above_5000_lines_the_whole_texts_conflict_without_diffy() {
        let base = lines("ligne", MAX_LINES + 1);
        // Disjoint edits that diffy would merge: above the limit, no automatic merge.
        let theirs = base.replacen("ligne 0\n", "ligne zéro\n", 1);
        let mine = base.replacen("ligne 5000\n", "dernière ligne\n", 1);
        let Merge::Conflict {
            regions,
            proposal,
            marker_len,
        } = three_way(&base, &theirs, &mine, LABEL)
        else {
            panic!("above the limit, a whole-text conflict");
        };
        assert_eq!(marker_len, 7);
        assert_eq!(
            proposal,
            format!(
                "<<<<<<< Votre texte\n{mine}=======\n{theirs}>>>>>>> Version 3 (Anne Martin)\n"
            )
        );
        assert_eq!(regions, vec![Region::Both { mine, theirs, base }]);
    }

    #[test]
    fn line_diff_lists_every_line_in_order() {
        assert_eq!(
            line_diff("a\nb\nc\n", "a\r\nB\r\nc\r\nd"),
            vec![
                DiffLine::Same("a".into()),
                DiffLine::Removed("b".into()),
                DiffLine::Added("B".into()),
                DiffLine::Same("c".into()),
                DiffLine::Added("d".into()),
            ]
        );
        assert_eq!(
            line_diff("a\nb", "a\nb\n"),
            vec![DiffLine::Same("a".into()), DiffLine::Same("b".into())]
        );
        assert_eq!(line_diff("", "x"), vec![DiffLine::Added("x".into())]);
        assert_eq!(line_diff("x\n", ""), vec![DiffLine::Removed("x".into())]);
        assert_eq!(line_diff("", ""), Vec::<DiffLine>::new());
    }
}

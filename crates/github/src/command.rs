//! The `/perf-fix` command parser for pull request comments.
//!
//! A command is a line of prose that starts with `/perf-fix`. The body is read as markdown
//! (CommonMark, as GitHub renders it) so that text people quote or show as an example does not
//! run: fenced and indented code blocks, inline code, block quotes, HTML (comments included) and
//! link texts are skipped. Each command line yields one result; a comment may hold several.

use std::fmt;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The word that starts a command line.
pub const PREFIX: &str = "/perf-fix";

/// Longest accepted `bench=` filter, to keep job rows and comments small.
const MAX_FILTER_LEN: usize = 200;

/// Stands in for skipped inline content (inline code, HTML, link text) so that text after it
/// is not mistaken for the start of a line.
const SKIPPED: char = '\u{FFFC}';

/// A command a maintainer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/perf-fix` or `/perf-fix bench=<filter>`: benchmark, find and fix a regression.
    Run { bench_filter: Option<String> },
    /// `/perf-fix cancel`: stop the pull request's active job.
    Cancel,
    /// `/perf-fix status`: report the pull request's job state.
    Status,
    /// `/perf-fix retry`: run the last job of the pull request again.
    Retry,
    /// `/perf-fix help`: list the commands.
    Help,
}

impl Command {
    /// The command's word, as typed after `/perf-fix` (`run` for the bare form).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run { .. } => "run",
            Command::Cancel => "cancel",
            Command::Status => "status",
            Command::Retry => "retry",
            Command::Help => "help",
        }
    }
}

/// A `/perf-fix` line that could not be understood. The messages are written to be posted back
/// to the commenter as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "unknown command `{word}`{}; see `/perf-fix help`",
        DidYouMean(suggestion)
    )]
    UnknownCommand {
        word: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "unknown argument `{key}=`{}; see `/perf-fix help`",
        DidYouMean(suggestion)
    )]
    UnknownArgument {
        key: String,
        suggestion: Option<&'static str>,
    },
    #[error("`{key}=` needs a value, as in `/perf-fix bench=parse`")]
    MissingValue { key: String },
    #[error("`{key}=` is given more than once")]
    DuplicateArgument { key: String },
    #[error("`/perf-fix {command}` takes no arguments, but `{argument}` was given")]
    UnexpectedArgument {
        command: &'static str,
        argument: String,
    },
    #[error("`{key}=` value is not accepted: {reason}")]
    InvalidValue { key: String, reason: &'static str },
}

struct DidYouMean<'a>(&'a Option<&'static str>);

impl fmt::Display for DidYouMean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (did you mean `{s}`?)"),
            None => Ok(()),
        }
    }
}

/// The reply to `/perf-fix help`, in markdown.
pub fn help_text() -> &'static str {
    "perf-fixer commands (one per line, in a pull request comment; needs write access):\n\n\
     | command | what it does |\n\
     | --- | --- |\n\
     | `/perf-fix` | benchmark base and head, find the regression and propose a fix |\n\
     | `/perf-fix bench=<filter>` | the same, for the benchmarks matching `<filter>` only |\n\
     | `/perf-fix cancel` | stop the running job of this pull request |\n\
     | `/perf-fix status` | show the state of this pull request's job |\n\
     | `/perf-fix retry` | run the last job again |\n\
     | `/perf-fix help` | this message |\n"
}

/// Finds every `/perf-fix` command line in a comment body and parses it.
pub fn parse_commands(body: &str) -> Vec<Result<Command, CommandError>> {
    prose_lines(body)
        .iter()
        .filter_map(|line| command_arguments(line))
        .map(parse_arguments)
        .collect()
}

/// The text after `/perf-fix` when `line` is a command line.
fn command_arguments(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix(PREFIX)?;
    // `/perf-fixer` or `/perf-fix-me` are other words, not our command.
    match rest.chars().next() {
        None => Some(rest),
        Some(c) if c.is_whitespace() => Some(rest),
        Some(_) => None,
    }
}

/// The lines of rendered prose: what a reader sees as text, outside code, quotes and HTML.
fn prose_lines(body: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    // How deep we are inside blocks whose content never holds commands.
    let mut skipped_blocks = 0usize;
    // Inside a link or image, the text is a label, not a command.
    let mut in_label = 0usize;

    let mut flush = |line: &mut String| {
        if !line.trim().is_empty() {
            lines.push(std::mem::take(line));
        }
        line.clear();
    };

    for event in Parser::new_ext(body, Options::empty()) {
        match event {
            Event::Start(Tag::BlockQuote(_) | Tag::CodeBlock(_) | Tag::HtmlBlock) => {
                flush(&mut line);
                skipped_blocks += 1;
            }
            Event::End(TagEnd::BlockQuote(_) | TagEnd::CodeBlock | TagEnd::HtmlBlock) => {
                skipped_blocks = skipped_blocks.saturating_sub(1);
                line.clear();
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                in_label += 1;
                line.push(SKIPPED);
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                in_label = in_label.saturating_sub(1);
            }
            Event::Start(Tag::Paragraph | Tag::Heading { .. } | Tag::Item | Tag::List(_))
            | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::List(_))
            | Event::SoftBreak
            | Event::HardBreak
            | Event::Rule => flush(&mut line),
            Event::Text(text) if skipped_blocks == 0 && in_label == 0 => line.push_str(&text),
            Event::Code(_) | Event::InlineHtml(_) | Event::Html(_) | Event::InlineMath(_) => {
                line.push(SKIPPED);
            }
            _ => {}
        }
    }
    flush(&mut line);
    lines
}

fn parse_arguments(arguments: &str) -> Result<Command, CommandError> {
    let words: Vec<&str> = arguments.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return Ok(Command::Run { bench_filter: None });
    };
    if first.contains('=') {
        return parse_run(&words);
    }
    let command = match first.to_ascii_lowercase().as_str() {
        "cancel" => Command::Cancel,
        "status" => Command::Status,
        "retry" => Command::Retry,
        "help" => Command::Help,
        _ => {
            return Err(CommandError::UnknownCommand {
                word: (*first).to_owned(),
                suggestion: closest(first, &["cancel", "status", "retry", "help", "bench="]),
            });
        }
    };
    match rest.first() {
        None => Ok(command),
        Some(argument) => Err(CommandError::UnexpectedArgument {
            command: command.name(),
            argument: (*argument).to_owned(),
        }),
    }
}

/// `/perf-fix key=value ...`: the run command with its options.
fn parse_run(words: &[&str]) -> Result<Command, CommandError> {
    let mut bench_filter = None;
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(CommandError::UnexpectedArgument {
                command: "run",
                argument: (*word).to_owned(),
            });
        };
        match key {
            "bench" => {
                if bench_filter.is_some() {
                    return Err(CommandError::DuplicateArgument {
                        key: key.to_owned(),
                    });
                }
                bench_filter = Some(validate_filter(value)?);
            }
            _ => {
                return Err(CommandError::UnknownArgument {
                    key: key.to_owned(),
                    suggestion: closest(key, &["bench"]),
                });
            }
        }
    }
    Ok(Command::Run { bench_filter })
}

/// A filter is handed to benchmark harnesses as an argument; keep it to characters that make
/// sense in a benchmark name or a simple pattern.
fn validate_filter(value: &str) -> Result<String, CommandError> {
    let invalid = |reason| CommandError::InvalidValue {
        key: "bench".to_owned(),
        reason,
    };
    if value.is_empty() {
        return Err(CommandError::MissingValue {
            key: "bench".to_owned(),
        });
    }
    if value.len() > MAX_FILTER_LEN {
        return Err(invalid("it is longer than 200 characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-./:*?^$|+()[],#@".contains(c);
    if !value.chars().all(allowed) {
        return Err(invalid(
            "use letters, digits and `_-./:*?^$|+()[],#@` (a benchmark name or pattern)",
        ));
    }
    Ok(value.to_owned())
}

/// The candidate nearest to `word` by edit distance, when it is near enough to be a typo.
fn closest(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&word, c.trim_end_matches('=')), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars, with a single row of memory.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(filter: Option<&str>) -> Result<Command, CommandError> {
        Ok(Command::Run {
            bench_filter: filter.map(str::to_owned),
        })
    }

    #[test]
    fn plain_text_has_no_commands() {
        assert!(parse_commands("Looks good to me!").is_empty());
        assert!(parse_commands("").is_empty());
        assert!(parse_commands("please run perf-fix").is_empty());
    }

    #[test]
    fn bare_command_runs() {
        assert_eq!(parse_commands("/perf-fix"), vec![run(None)]);
        assert_eq!(parse_commands("  /perf-fix  \n"), vec![run(None)]);
    }

    #[test]
    fn bench_filter() {
        assert_eq!(
            parse_commands("/perf-fix bench=parse"),
            vec![run(Some("parse"))]
        );
        assert_eq!(
            parse_commands("/perf-fix bench=json/serialize::large"),
            vec![run(Some("json/serialize::large"))]
        );
    }

    #[test]
    fn subcommands() {
        assert_eq!(
            parse_commands("/perf-fix cancel"),
            vec![Ok(Command::Cancel)]
        );
        assert_eq!(
            parse_commands("/perf-fix status"),
            vec![Ok(Command::Status)]
        );
        assert_eq!(parse_commands("/perf-fix retry"), vec![Ok(Command::Retry)]);
        assert_eq!(parse_commands("/perf-fix help"), vec![Ok(Command::Help)]);
        assert_eq!(
            parse_commands("/perf-fix CANCEL"),
            vec![Ok(Command::Cancel)]
        );
    }

    #[test]
    fn command_must_start_the_line() {
        assert!(parse_commands("could you /perf-fix this?").is_empty());
        assert!(parse_commands("Thanks!\nI think /perf-fix would help").is_empty());
    }

    #[test]
    fn command_among_other_lines() {
        let body = "Thanks for the PR.\n/perf-fix bench=parse\nI will look later.";
        assert_eq!(parse_commands(body), vec![run(Some("parse"))]);
        let body = "First paragraph.\n\n/perf-fix status\n\nLast paragraph.";
        assert_eq!(parse_commands(body), vec![Ok(Command::Status)]);
    }

    #[test]
    fn several_commands_in_one_comment() {
        let body = "/perf-fix cancel\n/perf-fix bench=x";
        assert_eq!(
            parse_commands(body),
            vec![Ok(Command::Cancel), run(Some("x"))]
        );
    }

    #[test]
    fn other_words_sharing_the_prefix_are_not_commands() {
        assert!(parse_commands("/perf-fixer").is_empty());
        assert!(parse_commands("/perf-fix-it").is_empty());
        assert!(parse_commands("/perf").is_empty());
    }

    #[test]
    fn fenced_code_is_ignored() {
        let body = "Use it like this:\n\n```\n/perf-fix bench=parse\n```\n";
        assert!(parse_commands(body).is_empty());
        let body = "~~~text\n/perf-fix\n~~~\n/perf-fix status";
        assert_eq!(parse_commands(body), vec![Ok(Command::Status)]);
    }

    #[test]
    fn unclosed_fence_hides_the_rest() {
        assert!(parse_commands("```\n/perf-fix\n").is_empty());
    }

    #[test]
    fn indented_code_is_ignored() {
        let body = "Example:\n\n    /perf-fix\n\nend";
        assert!(parse_commands(body).is_empty());
    }

    #[test]
    fn inline_code_is_ignored() {
        assert!(parse_commands("`/perf-fix`").is_empty());
        assert!(parse_commands("`/perf-fix bench=x` is the syntax").is_empty());
        assert!(parse_commands("`x` /perf-fix").is_empty());
    }

    #[test]
    fn block_quotes_are_ignored() {
        assert!(parse_commands("> /perf-fix").is_empty());
        let body = "> someone wrote\n> /perf-fix cancel\n\n/perf-fix status";
        assert_eq!(parse_commands(body), vec![Ok(Command::Status)]);
        assert!(parse_commands("> > /perf-fix\n> lazy").is_empty());
        // A lazy continuation line still belongs to the quote.
        assert!(parse_commands("> quoted\n/perf-fix").is_empty());
    }

    #[test]
    fn html_comments_are_ignored() {
        assert!(parse_commands("<!-- /perf-fix -->").is_empty());
        assert!(parse_commands("<!--\n/perf-fix\n-->").is_empty());
        assert!(parse_commands("text <!--\n/perf-fix\n--> more").is_empty());
        assert_eq!(
            parse_commands("<!-- template -->\n\n/perf-fix"),
            vec![run(None)]
        );
    }

    #[test]
    fn html_blocks_are_ignored() {
        assert!(parse_commands("<details>\n/perf-fix\n</details>").is_empty());
    }

    #[test]
    fn link_text_is_ignored() {
        assert!(parse_commands("[/perf-fix](https://example.com)").is_empty());
    }

    #[test]
    fn list_items_and_emphasis_count() {
        assert_eq!(
            parse_commands("- /perf-fix status"),
            vec![Ok(Command::Status)]
        );
        assert_eq!(parse_commands("**/perf-fix**"), vec![run(None)]);
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(
            parse_commands("hello\r\n/perf-fix retry\r\n"),
            vec![Ok(Command::Retry)]
        );
    }

    #[test]
    fn unknown_word_suggests_the_nearest_command() {
        assert_eq!(
            parse_commands("/perf-fix cancle"),
            vec![Err(CommandError::UnknownCommand {
                word: "cancle".into(),
                suggestion: Some("cancel"),
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix stats"),
            vec![Err(CommandError::UnknownCommand {
                word: "stats".into(),
                suggestion: Some("status"),
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix hlep"),
            vec![Err(CommandError::UnknownCommand {
                word: "hlep".into(),
                suggestion: Some("help"),
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix banana"),
            vec![Err(CommandError::UnknownCommand {
                word: "banana".into(),
                suggestion: None,
            })]
        );
        let message = parse_commands("/perf-fix retyr")[0]
            .clone()
            .unwrap_err()
            .to_string();
        assert!(message.contains("did you mean `retry`?"), "{message}");
        assert!(message.contains("/perf-fix help"), "{message}");
    }

    #[test]
    fn unknown_argument_suggests_bench() {
        assert_eq!(
            parse_commands("/perf-fix benches=parse"),
            vec![Err(CommandError::UnknownArgument {
                key: "benches".into(),
                suggestion: Some("bench"),
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix threshold=5"),
            vec![Err(CommandError::UnknownArgument {
                key: "threshold".into(),
                suggestion: None,
            })]
        );
    }

    #[test]
    fn argument_errors() {
        assert_eq!(
            parse_commands("/perf-fix bench="),
            vec![Err(CommandError::MissingValue {
                key: "bench".into()
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix bench=a bench=b"),
            vec![Err(CommandError::DuplicateArgument {
                key: "bench".into()
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix cancel now"),
            vec![Err(CommandError::UnexpectedArgument {
                command: "cancel",
                argument: "now".into()
            })]
        );
        assert_eq!(
            parse_commands("/perf-fix bench=a please"),
            vec![Err(CommandError::UnexpectedArgument {
                command: "run",
                argument: "please".into()
            })]
        );
        assert!(matches!(
            parse_commands("/perf-fix bench=$(rm;-rf)")[0],
            Err(CommandError::InvalidValue { .. })
        ));
        let long = format!("/perf-fix bench={}", "a".repeat(201));
        assert!(matches!(
            parse_commands(&long)[0],
            Err(CommandError::InvalidValue { .. })
        ));
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("cancle", "cancel"), 2);
        assert_eq!(edit_distance("status", "status"), 0);
    }

    #[test]
    fn help_lists_every_command() {
        for word in ["bench=", "cancel", "status", "retry", "help"] {
            assert!(help_text().contains(word), "{word}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for body in [
            "\0",
            "/perf-fix \u{FFFC}",
            "/perf-fix\t\tstatus",
            "```",
            "> ",
            "<!--",
            "[",
            "/perf-fix bench=é",
            "\u{202E}/perf-fix",
        ] {
            let _ = parse_commands(body);
        }
        assert_eq!(
            parse_commands("/perf-fix\t\tstatus"),
            vec![Ok(Command::Status)]
        );
    }
}

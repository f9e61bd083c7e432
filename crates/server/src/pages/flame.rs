//! The differential flame graph of a job page: the report's folded stacks (see
//! `perf_fixer_core::report::FlameGraphData`) through `inferno::differential` and
//! `inferno::flamegraph`, as an SVG to inline in the page.
//!
//! It is drawn when the page is served, not stored: the stacks are capped by the engine (a
//! few hundred), so drawing takes milliseconds, the job result stays a small JSON document
//! instead of carrying an SVG several times its size, and a better drawing reaches old jobs
//! too.
//!
//! Safety: function names come from the profiled repository. inferno writes them through an
//! XML writer that escapes `<`, `>`, `&` and quotes, and only as element text (titles and
//! labels, never attributes, since the `nameattr` feature is off). The SVG's own `<script>`
//! (inferno writes one even with `no_javascript`) and its `onload` handler are cut out: the
//! page runs no script, and anything left that looks like `<script` fails the drawing.

use perf_fixer_core::report::{FlameGraphData, FoldedStack};

/// Why there is no SVG.
#[derive(Debug, thiserror::Error)]
pub enum FlameError {
    #[error("the profiles hold no call stacks with a cost")]
    Empty,
    #[error("a stack names frame {index}, but the report lists {frames} frame names")]
    BadFrame { index: u32, frames: usize },
    #[error("inferno could not draw the flame graph: {0}")]
    Inferno(#[from] std::io::Error),
    #[error("inferno's SVG is not what the page expects: {0}")]
    Unexpected(&'static str),
}

/// The frame that stands for the stacks the engine left out (the cap).
const OMITTED: &str = "[smaller stacks, not kept]";

/// Width of the drawing in pixels: fits the page's content column.
const WIDTH: usize = 1100;

/// The differential flame graph as an `<svg>` element: widths are the culprit's costs, colours
/// the change from its parent (red grew, blue shrank), with the parent's profile scaled to the
/// culprit's total first, so that a longer or shorter run does not paint everything one colour.
pub fn differential_svg(data: &FlameGraphData) -> Result<String, FlameError> {
    let before = folded(data, &data.before, data.before_omitted)?;
    let after = folded(data, &data.after, data.after_omitted)?;
    if !has_cost(&data.after) && data.after_omitted == 0 {
        return Err(FlameError::Empty);
    }
    let mut diff = Vec::new();
    inferno::differential::from_readers(
        inferno::differential::Options {
            normalize: true,
            strip_hex: false,
        },
        before.as_bytes(),
        after.as_bytes(),
        &mut diff,
    )?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = "Differential flame graph: the culprit against its parent".to_owned();
    options.subtitle = Some(format!(
        "width: {} at the culprit ({}); red: grew, blue: shrank since the parent",
        data.unit, data.source
    ));
    options.count_name = data.unit.clone();
    options.no_javascript = true;
    options.image_width = Some(WIDTH);
    options.hash = true;
    options.deterministic = true;
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, diff.as_slice(), &mut svg)?;
    let svg = String::from_utf8(svg).map_err(|_| FlameError::Unexpected("not UTF-8"))?;
    inline(&svg)
}

fn has_cost(stacks: &[FoldedStack]) -> bool {
    stacks.iter().any(|s| s.cost > 0)
}

/// One side as folded stack lines (`main;parse;clone 42`).
fn folded(
    data: &FlameGraphData,
    stacks: &[FoldedStack],
    omitted: u64,
) -> Result<String, FlameError> {
    let mut out = String::new();
    for stack in stacks.iter().filter(|s| s.cost > 0) {
        for (position, index) in stack.frames.iter().enumerate() {
            let name = data
                .frames
                .get(*index as usize)
                .ok_or(FlameError::BadFrame {
                    index: *index,
                    frames: data.frames.len(),
                })?;
            if position > 0 {
                out.push(';');
            }
            push_frame(&mut out, name);
        }
        out.push(' ');
        out.push_str(&stack.cost.to_string());
        out.push('\n');
    }
    if omitted > 0 {
        out.push_str(&format!("{OMITTED} {omitted}\n"));
    }
    Ok(out)
}

/// A frame name as the folded format can carry it: `;` separates frames (Rust names have it in
/// array types like `[u8; 4]`, shown with the look-alike U+037E), line breaks end a stack,
/// and an empty name would merge frames.
fn push_frame(out: &mut String, name: &str) {
    let name = name.trim();
    if name.is_empty() {
        out.push_str("[unknown]");
        return;
    }
    for c in name.chars() {
        match c {
            ';' => out.push('\u{37e}'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// inferno's standalone SVG document as an element for an HTML page: no XML declaration or
/// doctype, no script, no `onload`.
fn inline(svg: &str) -> Result<String, FlameError> {
    let start = svg
        .find("<svg")
        .ok_or(FlameError::Unexpected("no <svg> element"))?;
    let mut out = svg[start..].replacen(" onload=\"init(evt)\"", "", 1);
    while let Some(open) = out.find("<script") {
        let close = out[open..]
            .find("</script>")
            .map(|end| open + end + "</script>".len())
            .ok_or(FlameError::Unexpected("a <script> element without its end"))?;
        out.replace_range(open..close, "");
    }
    if tags(&out).any(|tag| {
        let tag = tag.to_ascii_lowercase();
        tag.starts_with("script")
            || tag
                .split_ascii_whitespace()
                .skip(1)
                .any(|attribute| attribute.starts_with("on"))
    }) {
        return Err(FlameError::Unexpected("a script or event handler is left"));
    }
    Ok(out)
}

/// The inside of every tag (`<...>`). Text cannot hold a `<`: the XML writer escapes it.
fn tags(svg: &str) -> impl Iterator<Item = &str> {
    svg.split('<')
        .skip(1)
        .map(|rest| rest.split_once('>').map_or(rest, |(tag, _)| tag))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn data(frames: &[&str], before: &[(&[u32], u64)], after: &[(&[u32], u64)]) -> FlameGraphData {
        let stacks = |side: &[(&[u32], u64)]| {
            side.iter()
                .map(|(frames, cost)| FoldedStack {
                    frames: frames.to_vec(),
                    cost: *cost,
                })
                .collect()
        };
        FlameGraphData {
            unit: "samples".into(),
            source: "perf".into(),
            frames: frames.iter().map(|f| f.to_string()).collect(),
            before: stacks(before),
            after: stacks(after),
            before_omitted: 0,
            after_omitted: 0,
        }
    }

    #[test]
    fn draws_a_small_diff_as_an_inline_svg() {
        let data = data(
            &["main", "app::parse", "app::clone_keys", "app::print"],
            &[(&[0, 1], 60), (&[0, 3], 40)],
            &[(&[0, 1], 50), (&[0, 1, 2], 130), (&[0, 3], 30)],
        );
        let svg = differential_svg(&data).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("<?xml") && !svg.contains("<!DOCTYPE"));
        assert!(!svg.contains("<script") && !svg.contains("onload"));
        // One frame per function, with its share in the title.
        for name in ["app::parse", "app::clone_keys", "app::print"] {
            assert!(svg.contains(&format!("<title>{name} (")), "{name} missing");
        }
        // clone_keys is new: 130 of 210 samples, +61.90% of the total.
        assert!(
            svg.contains("<title>app::clone_keys (130 samples, 61.90%; +61.90%)</title>"),
            "{svg}"
        );
        // Grown frames are red, shrunk ones blue (inferno's differential colours).
        assert!(svg.contains("fill=\"rgb(255,"), "no red frame");
        assert!(svg.contains(",255)\""), "no blue frame");
    }

    #[test]
    fn function_names_cannot_inject_markup() {
        let data = data(
            &[
                "main",
                "<script>alert(1)</script>",
                "\"><img src=x onerror=alert(2)>",
                "x]]><svg onload=alert(3)>&lt",
            ],
            &[(&[0, 1], 10)],
            &[(&[0, 1], 10), (&[0, 2], 10), (&[0, 3], 10)],
        );
        let svg = differential_svg(&data).unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert_eq!(
            svg.matches("<svg").count(),
            2,
            "inferno's outer and frames <svg> only"
        );
        assert!(!svg.contains("<svg onload"), "{svg}");
        assert!(!tags(&svg).any(|t| t.contains("onerror") || t.contains("onload")));
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{svg}"
        );
        assert!(svg.contains("&gt;&amp;lt ("), "{svg}");
    }

    #[test]
    fn leftover_scripts_and_handlers_are_refused() {
        let inline_ok =
            inline("<?xml?><svg onload=\"init(evt)\"><script>x</script><text>a</text></svg>");
        assert_eq!(inline_ok.unwrap(), "<svg><text>a</text></svg>");
        assert!(inline("<svg><g onclick=\"x()\"></g></svg>").is_err());
        assert!(inline("<svg><SCRIPT >x</SCRIPT></svg>").is_err());
        assert!(inline("<svg><script>x</svg>").is_err());
        assert!(inline("no svg").is_err());
        assert!(inline("<svg><text>&lt;g onclick=x&gt;</text></svg>").is_ok());
    }

    #[test]
    fn semicolons_line_breaks_and_empty_names_keep_stacks_whole() {
        let data = data(
            &["main", "<[u8; 4] as Debug>::fmt", "two\nlines", ""],
            &[],
            &[(&[0, 1, 2, 3], 5)],
        );
        let svg = differential_svg(&data).unwrap();
        assert!(svg.contains("[u8\u{37e} 4]"), "{svg}");
        assert!(svg.contains("two lines"), "{svg}");
        assert!(svg.contains("<title>[unknown] ("), "{svg}");
    }

    #[test]
    fn omitted_stacks_keep_their_width_and_bad_data_is_refused() {
        let mut d = data(&["main"], &[(&[0], 10)], &[(&[0], 10)]);
        d.after_omitted = 30;
        let svg = differential_svg(&d).unwrap();
        assert!(
            svg.contains(&format!("<title>{OMITTED} (30 samples, 75.00%")),
            "{svg}"
        );

        let empty = data(&["main"], &[(&[0], 10)], &[]);
        assert!(matches!(differential_svg(&empty), Err(FlameError::Empty)));
        let bad = data(&["main"], &[], &[(&[0, 7], 1)]);
        let err = differential_svg(&bad).unwrap_err();
        assert!(err.to_string().contains("frame 7"), "{err}");
    }
}

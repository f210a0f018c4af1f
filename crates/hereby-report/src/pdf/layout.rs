//! Markdown events laid out on A4 pages: blocks stacked top to bottom, text wrapped greedily by
//! the glyphs' real advances, page breaks, and the footer with page numbers drawn last.
//!
//! Every glyph is shaped once and every line is broken in one pass over its glyphs, so the time
//! taken grows linearly with the document.

use std::ops::Range;

use pdf_writer::{Content, Name, Str};
use pulldown_cmark::{Alignment, Event, HeadingLevel, Tag, TagEnd};

use super::fonts::{FontId, Fonts, Usage};
use crate::{ReportMeta, state_label};

pub(super) const PAGE_WIDTH: f32 = 595.28;
pub(super) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const MARGIN_TOP: f32 = 56.0;
const MARGIN_BOTTOM: f32 = 36.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
/// However deep lists and quotes nest, text keeps at least this width.
const MIN_TEXT_WIDTH: f32 = 160.0;

const BODY: f32 = 10.0;
const BODY_LEADING: f32 = 14.0;
const CODE: f32 = 8.5;
const CODE_LEADING: f32 = 11.5;
const CODE_PAD: f32 = 4.0;
const CELL: f32 = 9.0;
const CELL_LEADING: f32 = 12.0;
const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 3.0;
const FOOTER: f32 = 7.0;
const FOOTER_LEADING: f32 = 9.0;
const PAGE_NUMBER_WIDTH: f32 = 72.0;

const PARAGRAPH_GAP: f32 = 7.0;
const ITEM_GAP: f32 = 2.0;
const LIST_INDENT: f32 = 18.0;
const QUOTE_INDENT: f32 = 14.0;

pub(super) const FONT_NAMES: [&[u8]; 4] = [b"F0", b"F1", b"F2", b"F3"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Color {
    Ink,
    Muted,
    Link,
    Rule,
    Tint,
}

impl Color {
    fn rgb(self) -> (f32, f32, f32) {
        match self {
            Color::Ink => (0.11, 0.14, 0.17),
            Color::Muted => (0.36, 0.40, 0.44),
            Color::Link => (0.10, 0.34, 0.69),
            Color::Rule => (0.72, 0.75, 0.79),
            Color::Tint => (0.94, 0.95, 0.96),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    font: FontId,
    color: Color,
    strike: bool,
    /// Inline code: drawn on a tinted background.
    code: bool,
    /// 1-based index into the document's links; 0 for none.
    link: u32,
}

impl Style {
    const fn plain(font: FontId, color: Color) -> Self {
        Style {
            font,
            color,
            strike: false,
            code: false,
            link: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ink,
    /// A space: where lines may break, dropped at the end of a line.
    Space,
    /// A forced line break.
    Break,
}

/// One positioned-to-be glyph: the face that has it (after fallback), its advance in points.
#[derive(Debug, Clone, Copy)]
struct G {
    gid: u16,
    font: FontId,
    kind: Kind,
    advance: f32,
    style: Style,
}

/// A heading's place, for the PDF outline (bookmarks).
pub(super) struct OutlineEntry {
    pub(super) level: u8,
    pub(super) title: String,
    pub(super) page: usize,
    pub(super) top: f32,
}

/// A finished page: its content stream and the link areas on it.
pub(super) struct PageOut {
    pub(super) content: Content,
    /// (x1, y1, x2, y2) and 1-based link index.
    pub(super) links: Vec<([f32; 4], u32)>,
    fill: Option<Color>,
    font: Option<(FontId, f32)>,
}

impl PageOut {
    fn new() -> Self {
        PageOut {
            content: Content::new(),
            links: Vec::new(),
            fill: None,
            font: None,
        }
    }

    fn set_fill(&mut self, color: Color) {
        if self.fill != Some(color) {
            let (r, g, b) = color.rgb();
            self.content.set_fill_rgb(r, g, b);
            self.fill = Some(color);
        }
    }

    fn rect(&mut self, color: Color, x: f32, y: f32, width: f32, height: f32) {
        self.set_fill(color);
        self.content.rect(x, y, width, height).fill_nonzero();
    }
}

/// What a laid-out document hands to the PDF writer.
pub(super) struct Laid {
    pub(super) pages: Vec<PageOut>,
    pub(super) usage: Usage,
    pub(super) links: Vec<String>,
    pub(super) outline: Vec<OutlineEntry>,
}

struct ListLevel {
    next_number: Option<u64>,
}

#[derive(Default)]
struct TableBuild {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<Vec<G>>>,
    header_rows: usize,
    row: Vec<Vec<G>>,
}

struct OpenLink {
    index: u32,
    url: String,
    text: String,
}

pub(super) struct Layout<'f> {
    fonts: &'f Fonts,
    usage: Usage,
    pages: Vec<PageOut>,
    /// The page being drawn on: the last one, except while the footers are drawn.
    target: usize,
    links: Vec<String>,
    outline: Vec<OutlineEntry>,

    /// Top of the free space on the current page.
    y: f32,
    /// Lowest point text may reach (above the footer).
    bottom: f32,
    /// Nothing placed on the current page yet.
    fresh: bool,
    /// Vertical space owed before the next block (collapsing: the largest request wins).
    pending_space: f32,
    indents: Vec<f32>,
    quote_bars: Vec<f32>,
    lists: Vec<ListLevel>,
    marker: Option<Vec<G>>,

    inline: Vec<G>,
    inline_size: f32,
    base_bold: bool,
    bold: u32,
    italic: u32,
    strike: u32,
    open_links: Vec<OpenLink>,
    image: Option<String>,
    heading: Option<(u8, String)>,
    code: Option<String>,
    table: Option<TableBuild>,

    footer: Vec<G>,
    footer_lines: Vec<Range<usize>>,
    lines: Vec<Range<usize>>,
    bytes: Vec<u8>,
}

impl<'f> Layout<'f> {
    pub(super) fn new(fonts: &'f Fonts, footer: &str) -> Self {
        let mut layout = Layout {
            fonts,
            usage: Usage::new(fonts),
            pages: Vec::new(),
            target: 0,
            links: Vec::new(),
            outline: Vec::new(),
            y: 0.0,
            bottom: MARGIN_BOTTOM,
            fresh: true,
            pending_space: 0.0,
            indents: Vec::new(),
            quote_bars: Vec::new(),
            lists: Vec::new(),
            marker: None,
            inline: Vec::new(),
            inline_size: BODY,
            base_bold: false,
            bold: 0,
            italic: 0,
            strike: 0,
            open_links: Vec::new(),
            image: None,
            heading: None,
            code: None,
            table: None,
            footer: Vec::new(),
            footer_lines: Vec::new(),
            lines: Vec::new(),
            bytes: Vec::new(),
        };
        let mut glyphs = Vec::new();
        layout.shape(
            &mut glyphs,
            footer,
            Style::plain(FontId::Regular, Color::Muted),
            FOOTER,
        );
        let mut lines = Vec::new();
        break_lines(&glyphs, TEXT_WIDTH - PAGE_NUMBER_WIDTH, &mut lines);
        layout.bottom = MARGIN_BOTTOM + lines.len() as f32 * FOOTER_LEADING + 14.0;
        layout.footer = glyphs;
        layout.footer_lines = lines;
        layout.new_page();
        layout
    }

    // ----- shaping -------------------------------------------------------------------------

    /// Appends the glyphs for `text`; spaces, tabs and newlines become break opportunities,
    /// other control characters are dropped.
    fn shape(&mut self, out: &mut Vec<G>, text: &str, style: Style, size: f32) {
        for c in text.chars() {
            let (kind, c) = match c {
                ' ' | '\t' | '\n' | '\r' => (Kind::Space, ' '),
                c if c.is_control() => continue,
                c => (Kind::Ink, c),
            };
            let mapped = self.fonts.map(style.font, c);
            self.usage.record(&mapped);
            out.push(G {
                gid: mapped.gid,
                font: mapped.font,
                kind,
                advance: mapped.advance * size,
                style,
            });
        }
    }

    fn push_inline(&mut self, text: &str, style: Style) {
        let mut inline = std::mem::take(&mut self.inline);
        self.shape(&mut inline, text, style, self.inline_size);
        self.inline = inline;
    }

    fn push_break(&mut self) {
        if let Some(space) = self.space_glyph(self.inline_size) {
            self.inline.push(G {
                kind: Kind::Break,
                advance: 0.0,
                ..space
            });
        }
    }

    fn space_glyph(&mut self, size: f32) -> Option<G> {
        let mut one = Vec::with_capacity(1);
        self.shape(&mut one, " ", self.style(), size);
        one.pop()
    }

    /// The style of inline text at this point of the document.
    fn style(&self) -> Style {
        let bold = self.base_bold || self.bold > 0;
        let font = if bold {
            FontId::Bold
        } else if self.italic > 0 {
            FontId::Italic
        } else {
            FontId::Regular
        };
        let link = self.open_links.last().map_or(0, |l| l.index);
        let color = if self.image.is_some() {
            Color::Muted
        } else if link != 0 {
            Color::Link
        } else {
            Color::Ink
        };
        Style {
            font,
            color,
            strike: self.strike > 0,
            code: false,
            link,
        }
    }

    /// Registers a link target; only web and mail links become clickable.
    fn register_link(&mut self, url: &str) -> u32 {
        let lower = url.trim().to_ascii_lowercase();
        if ["http://", "https://", "mailto:"]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
        {
            self.links.push(url.trim().to_owned());
            self.links.len() as u32
        } else {
            0
        }
    }

    /// Inline text: plain text, with bare http(s) URLs made into links.
    fn text(&mut self, text: &str) {
        if let Some(code) = &mut self.code {
            code.push_str(text);
            return;
        }
        if let Some((_, heading)) = &mut self.heading {
            heading.push_str(text);
        }
        if let Some(link) = self.open_links.last_mut() {
            link.text.push_str(text);
        }
        let style = self.style();
        if style.link != 0 || self.image.is_some() {
            self.push_inline(text, style);
            return;
        }
        let mut rest = text;
        while let Some(url) = find_bare_url(rest) {
            self.push_inline(&rest[..url.start], style);
            let link = self.register_link(&rest[url.clone()]);
            let linked = Style {
                color: Color::Link,
                link,
                ..style
            };
            self.push_inline(&rest[url.clone()], linked);
            rest = &rest[url.end..];
        }
        self.push_inline(rest, style);
    }

    // ----- pages and vertical space --------------------------------------------------------

    fn new_page(&mut self) {
        self.pages.push(PageOut::new());
        self.target = self.pages.len() - 1;
        self.y = PAGE_HEIGHT - MARGIN_TOP;
        self.fresh = true;
    }

    fn page(&mut self) -> &mut PageOut {
        // `new` starts the first page and `target` only ever names an existing one.
        &mut self.pages[self.target]
    }

    fn left(&self) -> f32 {
        let indent: f32 = self.indents.iter().sum();
        MARGIN_X + indent.min(TEXT_WIDTH - MIN_TEXT_WIDTH)
    }

    fn width(&self) -> f32 {
        MARGIN_X + TEXT_WIDTH - self.left()
    }

    fn want_space(&mut self, space: f32) {
        self.pending_space = self.pending_space.max(space);
    }

    /// Starts a block: pays the owed space, or starts a new page when the space and the first
    /// `keep` points of the block do not fit.
    fn begin_block(&mut self, keep: f32) {
        let space = std::mem::take(&mut self.pending_space);
        if self.fresh {
            return;
        }
        if self.y - space - keep < self.bottom {
            self.new_page();
        } else {
            let top = self.y;
            self.draw_quote_bars(top, space);
            self.y -= space;
        }
    }

    /// Takes `height` points for one line (a new page if they do not fit) and returns its top.
    fn line_box(&mut self, height: f32) -> f32 {
        if self.y - height < self.bottom && !self.fresh {
            self.new_page();
        }
        let top = self.y;
        self.y -= height;
        self.fresh = false;
        self.draw_quote_bars(top, height);
        top
    }

    fn draw_quote_bars(&mut self, top: f32, height: f32) {
        if height <= 0.0 || self.quote_bars.is_empty() {
            return;
        }
        let bars = std::mem::take(&mut self.quote_bars);
        for &x in &bars {
            self.page().rect(Color::Rule, x, top - height, 2.5, height);
        }
        self.quote_bars = bars;
    }

    fn baseline(top: f32, size: f32, leading: f32) -> f32 {
        top - (leading - size) / 2.0 - 0.8 * size
    }

    // ----- drawing text --------------------------------------------------------------------

    /// Draws one line of glyphs starting at `x` on `baseline`.
    fn emit(&mut self, line: &[G], x: f32, baseline: f32, size: f32) {
        let mut bytes = std::mem::take(&mut self.bytes);
        let page = self.page();

        // Backgrounds of inline code first, so the text lies on top.
        let mut spans: Vec<(f32, f32, Style)> = Vec::new();
        let mut pen = x;
        for g in line {
            match spans.last_mut() {
                Some(span) if span.2 == g.style => span.1 += g.advance,
                _ => spans.push((pen, pen + g.advance, g.style)),
            }
            pen += g.advance;
        }
        for &(x1, x2, style) in &spans {
            if style.code {
                page.rect(
                    Color::Tint,
                    x1 - 1.0,
                    baseline - 0.27 * size,
                    x2 - x1 + 2.0,
                    1.12 * size,
                );
            }
        }

        page.content.begin_text();
        let mut pen = x;
        let mut at = 0;
        while at < line.len() {
            let (font, color) = (line[at].font, line[at].style.color);
            let start_x = pen;
            bytes.clear();
            while at < line.len() && line[at].font == font && line[at].style.color == color {
                bytes.extend_from_slice(&line[at].gid.to_be_bytes());
                pen += line[at].advance;
                at += 1;
            }
            page.set_fill(color);
            if page.font != Some((font, size)) {
                page.content.set_font(Name(FONT_NAMES[font as usize]), size);
                page.font = Some((font, size));
            }
            page.content
                .set_text_matrix([1.0, 0.0, 0.0, 1.0, start_x, baseline]);
            page.content.show(Str(&bytes));
        }
        page.content.end_text();

        for &(x1, x2, style) in &spans {
            if style.strike {
                page.rect(style.color, x1, baseline + 0.3 * size, x2 - x1, 0.06 * size);
            }
            if style.link != 0 {
                let rect = [x1, baseline - 0.25 * size, x2, baseline + 0.9 * size];
                match page.links.last_mut() {
                    Some((last, index)) if *index == style.link && (last[2] - x1).abs() < 0.01 => {
                        last[2] = x2;
                    }
                    _ => page.links.push((rect, style.link)),
                }
            }
        }
        self.bytes = bytes;
    }

    /// The pending list marker, drawn left of the item's first line.
    fn draw_marker(&mut self, baseline: f32) {
        if let Some(marker) = self.marker.take() {
            let width: f32 = marker.iter().map(|g| g.advance).sum();
            let x = self.left() - width - 5.0;
            self.emit(&marker, x, baseline, BODY);
        }
    }

    /// Lays out `glyphs` as wrapped lines at the current indent.
    fn paragraph(&mut self, glyphs: &[G], size: f32, leading: f32) {
        let x = self.left();
        let mut lines = std::mem::take(&mut self.lines);
        break_lines(glyphs, self.width(), &mut lines);
        for range in lines.iter().cloned() {
            let top = self.line_box(leading);
            let baseline = Self::baseline(top, size, leading);
            self.draw_marker(baseline);
            self.emit(&glyphs[range], x, baseline, size);
        }
        self.lines = lines;
    }

    /// Ends the inline content gathered so far as a paragraph.
    fn flush_inline(&mut self, space_after: f32) {
        if self.inline.iter().all(|g| g.kind != Kind::Ink) && self.marker.is_none() {
            self.inline.clear();
            return;
        }
        let glyphs = std::mem::take(&mut self.inline);
        let size = self.inline_size;
        let leading = size * 1.4;
        self.begin_block(leading);
        self.paragraph(&glyphs, size, leading);
        self.inline = glyphs;
        self.inline.clear();
        self.want_space(space_after);
    }

    // ----- the title block and the document ------------------------------------------------

    pub(super) fn title_block(&mut self, meta: &ReportMeta) {
        let mut glyphs = Vec::new();
        self.shape(
            &mut glyphs,
            &meta.title,
            Style::plain(FontId::Bold, Color::Ink),
            18.0,
        );
        self.begin_block(0.0);
        self.paragraph(&glyphs, 18.0, 23.0);
        glyphs.clear();
        let line = format!(
            "{} · Post-mortem · State: {} · Revision {} · Generated {}",
            meta.incident,
            state_label(&meta.state),
            meta.revision,
            crate::generated_label(meta)
        );
        self.shape(
            &mut glyphs,
            &line,
            Style::plain(FontId::Regular, Color::Muted),
            9.0,
        );
        self.y -= 3.0;
        self.paragraph(&glyphs, 9.0, 13.0);
        let top = self.line_box(10.0);
        let (x, width) = (self.left(), self.width());
        self.page().rect(Color::Ink, x, top - 6.0, width, 1.2);
        self.want_space(10.0);
    }

    pub(super) fn markdown<'a>(&mut self, events: impl Iterator<Item = Event<'a>>) {
        for event in events {
            match event {
                Event::Start(tag) => self.start(tag),
                Event::End(tag) => self.end(tag),
                Event::Text(text) => self.text(&text),
                Event::Code(code) => {
                    if let Some((_, heading)) = &mut self.heading {
                        heading.push_str(&code);
                    }
                    if let Some(link) = self.open_links.last_mut() {
                        link.text.push_str(&code);
                    }
                    let style = Style {
                        font: FontId::Mono,
                        code: true,
                        ..self.style()
                    };
                    self.push_inline(&code, style);
                }
                Event::Html(html) | Event::InlineHtml(html) => {
                    if let Some(code) = &mut self.code {
                        code.push_str(&html);
                    } else if is_line_break_tag(&html) {
                        self.push_break();
                    } else {
                        let style = Style {
                            color: Color::Muted,
                            ..self.style()
                        };
                        self.push_inline(&html, style);
                    }
                }
                Event::InlineMath(math) | Event::DisplayMath(math) => self.text(&math),
                Event::FootnoteReference(label) => self.text(&format!("[{label}]")),
                Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
                Event::SoftBreak => self.text(" "),
                Event::HardBreak => self.push_break(),
                Event::Rule => self.rule(),
            }
        }
        self.flush_inline(0.0);
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph if self.table.is_none() => self.flush_inline(ITEM_GAP),
            Tag::Heading { level, .. } => {
                self.flush_inline(PARAGRAPH_GAP);
                let (level, size, before) = match level {
                    HeadingLevel::H1 => (1, 17.0, 16.0),
                    HeadingLevel::H2 => (2, 14.0, 14.0),
                    HeadingLevel::H3 => (3, 12.0, 11.0),
                    _ => (4, 10.5, 9.0),
                };
                self.want_space(before);
                self.heading = Some((level, String::new()));
                self.inline_size = size;
                self.base_bold = true;
            }
            Tag::BlockQuote(_) => {
                self.flush_inline(PARAGRAPH_GAP);
                self.want_space(PARAGRAPH_GAP);
                let bar = self.left() + 1.0;
                self.quote_bars.push(bar);
                self.indents.push(QUOTE_INDENT);
            }
            Tag::CodeBlock(_) | Tag::HtmlBlock => {
                self.flush_inline(PARAGRAPH_GAP);
                self.code = Some(String::new());
            }
            Tag::List(first) => {
                self.flush_inline(ITEM_GAP);
                if self.lists.is_empty() {
                    self.want_space(PARAGRAPH_GAP);
                }
                self.lists.push(ListLevel { next_number: first });
                self.indents.push(LIST_INDENT);
            }
            Tag::Item => {
                self.flush_inline(ITEM_GAP);
                let depth = self.lists.len();
                let text = match self.lists.last_mut() {
                    Some(ListLevel {
                        next_number: Some(n),
                    }) => {
                        let text = format!("{n}.");
                        *n = n.saturating_add(1);
                        text
                    }
                    _ => match depth {
                        0 | 1 => "•",
                        2 => "◦",
                        _ => "▪",
                    }
                    .to_owned(),
                };
                let mut marker = Vec::new();
                self.shape(
                    &mut marker,
                    &text,
                    Style::plain(FontId::Regular, Color::Ink),
                    BODY,
                );
                self.marker = Some(marker);
                self.want_space(ITEM_GAP);
                self.inline_size = BODY;
            }
            Tag::Table(alignments) => {
                self.flush_inline(PARAGRAPH_GAP);
                self.table = Some(TableBuild {
                    alignments,
                    ..TableBuild::default()
                });
            }
            Tag::TableHead => self.base_bold = true,
            Tag::TableRow => {}
            Tag::TableCell => {
                self.inline.clear();
                self.inline_size = CELL;
            }
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => {
                let index = self.register_link(&dest_url);
                self.open_links.push(OpenLink {
                    index,
                    url: dest_url.to_string(),
                    text: String::new(),
                });
            }
            Tag::Image { dest_url, .. } => {
                self.image = Some(dest_url.to_string());
                let style = self.style();
                self.push_inline("[image: ", style);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph if self.table.is_none() => {
                let gap = if self.lists.is_empty() {
                    PARAGRAPH_GAP
                } else {
                    ITEM_GAP + 2.0
                };
                self.flush_inline(gap);
            }
            TagEnd::Heading(_) => self.end_heading(),
            TagEnd::BlockQuote(_) => {
                self.flush_inline(PARAGRAPH_GAP);
                self.quote_bars.pop();
                self.indents.pop();
                self.want_space(PARAGRAPH_GAP);
            }
            TagEnd::CodeBlock | TagEnd::HtmlBlock => {
                let code = self.code.take().unwrap_or_default();
                self.code_block(&code);
            }
            TagEnd::List(_) => {
                self.flush_inline(ITEM_GAP);
                self.lists.pop();
                self.indents.pop();
                if self.lists.is_empty() {
                    self.want_space(PARAGRAPH_GAP);
                }
            }
            TagEnd::Item => {
                self.flush_inline(ITEM_GAP);
                if self.marker.is_some() {
                    self.begin_block(BODY_LEADING);
                    let top = self.line_box(BODY_LEADING);
                    self.draw_marker(Self::baseline(top, BODY, BODY_LEADING));
                }
            }
            TagEnd::TableHead => {
                self.base_bold = false;
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                    table.header_rows = table.rows.len();
                }
            }
            TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                }
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                if let Some(table) = &mut self.table {
                    table.row.push(cell);
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.table_block(table);
                }
                self.inline_size = BODY;
                self.want_space(PARAGRAPH_GAP);
            }
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                if let Some(link) = self.open_links.pop() {
                    let shown = link.text.trim();
                    let url = link.url.trim();
                    let repeats = shown == url || Some(shown) == url.strip_prefix("mailto:");
                    if !url.is_empty() && !url.starts_with('#') && !repeats {
                        let style = Style {
                            color: Color::Muted,
                            link: link.index,
                            ..self.style()
                        };
                        self.push_inline(&format!(" ({url})"), style);
                    }
                }
            }
            TagEnd::Image => {
                let style = self.style();
                self.push_inline("]", style);
                if let Some(url) = self.image.take().filter(|u| !u.trim().is_empty()) {
                    let link = self.register_link(&url);
                    let style = Style {
                        color: Color::Muted,
                        link,
                        ..self.style()
                    };
                    self.push_inline(&format!(" ({})", url.trim()), style);
                }
            }
            _ => {}
        }
    }

    fn end_heading(&mut self) {
        let Some((level, title)) = self.heading.take() else {
            return;
        };
        let glyphs = std::mem::take(&mut self.inline);
        let size = self.inline_size;
        let leading = size * 1.3;
        let mut lines = std::mem::take(&mut self.lines);
        break_lines(&glyphs, self.width(), &mut lines);
        let height = lines.len() as f32 * leading;
        self.lines = lines;
        // Keep the heading with the first lines under it.
        self.begin_block(height + 2.0 * BODY_LEADING);
        self.outline.push(OutlineEntry {
            level,
            title: title.trim().to_owned(),
            page: self.pages.len() - 1,
            top: self.y,
        });
        self.paragraph(&glyphs, size, leading);
        self.inline = glyphs;
        self.inline.clear();
        self.inline_size = BODY;
        self.base_bold = false;
        self.want_space(match level {
            1 | 2 => 6.0,
            _ => 4.0,
        });
    }

    fn rule(&mut self) {
        self.flush_inline(PARAGRAPH_GAP);
        self.want_space(PARAGRAPH_GAP);
        self.begin_block(12.0);
        let top = self.line_box(12.0);
        self.draw_marker(Self::baseline(top, BODY, 12.0));
        let (x, width) = (self.left(), self.width());
        self.page().rect(Color::Rule, x, top - 6.0, width, 0.75);
        self.want_space(PARAGRAPH_GAP);
    }

    fn code_block(&mut self, code: &str) {
        let code = code.strip_suffix('\n').unwrap_or(code);
        self.want_space(PARAGRAPH_GAP);
        self.begin_block(CODE_PAD + 2.0 * CODE_LEADING);
        let (x, width) = (self.left(), self.width());
        let style = Style::plain(FontId::Mono, Color::Ink);
        let mut glyphs = Vec::new();
        let mut lines = Vec::new();
        let mut expanded = String::new();

        let top = self.line_box(CODE_PAD);
        self.page()
            .rect(Color::Tint, x, top - CODE_PAD, width, CODE_PAD);
        for source in code.split('\n') {
            expanded.clear();
            for c in source.chars() {
                if c == '\t' {
                    let column = expanded.chars().count();
                    expanded.extend(std::iter::repeat_n(' ', 4 - column % 4));
                } else {
                    expanded.push(c);
                }
            }
            glyphs.clear();
            self.shape(&mut glyphs, &expanded, style, CODE);
            // Indentation matters in code: spaces stay visible glyphs, breaks still allowed.
            break_lines(&glyphs, width - 12.0, &mut lines);
            for range in lines.iter().cloned() {
                let top = self.line_box(CODE_LEADING);
                self.page()
                    .rect(Color::Tint, x, top - CODE_LEADING, width, CODE_LEADING);
                let baseline = Self::baseline(top, CODE, CODE_LEADING);
                self.draw_marker(baseline);
                self.emit(&glyphs[range], x + 6.0, baseline, CODE);
            }
        }
        let top = self.line_box(CODE_PAD);
        self.page()
            .rect(Color::Tint, x, top - CODE_PAD, width, CODE_PAD);
        self.want_space(PARAGRAPH_GAP);
    }

    // ----- tables --------------------------------------------------------------------------

    fn table_block(&mut self, table: TableBuild) {
        let columns = table
            .rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(table.alignments.len()))
            .max()
            .unwrap_or(0);
        if columns == 0 || table.rows.is_empty() {
            return;
        }
        let available = self.width();
        let widths = column_widths(&table.rows, columns, available);
        let x = self.left();

        let laid: Vec<Vec<Vec<Range<usize>>>> = table
            .rows
            .iter()
            .map(|row| {
                (0..columns)
                    .map(|c| {
                        let mut lines = Vec::new();
                        if let Some(cell) = row.get(c) {
                            break_lines(cell, widths[c] - 2.0 * CELL_PAD_X, &mut lines);
                        }
                        lines
                    })
                    .collect()
            })
            .collect();
        let height = |r: usize| {
            let lines = laid[r].iter().map(Vec::len).max().unwrap_or(0).max(1);
            lines as f32 * CELL_LEADING + 2.0 * CELL_PAD_Y
        };
        let header_height: f32 = (0..table.header_rows).map(height).sum();
        let first_body = if table.rows.len() > table.header_rows {
            height(table.header_rows)
        } else {
            0.0
        };
        let repeat_header = header_height < (PAGE_HEIGHT - MARGIN_TOP - self.bottom) / 3.0;
        self.want_space(PARAGRAPH_GAP);
        self.begin_block(header_height + first_body.min(3.0 * CELL_LEADING));

        let geometry = TableGeometry {
            x,
            widths: &widths,
            alignments: &table.alignments,
        };
        for r in 0..table.rows.len() {
            let header = r < table.header_rows;
            self.table_row(&geometry, &table.rows[r], &laid[r], header, |layout| {
                // After a page break inside the body, the header rows come again (unless they
                // would fill most of a page themselves).
                if !header && repeat_header {
                    let header_rows = table.rows.iter().zip(&laid).take(table.header_rows);
                    for (cells, lines) in header_rows {
                        layout.table_row(&geometry, cells, lines, true, |_| {});
                    }
                }
            });
        }
    }

    fn table_row(
        &mut self,
        geometry: &TableGeometry<'_>,
        cells: &[Vec<G>],
        lines: &[Vec<Range<usize>>],
        header: bool,
        mut on_new_page: impl FnMut(&mut Self),
    ) {
        let total_lines = lines.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let full_height = total_lines as f32 * CELL_LEADING + 2.0 * CELL_PAD_Y;
        let page_room = PAGE_HEIGHT - MARGIN_TOP - self.bottom;
        let mut done = 0;
        let mut just_moved = false;
        while done < total_lines {
            let room = self.y - self.bottom;
            let fits = ((room - 2.0 * CELL_PAD_Y) / CELL_LEADING).floor().max(0.0) as usize;
            let whole_row_fits_a_page = done == 0 && full_height <= page_room;
            let must_move = fits == 0 || (whole_row_fits_a_page && fits < total_lines);
            if must_move && !self.fresh && !just_moved {
                self.new_page();
                on_new_page(self);
                just_moved = true;
                continue;
            }
            just_moved = false;
            let count = fits.clamp(1, total_lines - done);
            let height = count as f32 * CELL_LEADING + 2.0 * CELL_PAD_Y;
            let top = self.line_box(height);
            let total_width: f32 = geometry.widths.iter().sum();
            if header {
                self.page()
                    .rect(Color::Tint, geometry.x, top - height, total_width, height);
            }
            let first_baseline = Self::baseline(top - CELL_PAD_Y, CELL, CELL_LEADING);
            self.draw_marker(first_baseline);
            let mut cell_x = geometry.x;
            for (c, width) in geometry.widths.iter().enumerate() {
                let (Some(cell), Some(cell_lines)) = (cells.get(c), lines.get(c)) else {
                    cell_x += width;
                    continue;
                };
                let end = (done + count).min(cell_lines.len());
                for (i, range) in cell_lines.get(done..end).unwrap_or(&[]).iter().enumerate() {
                    let glyphs = &cell[range.clone()];
                    let line_width: f32 = glyphs.iter().map(|g| g.advance).sum();
                    let inner = width - 2.0 * CELL_PAD_X;
                    let offset = match geometry.alignments.get(c) {
                        Some(Alignment::Right) => inner - line_width,
                        Some(Alignment::Center) => (inner - line_width) / 2.0,
                        _ => 0.0,
                    };
                    let baseline = first_baseline - i as f32 * CELL_LEADING;
                    self.emit(
                        glyphs,
                        cell_x + CELL_PAD_X + offset.max(0.0),
                        baseline,
                        CELL,
                    );
                }
                cell_x += width;
            }
            // The grid: top and bottom of this piece of the row, and the column edges.
            let page = self.page();
            page.rect(Color::Rule, geometry.x, top - 0.25, total_width, 0.5);
            page.rect(
                Color::Rule,
                geometry.x,
                top - height - 0.25,
                total_width,
                0.5,
            );
            let mut edge = geometry.x;
            page.rect(Color::Rule, edge - 0.25, top - height, 0.5, height);
            for width in geometry.widths {
                edge += width;
                page.rect(Color::Rule, edge - 0.25, top - height, 0.5, height);
            }
            done += count;
        }
    }

    // ----- finishing -----------------------------------------------------------------------

    /// Draws the footer and page numbers on every page and hands the pages over.
    pub(super) fn finish(mut self) -> Laid {
        self.flush_inline(0.0);
        let total = self.pages.len();
        let footer = std::mem::take(&mut self.footer);
        let footer_lines = std::mem::take(&mut self.footer_lines);
        let footer_top = MARGIN_BOTTOM + footer_lines.len() as f32 * FOOTER_LEADING;
        let mut number = Vec::new();
        for index in 0..total {
            self.target = index;
            self.page()
                .rect(Color::Rule, MARGIN_X, footer_top + 5.0, TEXT_WIDTH, 0.5);
            for (i, range) in footer_lines.iter().enumerate() {
                let baseline = footer_top - (i as f32 + 1.0) * FOOTER_LEADING + 2.5;
                self.emit(&footer[range.clone()], MARGIN_X, baseline, FOOTER);
            }
            number.clear();
            let label = format!("Page {} of {}", index + 1, total);
            self.shape(
                &mut number,
                &label,
                Style::plain(FontId::Regular, Color::Muted),
                FOOTER,
            );
            let width: f32 = number.iter().map(|g| g.advance).sum();
            self.emit(
                &number,
                MARGIN_X + TEXT_WIDTH - width,
                footer_top - FOOTER_LEADING + 2.5,
                FOOTER,
            );
        }
        Laid {
            pages: self.pages,
            usage: self.usage,
            links: self.links,
            outline: self.outline,
        }
    }
}

struct TableGeometry<'a> {
    x: f32,
    widths: &'a [f32],
    alignments: &'a [Alignment],
}

/// Column widths for a table `available` points wide: natural widths when they fit; else
/// every column gets at least its longest word (capped, so one long URL cannot starve the
/// rest) and the remaining room is shared by how much more each column would like.
fn column_widths(rows: &[Vec<Vec<G>>], columns: usize, available: f32) -> Vec<f32> {
    let pad = 2.0 * CELL_PAD_X;
    let cap = available * 0.3;
    let mut natural = vec![pad + 8.0; columns];
    let mut minimum = vec![pad + 8.0; columns];
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(columns) {
            let (line, word) = cell_extents(cell);
            natural[c] = natural[c].max(line + pad);
            minimum[c] = minimum[c].max(word.min(cap) + pad);
        }
    }
    let natural_sum: f32 = natural.iter().sum();
    if natural_sum <= available {
        return natural;
    }
    let minimum_sum: f32 = minimum.iter().sum();
    if minimum_sum >= available {
        return minimum
            .iter()
            .map(|m| m * available / minimum_sum)
            .collect();
    }
    let wish: f32 = natural.iter().zip(&minimum).map(|(n, m)| n - m).sum();
    let spare = available - minimum_sum;
    natural
        .iter()
        .zip(&minimum)
        .map(|(n, m)| m + (n - m) * spare / wish)
        .collect()
}

/// A cell's widest unbroken line and its widest word.
fn cell_extents(cell: &[G]) -> (f32, f32) {
    let (mut line, mut word, mut widest_line, mut widest_word) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for g in cell {
        match g.kind {
            Kind::Break => {
                line = 0.0;
                word = 0.0;
            }
            Kind::Space => {
                line += g.advance;
                word = 0.0;
            }
            Kind::Ink => {
                line += g.advance;
                word += g.advance;
            }
        }
        widest_line = widest_line.max(line);
        widest_word = widest_word.max(word);
    }
    (widest_line, widest_word)
}

/// Greedy line breaking: as many words as fit on each line, breaking at spaces; a word wider
/// than a line is broken between characters. Spaces at a break are dropped. `lines` is
/// replaced by the glyph ranges of the lines (at least one, possibly empty).
fn break_lines(glyphs: &[G], width: f32, lines: &mut Vec<Range<usize>>) {
    lines.clear();
    let mut start = 0;
    let mut used = 0.0f32;
    let mut last_space: Option<usize> = None;
    let mut i = 0;
    while i < glyphs.len() {
        let g = &glyphs[i];
        match g.kind {
            Kind::Break => {
                lines.push(trimmed(glyphs, start, i));
                start = i + 1;
                used = 0.0;
                last_space = None;
                i += 1;
            }
            Kind::Space => {
                last_space = Some(i);
                used += g.advance;
                i += 1;
            }
            Kind::Ink if used + g.advance > width && i > start => {
                let at = match last_space {
                    Some(space) => {
                        lines.push(trimmed(glyphs, start, space));
                        let mut next = space + 1;
                        while next < i && glyphs[next].kind == Kind::Space {
                            next += 1;
                        }
                        next
                    }
                    None => {
                        lines.push(trimmed(glyphs, start, i));
                        i
                    }
                };
                start = at;
                used = glyphs[start..i].iter().map(|g| g.advance).sum();
                last_space = None;
            }
            Kind::Ink => {
                used += g.advance;
                i += 1;
            }
        }
    }
    if start < glyphs.len() || lines.is_empty() {
        lines.push(trimmed(glyphs, start, glyphs.len()));
    }
}

/// `start..end` without trailing spaces.
fn trimmed(glyphs: &[G], start: usize, mut end: usize) -> Range<usize> {
    while end > start && glyphs[end - 1].kind == Kind::Space {
        end -= 1;
    }
    start..end
}

/// The next bare http(s) URL in `text`: it starts a word and runs to the next space, without
/// trailing punctuation.
fn find_bare_url(text: &str) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(found) = text[from..].find("http") {
        let start = from + found;
        let rest = &text[start..];
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([<\"'".contains(c));
        let scheme = rest.starts_with("https://") || rest.starts_with("http://");
        if starts_word && scheme {
            let mut end = start
                + rest
                    .find(|c: char| c.is_whitespace() || "<>\"".contains(c))
                    .unwrap_or(rest.len());
            while let Some(last) = text[start..end].chars().next_back() {
                let opens = text[start..end].contains('(');
                if ".,;:!?'".contains(last) || (last == ')' && !opens) {
                    end -= last.len_utf8();
                } else {
                    break;
                }
            }
            if end > start + "https://".len() - 1 {
                return Some(start..end);
            }
        }
        from = start + "http".len();
    }
    None
}

fn is_line_break_tag(html: &str) -> bool {
    let compact: String = html
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    compact == "<br>" || compact == "<br/>"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(text: &str) -> Vec<G> {
        // Every character 1 point wide: the breaking logic, not the font, is under test.
        text.chars()
            .map(|c| G {
                gid: 1,
                font: FontId::Regular,
                kind: match c {
                    ' ' => Kind::Space,
                    '\n' => Kind::Break,
                    _ => Kind::Ink,
                },
                advance: 1.0,
                style: Style::plain(FontId::Regular, Color::Ink),
            })
            .collect()
    }

    fn broken(text: &str, width: f32) -> Vec<String> {
        let g = glyphs(text);
        let mut lines = Vec::new();
        break_lines(&g, width, &mut lines);
        let chars: Vec<char> = text.chars().collect();
        lines
            .iter()
            .map(|r| chars[r.clone()].iter().collect())
            .collect()
    }

    #[test]
    fn lines_break_at_spaces_and_long_words_between_characters() {
        assert_eq!(broken("aa bb cc", 5.0), ["aa bb", "cc"]);
        assert_eq!(broken("aa  bb", 2.0), ["aa", "bb"]);
        assert_eq!(broken("abcdefg", 3.0), ["abc", "def", "g"]);
        assert_eq!(broken("a\nb c", 10.0), ["a", "b c"]);
        assert_eq!(broken("", 10.0), [""]);
        assert_eq!(broken("x", 0.0), ["x"]);
    }

    #[test]
    fn bare_urls_are_found_without_their_trailing_punctuation() {
        let find = |t: &'static str| find_bare_url(t).map(|r| &t[r]);
        assert_eq!(
            find("see https://tracker.example/T-1."),
            Some("https://tracker.example/T-1")
        );
        assert_eq!(find("(http://a.example/x)"), Some("http://a.example/x"));
        assert_eq!(find("xhttp://a.example"), None);
        assert_eq!(find("the http:// scheme"), None);
        assert_eq!(find("https"), None);
    }
}

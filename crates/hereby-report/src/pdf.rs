//! A post-mortem as a PDF, laid out here and set in fonts embedded in the binary.
//!
//! `layout` turns Markdown events into page content streams; `fonts` maps characters to
//! glyphs and subsets the embedded DejaVu faces; this module writes the PDF objects: pages,
//! Type 0 fonts with ToUnicode maps (so text can be searched and extracted), link annotations
//! and an outline of the headings.

mod fonts;
mod layout;

use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::{
    ActionType, AnnotationType, CidFontType, FontFlags, PageMode, SystemInfo, UnicodeCmap,
};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::{ReportMeta, footer_line, markdown_events};
use fonts::{FontId, Fonts};
use layout::{FONT_NAMES, Laid, Layout, OutlineEntry, PAGE_HEIGHT, PAGE_WIDTH};

/// The largest Markdown [`pdf`] accepts: ten times the longest post-mortem expected.
pub const MAX_MARKDOWN_BYTES: usize = 16 * 1024 * 1024;

/// Why a PDF could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PdfError {
    #[error("the post-mortem is {len} bytes of Markdown; a PDF is made of at most {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the embedded font {font} cannot be used: {reason}")]
    Font { font: &'static str, reason: String },
}

/// An A4 PDF of the post-mortem: a title block (title, incident, state, revision), then the
/// Markdown (headings, paragraphs with bold, italic, strikethrough, inline code and links, lists
/// with nesting, GFM tables, code blocks, block quotes, rules), wrapped by the glyphs' real
/// widths, with page numbers and [`footer_line`] on every page. Links show their target in
/// parentheses and are clickable. The fonts are subset DejaVu faces, so the text can be
/// searched and extracted; characters they lack come out as '?'.
pub fn pdf(meta: &ReportMeta, markdown: &str) -> Result<Vec<u8>, PdfError> {
    if markdown.len() > MAX_MARKDOWN_BYTES {
        return Err(PdfError::TooLarge {
            len: markdown.len(),
            max: MAX_MARKDOWN_BYTES,
        });
    }
    let fonts = fonts::fonts()?;
    let mut layout = Layout::new(fonts, &footer_line(meta));
    layout.title_block(meta);
    layout.markdown(markdown_events(markdown, &meta.title));
    write(fonts, meta, layout.finish())
}

const SYSTEM_INFO: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// Deflate level for streams: 6 is zlib's default; content streams compress ~5:1 either way.
const COMPRESSION: u8 = 6;

struct Refs(i32);

impl Refs {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

fn write(fonts: &Fonts, meta: &ReportMeta, laid: Laid) -> Result<Vec<u8>, PdfError> {
    let mut refs = Refs(0);
    let catalog = refs.next();
    let tree = refs.next();
    let info = refs.next();
    let mut pdf = Pdf::new();

    // Fonts: only the faces the document shows.
    let mut font_refs = Vec::new();
    for id in fonts.ids().filter(|&id| laid.usage.any(id)) {
        let type0 = refs.next();
        write_font(&mut pdf, &mut refs, fonts, &laid, id, type0)?;
        font_refs.push((id, type0));
    }

    let page_refs: Vec<Ref> = laid.pages.iter().map(|_| refs.next()).collect();
    let outline = write_outline(&mut pdf, &mut refs, &laid.outline, &page_refs);

    let mut catalog_writer = pdf.catalog(catalog);
    catalog_writer.pages(tree);
    if let Some(root) = outline {
        catalog_writer
            .outlines(root)
            .page_mode(PageMode::UseOutlines);
    }
    catalog_writer.finish();

    pdf.document_info(info)
        .title(TextStr(&meta.title))
        .subject(TextStr(&format!("Post-mortem of {}", meta.incident)))
        .creator(TextStr("hereby"))
        .producer(TextStr("hereby"));

    let mut pages = pdf.pages(tree);
    pages
        .kids(page_refs.iter().copied())
        .count(page_refs.len() as i32);
    let mut resources = pages.resources();
    let mut font_dict = resources.fonts();
    for (id, type0) in &font_refs {
        font_dict.pair(Name(FONT_NAMES[*id as usize]), *type0);
    }
    font_dict.finish();
    resources.finish();
    pages.finish();

    for (page, &page_ref) in laid.pages.into_iter().zip(&page_refs) {
        let content_ref = refs.next();
        let link_refs: Vec<Ref> = page.links.iter().map(|_| refs.next()).collect();
        let mut page_writer = pdf.page(page_ref);
        page_writer
            .parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .contents(content_ref);
        if !link_refs.is_empty() {
            page_writer.annotations(link_refs.iter().copied());
        }
        page_writer.finish();

        let content = compress_to_vec_zlib(&page.content.finish().into_vec(), COMPRESSION);
        pdf.stream(content_ref, &content)
            .filter(Filter::FlateDecode);

        for (([x1, y1, x2, y2], index), link_ref) in page.links.iter().zip(link_refs) {
            let Some(url) = laid.links.get((*index as usize).wrapping_sub(1)) else {
                continue;
            };
            let mut annotation = pdf.annotation(link_ref);
            annotation
                .subtype(AnnotationType::Link)
                .rect(Rect::new(*x1, *y1, *x2, *y2))
                .border(0.0, 0.0, 0.0, None);
            annotation
                .action()
                .action_type(ActionType::Uri)
                .uri(Str(url.as_bytes()));
        }
    }
    Ok(pdf.finish())
}

/// A Type 0 font with Identity-H encoding over a CIDFontType2 whose CIDs are glyph ids, the
/// subset TrueType program, widths of the used glyphs and a ToUnicode map.
fn write_font(
    pdf: &mut Pdf,
    refs: &mut Refs,
    fonts: &Fonts,
    laid: &Laid,
    id: FontId,
    type0: Ref,
) -> Result<(), PdfError> {
    let face = fonts.face(id);
    let used: Vec<(u16, char)> = laid.usage.used(id).collect();
    let program =
        fonts::subset(face, used.iter().map(|&(gid, _)| gid)).map_err(|reason| PdfError::Font {
            font: face.base_name,
            reason,
        })?;
    let base_name = format!("{}+{}", subset_tag(&used), face.base_name);
    let base_name = Name(base_name.as_bytes());
    let (cid, descriptor, file, to_unicode) = (refs.next(), refs.next(), refs.next(), refs.next());

    pdf.type0_font(type0)
        .base_font(base_name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);

    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(base_name)
        .system_info(SYSTEM_INFO)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let mut widths = cid_font.widths();
    let mut at = 0;
    while at < used.len() {
        let first = used[at].0;
        let mut run = Vec::new();
        while at < used.len() && usize::from(used[at].0) == usize::from(first) + run.len() {
            run.push(face.width(used[at].0));
            at += 1;
        }
        widths.consecutive(first, run);
    }
    widths.finish();
    cid_font.finish();

    let metrics = &face.metrics;
    let mut flags = FontFlags::SYMBOLIC;
    flags.set(FontFlags::FIXED_PITCH, metrics.monospaced);
    flags.set(FontFlags::ITALIC, metrics.italic_angle != 0.0);
    flags.set(FontFlags::FORCE_BOLD, metrics.bold);
    let [x1, y1, x2, y2] = metrics.bbox;
    pdf.font_descriptor(descriptor)
        .name(base_name)
        .flags(flags)
        .bbox(Rect::new(x1, y1, x2, y2))
        .italic_angle(metrics.italic_angle)
        .ascent(metrics.ascent)
        .descent(metrics.descent)
        .cap_height(metrics.cap_height)
        .stem_v(if metrics.bold { 140.0 } else { 80.0 })
        .font_file2(file);

    let compressed = compress_to_vec_zlib(&program, COMPRESSION);
    pdf.stream(file, &compressed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), program.len() as i32);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), SYSTEM_INFO);
    for &(gid, text) in &used {
        cmap.pair(gid, text);
    }
    let cmap = compress_to_vec_zlib(cmap.finish().as_slice(), COMPRESSION);
    pdf.stream(to_unicode, &cmap).filter(Filter::FlateDecode);
    Ok(())
}

/// The six capital letters that mark a subset font's name, derived from the glyphs it holds.
fn subset_tag(used: &[(u16, char)]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &(gid, _) in used {
        for byte in gid.to_be_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

/// Bookmarks for the headings, nested by level; returns the outline root if there are any.
fn write_outline(
    pdf: &mut Pdf,
    refs: &mut Refs,
    entries: &[OutlineEntry],
    page_refs: &[Ref],
) -> Option<Ref> {
    if entries.is_empty() {
        return None;
    }
    let root = refs.next();
    let item_refs: Vec<Ref> = entries.iter().map(|_| refs.next()).collect();
    // Each entry's parent: the nearest earlier entry of a smaller level.
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(entries.len());
    let mut stack: Vec<usize> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        while stack
            .last()
            .is_some_and(|&open| entries[open].level >= entry.level)
        {
            stack.pop();
        }
        parents.push(stack.last().copied());
        stack.push(i);
    }
    let mut child_lists: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    let mut top = Vec::new();
    for (i, parent) in parents.iter().enumerate() {
        match parent {
            Some(p) => child_lists[*p].push(i),
            None => top.push(i),
        }
    }

    let write_siblings = |pdf: &mut Pdf, siblings: &[usize], parent: Ref| {
        for (n, &i) in siblings.iter().enumerate() {
            let entry = &entries[i];
            let mut item = pdf.outline_item(item_refs[i]);
            item.title(TextStr(&entry.title)).parent(parent);
            if n > 0 {
                item.prev(item_refs[siblings[n - 1]]);
            }
            if let Some(&next) = siblings.get(n + 1) {
                item.next(item_refs[next]);
            }
            let kids = &child_lists[i];
            if let (Some(&first), Some(&last)) = (kids.first(), kids.last()) {
                // Closed: a long post-mortem's outline starts as its sections only.
                item.first(item_refs[first])
                    .last(item_refs[last])
                    .count(-(kids.len() as i32));
            }
            if let Some(&page) = page_refs.get(entry.page) {
                item.dest().page(page).xyz(0.0, entry.top + 4.0, None);
            }
        }
    };
    write_siblings(pdf, &top, root);
    for (i, kids) in child_lists.iter().enumerate() {
        if !kids.is_empty() {
            write_siblings(pdf, kids, item_refs[i]);
        }
    }
    if let (Some(&first), Some(&last)) = (top.first(), top.last()) {
        pdf.outline(root)
            .first(item_refs[first])
            .last(item_refs[last])
            .count(top.len() as i32);
    }
    Some(root)
}

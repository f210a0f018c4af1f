//! The four embedded DejaVu faces: characters to glyphs and advances, which glyphs a document
//! used, and the subset of each face that goes into the PDF.
//!
//! There is no shaping (no kerning, ligatures or complex scripts): one character, one glyph,
//! which is what Latin post-mortems need and keeps layout linear.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId, Tag};

use super::PdfError;

/// One of the embedded faces; its index is also its resource name in the PDF (`/F0` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FontId {
    Regular = 0,
    Bold = 1,
    Italic = 2,
    Mono = 3,
}

pub(super) const FONT_COUNT: usize = 4;
const ALL: [FontId; FONT_COUNT] = [FontId::Regular, FontId::Bold, FontId::Italic, FontId::Mono];

struct Source {
    id: FontId,
    base_name: &'static str,
    data: &'static [u8],
}

const SOURCES: [Source; FONT_COUNT] = [
    Source {
        id: FontId::Regular,
        base_name: "DejaVuSans",
        data: include_bytes!("../../fonts/DejaVuSans.ttf"),
    },
    Source {
        id: FontId::Bold,
        base_name: "DejaVuSans-Bold",
        data: include_bytes!("../../fonts/DejaVuSans-Bold.ttf"),
    },
    Source {
        id: FontId::Italic,
        base_name: "DejaVuSans-Oblique",
        data: include_bytes!("../../fonts/DejaVuSans-Oblique.ttf"),
    },
    Source {
        id: FontId::Mono,
        base_name: "DejaVuSansMono",
        data: include_bytes!("../../fonts/DejaVuSansMono.ttf"),
    },
];

/// A glyph chosen for a character: the face that has it, its id and its advance in ems.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mapped {
    pub(super) font: FontId,
    pub(super) gid: u16,
    pub(super) advance: f32,
    /// The text this glyph stands for when the PDF is read back (ToUnicode).
    pub(super) text: char,
}

/// Font-wide numbers for the PDF font descriptor, in 1/1000 em.
pub(super) struct Metrics {
    pub(super) ascent: f32,
    pub(super) descent: f32,
    pub(super) cap_height: f32,
    pub(super) italic_angle: f32,
    pub(super) bbox: [f32; 4],
    pub(super) monospaced: bool,
    pub(super) bold: bool,
}

pub(super) struct FontFace {
    pub(super) base_name: &'static str,
    face: Face<'static>,
    units_per_em: f32,
    /// Glyph and advance (ems) of each ASCII character; glyph 0 where the face lacks it.
    ascii: [(u16, f32); 128],
    pub(super) num_glyphs: u16,
    pub(super) metrics: Metrics,
}

impl FontFace {
    fn load(source: &Source) -> Result<Self, String> {
        let face = Face::parse(source.data, 0).map_err(|e| e.to_string())?;
        let units_per_em = f32::from(face.units_per_em());
        let scale = 1000.0 / units_per_em;
        let bbox = face.global_bounding_box();
        let mut font = FontFace {
            base_name: source.base_name,
            units_per_em,
            ascii: [(0, 0.0); 128],
            num_glyphs: face.number_of_glyphs(),
            metrics: Metrics {
                ascent: f32::from(face.ascender()) * scale,
                descent: f32::from(face.descender()) * scale,
                cap_height: f32::from(face.capital_height().unwrap_or(face.ascender())) * scale,
                italic_angle: face.italic_angle(),
                bbox: [
                    f32::from(bbox.x_min) * scale,
                    f32::from(bbox.y_min) * scale,
                    f32::from(bbox.x_max) * scale,
                    f32::from(bbox.y_max) * scale,
                ],
                monospaced: face.is_monospaced(),
                bold: source.id == FontId::Bold,
            },
            face,
        };
        for code in 0u8..128 {
            if let Some(hit) = font.lookup(char::from(code)) {
                font.ascii[usize::from(code)] = hit;
            }
        }
        if font.ascii[usize::from(b'?')].0 == 0 {
            return Err("it has no glyph for '?'".into());
        }
        Ok(font)
    }

    fn lookup(&self, c: char) -> Option<(u16, f32)> {
        let gid = self.face.glyph_index(c)?;
        Some((gid.0, self.advance(gid.0)))
    }

    fn advance(&self, gid: u16) -> f32 {
        f32::from(self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0)) / self.units_per_em
    }

    fn glyph(&self, c: char) -> Option<(u16, f32)> {
        match self.ascii.get(c as usize) {
            Some(&(0, _)) => None,
            Some(&hit) => Some(hit),
            None => self.lookup(c),
        }
    }

    /// Advance of a glyph in 1/1000 em, as the PDF's /W array gives it.
    pub(super) fn width(&self, gid: u16) -> f32 {
        self.advance(gid) * 1000.0
    }
}

pub(super) struct Fonts {
    faces: Vec<FontFace>,
}

/// The parsed faces, shared by every call (parsing is cheap, but not free per page).
pub(super) fn fonts() -> Result<&'static Fonts, PdfError> {
    static FONTS: OnceLock<Result<Fonts, PdfError>> = OnceLock::new();
    let loaded = FONTS.get_or_init(|| {
        let faces = SOURCES
            .iter()
            .map(|source| {
                FontFace::load(source).map_err(|reason| PdfError::Font {
                    font: source.base_name,
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Fonts { faces })
    });
    match loaded {
        Ok(fonts) => Ok(fonts),
        Err(e) => Err(e.clone()),
    }
}

impl Fonts {
    pub(super) fn face(&self, id: FontId) -> &FontFace {
        &self.faces[id as usize]
    }

    pub(super) fn ids(&self) -> impl Iterator<Item = FontId> {
        ALL.into_iter()
    }

    /// The glyph for `c` in `font`; else from the regular face; else the face's '?'.
    pub(super) fn map(&self, font: FontId, c: char) -> Mapped {
        if let Some((gid, advance)) = self.face(font).glyph(c) {
            return Mapped {
                font,
                gid,
                advance,
                text: c,
            };
        }
        if font != FontId::Regular
            && let Some((gid, advance)) = self.face(FontId::Regular).glyph(c)
        {
            return Mapped {
                font: FontId::Regular,
                gid,
                advance,
                text: c,
            };
        }
        let (gid, advance) = self.face(font).ascii[usize::from(b'?')];
        Mapped {
            font,
            gid,
            advance,
            text: '?',
        }
    }
}

/// Which glyphs of each face a document shows, and the character each stands for.
pub(super) struct Usage {
    text: [Vec<Option<char>>; FONT_COUNT],
}

impl Usage {
    pub(super) fn new(fonts: &Fonts) -> Self {
        Usage {
            text: ALL.map(|id| vec![None; usize::from(fonts.face(id).num_glyphs)]),
        }
    }

    pub(super) fn record(&mut self, glyph: &Mapped) {
        if let Some(slot) = self.text[glyph.font as usize].get_mut(usize::from(glyph.gid)) {
            slot.get_or_insert(glyph.text);
        }
    }

    pub(super) fn used(&self, font: FontId) -> impl Iterator<Item = (u16, char)> + '_ {
        self.text[font as usize]
            .iter()
            .zip(0u16..)
            .filter_map(|(text, gid)| Some((gid, (*text)?)))
    }

    pub(super) fn any(&self, font: FontId) -> bool {
        self.text[font as usize].iter().any(Option::is_some)
    }
}

/// A TrueType font program holding only the given glyphs (and the glyphs composite glyphs are
/// built from), for embedding as a CIDFontType2 with an identity CID-to-glyph map. Glyph ids
/// stay as they are: unused glyphs become empty, so no id in the content streams changes.
pub(super) fn subset(face: &FontFace, used: impl Iterator<Item = u16>) -> Result<Vec<u8>, String> {
    let table = |tag: &[u8; 4]| face.face.raw_face().table(Tag::from_bytes(tag));
    let need = |tag: &[u8; 4]| {
        table(tag).ok_or_else(|| format!("no {} table", String::from_utf8_lossy(tag)))
    };
    let head = need(b"head")?;
    let hhea = need(b"hhea")?;
    let maxp = need(b"maxp")?;
    let hmtx = need(b"hmtx")?;
    let loca = need(b"loca")?;
    let glyf = need(b"glyf")?;

    let num_glyphs = usize::from(read_u16(maxp, 4)?);
    let long_loca = read_u16(head, 50)? == 1;
    let offsets: Vec<usize> = (0..=num_glyphs)
        .map(|i| {
            if long_loca {
                read_u32(loca, 4 * i).map(|o| o as usize)
            } else {
                read_u16(loca, 2 * i).map(|o| 2 * usize::from(o))
            }
        })
        .collect::<Result<_, _>>()?;
    let glyph_data = |gid: usize| -> Result<&[u8], String> {
        let (start, end) = (offsets[gid], offsets[gid + 1]);
        glyf.get(start..end.max(start))
            .ok_or_else(|| format!("glyph {gid} lies outside the glyf table"))
    };

    // Glyph 0 (.notdef) always stays; composites pull in their components.
    let mut keep = vec![false; num_glyphs];
    let mut work: Vec<usize> = std::iter::once(0)
        .chain(used.map(usize::from))
        .filter(|&g| g < num_glyphs)
        .collect();
    while let Some(gid) = work.pop() {
        if std::mem::replace(&mut keep[gid], true) {
            continue;
        }
        for component in components(glyph_data(gid)?) {
            if usize::from(component) < num_glyphs && !keep[usize::from(component)] {
                work.push(usize::from(component));
            }
        }
    }

    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (num_glyphs + 1));
    for (gid, &kept) in keep.iter().enumerate() {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if kept {
            new_glyf.extend_from_slice(glyph_data(gid)?);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());

    // Metrics of unused glyphs are zeroed (they compress to nothing); the PDF's /W array, not
    // hmtx, decides advances. The last long metric stays: later glyphs inherit its advance.
    let long_metrics = usize::from(read_u16(hhea, 34)?);
    let mut new_hmtx = hmtx.to_vec();
    for (gid, &kept) in keep.iter().enumerate() {
        let range = if gid + 1 < long_metrics {
            4 * gid..4 * gid + 4
        } else if gid >= long_metrics {
            let at = 4 * long_metrics + 2 * (gid - long_metrics);
            at..at + 2
        } else {
            continue;
        };
        if !kept && let Some(bytes) = new_hmtx.get_mut(range) {
            bytes.fill(0);
        }
    }

    let mut new_head = head.to_vec();
    if new_head.len() < 54 {
        return Err("head table too short".into());
    }
    new_head[8..12].fill(0); // checkSumAdjustment, set below
    new_head[50..52].copy_from_slice(&1u16.to_be_bytes()); // long loca offsets

    let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"glyf", new_glyf),
        (*b"head", new_head),
        (*b"hhea", hhea.to_vec()),
        (*b"hmtx", new_hmtx),
        (*b"loca", new_loca),
        (*b"maxp", maxp.to_vec()),
    ];
    for tag in [b"cvt ", b"fpgm", b"prep"] {
        if let Some(data) = table(tag) {
            tables.push((*tag, data.to_vec()));
        }
    }
    tables.sort_by_key(|(tag, _)| *tag);
    Ok(assemble(tables))
}

/// The glyph ids a composite glyph refers to (none for a simple glyph).
fn components(glyph: &[u8]) -> Vec<u16> {
    const ARGS_ARE_WORDS: u16 = 0x0001;
    const HAVE_SCALE: u16 = 0x0008;
    const MORE_COMPONENTS: u16 = 0x0020;
    const HAVE_XY_SCALE: u16 = 0x0040;
    const HAVE_2X2: u16 = 0x0080;
    let mut found = Vec::new();
    if glyph.len() < 10 || i16::from_be_bytes([glyph[0], glyph[1]]) >= 0 {
        return found;
    }
    let mut at = 10;
    while let (Ok(flags), Ok(gid)) = (read_u16(glyph, at), read_u16(glyph, at + 2)) {
        found.push(gid);
        at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
        at += if flags & HAVE_SCALE != 0 {
            2
        } else if flags & HAVE_XY_SCALE != 0 {
            4
        } else if flags & HAVE_2X2 != 0 {
            8
        } else {
            0
        };
        if flags & MORE_COMPONENTS == 0 {
            break;
        }
    }
    found
}

/// An sfnt file from its tables (sorted by tag), with table checksums and the head table's
/// checkSumAdjustment.
fn assemble(tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    let count = tables.len() as u16;
    let mut power = 1u16;
    let mut selector = 0u16;
    while power * 2 <= count {
        power *= 2;
        selector += 1;
    }
    let mut font = Vec::new();
    font.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    font.extend_from_slice(&count.to_be_bytes());
    font.extend_from_slice(&(power * 16).to_be_bytes());
    font.extend_from_slice(&selector.to_be_bytes());
    font.extend_from_slice(&(count * 16 - power * 16).to_be_bytes());

    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_at = Some(offset);
        }
        font.extend_from_slice(tag);
        font.extend_from_slice(&checksum(data).to_be_bytes());
        font.extend_from_slice(&(offset as u32).to_be_bytes());
        font.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &tables {
        font.extend_from_slice(data);
        font.resize(font.len().div_ceil(4) * 4, 0);
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
        font[at + 8..at + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    font
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn read_u16(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("font data ends before offset {at}"))
}

fn read_u32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("font data ends before offset {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_loads_and_maps_the_characters_post_mortems_use() {
        let fonts = fonts().expect("embedded fonts parse");
        for id in fonts.ids() {
            for c in "Az09 —–…“”‘’ü€✓★→•".chars() {
                let mapped = fonts.map(id, c);
                assert_eq!(mapped.text, c, "{} lacks {c:?}", fonts.face(id).base_name);
                assert!(mapped.gid != 0);
            }
        }
    }

    #[test]
    fn a_character_no_face_has_becomes_a_question_mark() {
        let fonts = fonts().expect("embedded fonts parse");
        let mapped = fonts.map(FontId::Bold, '\u{4E2D}');
        assert_eq!((mapped.font, mapped.text), (FontId::Bold, '?'));
        assert!(mapped.gid != 0 && mapped.advance > 0.0);
    }

    #[test]
    fn a_subset_keeps_the_used_glyphs_and_is_a_valid_sfnt() {
        let fonts = fonts().expect("embedded fonts parse");
        let face = fonts.face(FontId::Regular);
        let a = fonts.map(FontId::Regular, 'A').gid;
        let u_umlaut = fonts.map(FontId::Regular, 'ü').gid;
        let bytes = subset(face, [a, u_umlaut].into_iter()).expect("subset");
        assert!(
            bytes.len() < SOURCES[0].data.len() / 4,
            "{} bytes",
            bytes.len()
        );
        let parsed = Face::parse(&bytes, 0).expect("subset parses");
        assert_eq!(parsed.number_of_glyphs(), face.num_glyphs);
        assert!(parsed.outline_glyph(GlyphId(a), &mut Sink(0)).is_some());
        assert!(
            parsed
                .outline_glyph(GlyphId(u_umlaut), &mut Sink(0))
                .is_some()
        );
        let unused = fonts.map(FontId::Regular, 'B').gid;
        assert!(
            parsed
                .outline_glyph(GlyphId(unused), &mut Sink(0))
                .is_none()
        );
        assert_eq!(checksum(&bytes), 0xB1B0_AFBA);
    }

    struct Sink(usize);
    impl ttf_parser::OutlineBuilder for Sink {
        fn move_to(&mut self, _: f32, _: f32) {
            self.0 += 1;
        }
        fn line_to(&mut self, _: f32, _: f32) {
            self.0 += 1;
        }
        fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {
            self.0 += 1;
        }
        fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {
            self.0 += 1;
        }
        fn close(&mut self) {}
    }
}

//! The text of a CSV cell: UTF-8, or, where a cell is not, the legacy
//! encoding the file's bytes look like. Excel's "CSV (Comma delimited)"
//! writes a file in its system's code page: Windows-1252 on Western
//! European systems (`M\xFCller` for `Müller`), Windows-1250 on Central
//! European ones (`Dvo\xF8\xE1k` for `Dvořák`), Windows-1251 for Cyrillic,
//! Shift_JIS in Japan. Read in the wrong one, a name becomes other letters,
//! whose hash matches no one.
//!
//! Which one a file is in is told by [`chardetng`], Firefox's detector for
//! pages that do not say, from the bytes around the first cell that is not
//! UTF-8.

use encoding_rs::{Encoding, WINDOWS_1252};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How many bytes, from the first row that is not UTF-8, tell a file's
/// encoding: thousands of rows, where a few dozen names tell most apart.
const SAMPLE: u64 = 1 << 20;

/// How many of a sample's bytes must read as other letters in a Latin
/// encoding than in Windows-1252 before the file is taken to be in it,
/// unless its contacts' country says so: a Western file with one or two
/// accented names (`Hélène` alone) can look Czech to the detector (as
/// `Hélčne`), which three such letters no longer do.
const HINGED: usize = 3;

/// The encoding a file's cells that are not UTF-8 are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Legacy(&'static Encoding);

impl Default for Legacy {
    /// Windows-1252, until a file's bytes tell otherwise: the one of
    /// Excel's Western European systems.
    fn default() -> Self {
        Legacy(WINDOWS_1252)
    }
}

impl Legacy {
    /// The legacy encoding the bytes of the file at `path` look like, from
    /// `offset` on; `country`, a contact's there (ISO alpha-2), tells a
    /// market's Latin encoding from a Western one where the bytes alone
    /// may not.
    pub(super) fn of_file(
        path: &Path,
        offset: u64,
        country: Option<&str>,
    ) -> std::io::Result<Legacy> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut sample = Vec::new();
        file.take(SAMPLE).read_to_end(&mut sample)?;
        Ok(Legacy::of(&sample, country))
    }

    /// The legacy encoding `bytes` look like (never UTF-8, which they are
    /// not where this is asked). In a file mostly UTF-8 only what is not
    /// counts: there, with one cell pasted from elsewhere, the file's own
    /// Cyrillic would make that cell look Chinese.
    fn of(bytes: &[u8], country: Option<&str>) -> Legacy {
        let bytes = &not_utf8(bytes);
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(bytes, true);
        let guess = Legacy(detector.guess(None, false));
        match guess.script() {
            Some(script) if !script.markets().is_empty() => {
                let in_market = country
                    .is_some_and(|c| script.markets().iter().any(|m| m.eq_ignore_ascii_case(c)));
                if in_market || guess.hinged(bytes) >= HINGED {
                    guess
                } else {
                    Legacy::default()
                }
            }
            _ => guess,
        }
    }

    /// How many of `bytes` read as other characters in this encoding than
    /// in Windows-1252.
    fn hinged(self, bytes: &[u8]) -> usize {
        let differs: Vec<bool> = (0..=255u8)
            .map(|b| {
                b >= 0x80
                    && self.0.decode_without_bom_handling(&[b]).0
                        != WINDOWS_1252.decode_without_bom_handling(&[b]).0
            })
            .collect();
        bytes.iter().filter(|&&b| differs[usize::from(b)]).count()
    }

    /// A cell's text: UTF-8 as it is, anything else read in this encoding;
    /// `true` with the text when it was.
    pub(super) fn text(self, bytes: &[u8]) -> (Cow<'_, str>, bool) {
        match std::str::from_utf8(bytes) {
            Ok(text) => (Cow::Borrowed(text), false),
            Err(_) => (self.0.decode_without_bom_handling(bytes).0, true),
        }
    }

    /// The script of the systems that write this encoding.
    fn script(self) -> Option<Script> {
        Some(match self.0.name() {
            "windows-1250" | "ISO-8859-2" => Script::CentralEuropean,
            "windows-1251" | "ISO-8859-5" | "KOI8-U" | "IBM866" | "x-mac-cyrillic" => {
                Script::Cyrillic
            }
            "windows-1252" => Script::WesternEuropean,
            "windows-1253" | "ISO-8859-7" => Script::Greek,
            "windows-1254" => Script::Turkish,
            "windows-1255" | "ISO-8859-8" => Script::Hebrew,
            "windows-1256" | "ISO-8859-6" => Script::Arabic,
            "windows-1257" | "ISO-8859-4" | "ISO-8859-13" => Script::Baltic,
            "windows-1258" => Script::Vietnamese,
            "windows-874" => Script::Thai,
            "Shift_JIS" | "EUC-JP" | "ISO-2022-JP" => Script::Japanese,
            "GBK" | "gb18030" => Script::SimplifiedChinese,
            "Big5" => Script::TraditionalChinese,
            "EUC-KR" => Script::Korean,
            _ => return None,
        })
    }

    /// The encoding's name, and the script of the systems that write it:
    /// `Windows-1250 (Central European)`.
    pub(super) fn describe(self) -> String {
        let name = self.0.name();
        let name = match name.strip_prefix("windows-") {
            Some(page) => format!("Windows-{page}"),
            None => name.to_string(),
        };
        match self.script() {
            Some(script) => format!("{name} ({})", script.name()),
            None => name,
        }
    }
}

/// `bytes` as they are, or, where more of them are UTF-8 beyond ASCII
/// than not UTF-8, with each such character made a space: what is left is
/// ASCII and the bytes that are not UTF-8. (A file in a legacy encoding
/// has some pairs of bytes that happen to be UTF-8, as Shift_JIS's `花`
/// is; they are too few to count, and its evidence.)
fn not_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    let (mut utf8, mut not) = (0, 0);
    for chunk in bytes.utf8_chunks() {
        utf8 += chunk.valid().bytes().filter(|b| !b.is_ascii()).count();
        not += chunk.invalid().len();
    }
    if utf8 <= not {
        return Cow::Borrowed(bytes);
    }
    let mut left = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        left.extend(
            chunk
                .valid()
                .chars()
                .map(|c| u8::try_from(c).ok().filter(u8::is_ascii).unwrap_or(b' ')),
        );
        left.extend_from_slice(chunk.invalid());
    }
    Cow::Owned(left)
}

/// The scripts of the systems a legacy encoding is written on, as
/// Windows names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    CentralEuropean,
    Cyrillic,
    WesternEuropean,
    Greek,
    Turkish,
    Hebrew,
    Arabic,
    Baltic,
    Vietnamese,
    Thai,
    Japanese,
    SimplifiedChinese,
    TraditionalChinese,
    Korean,
}

impl Script {
    fn name(self) -> &'static str {
        match self {
            Script::CentralEuropean => "Central European",
            Script::Cyrillic => "Cyrillic",
            Script::WesternEuropean => "Western European",
            Script::Greek => "Greek",
            Script::Turkish => "Turkish",
            Script::Hebrew => "Hebrew",
            Script::Arabic => "Arabic",
            Script::Baltic => "Baltic",
            Script::Vietnamese => "Vietnamese",
            Script::Thai => "Thai",
            Script::Japanese => "Japanese",
            Script::SimplifiedChinese => "Simplified Chinese",
            Script::TraditionalChinese => "Traditional Chinese",
            Script::Korean => "Korean",
        }
    }

    /// The countries whose systems write a Latin script other than
    /// Western European's (none for the others: read in Windows-1252,
    /// Cyrillic or Greek is no name, so the bytes alone decide).
    fn markets(self) -> &'static [&'static str] {
        match self {
            Script::CentralEuropean => &[
                "pl", "cz", "sk", "hu", "si", "hr", "ro", "ba", "rs", "me", "al", "xk",
            ],
            Script::Turkish => &["tr", "az"],
            Script::Baltic => &["lt", "lv", "ee"],
            Script::Vietnamese => &["vn"],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Legacy;
    use encoding_rs::{
        BIG5, EUC_KR, Encoding, GBK, SHIFT_JIS, WINDOWS_874, WINDOWS_1250, WINDOWS_1251,
        WINDOWS_1252, WINDOWS_1253, WINDOWS_1254, WINDOWS_1256, WINDOWS_1257,
    };

    #[test]
    fn each_markets_excel_export_is_read_in_its_own_encoding() {
        // A header and two rows, as Excel on each market's system saves
        // them: every name must come back as it was typed.
        let exports: [(&Encoding, &str); 16] = [
            (
                WINDOWS_1252,
                "id;Prénom;Nom;Ville\nc1;François;Lefèvre;Besançon\nc2;Hélène;Dupré;Orléans\n",
            ),
            (
                WINDOWS_1252,
                "id;Vorname;Nachname;Ort\nc1;Jürgen;Müller;München\nc2;Jörg;Weiß;Köln\n",
            ),
            (
                WINDOWS_1252,
                "id;Nombre;Apellidos;Ciudad\nc1;José;García Núñez;Cádiz\nc2;Iñaki;Peña;León\n",
            ),
            (
                WINDOWS_1250,
                "id;Imię;Nazwisko;Miejscowość;Płeć\nc1;Łukasz;Wiśniewski;Łódź;m\nc2;Małgorzata;Żółkiewska;Kraków;k\n",
            ),
            (
                WINDOWS_1250,
                "id;Jméno;Příjmení;Město\nc1;Jiří;Dvořák;Plzeň\nc2;Kateřina;Černá;Brno\n",
            ),
            (
                WINDOWS_1250,
                "id;Keresztnév;Vezetéknév;Város\nc1;Gábor;Szőke;Győr\nc2;Réka;Kovács;Pécs\nc3;Zsófia;Bőröndi;Kőszeg\n",
            ),
            (
                WINDOWS_1251,
                "id;Имя;Фамилия;Город\nc1;Иван;Петров;Москва\nc2;Мария;Смирнова;Санкт-Петербург\n",
            ),
            (
                WINDOWS_1251,
                "id;Ім'я;Прізвище;Місто\nc1;Олена;Шевченко;Київ\nc2;Андрій;Бондаренко;Львів\n",
            ),
            (
                WINDOWS_1253,
                "id;Όνομα;Επώνυμο;Πόλη\nc1;Γιώργος;Παπαδόπουλος;Αθήνα\nc2;Μαρία;Νικολάου;Πάτρα\n",
            ),
            (
                WINDOWS_1254,
                "id;Ad;Soyad;Şehir\nc1;Ayşe;Yılmaz;İstanbul\nc2;Çağlar;Öztürk;Eskişehir\n",
            ),
            (
                WINDOWS_1256,
                "id;الاسم;العائلة;المدينة\nc1;محمد;العلي;الرياض\nc2;فاطمة;الحسن;جدة\n",
            ),
            (
                WINDOWS_1257,
                "id;Vardas;Pavardė;Miestas\nc1;Žydrūnas;Kazlauskas;Šiauliai\nc2;Rūta;Žemaitė;Kaunas\n",
            ),
            (
                SHIFT_JIS,
                "id,姓,名,市区町村\nc1,山田,太郎,東京都\nc2,佐藤,花子,大阪市\n",
            ),
            (GBK, "id,姓名,城市\nc1,王伟,北京\nc2,李娜,上海\n"),
            (BIG5, "id,姓名,城市\nc1,陳建宏,台北\nc2,林美玲,高雄\n"),
            (
                EUC_KR,
                "id,이름,성,도시\nc1,민준,김,서울\nc2,서연,이,부산\n",
            ),
        ];
        for (encoding, text) in exports {
            let (bytes, _, unmappable) = encoding.encode(text);
            assert!(!unmappable, "{text}");
            let legacy = Legacy::of(&bytes, None);
            assert_eq!(
                legacy.text(&bytes),
                (text.into(), true),
                "{}",
                encoding.name()
            );
        }
        let (bytes, _, _) = WINDOWS_874.encode("id,ชื่อ,นามสกุล\nc1,สมชาย,ใจดี\nc2,สมหญิง,รักไทย\n");
        assert_eq!(Legacy::of(&bytes, None).describe(), "Windows-874 (Thai)");
        assert_eq!(
            Legacy::default().describe(),
            "Windows-1252 (Western European)"
        );
        assert_eq!(Legacy(SHIFT_JIS).describe(), "Shift_JIS (Japanese)");
    }

    #[test]
    fn a_few_accented_names_are_read_as_western_unless_the_market_says_otherwise() {
        // Alone, each looks Central European or Baltic to the detector
        // (`Hélčne`, `Loīc`); as Windows-1252 it is what was typed.
        for name in ["Hélène", "Loïc", "Hélène Lefèvre"] {
            let text = format!("id,first_name,last_name\nc1,{name},Smith\nc2,John,Brown\n");
            let bytes = WINDOWS_1252.encode(&text).0;
            for country in [None, Some("us"), Some("fr")] {
                let legacy = Legacy::of(&bytes, country);
                assert_eq!(legacy.text(&bytes).0, text, "{country:?}");
            }
        }
        // A Polish or Czech one with as little is read as its market's
        // when a contact's country says so, and as Western when nothing
        // does, as it always was.
        for (text, market) in [
            ("id,first_name\nc1,Paweł Nowak\n", "pl"),
            ("id,first_name\nc1,Jiří Dvořák\n", "cz"),
        ] {
            let bytes = WINDOWS_1250.encode(text).0;
            assert_eq!(Legacy::of(&bytes, Some(market)).text(&bytes).0, text);
            assert_eq!(Legacy::of(&bytes, None), Legacy::default(), "{text}");
        }
        // Three letters that read otherwise in Windows-1252 decide it
        // without the market.
        let text = "id,first_name\nc1,Jiří Dvořák\nc2,Kateřina Černá\n";
        let bytes = WINDOWS_1250.encode(text).0;
        assert_eq!(Legacy::of(&bytes, None).text(&bytes).0, text);
    }

    #[test]
    fn a_cell_pasted_into_a_utf8_file_is_read_by_its_own_bytes() {
        // A UTF-8 file of Russian names, with one row from a Western
        // Excel among them: the Cyrillic is no evidence of its encoding.
        let mut bytes = Vec::new();
        for i in 0..300 {
            bytes.extend_from_slice(format!("c{i},Иван,Петров,Москва\n").as_bytes());
        }
        let pasted = b"x1,J\xFCrgen,M\xFCller,K\xF6ln\n";
        bytes.extend_from_slice(pasted);
        for i in 0..300 {
            bytes.extend_from_slice(format!("d{i},Мария,Смирнова,Казань\n").as_bytes());
        }
        let legacy = Legacy::of(&bytes[bytes.len() - 300 * 40 - pasted.len()..], None);
        assert_eq!(legacy.text(pasted).0, "x1,Jürgen,Müller,Köln\n");
    }

    #[test]
    fn utf8_cells_are_read_as_they_are() {
        let legacy = Legacy(WINDOWS_1251);
        assert_eq!(legacy.text("Müller".as_bytes()), ("Müller".into(), false));
        assert_eq!(legacy.text(b"plain"), ("plain".into(), false));
        // Windows-1252's letters where Latin-1 has controls.
        assert_eq!(
            Legacy::default().text(b"Fran\xE7ois \x80 \x93quoted\x94 \x8Atefan\x9Ak\xE1"),
            ("François € “quoted” Štefanšká".into(), true)
        );
    }
}

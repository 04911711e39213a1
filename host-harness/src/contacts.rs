//! Contact records, as a CRM exports them: CSV with a header row, a JSON
//! array, or JSON lines. Standard columns become the contact's fields;
//! every other column is a custom field reachable as `{{contact.<column>}}`.

mod csv_lines;
mod encoding;
mod full_name;
mod shown_id;

pub use shown_id::shown_id;

use crate::input::{
    BOM, InputError, Line, Lines, Problems, Text, fingerprint, json_problem, not_text, read_text,
};
use action_host::wit;
use csv_lines::{Raw, RowLines};
use encoding::Legacy;
use send_conversion_event::normalize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

/// The largest record a contact may have, as a firing's data may: a
/// contact is read again and handed to the component for each of its
/// firings, and one of hundreds of megabytes would hold that much of the
/// host's memory and pass the component's.
pub const MAX_CONTACT: usize = 1 << 20;

/// Contacts by id. The book keeps where each contact is in its file (25
/// bytes a contact, with its share of the buckets), not the contact:
/// [`ContactBook::get`] reads it again when a firing asks for it, so a run
/// over millions of contacts holds the few it is working on, not the file.
///
/// A book reads through one open file at a time; a thread of its own takes
/// [`ContactBook::another_reader`], which shares the index.
#[derive(Debug, Default)]
pub struct ContactBook {
    source: Option<Source>,
    /// Sorted by fingerprint, then by place in the file.
    places: Arc<Vec<Place>>,
    /// Where each print's places are.
    buckets: Arc<Buckets>,
    /// The ids of rows left out, each with its first such row.
    refused: Arc<HashMap<String, Refused>>,
    /// Whether some ids are numbers a spreadsheet wrote in scientific
    /// notation, which lost their digits.
    lost_ids: bool,
}

/// A row that names a contact's id but was left out: a firing for that id
/// is told of the row and its problem, not only that there is no contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The row's first line in the contacts file.
    pub line: usize,
    /// Why the row was left out.
    pub why: String,
}

/// The file the book reads contacts from.
#[derive(Debug)]
struct Source {
    /// The contacts file, and the one its text is read from.
    text: Text,
    format: Format,
}

/// How a record is written, and the open file to read it from.
#[derive(Debug)]
enum Format {
    /// A CSV row under these columns. One parser is built for the run:
    /// building one costs more than reading a row.
    Csv {
        columns: Vec<Column>,
        delimiter: u8,
        /// What its cells that are not UTF-8 are read in.
        legacy: Legacy,
        reader: Mutex<csv::Reader<File>>,
    },
    /// A JSON object (a line of JSON lines, or an element of an array).
    Json(Mutex<File>),
}

/// How the records of a file are written, as the first reading found.
enum Layout {
    /// Its columns, and the byte that separates them.
    Csv(Vec<Column>, u8),
    Json,
}

/// A CSV column: its name, and the standard field it is, if any.
type Column = (String, Option<Standard>);

/// Where one contact is.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// [`fingerprint`] of the contact's id.
    print: u64,
    offset: u64,
    len: u32,
    line: u32,
}

/// Where each run of places whose prints share their top bits starts:
/// a lookup reads one entry here, then searches the few places of its
/// bucket, where a binary search over a large book misses the cache at
/// each halving. Prints are hashes, spread evenly over the `u64`s, so a
/// bucket holds about four places; prints bunched on purpose only make
/// some buckets larger, each searched by halving as a whole book was.
#[derive(Debug, Default)]
struct Buckets {
    /// How far a print is shifted right to give its bucket.
    shift: u32,
    /// Where each bucket's places start, and where the last one's end.
    /// Empty until the places are sorted: then every lookup searches all.
    starts: Vec<u32>,
}

impl Buckets {
    /// The buckets of `sorted` (by print), about four places each: 4 bytes
    /// for every four contacts.
    fn new(sorted: &[Place]) -> Buckets {
        let bits = (sorted.len() / 4)
            .max(1)
            .next_power_of_two()
            .trailing_zeros();
        let shift = 64 - bits;
        let mut starts = vec![0u32; (1 << bits) + 1];
        for place in sorted {
            starts[Self::of(place.print, shift) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        Buckets { shift, starts }
    }

    fn of(print: u64, shift: u32) -> usize {
        // A shift of 64 (one bucket) leaves nothing: bucket 0.
        print.checked_shr(shift).unwrap_or(0) as usize
    }

    /// Where the places with `print` are, among `len` places.
    fn range(&self, print: u64, len: usize) -> std::ops::Range<usize> {
        if self.starts.is_empty() {
            return 0..len;
        }
        let b = Self::of(print, self.shift);
        self.starts[b] as usize..self.starts[b + 1] as usize
    }
}

impl ContactBook {
    /// The contact with `id`; `Err` says why it could not be read again
    /// (the file changed or went away during the run).
    pub fn get(&self, id: &str) -> Result<Option<Arc<wit::Contact>>, String> {
        let print = fingerprint(id);
        let bucket = self.buckets.range(print, self.places.len());
        let from = bucket.start + self.places[bucket.clone()].partition_point(|p| p.print < print);
        for place in self.places[from..].iter().take_while(|p| p.print == print) {
            let contact = self.read(place)?;
            if contact.id == id {
                return Ok(Some(Arc::new(contact)));
            }
        }
        Ok(None)
    }

    /// Another book over the same index, reading the file through a handle
    /// and parser of its own: for another thread, whose lookups then neither
    /// wait for this book's nor move its place in the file (a CSV parser
    /// reads on from its buffer when firings come in the contacts' order).
    pub fn another_reader(&self) -> std::io::Result<ContactBook> {
        let source = match &self.source {
            None => None,
            Some(source) => Some(Source {
                text: source.text.clone(),
                format: match &source.format {
                    Format::Csv {
                        columns,
                        delimiter,
                        legacy,
                        ..
                    } => Format::Csv {
                        columns: columns.clone(),
                        delimiter: *delimiter,
                        legacy: *legacy,
                        reader: Mutex::new(csv_reader(File::open(source.text.file())?, *delimiter)),
                    },
                    Format::Json(_) => Format::Json(Mutex::new(File::open(source.text.file())?)),
                },
            }),
        };
        Ok(ContactBook {
            source,
            places: self.places.clone(),
            buckets: self.buckets.clone(),
            refused: self.refused.clone(),
            lost_ids: self.lost_ids,
        })
    }

    /// The row with `id` that was left out, when [`ContactBook::get`]
    /// finds no contact with it because its row was refused (a CSV row
    /// with more or fewer fields than the header, for one).
    pub fn refused(&self, id: &str) -> Option<&Refused> {
        self.refused.get(id)
    }

    /// Whether `id`, a number, may be one of the ids the file lost to a
    /// spreadsheet's scientific notation: a firing that finds no contact
    /// with it is told so.
    pub fn may_have_lost(&self, id: &str) -> bool {
        self.lost_ids && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
    }

    /// How many contacts.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The contact at `place`, read from the file again.
    fn read(&self, place: &Place) -> Result<wit::Contact, String> {
        let source = self.source.as_ref().ok_or("no contacts file")?;
        let changed = |why: String| {
            format!(
                "the contact on line {} of {} cannot be read again ({why}); was the file changed during the run?",
                place.line,
                source.text.path().display()
            )
        };
        let line = place.line as usize;
        let record = match &source.format {
            Format::Csv {
                columns,
                legacy,
                reader,
                ..
            } => {
                let mut reader = reader.lock().unwrap_or_else(|e| e.into_inner());
                // A seek to where the reader is (firings in the contacts'
                // order) reads on from its buffer.
                let mut at = csv::Position::new();
                at.set_byte(place.offset).set_line(place.line.into());
                reader.seek(at).map_err(|e| changed(e.to_string()))?;
                let mut row = csv::ByteRecord::new();
                match reader.read_byte_record(&mut row) {
                    Ok(true) => Ok((line, from_csv_row(columns, *legacy, &row).0)),
                    Ok(false) => return Err(changed("no row there".into())),
                    Err(e) => return Err(changed(e.to_string())),
                }
            }
            Format::Json(file) => {
                let mut bytes = vec![0; place.len as usize];
                {
                    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                    file.seek(SeekFrom::Start(place.offset))
                        .and_then(|_| file.read_exact(&mut bytes))
                        .map_err(|e| changed(e.to_string()))?;
                }
                match serde_json::from_slice::<Value>(&bytes) {
                    // Its field problems were said when the file was indexed.
                    Ok(v) => from_value(source.text.path(), line, v, &mut Problems::default()),
                    Err(e) => return Err(changed(e.to_string())),
                }
            }
        };
        record.map(|(_, c)| c).map_err(|e| changed(e.message))
    }
}

/// The standard field a column or key names, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Standard {
    Id,
    Email,
    Phone,
    FirstName,
    LastName,
    Gender,
    DateOfBirth,
    City,
    State,
    PostalCode,
    Country,
    /// First and last name in one, split when the contact has neither
    /// ([`full_name`]); the column stays a custom field too.
    FullName,
}

fn standard(name: &str) -> Option<Standard> {
    // With the column names of the exports of HubSpot, Salesforce,
    // Shopify, Mailchimp, Outlook and Google Contacts, and those Outlook,
    // Google Contacts and spreadsheets write in the languages of Europe's
    // and Latin America's markets (`Prénom`, `Nachname`, `Teléfono`, `PLZ`,
    // `Código postal`, `Data di nascita`). Words that also name something
    // else in a CRM are left out: Spanish `Estado` is as often a status as
    // a state, French `Genre` an English genre.
    let key = column_key(name);
    let field = standard_key(&key);
    if field.is_some() {
        return field;
    }
    // An address's fields under the name of the address: Shopify's
    // `Default Address City`, WooCommerce's `billing_postcode`, Salesforce's
    // `MailingStateCode`, Stripe's `Address Country`. A shipping address is
    // left out: it may be the recipient's of a gift, not the contact's.
    ADDRESS_PREFIXES
        .iter()
        .filter_map(|prefix| key.strip_prefix(prefix))
        .find_map(standard_key)
        .filter(|field| *field != Standard::Id)
}

/// What names an address's fields, as a prefix of their column names.
const ADDRESS_PREFIXES: [&str; 7] = [
    "defaultaddress",
    "billingaddress",
    "billing",
    "address1",
    "address",
    "mailing",
    "home",
];

/// The standard field a [`column_key`] names, without a prefix.
fn standard_key(key: &str) -> Option<Standard> {
    Some(match key {
        "id" | "contactid" | "customerid" | "recordid" | "vid" => Standard::Id,
        "email" | "emails" | "email2" | "secondaryemail" | "additionalemails" | "emailaddress"
        | "email1" | "email2address" | "email3address" | "email1value" | "email2value" | "mail"
        | "courriel" | "adresseemail" | "adressemail" | "emailadresse" | "correoelectronico"
        | "correo" | "indirizzoemail" | "emailadres" | "adresemail" | "epost" | "epostadresse"
        | "sahkoposti" => Standard::Email,
        "phone" | "phones" | "phone2" | "mobile" | "mobilephone" | "secondaryphone"
        | "additionalphones" | "phonenumber" | "mobilephonenumber" | "mobilenumber"
        | "cellphone" | "cell" | "telephone" | "businessphone" | "workphone" | "phone1value"
        | "phone2value" | "portable" | "telefon" | "mobil" | "handy" | "mobiltelefon"
        | "telefono" | "movil" | "celular" | "cellulare" | "telefone" | "telefoon" | "mobiel"
        | "puhelin" | "sms" => Standard::Phone,
        "name" | "fullname" | "contactname" | "customername" | "displayname" | "nomcomplet"
        | "nombrecompleto" | "nomecompleto" | "vollstandigername" | "volledigenaam" => {
            Standard::FullName
        }
        "firstname" | "fname" | "givenname" | "prenom" | "vorname" | "nombre" | "nome"
        | "primeironome" | "voornaam" | "imie" | "fornavn" | "fornamn" | "etunimi" => {
            Standard::FirstName
        }
        "lastname" | "lname" | "surname" | "familyname" | "nom" | "nomdefamille" | "nachname"
        | "familienname" | "apellido" | "apellidos" | "cognome" | "sobrenome" | "apelido"
        | "achternaam" | "nazwisko" | "efternavn" | "etternavn" | "efternamn" | "sukunimi" => {
            Standard::LastName
        }
        "gender" | "sex" | "sexe" | "geschlecht" | "sexo" | "genero" | "sesso" | "genere"
        | "geslacht" | "plec" | "kjonn" | "sukupuoli" => Standard::Gender,
        "dateofbirth" | "dob" | "birthday" | "birthdate" | "datedenaissance" | "anniversaire"
        | "geburtsdatum" | "geburtstag" | "fechadenacimiento" | "fechanacimiento"
        | "datadinascita" | "datadenascimento" | "datanascimento" | "geboortedatum"
        | "dataurodzenia" | "fodelsedatum" | "fodselsdato" | "syntymaaika" => Standard::DateOfBirth,
        "city" | "town" | "ville" | "stadt" | "ort" | "wohnort" | "ciudad" | "localidad"
        | "citta" | "cidade" | "plaats" | "woonplaats" | "stad" | "miasto" | "miejscowosc"
        | "kaupunki" | "postort" | "poststed" => Standard::City,
        "state" | "province" | "region" | "stateregion" | "stateprovince" | "provincecode"
        | "statecode" | "etat" | "bundesland" | "provincia" | "regione" | "provincie"
        | "wojewodztwo" => Standard::State,
        "postalcode" | "zip" | "zipcode" | "postcode" | "zippostalcode" | "codepostal" | "plz"
        | "postleitzahl" | "codigopostal" | "cap" | "cep" | "kodpocztowy" | "postnummer"
        | "postnr" | "postinumero" => Standard::PostalCode,
        "country" | "countrycode" | "countryregion" | "pays" | "land" | "pais" | "paese"
        | "nazione" | "kraj" => Standard::Country,
        _ => return other_language(key),
    })
}

/// A column's name as [`standard`] compares it: lowercase letters and
/// digits, accents and other marks taken off, full-width forms as ASCII
/// (`Prénom` is `prenom`, `E-Mail-Adresse` is `emailadresse`, `Płeć` is
/// `plec`, `Fødselsdato` is `fodselsdato`, `Ｅメール` is `eメール`).
fn column_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // Most names are ASCII, and a JSON contact's keys are compared on each
    // of its readings: they need no decomposition.
    if name.is_ascii() {
        return name
            .bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
    }
    let mut key = String::with_capacity(name.len());
    for c in name.nfkd().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => key.push(c),
            // Letters of their own that no accent makes.
            'ø' => key.push('o'),
            'ł' => key.push('l'),
            'đ' => key.push('d'),
            'ß' => key.push_str("ss"),
            'æ' => key.push_str("ae"),
            'œ' => key.push_str("oe"),
            // Other scripts' letters, as the names of their columns are.
            c if !c.is_ascii() && c.is_alphanumeric() => key.push(c),
            _ => {}
        }
    }
    key
}

/// The names exports and spreadsheets give columns in the languages of
/// markets beyond Europe's and Latin America's, as they write them:
/// Russian and Ukrainian (Bitrix24's and amoCRM's exports), Turkish,
/// Greek, Arabic, Hebrew, Japanese, Chinese, Korean, Thai, Vietnamese and
/// Indonesian. Words that also name something else are left out: Turkish
/// `Ad` is an advert's column in English, Korean `이름` is a first name in
/// some files and the whole name in others, Russian `ФИО` a full name
/// written family name first, and Chinese `名字` a given name where
/// Japanese `名字` is a family name.
const OTHER_LANGUAGES: &[(&str, Standard)] = &[
    // Russian and Ukrainian.
    ("Имя", Standard::FirstName),
    ("Ім'я", Standard::FirstName),
    ("Фамилия", Standard::LastName),
    ("Прізвище", Standard::LastName),
    ("Эл. почта", Standard::Email),
    ("Электронная почта", Standard::Email),
    ("Рабочий e-mail", Standard::Email),
    ("Частный e-mail", Standard::Email),
    ("Електронна пошта", Standard::Email),
    ("Телефон", Standard::Phone),
    ("Мобильный телефон", Standard::Phone),
    ("Рабочий телефон", Standard::Phone),
    ("Номер телефона", Standard::Phone),
    ("Мобільний телефон", Standard::Phone),
    ("Номер телефону", Standard::Phone),
    ("Город", Standard::City),
    ("Місто", Standard::City),
    ("Регион", Standard::State),
    ("Область", Standard::State),
    ("Индекс", Standard::PostalCode),
    ("Почтовый индекс", Standard::PostalCode),
    ("Поштовий індекс", Standard::PostalCode),
    ("Страна", Standard::Country),
    ("Країна", Standard::Country),
    ("Дата рождения", Standard::DateOfBirth),
    ("День рождения", Standard::DateOfBirth),
    ("Дата народження", Standard::DateOfBirth),
    ("Пол", Standard::Gender),
    ("Стать", Standard::Gender),
    // Turkish.
    ("Adı", Standard::FirstName),
    ("İsim", Standard::FirstName),
    ("Soyad", Standard::LastName),
    ("Soyadı", Standard::LastName),
    ("Ad Soyad", Standard::FullName),
    ("E-posta", Standard::Email),
    ("E-posta Adresi", Standard::Email),
    ("Cep Telefonu", Standard::Phone),
    ("Telefon Numarası", Standard::Phone),
    ("Şehir", Standard::City),
    ("İl", Standard::State),
    ("Posta Kodu", Standard::PostalCode),
    ("Ülke", Standard::Country),
    ("Doğum Tarihi", Standard::DateOfBirth),
    ("Cinsiyet", Standard::Gender),
    // Greek.
    ("Όνομα", Standard::FirstName),
    ("Επώνυμο", Standard::LastName),
    ("Τηλέφωνο", Standard::Phone),
    ("Κινητό", Standard::Phone),
    ("Κινητό τηλέφωνο", Standard::Phone),
    ("Πόλη", Standard::City),
    ("Ταχυδρομικός κώδικας", Standard::PostalCode),
    ("Χώρα", Standard::Country),
    ("Ημερομηνία γέννησης", Standard::DateOfBirth),
    ("Φύλο", Standard::Gender),
    // Arabic.
    ("الاسم الأول", Standard::FirstName),
    ("اسم العائلة", Standard::LastName),
    ("الاسم الكامل", Standard::FullName),
    ("البريد الإلكتروني", Standard::Email),
    ("الهاتف", Standard::Phone),
    ("رقم الهاتف", Standard::Phone),
    ("الجوال", Standard::Phone),
    ("رقم الجوال", Standard::Phone),
    ("المدينة", Standard::City),
    ("الرمز البريدي", Standard::PostalCode),
    ("الدولة", Standard::Country),
    ("البلد", Standard::Country),
    ("تاريخ الميلاد", Standard::DateOfBirth),
    ("الجنس", Standard::Gender),
    // Hebrew.
    ("שם פרטי", Standard::FirstName),
    ("שם משפחה", Standard::LastName),
    ("שם מלא", Standard::FullName),
    ("אימייל", Standard::Email),
    ("דואר אלקטרוני", Standard::Email),
    ("טלפון", Standard::Phone),
    ("נייד", Standard::Phone),
    ("טלפון נייד", Standard::Phone),
    ("עיר", Standard::City),
    ("מיקוד", Standard::PostalCode),
    ("מדינה", Standard::Country),
    ("תאריך לידה", Standard::DateOfBirth),
    ("מין", Standard::Gender),
    // Japanese.
    ("姓", Standard::LastName),
    ("苗字", Standard::LastName),
    ("名", Standard::FirstName),
    ("氏名", Standard::FullName),
    ("お名前", Standard::FullName),
    ("メールアドレス", Standard::Email),
    ("メール", Standard::Email),
    ("Eメール", Standard::Email),
    ("電話番号", Standard::Phone),
    ("携帯電話", Standard::Phone),
    ("携帯電話番号", Standard::Phone),
    ("市区町村", Standard::City),
    ("都道府県", Standard::State),
    ("郵便番号", Standard::PostalCode),
    ("国", Standard::Country),
    ("生年月日", Standard::DateOfBirth),
    ("誕生日", Standard::DateOfBirth),
    ("性別", Standard::Gender),
    // Chinese, simplified and traditional.
    ("姓名", Standard::FullName),
    ("邮箱", Standard::Email),
    ("电子邮件", Standard::Email),
    ("電子郵件", Standard::Email),
    ("电子邮箱", Standard::Email),
    ("手机", Standard::Phone),
    ("手机号", Standard::Phone),
    ("手机号码", Standard::Phone),
    ("电话", Standard::Phone),
    ("联系电话", Standard::Phone),
    ("手機", Standard::Phone),
    ("電話", Standard::Phone),
    ("城市", Standard::City),
    ("省份", Standard::State),
    ("邮编", Standard::PostalCode),
    ("邮政编码", Standard::PostalCode),
    ("郵遞區號", Standard::PostalCode),
    ("国家", Standard::Country),
    ("國家", Standard::Country),
    ("出生日期", Standard::DateOfBirth),
    ("生日", Standard::DateOfBirth),
    ("性别", Standard::Gender),
    // Korean.
    ("성", Standard::LastName),
    ("성명", Standard::FullName),
    ("이메일", Standard::Email),
    ("전화번호", Standard::Phone),
    ("휴대폰", Standard::Phone),
    ("휴대폰 번호", Standard::Phone),
    ("휴대전화", Standard::Phone),
    ("도시", Standard::City),
    ("우편번호", Standard::PostalCode),
    ("국가", Standard::Country),
    ("생년월일", Standard::DateOfBirth),
    ("성별", Standard::Gender),
    // Thai.
    ("ชื่อ", Standard::FirstName),
    ("นามสกุล", Standard::LastName),
    ("อีเมล", Standard::Email),
    ("เบอร์โทรศัพท์", Standard::Phone),
    ("เบอร์โทร", Standard::Phone),
    ("โทรศัพท์", Standard::Phone),
    ("จังหวัด", Standard::State),
    ("รหัสไปรษณีย์", Standard::PostalCode),
    ("ประเทศ", Standard::Country),
    ("วันเกิด", Standard::DateOfBirth),
    ("เพศ", Standard::Gender),
    // Vietnamese: a whole name is not split (see `full_name`).
    ("Tên", Standard::FirstName),
    ("Họ", Standard::LastName),
    ("Họ và tên", Standard::FullName),
    ("Họ tên", Standard::FullName),
    ("Số điện thoại", Standard::Phone),
    ("Thành phố", Standard::City),
    ("Tỉnh", Standard::State),
    ("Quốc gia", Standard::Country),
    ("Ngày sinh", Standard::DateOfBirth),
    ("Giới tính", Standard::Gender),
    // Indonesian and Malay.
    ("Nama Depan", Standard::FirstName),
    ("Nama Belakang", Standard::LastName),
    ("Nama Lengkap", Standard::FullName),
    ("Nomor Telepon", Standard::Phone),
    ("No HP", Standard::Phone),
    ("Kota", Standard::City),
    ("Provinsi", Standard::State),
    ("Kode Pos", Standard::PostalCode),
    ("Negara", Standard::Country),
    ("Tanggal Lahir", Standard::DateOfBirth),
    ("Jenis Kelamin", Standard::Gender),
];

/// The standard field a [`column_key`] of [`OTHER_LANGUAGES`] names.
fn other_language(key: &str) -> Option<Standard> {
    static KEYS: LazyLock<HashMap<String, Standard>> = LazyLock::new(|| {
        OTHER_LANGUAGES
            .iter()
            .map(|(name, field)| (column_key(name), *field))
            .collect()
    });
    KEYS.get(key).copied()
}

/// A contact with only empty fields, to fill in.
pub fn empty_contact() -> wit::Contact {
    wit::Contact {
        id: String::new(),
        emails: Vec::new(),
        phones: Vec::new(),
        first_name: None,
        last_name: None,
        gender: None,
        date_of_birth: None,
        city: None,
        state: None,
        postal_code: None,
        country: None,
        custom_fields: "{}".into(),
    }
}

/// Several emails or phones in one cell are separated by `;`, and by
/// nothing else: `|` is a valid character of an email address.
fn split_multi(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn set(contact: &mut wit::Contact, field: Standard, value: &str) {
    let v = value.trim();
    if v.is_empty() {
        return;
    }
    let text = Some(v.to_string());
    match field {
        Standard::Id => contact.id = v.to_string(),
        Standard::Email => contact.emails.extend(split_multi(v)),
        Standard::Phone => contact.phones.extend(split_multi(v)),
        Standard::FirstName => contact.first_name = text,
        Standard::LastName => contact.last_name = text,
        Standard::Gender => contact.gender = text,
        Standard::DateOfBirth => contact.date_of_birth = text,
        Standard::City => contact.city = text,
        Standard::State => contact.state = text,
        Standard::PostalCode => contact.postal_code = text,
        Standard::Country => contact.country = text,
        // Read with the whole contact, by `with_full_name`.
        Standard::FullName => {}
    }
}

/// `contact` with the first and last names of its `full` name, when it
/// has neither and the name's order is clear.
fn with_full_name(contact: &mut wit::Contact, full: Option<&str>) {
    if contact.first_name.is_none()
        && contact.last_name.is_none()
        && let Some((first, last)) =
            full.and_then(|f| full_name::split(f, contact.country.as_deref()))
    {
        contact.first_name = Some(first);
        contact.last_name = Some(last);
    }
}

/// Reads the contacts file at `path` once and indexes it; the format
/// follows the extension (`.csv`, `.json`, `.jsonl`/`.ndjson`; a `.json`
/// file whose first or second line is a whole object holds JSON lines),
/// else the
/// first character. Bad records are reported, in file order, and skipped;
/// the rest are found by [`ContactBook::get`]. A JSON array is read whole
/// once (CSV and JSON lines are read a record at a time).
pub fn load(path: &Path) -> (ContactBook, Vec<InputError>) {
    match index(path) {
        Ok((book, problems)) => (book, problems.into_sorted(path)),
        Err(e) => (
            ContactBook::default(),
            vec![InputError::new(
                path,
                None,
                None,
                format!("cannot read the file: {e}"),
            )],
        ),
    }
}

/// The extension that names a file's format, lowercase: `csv` for
/// `contacts.csv` and for `contacts.csv.gz`.
fn format_extension(path: &Path) -> String {
    let ext = |path: &Path| {
        path.extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let outer = ext(path);
    if outer == "gz" {
        ext(Path::new(path.file_stem().unwrap_or_default()))
    } else {
        outer
    }
}

fn index(path: &Path) -> std::io::Result<(ContactBook, Problems)> {
    // A gzip-compressed or UTF-16 file (Excel's "Unicode Text", Windows
    // PowerShell's `>`) is read from a UTF-8 copy of it, line for line the
    // same.
    let source = Text::open(path)?;
    let text = source.file();
    let file = File::open(text)?;
    let mut reader = BufReader::new(File::open(text)?);
    if let Some(problem) = not_text(path, reader.fill_buf()?) {
        let mut problems = Problems::default();
        problems.push(problem);
        return Ok((ContactBook::default(), problems));
    }
    let ext = format_extension(path);
    let bom = reader.fill_buf()?.starts_with(BOM);
    let first = first_character(&mut reader)?;
    // A `.json` file whose first or second line is a whole contact holds
    // one contact per line, as a `.jsonl` file does: exports name them
    // either way. (A pretty-printed object has neither; the second line
    // counts so that a broken first contact loses only itself.)
    let lines_of_objects = ext == "json" && first == Some(b'{') && {
        let mut whole = false;
        for _ in 0..2 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            whole |= serde_json::from_str::<Value>(&line).is_ok_and(|v| v.is_object());
        }
        whole
    };
    reader.seek(SeekFrom::Start(0))?;
    let mut indexer = Indexer {
        path,
        text,
        places: Vec::new(),
        errors: Problems::default(),
        refused: HashMap::new(),
        refused_bytes: 0,
        scientific_ids: Recurring::default(),
        legacy: None,
    };
    let layout = match (ext.as_str(), first) {
        ("csv", _) => indexer.csv(reader, bom),
        ("jsonl" | "ndjson", _) => indexer.json_lines(reader),
        ("json", _) if lines_of_objects => indexer.json_lines(reader),
        ("json", _) | (_, Some(b'[')) => indexer.json_array(bom),
        (_, Some(b'{')) => indexer.json_lines(reader),
        _ => indexer.csv(reader, bom),
    }?;
    indexer.finish();
    let format = match layout {
        Layout::Csv(columns, delimiter) => Format::Csv {
            columns,
            delimiter,
            legacy: indexer.legacy.unwrap_or_default(),
            reader: Mutex::new(csv_reader(file, delimiter)),
        },
        Layout::Json => Format::Json(Mutex::new(file)),
    };
    let mut book = ContactBook {
        source: Some(Source {
            text: source.clone(),
            format,
        }),
        places: Arc::new(indexer.places),
        buckets: Arc::default(),
        refused: Arc::new(indexer.refused),
        lost_ids: indexer.scientific_ids.count > 0,
    };
    let mut errors = indexer.errors;
    book.refuse_repeated_ids(path, &mut errors);
    book.buckets = Arc::new(Buckets::new(&book.places));
    Ok((book, errors))
}

/// What a header row without an id column is told: the names read as one,
/// and the file's own columns, one of which the user may rename (an export
/// such as Mailchimp's keys its contacts by `Email Address` and has no id).
fn no_id_column(headers: &[String]) -> String {
    // A file without a header row: its first row is a contact's, whose
    // email or phone a problem must not quote.
    let is_data = |h: &String| h.contains('@') || h.bytes().filter(u8::is_ascii_digit).count() >= 5;
    if headers.iter().any(is_data) {
        return "the first row is a contact's, not a header row naming the columns (one of its \
                cells is an email address or a number): add a header row, such as \
                `id,email,phone,first_name,last_name`"
            .into();
    }
    const SHOWN: usize = 8;
    let mut columns: Vec<String> = headers
        .iter()
        .take(SHOWN)
        .map(|h| format!("`{}`", h.trim()))
        .collect();
    if headers.len() > SHOWN {
        columns.push(format!("and {} more", headers.len() - SHOWN));
    }
    format!(
        "the header row has no `id` column (nor `Contact ID`, `Customer ID` or `Record ID`), \
         so no firing can find its contacts; name the column that identifies a contact `id` \
         (the columns are {})",
        columns.join(", ")
    )
}

/// Whether `e` is a row with more fields than the header only because it
/// ends with separators: every field past the header's is empty. A row
/// with a line break in a field is one only if its quotes `close` fields:
/// else a quote left open may have swallowed the rows after it, which are
/// then read again on their own.
fn ends_in_separators(e: &csv::Error, row: &csv::ByteRecord, close: impl FnOnce() -> bool) -> bool {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            len > expected_len
                && row
                    .iter()
                    .skip(*expected_len as usize)
                    .all(|field| field.trim_ascii().is_empty())
                && (!row.as_slice().iter().any(|b| matches!(b, b'\n' | b'\r')) || close())
        }
        _ => false,
    }
}

/// The parser that reads a CSV record again where the index says it is.
fn csv_reader(file: File, delimiter: u8) -> csv::Reader<File> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(file)
}

/// The byte that separates the columns of a CSV header row: a comma, or
/// what spreadsheets export with instead where the comma is the decimal
/// mark (a semicolon), or a tab or a bar, whichever the header has most of
/// outside quotes; a comma when it has none.
fn delimiter_of(header: &[u8]) -> u8 {
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    // The first of the most frequent: a comma on a tie.
    counts
        .iter()
        .fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best })
        .0
}

/// Where the line after the one at byte `offset` of `path` starts, if
/// one does: after its `\n`, `\r\n` or lone `\r`.
fn next_line_start(path: &Path, offset: u64) -> std::io::Result<Option<u64>> {
    let mut file = BufReader::new(File::open(path)?);
    file.seek(SeekFrom::Start(offset))?;
    let mut at = offset;
    loop {
        let buf = file.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(i) = buf.iter().position(|b| matches!(b, b'\r' | b'\n')) {
            let end = buf[i];
            file.consume(i + 1);
            at += i as u64 + 1;
            if end == b'\r' && file.fill_buf()?.first() == Some(&b'\n') {
                at += 1;
            }
            return Ok(Some(at));
        }
        let n = buf.len();
        file.consume(n);
        at += n as u64;
    }
}

/// The first byte that is not a byte-order mark or white space.
fn first_character(reader: &mut impl BufRead) -> std::io::Result<Option<u8>> {
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(b) = buf.iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(*b));
        }
        let n = buf.len();
        reader.consume(n);
    }
}

impl ContactBook {
    /// Keeps the first contact of each id: a later one with the same id is
    /// reported and left out.
    fn refuse_repeated_ids(&mut self, path: &Path, errors: &mut Problems) {
        // The index is not shared yet: sorted in place, not copied.
        Arc::make_mut(&mut self.places).sort_unstable_by_key(|p| (p.print, p.offset));
        let mut refused = Vec::new();
        for group in self.places.chunk_by(|a, b| a.print == b.print) {
            if group.len() < 2 {
                continue;
            }
            // Same fingerprint: compare the ids themselves.
            let mut seen = HashSet::new();
            for place in group {
                let Ok(contact) = self.read(place) else {
                    continue;
                };
                if !seen.insert(contact.id.clone()) {
                    errors.push(InputError::new(
                        path,
                        Some(place.line as usize),
                        Some("id"),
                        format!(
                            "a contact with id `{}` is already listed earlier; this one is ignored",
                            shown_id(&contact.id)
                        ),
                    ));
                    refused.push((place.print, place.offset));
                }
            }
        }
        if !refused.is_empty() {
            let refused: HashSet<(u64, u64)> = refused.into_iter().collect();
            Arc::make_mut(&mut self.places).retain(|p| !refused.contains(&(p.print, p.offset)));
        }
    }
}

/// Rows that share one irregularity, said once, at the first of them,
/// with how many there are.
struct Recurring<T> {
    count: usize,
    /// The first one's line, and what is said of it.
    first: Option<(usize, T)>,
}

impl<T> Default for Recurring<T> {
    fn default() -> Self {
        Recurring {
            count: 0,
            first: None,
        }
    }
}

impl<T> Recurring<T> {
    /// Counts one more at `line`, keeping `what` of the first.
    fn note(&mut self, line: usize, what: impl FnOnce() -> T) {
        self.count += 1;
        self.first.get_or_insert_with(|| (line, what()));
    }

    /// How many, as a sentence's subject: `1 row is`, `3 rows are`.
    fn counted(&self, one: &str, many: &str) -> String {
        match self.count {
            1 => format!("1 {one}"),
            n => format!("{n} {many}"),
        }
    }
}

/// Reads a contacts file once, keeping where each good record is.
struct Indexer<'a> {
    /// The contacts file, as problems name it.
    path: &'a Path,
    /// The file read: the contacts file, or its UTF-8 copy.
    text: &'a Path,
    places: Vec<Place>,
    errors: Problems,
    refused: HashMap<String, Refused>,
    /// The bytes of the ids in `refused`.
    refused_bytes: usize,
    /// The ids a spreadsheet wrote in scientific notation.
    scientific_ids: Recurring<String>,
    /// The encoding of the cells that are not UTF-8, once one is found.
    legacy: Option<Legacy>,
}

/// The refused rows a book remembers, at most, and the bytes of their ids:
/// a file of millions of broken rows has the firings of the first of them
/// pointed to their rows, without a run holding every row's id and
/// problem.
const MAX_REFUSED: usize = 65_536;
const MAX_REFUSED_BYTES: usize = 8 << 20;

impl Indexer<'_> {
    /// Notes that the row at `line` with contact `id` was left out.
    fn refuse(&mut self, id: String, line: usize, why: String) {
        if !id.is_empty()
            && self.refused.len() < MAX_REFUSED
            && self.refused_bytes + id.len() <= MAX_REFUSED_BYTES
        {
            self.refused_bytes += id.len();
            self.refused.entry(id).or_insert(Refused { line, why });
        }
    }

    /// Notes a record read at `offset`, `len` bytes long.
    fn add(&mut self, offset: u64, len: usize, record: Record) {
        match record {
            Ok((line, contact)) if contact.id.is_empty() => {
                self.errors.push(InputError::new(
                    self.path,
                    Some(line),
                    Some("id"),
                    "the contact has no id",
                ));
            }
            Ok((line, contact)) if len > MAX_CONTACT => {
                let why = format!(
                    "the contact's record is {:.1} MB; a contact is at most {} KiB (a contact is a few hundred bytes)",
                    len as f64 / 1e6,
                    MAX_CONTACT / 1024
                );
                self.errors
                    .push(InputError::new(self.path, Some(line), None, why.clone()));
                self.refuse(contact.id, line, why);
            }
            Ok((line, contact)) => {
                if normalize::lost_to_scientific_notation(&contact.id) {
                    self.scientific_ids.note(line, || contact.id.clone());
                }
                self.place(offset, len, line, &contact.id);
            }
            Err(e) => self.errors.push(e),
        }
    }

    /// Keeps where the contact with `id` is: at `offset`, `len` bytes long
    /// (at most [`MAX_CONTACT`]), on `line`.
    fn place(&mut self, offset: u64, len: usize, line: usize, id: &str) {
        self.places.push(Place {
            print: fingerprint(id),
            offset,
            len: len as u32,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        });
    }

    /// Says once what the whole file showed: ids a spreadsheet wrote in
    /// scientific notation, which no firing's id can find.
    fn finish(&mut self) {
        if let Some((line, id)) = &self.scientific_ids.first {
            let ids = self.scientific_ids.counted("id is", "ids are");
            self.errors.push_summary(InputError::new(
                self.path,
                Some(*line),
                Some("id"),
                format!(
                    "`{id}` is a number a spreadsheet wrote in scientific notation, which lost its \
                     last digits ({ids} so; this is the first): no firing can find these contacts \
                     by their ids; format the column as text and export the file again"
                ),
            ));
        }
    }

    fn csv(&mut self, mut reader: BufReader<File>, bom: bool) -> std::io::Result<Layout> {
        let mut base = if bom {
            reader.fill_buf()?;
            reader.consume(BOM.len());
            BOM.len() as u64
        } else {
            0
        };
        let path = self.path;
        // The separator is the one a first line `sep=;` names, as a file
        // tells Excel, with the header row after it; else the one the
        // header row, the first line that is not blank, has most of.
        let (delimiter, declaration) = {
            let buffered = reader.fill_buf()?;
            let mut lines = buffered.split(|b| *b == b'\n');
            let first = lines.next().unwrap_or_default();
            match first.strip_suffix(b"\r").unwrap_or(first) {
                [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', separator]
                    if first.len() < buffered.len() =>
                {
                    (*separator, Some(first.len() + 1))
                }
                _ => {
                    let header = std::iter::once(first)
                        .chain(lines)
                        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
                        .unwrap_or_default();
                    (delimiter_of(header), None)
                }
            }
        };
        let mut header_line = 1;
        if let Some(len) = declaration {
            reader.consume(len);
            base += len as u64;
            header_line = 2;
        }
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .delimiter(delimiter)
            .from_reader(Raw::new(reader, base));
        let headers = match reader.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.errors.push(InputError::new(
                    path,
                    Some(header_line),
                    None,
                    format!("unreadable header row: {e}"),
                ));
                return Ok(Layout::Csv(Vec::new(), delimiter));
            }
        };
        // The header's line is where its first name is, after any blank
        // lines.
        let mut lines = RowLines::new(base, header_line);
        let header_end = base + reader.position().byte();
        let header_line = lines.row(reader.get_mut(), base, header_end).first_line;
        // A header row in a legacy encoding (`Prénom` from a French Excel,
        // `Imię` from a Polish one) is read as its rows are.
        let header_legacy = headers.iter().position(|h| std::str::from_utf8(h).is_err());
        if header_legacy.is_some() {
            self.legacy = Some(Legacy::of_file(self.text, base, None)?);
        }
        let legacy = self.legacy.unwrap_or_default();
        let headers: Vec<String> = headers
            .iter()
            .map(|h| legacy.text(h).0.into_owned())
            .collect();
        if !headers.iter().any(|h| standard(h) == Some(Standard::Id)) {
            self.errors.push(InputError::new(
                path,
                Some(header_line),
                Some("id"),
                no_id_column(&headers),
            ));
            return Ok(Layout::Csv(Vec::new(), delimiter));
        }
        let columns: Vec<Column> = headers
            .iter()
            .map(|h| (h.trim().to_string(), standard(h)))
            .collect();
        let mut row = csv::ByteRecord::new();
        let mut legacy_rows = Recurring::default();
        if let Some(column) = header_legacy {
            legacy_rows.note(header_line, || column);
        }
        // Rows that end with a separator the header lacks (`c1,a@x.com,`
        // under `id,email`), as some exports write every row: their empty
        // last fields are ignored and the file's first such row said once.
        let mut trailing_rows = Recurring::default();
        loop {
            let mut trailing = false;
            let read = match reader.read_byte_record(&mut row) {
                Err(e)
                    if ends_in_separators(&e, &row, || {
                        let start = base + e.position().map_or(0, |p| p.byte());
                        let end = base + reader.position().byte();
                        reader.get_ref().quotes_close_fields(start, end, delimiter)
                    }) =>
                {
                    trailing = true;
                    Ok(true)
                }
                read => read,
            };
            match read {
                Ok(false) => break,
                Ok(true) => {
                    let start = base + row.position().map_or(0, |p| p.byte());
                    let end = base + reader.position().byte();
                    let span = lines.row(reader.get_mut(), start, end);
                    if trailing {
                        trailing_rows.note(span.first_line, || ());
                    }
                    let (mut contact, mut legacy_column) =
                        from_csv_row(&columns, self.legacy.unwrap_or_default(), &row);
                    if legacy_column.is_some() && self.legacy.is_none() {
                        // The file's first cell that is not UTF-8: the
                        // bytes from its row on tell its encoding.
                        let found =
                            Legacy::of_file(self.text, span.start, market(&contact).as_deref())?;
                        self.legacy = Some(found);
                        (contact, legacy_column) = from_csv_row(&columns, found, &row);
                    }
                    if let Some(column) = legacy_column {
                        legacy_rows.note(span.first_line, || column);
                    }
                    let record = Ok((span.first_line, contact));
                    self.add(span.start, (end - span.start) as usize, record);
                }
                Err(e) => {
                    if let csv::ErrorKind::Io(e) = e.kind() {
                        return Err(std::io::Error::new(e.kind(), e.to_string()));
                    }
                    let start = base + e.position().map_or(0, |p| p.byte());
                    let end = base + reader.position().byte();
                    let span = lines.row(reader.get_mut(), start, end);
                    let mut message = match e.kind() {
                        csv::ErrorKind::UnequalLengths { len: 1, .. }
                            if span.is_blank(reader.get_ref()) =>
                        {
                            continue;
                        }
                        csv::ErrorKind::UnequalLengths {
                            expected_len,
                            len: 1,
                            ..
                        } => {
                            format!("the row has 1 field but the header has {expected_len}")
                        }
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => {
                            format!("the row has {len} fields but the header has {expected_len}")
                        }
                        _ => format!("malformed CSV row: {e}"),
                    };
                    // The parser filled the row before it counted its
                    // fields: its id, if it has one, names the contact that
                    // is left out.
                    let id = match e.kind() {
                        csv::ErrorKind::UnequalLengths { .. } => {
                            from_csv_row(&columns, self.legacy.unwrap_or_default(), &row)
                                .0
                                .id
                        }
                        _ => String::new(),
                    };
                    let mut why = message.clone();
                    // A row that ran on over later lines and came out with
                    // the wrong number of fields, a quote closing inside a
                    // field, opened a quote it never closed (`"José`): the
                    // rows it swallowed are read again on their own, instead
                    // of all being lost with it. One whose quoted fields
                    // close as fields do spans its lines on purpose, and is
                    // left out whole.
                    let last_line = span.last_line(reader.get_ref());
                    if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. })
                        && last_line > span.first_line
                        && !reader.get_ref().quotes_close_fields(start, end, delimiter)
                        && let Some(next) = next_line_start(self.text, span.start)?
                    {
                        why = format!("a quote opened on it is not closed before line {last_line}");
                        message = format!(
                            "{message}: a quote opened on this line is not closed before line {last_line}, \
                             so lines {}–{last_line} were read as one row; this row is left out and the lines \
                             after it are read as rows of their own (write a quote inside a field as `\"\"`)",
                            span.first_line
                        );
                        let mut at = csv::Position::new();
                        at.set_byte(next - base)
                            .set_line(span.first_line as u64 + 1);
                        reader.seek_raw(SeekFrom::Start(next), at)?;
                        lines = RowLines::new(next, span.first_line + 1);
                    }
                    self.refuse(id, span.first_line, why);
                    self.errors
                        .push(InputError::new(path, Some(span.first_line), None, message));
                }
            }
        }
        if let Some((line, ())) = trailing_rows.first {
            let rows = trailing_rows.counted("row ends", "rows end");
            self.errors.push_summary(InputError::new(
                path,
                Some(line),
                None,
                format!(
                    "{rows} with a separator the header lacks (this is the first): the empty \
                     field after it is ignored and the row read under the header's columns"
                ),
            ));
        }
        if let Some((line, column)) = legacy_rows.first {
            let rows = legacy_rows.counted("row is", "rows are");
            self.errors.push_summary(InputError::new(
                path,
                Some(line),
                columns.get(column).map(|(name, _)| name.as_str()),
                format!(
                    "not UTF-8 text ({rows} not; this is the first): read as {}, the encoding its \
                     bytes look like (Excel's \"CSV (Comma delimited)\" writes its system's own); if \
                     the file's names are in another script, save it as \"CSV UTF-8\" instead",
                    self.legacy.unwrap_or_default().describe()
                ),
            ));
        }
        Ok(Layout::Csv(columns, delimiter))
    }

    fn json_lines(&mut self, reader: BufReader<File>) -> std::io::Result<Layout> {
        let path = self.path;
        let mut lines = Lines::new(reader)?;
        while let Some(line) = lines.next_line() {
            let Line {
                number,
                offset,
                text,
            } = line?;
            let at = |message: String| InputError::new(path, Some(number), None, message);
            let parsed = match text {
                Err(()) => Err(at("the line is not valid UTF-8 text".into())),
                Ok(text) => serde_json::from_str::<Value>(text)
                    .map_err(|e| at(json_problem(&e)))
                    .and_then(|v| from_value(path, number, v, &mut self.errors))
                    .map(|record| (record, text.len())),
            };
            match parsed {
                Ok((record, len)) => self.add(offset, len, Ok(record)),
                Err(e) => self.errors.push(e),
            }
        }
        Ok(Layout::Json)
    }

    fn json_array(&mut self, bom: bool) -> std::io::Result<Layout> {
        let path = self.path;
        let text = match read_text(self.text) {
            Ok(t) => t,
            Err(e) => {
                self.errors
                    .push(InputError::new(path, e.line, e.field.as_deref(), e.message));
                return Ok(Layout::Json);
            }
        };
        let base = if bom { BOM.len() as u64 } else { 0 };
        let (elements, problems) = array_elements(&text);
        for (line, message) in problems {
            self.errors
                .push(InputError::new(path, Some(line), None, message));
        }
        for Element { offset, text, line } in elements {
            let v: Value = serde_json::from_str(text).expect("already parsed");
            let record = from_value(path, line, v, &mut self.errors);
            self.add(base + offset as u64, text.len(), record);
        }
        Ok(Layout::Json)
    }
}

/// One element of a JSON array, as its text.
struct Element<'a> {
    /// Its byte offset in the array's text.
    offset: usize,
    /// Its JSON text.
    text: &'a str,
    /// The 1-based line it starts on.
    line: usize,
}

/// The elements of the JSON array `text`, each read on its own, and the
/// problems found, each with its line. An element that is not valid JSON
/// is left out and reading goes on at the next line that opens an element
/// as the first one was opened (its first character at the same column), so
/// one broken contact does not take the others with it; a missing `,`
/// between two elements is said, and both are read.
fn array_elements(text: &str) -> (Vec<Element<'_>>, Vec<(usize, String)>) {
    let bytes = text.as_bytes();
    let skip_blank = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    let column = |at: usize| {
        at - bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |n| n + 1)
    };
    let mut lines = LineCounter::default();
    let mut elements = Vec::new();
    let mut problems = Vec::new();
    let mut at = skip_blank(0);
    if bytes.get(at) != Some(&b'[') {
        let why = if bytes.get(at) == Some(&b'{') {
            "not a JSON array of contacts, nor one contact per line: the file does not start \
             with `[`, and its first line is not a whole contact"
        } else {
            "not a JSON array of contacts: the file does not start with `[`"
        };
        problems.push((lines.at(text, at), why.to_string()));
        return (elements, problems);
    }
    at += 1;
    let mut opening: Option<(usize, u8)> = None;
    loop {
        at = skip_blank(at);
        let Some(&first) = bytes.get(at) else {
            problems.push((
                lines.at(text, at),
                "the array of contacts is not closed with `]`".to_string(),
            ));
            break;
        };
        if first == b']' {
            let rest = skip_blank(at + 1);
            if rest < bytes.len() {
                problems.push((
                    lines.at(text, rest),
                    "text after the array of contacts is not read".to_string(),
                ));
            }
            break;
        }
        let opened = *opening.get_or_insert_with(|| (column(at), first));
        let mut reader = serde_json::Deserializer::from_str(&text[at..]);
        match <&serde_json::value::RawValue as serde::Deserialize>::deserialize(&mut reader) {
            Ok(raw) => {
                let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                elements.push(Element {
                    offset,
                    text: raw.get(),
                    line: lines.at(text, offset),
                });
                at = skip_blank(offset + raw.get().len());
                match bytes.get(at) {
                    Some(b',') => at += 1,
                    Some(b']') | None => {}
                    Some(_) => problems.push((
                        lines.at(text, at),
                        "a `,` is missing before this contact".to_string(),
                    )),
                }
            }
            Err(e) => {
                let line = lines.at(text, at) + e.line() - 1;
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                // The next line whose first character opens an element as
                // the first element was opened.
                let next = text[at..]
                    .match_indices('\n')
                    .skip(e.line() - 1)
                    .map(|(n, _)| at + n + 1)
                    .find(|&start| {
                        let opens = skip_blank(start);
                        opens - start == opened.0 && bytes.get(opens) == Some(&opened.1)
                    });
                problems.push((
                    line,
                    match next {
                        Some(n) => format!(
                            "a contact that is not valid JSON ({message}) is left out; \
                             reading goes on at line {}",
                            lines.at(text, n)
                        ),
                        None => format!(
                            "a contact that is not valid JSON ({message}); \
                             no contact after it can be told apart, so the rest of the file is not read"
                        ),
                    },
                ));
                match next {
                    Some(n) => at = n,
                    None => break,
                }
            }
        }
    }
    (elements, problems)
}

/// The line of each of a series of offsets into one text, counted from
/// the last one asked for: offsets asked in order cost one pass in all.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    /// The 1-based line of `offset` in `text`; offsets at or after the
    /// last one asked for.
    fn at(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        debug_assert!(offset >= self.offset, "offsets are asked in order");
        self.line += text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = offset;
        self.line + 1
    }
}

type Record = Result<(usize, wit::Contact), InputError>;

/// The country a contact is in, as its country field or else its email's
/// country domain (`jan@firma.pl`) names it: a file's market.
fn market(contact: &wit::Contact) -> Option<String> {
    if let Some(country) = contact
        .country
        .as_deref()
        .and_then(|c| normalize::country(c).ok())
    {
        return Some(country);
    }
    let domain = contact.emails.first()?.rsplit_once('@')?.1;
    let tld = domain.rsplit('.').next()?;
    (tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| tld.to_ascii_lowercase())
}

/// The contact of a CSV row under `columns`, and the first column that
/// was not UTF-8 and was read as `legacy` instead, if any.
fn from_csv_row(
    columns: &[Column],
    legacy: Legacy,
    row: &csv::ByteRecord,
) -> (wit::Contact, Option<usize>) {
    let mut first_legacy = None;
    let mut contact = empty_contact();
    let mut custom = Map::new();
    let mut full = None;
    for (i, ((name, field), bytes)) in columns.iter().zip(row).enumerate() {
        let (value, decoded) = legacy.text(bytes);
        if decoded {
            first_legacy.get_or_insert(i);
        }
        match field {
            Some(Standard::FullName) | None if !value.trim().is_empty() => {
                let value = value.trim().to_string();
                if field.is_some() {
                    full = Some(value.clone());
                }
                custom.insert(name.clone(), Value::String(value));
            }
            Some(f) => set(&mut contact, *f, &value),
            None => {}
        }
    }
    with_full_name(&mut contact, full.as_deref());
    contact.custom_fields = Value::Object(custom).to_string();
    (contact, first_legacy)
}

/// The contact of a JSON object. A field of the wrong type (an object
/// where an email is expected) is left out and said in `problems`, and the
/// contact keeps its other fields; only an object without a usable id is
/// no contact.
fn from_value(path: &Path, line: usize, v: Value, problems: &mut Problems) -> Record {
    let Value::Object(mut obj) = v else {
        return Err(InputError::new(
            path,
            Some(line),
            None,
            "a contact must be a JSON object",
        ));
    };
    let mut contact = empty_contact();
    let mut custom = Map::new();
    let mut full = None;
    let mut left_out = |key: &str, expected: &str, found: &Value| {
        problems.push(InputError::new(
            path,
            Some(line),
            Some(key),
            format!(
                "{expected} was expected, not {}; the field is left out and the contact's others are used",
                json_kind(found)
            ),
        ));
    };
    // A CRM's API writes a contact's fields in an object of their own
    // (HubSpot's `{"id": "51", "properties": {"email": …, "firstname": …}}`,
    // Klaviyo's and Brevo's `attributes`, Mailchimp's `merge_fields`,
    // Segment's `traits`): they are read as if they stood beside its id,
    // each field's value out of the object HubSpot's older API wraps it in
    // (`"firstname": {"value": "Ada", "versions": […]}`).
    let mut properties = Map::new();
    for container in ["properties", "attributes", "merge_fields", "traits"] {
        if obj.get(container).is_some_and(Value::is_object)
            && let Some(Value::Object(inner)) = obj.remove(container)
        {
            properties.extend(inner);
        }
    }
    for value in properties.values_mut() {
        if let Value::Object(wrapper) = value
            && let Some(inner) = wrapper.remove("value").filter(|v| !v.is_object())
        {
            *value = inner;
        }
    }
    // An address written as an object of its own (Shopify's
    // `default_address`, Stripe's `address`, WooCommerce's `billing`) gives
    // the contact its fields, before the contact's own, which win; the
    // object stays a custom field too, for merge fields such as
    // `{{contact.default_address.address1}}`.
    for (key, value) in obj.iter().chain(&properties) {
        if let Value::Object(address) = value
            && is_address(key)
        {
            for (inner, value) in address {
                if let Some(field) =
                    standard(inner).filter(|f| !matches!(f, Standard::Id | Standard::FullName))
                {
                    let name = format!("{key}/{inner}");
                    read_field(&mut contact, field, &name, value, &mut left_out);
                }
            }
        }
    }
    for (key, value) in obj.into_iter().chain(properties) {
        if key == "custom_fields" {
            match value {
                Value::Object(m) => custom.extend(m),
                Value::Null => {}
                other => left_out(&key, "a JSON object", &other),
            }
            continue;
        }
        let Some(field) = standard(&key) else {
            custom.insert(key, value);
            continue;
        };
        if field == Standard::FullName {
            full = text(&value);
            custom.insert(key, value);
            continue;
        }
        if field == Standard::Id {
            // Without its id there is no contact to keep.
            match text(&value) {
                Some(id) => set(&mut contact, field, &id),
                None if value.is_null() => {}
                None => {
                    return Err(InputError::new(
                        path,
                        Some(line),
                        Some(&key),
                        format!("text was expected, not {}", json_kind(&value)),
                    ));
                }
            }
            continue;
        }
        read_field(&mut contact, field, &key, &value, &mut left_out);
    }
    with_full_name(&mut contact, full.as_deref());
    contact.custom_fields = Value::Object(custom).to_string();
    Ok((line, contact))
}

/// Whether a JSON contact's `key` names an address whose object holds
/// its fields.
fn is_address(key: &str) -> bool {
    matches!(
        column_key(key).as_str(),
        "address"
            | "defaultaddress"
            | "billingaddress"
            | "billing"
            | "mailingaddress"
            | "homeaddress"
            | "location"
    )
}

/// A JSON value's text: a string, or a number as written.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sets a standard `field` of `contact` from the JSON `value` under `key`;
/// a value of the wrong type is `left_out` and said.
fn read_field(
    contact: &mut wit::Contact,
    field: Standard,
    key: &str,
    value: &Value,
    left_out: &mut impl FnMut(&str, &str, &Value),
) {
    let values: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::Array(a) if matches!(field, Standard::Email | Standard::Phone) => {
            match a.iter().map(text).collect::<Option<Vec<_>>>() {
                Some(vs) => vs,
                None => {
                    left_out(key, "a list of text", value);
                    Vec::new()
                }
            }
        }
        v => match text(v) {
            Some(t) => vec![t],
            None => {
                left_out(key, "text", v);
                Vec::new()
            }
        },
    };
    for v in values {
        set(contact, field, &v);
    }
}

/// What kind of JSON value `v` is, as a problem names it.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_print_is_found_where_a_binary_search_finds_it() {
        // Evenly spread prints (as hashes are), prints bunched at either
        // end or in one narrow band (as ids chosen to defeat the buckets
        // would make them), runs of equal prints, and every size up to 64.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let shapes: [&dyn Fn(u64) -> u64; 5] = [
            &|x| x,
            &|x| x >> 40,
            &|x| u64::MAX - (x >> 40),
            &|x| (1 << 63) + (x >> 50),
            &|x| x & 0xf000_0000_0000_0007,
        ];
        for shape in shapes {
            for n in (0..=64).chain([1_000, 10_000]) {
                let mut places: Vec<Place> = (0..n)
                    .map(|line| Place {
                        print: shape(next()),
                        offset: 0,
                        len: 0,
                        line,
                    })
                    .collect();
                places.sort_unstable_by_key(|p| p.print);
                let buckets = Buckets::new(&places);
                let mut probes: Vec<u64> = places.iter().map(|p| p.print).collect();
                probes.extend((0..200).map(|_| shape(next())));
                probes.extend([0, 1, u64::MAX, u64::MAX - 1, 1 << 63]);
                for print in probes {
                    let found = buckets.range(print, places.len());
                    let all = places.partition_point(|p| p.print < print);
                    let equal = places[all..]
                        .iter()
                        .take_while(|p| p.print == print)
                        .count();
                    assert!(
                        found.start <= all && all + equal <= found.end,
                        "{n} places, {print:#x}: bucket {found:?}, places {all}..{}",
                        all + equal
                    );
                    assert_eq!(
                        found.start + places[found.clone()].partition_point(|p| p.print < print),
                        all
                    );
                }
            }
        }
    }

    fn file(ext: &str, content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    /// A contact's names and address: first and last name, city, state,
    /// postal code, country.
    /// The contact `c1` of a CSV file of `text`, read without a problem.
    fn only_contact(text: &str) -> Arc<wit::Contact> {
        let f = file(".csv", text);
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{text}: {errors:?}");
        book.get("c1").unwrap().unwrap()
    }

    fn person(c: &wit::Contact) -> [Option<&str>; 6] {
        [
            c.first_name.as_deref(),
            c.last_name.as_deref(),
            c.city.as_deref(),
            c.state.as_deref(),
            c.postal_code.as_deref(),
            c.country.as_deref(),
        ]
    }

    #[test]
    fn csv_standard_and_custom_columns() {
        let f = file(
            ".csv",
            "id,email,phone,first_name,Zip,loyalty_tier\nc1,a@x.com;b@x.com,555-1212,Ada,94025,gold\nc2,,,,,\n",
        );
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = book.get("c1").unwrap().unwrap();
        assert_eq!(c.emails, ["a@x.com", "b@x.com"]);
        assert_eq!(c.postal_code.as_deref(), Some("94025"));
        assert_eq!(c.custom_fields, r#"{"loyalty_tier":"gold"}"#);
        assert_eq!(book.len(), 2);
    }

    #[test]
    fn a_crms_properties_are_read_as_the_contacts_fields() {
        let f = file(
            ".json",
            r#"[{"id": "51", "properties": {"email": "ada@x.com", "firstname": "Ada", "mobilephone": "650 555 1212", "zip": "94025", "hs_lead_status": "NEW"}, "archived": false},
               {"id": "52", "properties": "none"}]"#,
        );
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = book.get("51").unwrap().unwrap();
        assert_eq!(c.emails, ["ada@x.com"]);
        assert_eq!(c.first_name.as_deref(), Some("Ada"));
        assert_eq!(c.phones, ["650 555 1212"]);
        assert_eq!(c.postal_code.as_deref(), Some("94025"));
        assert_eq!(
            c.custom_fields,
            r#"{"archived":false,"hs_lead_status":"NEW"}"#
        );
        // Properties that are no object are a custom field like any other.
        let c = book.get("52").unwrap().unwrap();
        assert_eq!(c.custom_fields, r#"{"properties":"none"}"#);

        // Klaviyo's profiles and Mailchimp's members, as their APIs write them.
        let f = file(
            ".json",
            r#"[{"type": "profile", "id": "01GDDKASAP8TKDDA2GRZDSVP4H", "attributes": {"email": "sarah@klaviyo-demo.com", "phone_number": "+15005550006", "first_name": "Sarah", "last_name": "Mason", "location": {"address1": "89 E 42nd St", "city": "New York", "country": "United States", "region": "NY", "zip": "10017", "timezone": "America/New_York"}}},
               {"id": "852aaa9532cb36adfb5e9fef7a4206a9", "email_address": "urist@freddiesjokes.com", "merge_fields": {"FNAME": "Urist", "LNAME": "McVankab", "ADDRESS": {"addr1": "675 Ponce de Leon Ave NE", "city": "Atlanta", "state": "GA", "zip": "30308", "country": "US"}, "PHONE": "404 555 0100"}, "location": {"latitude": 0, "longitude": 0, "country_code": ""}}]"#,
        );
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = book.get("01GDDKASAP8TKDDA2GRZDSVP4H").unwrap().unwrap();
        assert_eq!(c.emails, ["sarah@klaviyo-demo.com"]);
        assert_eq!(c.phones, ["+15005550006"]);
        assert_eq!(
            person(&c),
            [
                Some("Sarah"),
                Some("Mason"),
                Some("New York"),
                Some("NY"),
                Some("10017"),
                Some("United States")
            ]
        );
        let c = book
            .get("852aaa9532cb36adfb5e9fef7a4206a9")
            .unwrap()
            .unwrap();
        assert_eq!(c.emails, ["urist@freddiesjokes.com"]);
        assert_eq!(c.phones, ["404 555 0100"]);
        assert_eq!(
            person(&c),
            [
                Some("Urist"),
                Some("McVankab"),
                Some("Atlanta"),
                Some("GA"),
                Some("30308"),
                Some("US")
            ]
        );

        // HubSpot's older API (`vid`, each value wrapped with its
        // history), Brevo's attributes (the mobile number is `SMS`) and
        // Segment's traits.
        let f = file(
            ".jsonl",
            concat!(
                r#"{"vid": 101, "canonical-vid": 101, "properties": {"firstname": {"value": "Ada", "versions": [{"value": "Ada", "timestamp": 1}]}, "email": {"value": "ada@x.com"}, "lifecyclestage": {"value": "lead"}}}"#,
                "\n",
                r#"{"id": 77, "email": "jean@x.fr", "attributes": {"PRENOM": "Jean", "NOM": "Dupont", "SMS": "+33612345678"}}"#,
                "\n",
                r#"{"id": "u-9", "traits": {"email": "bo@x.com", "firstName": "Bo", "address": {"city": "Austin", "postalCode": "73301"}}}"#,
                "\n",
            ),
        );
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = book.get("101").unwrap().unwrap();
        assert_eq!(
            (c.first_name.as_deref(), &c.emails[..]),
            (Some("Ada"), &["ada@x.com".to_string()][..])
        );
        assert_eq!(
            c.custom_fields, r#"{"canonical-vid":101,"lifecyclestage":"lead"}"#,
            "a custom field's value, not its history"
        );
        let c = book.get("77").unwrap().unwrap();
        assert_eq!(person(&c)[..2], [Some("Jean"), Some("Dupont")]);
        assert_eq!(c.phones, ["+33612345678"]);
        let c = book.get("u-9").unwrap().unwrap();
        assert_eq!(person(&c)[0], Some("Bo"));
        assert_eq!(person(&c)[2], Some("Austin"));
    }

    #[test]
    fn a_contact_past_its_cap_is_left_out_and_its_firings_told_why() {
        let big = "A".repeat(MAX_CONTACT);
        for (ext, line, text) in [
            (".csv", 2, format!("id,first_name\nh1,{big}\nh2,Bo\n")),
            (
                ".jsonl",
                1,
                format!("{{\"id\":\"h1\",\"first_name\":\"{big}\"}}\n{{\"id\":\"h2\"}}\n"),
            ),
            (
                ".json",
                2,
                format!("[\n{{\"id\":\"h1\",\"first_name\":\"{big}\"}},\n{{\"id\":\"h2\"}}]"),
            ),
        ] {
            let f = file(ext, &text);
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors
                .iter()
                .map(|e| (e.line, e.message.as_str()))
                .collect();
            let why = "the contact's record is 1.0 MB; a contact is at most 1024 KiB (a contact is a few hundred bytes)";
            assert_eq!(said, [(Some(line), why)], "{ext}");
            assert!(book.get("h1").unwrap().is_none(), "{ext}");
            assert_eq!(
                book.refused("h1"),
                Some(&Refused {
                    line,
                    why: why.into()
                }),
                "{ext}"
            );
            assert!(book.get("h2").unwrap().is_some(), "{ext}");
        }
    }

    #[test]
    fn a_file_of_broken_rows_is_said_and_remembered_within_bounds() {
        let mut text = b"id,email\n".to_vec();
        for i in 0..=MAX_REFUSED {
            text.extend_from_slice(format!("b{i},a@x.com,extra\n").as_bytes());
        }
        // A problem said once for the whole file is said past the cap too.
        text.extend_from_slice(b"m1,M\xFCller@x.com\n");
        let f = file(".csv", "");
        std::fs::write(f.path(), &text).unwrap();
        let (book, errors) = load(f.path());
        assert_eq!(errors.len(), Problems::KEPT + 2);
        assert!(
            errors
                .iter()
                .any(|e| e.line == Some(MAX_REFUSED + 3) && e.message.starts_with("not UTF-8 text")),
            "the file's encoding is said"
        );
        assert_eq!(
            (errors[0].line, errors[0].message.as_str()),
            (
                None,
                "65538 problems in all, of which the first 10000 and those said once for the whole \
                 file are listed; 55537 more are not"
            )
        );
        assert_eq!(errors[1].line, Some(2));
        assert_eq!(errors[Problems::KEPT].line, Some(Problems::KEPT + 1));
        // Rows past the listed problems still point their firings to them.
        assert_eq!(book.refused("b0").map(|r| r.line), Some(2));
        assert_eq!(book.refused("b50000").map(|r| r.line), Some(50_002));
        assert_eq!(book.refused(&format!("b{MAX_REFUSED}")), None);
    }

    #[test]
    fn rows_ending_in_a_separator_the_header_lacks_are_read_and_said_once() {
        let f = file(
            ".csv",
            "id,email,city\r\nc1,a@x.com,Lyon,\r\nc2,b@x.com,,\r\nc3,c@x.com,Oslo,,\r\n\
             c4,d@x.com,Paris,extra\r\nc5,\"e@x.com\nf@x.com\",Rome,\r\nc6,g@x.com,Nice\r\n\
             c7,\"h@x.com,Lima,\r\nc8,i@x.com,Kyiv\r\n",
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            said[..2],
            [
                (
                    Some(2),
                    "4 rows end with a separator the header lacks (this is the first): the empty \
                     field after it is ignored and the row read under the header's columns"
                ),
                // A field that is not empty is not a separator's.
                (Some(5), "the row has 4 fields but the header has 3"),
            ]
        );
        // Nor is a row across lines that a quote left open makes; one whose
        // quoted field spans lines is read as the others are.
        assert_eq!(said[2].0, Some(9));
        assert!(
            said[2]
                .1
                .contains("a quote opened on this line is not closed"),
            "{}",
            said[2].1
        );
        assert_eq!(said.len(), 3, "{said:?}");
        let city = |id: &str| book.get(id).unwrap().map(|c| c.city.clone());
        assert_eq!(city("c1"), Some(Some("Lyon".into())));
        assert_eq!(city("c2"), Some(None));
        assert_eq!(city("c3"), Some(Some("Oslo".into())));
        assert_eq!(city("c4"), None);
        assert_eq!(city("c5"), Some(Some("Rome".into())));
        assert_eq!(city("c6"), Some(Some("Nice".into())));
        assert_eq!(city("c7"), None);
        assert_eq!(city("c8"), Some(Some("Kyiv".into())));
        assert_eq!(book.get("c1").unwrap().unwrap().custom_fields, "{}");
    }

    #[test]
    fn a_file_without_its_header_row_is_said_without_quoting_its_first_contact() {
        for first in ["c1,ada@x.com,Ada,Lovelace", "c1,+1 650 555 1212,Ada"] {
            let f = file(".csv", &format!("{first}\nc2,bo@x.com,Bo,Lee\n"));
            let (book, errors) = load(f.path());
            assert_eq!(book.len(), 0);
            let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(said.len(), 1, "{said:?}");
            assert!(
                said[0].contains(":1: field `id`: the first row is a contact's, not a header row"),
                "{}",
                said[0]
            );
            for cell in first.split(',') {
                assert!(!said[0].contains(cell), "{cell} quoted: {}", said[0]);
            }
        }
    }

    #[test]
    fn ids_a_spreadsheet_wrote_in_scientific_notation_are_said_once() {
        let f = file(
            ".csv",
            "Customer ID,Email\nc1,a@x.com\n7.01235E+12,b@x.com\n7.01236e+12,c@x.com\n6.505551212E9,d@x.com\n12e4,e@x.com\n",
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].ends_with(
                ":3: field `id`: `7.01235E+12` is a number a spreadsheet wrote in scientific \
                 notation, which lost its last digits (2 ids are so; this is the first): no firing \
                 can find these contacts by their ids; format the column as text and export the \
                 file again"
            ),
            "{}",
            said[0]
        );
        // Still contacts, under the ids the file gives them; a firing that
        // finds none by its number is told why there may be none.
        assert_eq!(
            book.len(),
            5,
            "a hexadecimal id is not a spreadsheet's number"
        );
        assert!(book.get("7.01235E+12").unwrap().is_some());
        assert!(book.may_have_lost("7012345678901"));
        assert!(!book.may_have_lost("c2"));
        let f = file(".csv", "id\n7012345678901\n");
        assert!(!load(f.path()).0.may_have_lost("7012345678902"));
    }

    #[test]
    fn an_address_object_gives_the_contact_its_fields() {
        let f = file(
            ".json",
            r#"[
{"id": 7012345678901, "email": "ada@x.com", "first_name": "Ada", "phone": null,
 "default_address": {"id": 99, "address1": "1 Main St", "city": "Menlo Park", "province_code": "CA", "country_code": "US", "zip": "94025", "phone": "650 555 1212"}},
{"id": "cus_1", "email": "bo@x.com", "name": "Bo Ek", "phone": "+46 8 123 456 78",
 "address": {"city": "Stockholm", "country": "SE", "line1": "Gatan 1", "postal_code": "111 22", "state": null}},
{"id": 3, "email": "cy@x.com", "first_name": "Cy",
 "billing": {"first_name": "Cyrus", "city": "Lyon", "postcode": "69001", "country": "FR", "phone": "04 72 00 00 00", "email": "cy@x.com"},
 "shipping": {"city": "Oslo", "postcode": "0150", "country": "NO"}},
{"id": "4", "billing_address": {"city": ["Paris"], "zip": 75001}},
{"attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003"}, "Id": "003",
 "FirstName": "Di", "Email": "di@x.com", "MailingAddress": {"city": "Toronto", "stateCode": "ON", "postalCode": "M5V 2T6", "countryCode": "CA", "street": "1 King St"}}
]"#,
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref(), e.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [(
                Some(9),
                Some("billing_address/city"),
                "text was expected, not a list; the field is left out and the contact's others are used"
            )]
        );
        // Shopify's API: the address's own id is not the contact's.
        let c = book.get("7012345678901").unwrap().unwrap();
        assert_eq!(
            person(&c),
            [
                Some("Ada"),
                None,
                Some("Menlo Park"),
                Some("CA"),
                Some("94025"),
                Some("US")
            ]
        );
        assert_eq!(c.phones, ["650 555 1212"]);
        assert!(
            c.custom_fields.contains(r#""address1":"1 Main St""#),
            "{}",
            c.custom_fields
        );
        assert!(book.get("99").unwrap().is_none());
        // Stripe's, with its one name.
        let c = book.get("cus_1").unwrap().unwrap();
        assert_eq!(
            person(&c),
            [
                Some("Bo"),
                Some("Ek"),
                Some("Stockholm"),
                None,
                Some("111 22"),
                Some("SE")
            ]
        );
        assert!(
            c.custom_fields.contains(r#""name":"Bo Ek""#),
            "{}",
            c.custom_fields
        );
        assert_eq!(c.phones, ["+46 8 123 456 78"]);
        // WooCommerce's: the contact's own fields win; the shipping address
        // may be a gift recipient's.
        let c = book.get("3").unwrap().unwrap();
        assert_eq!(
            person(&c),
            [
                Some("Cy"),
                None,
                Some("Lyon"),
                None,
                Some("69001"),
                Some("FR")
            ]
        );
        // Said twice; the event sends it once.
        assert_eq!(c.emails, ["cy@x.com", "cy@x.com"]);
        let c = book.get("4").unwrap().unwrap();
        assert_eq!(person(&c), [None, None, None, None, Some("75001"), None]);
        // Salesforce's REST records: its `attributes` are the record's type
        // and address, custom fields like any other.
        let c = book.get("003").unwrap().unwrap();
        assert_eq!(
            person(&c),
            [
                Some("Di"),
                None,
                Some("Toronto"),
                Some("ON"),
                Some("M5V 2T6"),
                Some("CA")
            ]
        );
    }

    #[test]
    fn the_columns_of_crms_exports_are_read_as_theirs() {
        for (header, row) in [
            // HubSpot.
            (
                "Record ID,First Name,Email,Phone Number,Mobile Phone Number,City,State/Region,Postal Code,Country/Region",
                "c1,Ada,ada@x.com,650 555 1212,650 555 1313,Menlo Park,CA,94025,United States",
            ),
            // Outlook.
            (
                "Contact ID,First Name,E-mail Address,Business Phone,Mobile Phone,Home City,Home State,Home Postal Code,Home Country/Region",
                "c1,Ada,ada@x.com,650 555 1212,650 555 1313,Menlo Park,CA,94025,United States",
            ),
            // Shopify, before 2023 and since.
            (
                "Customer ID,First Name,Email,Phone,Default Address Phone,City,Province Code,Zip,Country Code",
                "c1,Ada,ada@x.com,650 555 1212,650 555 1313,Menlo Park,CA,94025,US",
            ),
            (
                "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,\
                 Default Address Address1,Default Address Address2,Default Address City,\
                 Default Address Province Code,Default Address Country Code,Default Address Zip,\
                 Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags",
                "c1,Ada,Lee,ada@x.com,yes,,1 Main St,,Menlo Park,CA,US,94025,650 555 1212,650 555 1313,no,12.50,1,,no,vip",
            ),
            // WooCommerce, whose shipping address may be a gift's recipient's.
            (
                "customer_id,billing_first_name,billing_email,billing_phone,billing_city,billing_state,\
                 billing_postcode,billing_country,shipping_city,shipping_state,shipping_postcode,shipping_phone",
                "c1,Ada,ada@x.com,650 555 1212;650 555 1313,Menlo Park,CA,94025,US,Oslo,,0150,+47 22 00 00 00",
            ),
            // Salesforce, with state and country picklists.
            (
                "Id,FirstName,Email,Phone,MobilePhone,MailingCity,MailingStateCode,MailingPostalCode,MailingCountryCode",
                "c1,Ada,ada@x.com,650 555 1212,650 555 1313,Menlo Park,CA,94025,US",
            ),
            // Stripe.
            (
                "id,Name,Email,Phone,Address Line1,Address City,Address State,Address Zip,Address Country,Mobile",
                "c1,Ada Lovelace,ada@x.com,650 555 1212,1 Main St,Menlo Park,CA,94025,US,650 555 1313",
            ),
        ] {
            let c = only_contact(&format!("{header}\n{row}\n"));
            assert_eq!(c.first_name.as_deref(), Some("Ada"), "{header}");
            assert_eq!(c.emails, ["ada@x.com"], "{header}");
            assert_eq!(c.city.as_deref(), Some("Menlo Park"), "{header}");
            assert_eq!(c.state.as_deref(), Some("CA"), "{header}");
            assert_eq!(c.postal_code.as_deref(), Some("94025"), "{header}");
            assert!(c.country.is_some(), "{header}");
            assert_eq!(c.phones, ["650 555 1212", "650 555 1313"], "{header}");
        }
        // An address's own id is not the contact's, nor a shipping
        // address the contact's.
        for name in [
            "Address ID",
            "Billing Id",
            "Shipping City",
            "shipping_postcode",
        ] {
            assert_eq!(standard(name), None, "{name}");
        }
    }

    #[test]
    fn the_columns_of_exports_in_other_languages_are_read_as_theirs() {
        for header in [
            "id;Prénom;Nom;Adresse e-mail;Téléphone;Ville;Code postal;Pays;Date de naissance;Sexe",
            "id;Vorname;Nachname;E-Mail-Adresse;Handy;Ort;PLZ;Land;Geburtsdatum;Geschlecht",
            "id;Nombre;Apellidos;Correo electrónico;Móvil;Ciudad;Código postal;País;Fecha de nacimiento;Sexo",
            "id;Nome;Cognome;Indirizzo e-mail;Cellulare;Città;CAP;Paese;Data di nascita;Sesso",
            "id;Nome;Sobrenome;E-mail;Celular;Cidade;CEP;País;Data de nascimento;Gênero",
            "id;Voornaam;Achternaam;E-mailadres;Mobiel;Woonplaats;Postcode;Land;Geboortedatum;Geslacht",
            "id;Imię;Nazwisko;Adres e-mail;Telefon;Miasto;Kod pocztowy;Kraj;Data urodzenia;Płeć",
            "id;Fornavn;Efternavn;E-post;Telefon;Poststed;Postnummer;Land;Fødselsdato;Kjønn",
        ] {
            let c = only_contact(&format!(
                "{header}\nc1;Ada;Lovelace;ada@x.com;0612345678;Lyon;69001;FR;1985-12-10;f\n"
            ));
            assert_eq!(
                (c.first_name.as_deref(), c.last_name.as_deref()),
                (Some("Ada"), Some("Lovelace")),
                "{header}"
            );
            assert_eq!(c.emails, ["ada@x.com"], "{header}");
            assert_eq!(c.phones, ["0612345678"], "{header}");
            assert_eq!(c.city.as_deref(), Some("Lyon"), "{header}");
            assert_eq!(c.country.as_deref(), Some("FR"), "{header}");
            assert_eq!(c.date_of_birth.as_deref(), Some("1985-12-10"), "{header}");
            assert_eq!(c.gender.as_deref(), Some("f"), "{header}");
            assert_eq!(c.postal_code.as_deref(), Some("69001"), "{header}");
            assert_eq!(c.custom_fields, "{}", "every column is read: {header}");
        }
        // A French Excel writes its header row in Windows-1252 too.
        let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::fs::write(
            f.path(),
            b"id;Pr\xE9nom;T\xE9l\xE9phone\r\nc1;Fran\xE7ois;06 12 34 56 78\r\n",
        )
        .unwrap();
        let (book, errors) = load(f.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .to_string()
                .contains(":1: field `Prénom`: not UTF-8 text (2 rows are not"),
            "{}",
            errors[0]
        );
        let c = book.get("c1").unwrap().unwrap();
        assert_eq!(c.first_name.as_deref(), Some("François"));
        assert_eq!(c.phones, ["06 12 34 56 78"]);
    }

    #[test]
    fn the_columns_of_exports_in_other_scripts_are_read_as_theirs() {
        // Every name of the table is read as its field: none is another's,
        // nor one of the Latin names'.
        for (name, field) in OTHER_LANGUAGES {
            assert_eq!(standard(name), Some(*field), "{name}");
        }
        for (header, row) in [
            (
                "ID;Имя;Фамилия;Рабочий e-mail;Мобильный телефон;Город;Индекс;Страна;Дата рождения;Пол",
                "c1;Мария;Смирнова;maria@x.ru;+7 916 123-45-67;Москва;101000;RU;1985-12-10;ж",
            ),
            (
                "ＩＤ,名,姓,メールアドレス,携帯電話番号,市区町村,郵便番号,国,生年月日,性別",
                "c1,花子,山田,hanako@x.jp,090-1234-5678,渋谷区,150-0002,JP,1985-12-10,女",
            ),
            (
                "id,Adı,Soyadı,E-posta,Cep Telefonu,Şehir,Posta Kodu,Ülke,Doğum Tarihi,Cinsiyet",
                "c1,Ayşe,Yılmaz,ayse@x.com.tr,0532 123 45 67,Kadıköy,34710,TR,1985-12-10,K",
            ),
            (
                "id,الاسم الأول,اسم العائلة,البريد الإلكتروني,رقم الجوال,المدينة,الرمز البريدي,الدولة,تاريخ الميلاد,الجنس",
                "c1,فاطمة,الحسن,fatima@x.sa,0501234567,الرياض,11564,SA,1985-12-10,أنثى",
            ),
        ] {
            let c = only_contact(&format!("{header}\n{row}\n"));
            let cells: Vec<&str> = row.split([';', ',']).collect();
            assert_eq!(
                person(&c),
                [
                    Some(cells[1]),
                    Some(cells[2]),
                    Some(cells[5]),
                    None,
                    Some(cells[6]),
                    Some(cells[7])
                ],
                "{header}"
            );
            assert_eq!(c.emails, [cells[3]], "{header}");
            assert_eq!(c.phones, [cells[4]], "{header}");
            assert_eq!(c.date_of_birth.as_deref(), Some(cells[8]), "{header}");
            assert_eq!(c.gender.as_deref(), Some(cells[9]), "{header}");
            assert_eq!(c.custom_fields, "{}", "every column is read: {header}");
        }
        // A Chinese export's whole name, family name first (split where a
        // space parts the two: `欧阳娜娜` could be `欧阳`'s compound too).
        let c = only_contact("id,姓名,手机号,邮箱\nc1,王 小明,138 0013 8000,xm@x.cn\n");
        assert_eq!(person(&c)[..2], [Some("小明"), Some("王")]);
        assert_eq!(c.phones, ["138 0013 8000"]);
    }

    #[test]
    fn a_spreadsheets_semicolons_tabs_or_bars_separate_columns_as_commas_do() {
        for (sep, header_quote) in [(";", ""), ("\t", ""), ("|", ""), (";", "\"")] {
            // A quoted column name with a comma in it does not fool the
            // reading of the header.
            let text = format!(
                "id{sep}email{sep}{header_quote}City, town{header_quote}{sep}score\n\
                 c1{sep}a@x.com{sep}Köln{sep}3,5\n\
                 c2{sep}\"b@x.com{sep}c@x.com\"{sep}Paris{sep}4,0\n"
            );
            let f = file(".csv", &text);
            let (book, errors) = load(f.path());
            assert!(errors.is_empty(), "{sep:?}: {errors:?}");
            let c1 = book.get("c1").unwrap().unwrap();
            assert_eq!(c1.emails, ["a@x.com"], "{sep:?}");
            assert_eq!(
                c1.custom_fields, r#"{"City, town":"Köln","score":"3,5"}"#,
                "{sep:?}"
            );
            // A quoted cell keeps the separator; a semicolon in a cell
            // still separates two emails.
            let c2 = book.get("c2").unwrap().unwrap();
            let emails = if sep == ";" { 2 } else { 1 };
            assert_eq!(c2.emails.len(), emails, "{sep:?}: {:?}", c2.emails);
        }
        assert_eq!(delimiter_of(b"id,email;phone"), b',', "a tie is a comma");
        assert_eq!(delimiter_of(b"id"), b',', "one column");
    }

    #[test]
    fn a_first_line_that_tells_excel_the_separator_is_read_as_it() {
        // The separator it names wins over the header's count, and rows are
        // numbered from the header's line 2.
        for (end, bom) in [("\n", ""), ("\r\n", "\u{feff}")] {
            let text = format!(
                "{bom}sep=;{end}id;email;note, with commas, here{end}c1;a@x.com;x, y{end}c2;b@x.com{end}"
            );
            let f = file(".csv", &text);
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors
                .iter()
                .map(|e| (e.line, e.message.as_str()))
                .collect();
            assert_eq!(
                said,
                [(Some(4), "the row has 2 fields but the header has 3")],
                "{end:?}"
            );
            let c1 = book.get("c1").unwrap().unwrap();
            assert_eq!(c1.emails, ["a@x.com"]);
            assert_eq!(c1.custom_fields, r#"{"note, with commas, here":"x, y"}"#);
        }
        // A header row after blank lines is found at its own line, and its
        // separator read from it.
        let f = file(".csv", "\r\n\r\nname;email\r\nAda;a@x.com\r\n");
        let (_, errors) = load(f.path());
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [format!(
                "{}:3: field `id`: the header row has no `id` column (nor `Contact ID`, \
                 `Customer ID` or `Record ID`), so no firing can find its contacts; name the \
                 column that identifies a contact `id` (the columns are `name`, `email`)",
                f.path().display()
            )]
        );
        // A file whose only line is `sep=;` has no header row.
        let f = file(".csv", "sep=;");
        let (_, errors) = load(f.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn cells_split_at_semicolons_only_in_csv_and_json_alike() {
        let f = file(
            ".csv",
            "id,email,phone\nc1,a|b@x.com; c@x.com,+1 650 555 1212|7\n",
        );
        let (book, _) = load(f.path());
        let c = book.get("c1").unwrap().unwrap();
        assert_eq!(c.emails, ["a|b@x.com", "c@x.com"]);
        assert_eq!(c.phones, ["+1 650 555 1212|7"]);
        let f = file(".json", r#"[{"id": "c1", "email": "a|b@x.com;c@x.com"}]"#);
        let (book, _) = load(f.path());
        assert_eq!(
            book.get("c1").unwrap().unwrap().emails,
            ["a|b@x.com", "c@x.com"]
        );
    }

    #[test]
    fn bad_rows_are_located_and_skipped() {
        let f = file(
            ".csv",
            "id,email\nc1,a@x.com\nc2,b@x.com,extra\n,c@x.com\nc1,again@x.com\nc3,ok@x.com\n",
        );
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 2);
        let lines: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(3), None),
                (Some(4), Some("id")),
                (Some(5), Some("id"))
            ]
        );
        assert!(
            errors[0]
                .to_string()
                .contains(":3: the row has 3 fields but the header has 2"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn rows_are_numbered_by_the_lines_an_editor_shows() {
        // Windows exports end lines with `\r\n`, old Mac ones with `\r`;
        // a quoted field may hold line ends, and blank lines may stand
        // between rows.
        for end in ["\n", "\r\n", "\r"] {
            let text = [
                "id,first_name,city",  // 1
                "c1,Ada,\"Menlo",      // 2
                "Park\"",              // 3
                "",                    // 4
                "c2,Bea,Madrid,extra", // 5
                "c1,Again,Oslo",       // 6
                "",                    // 7
                "",                    // 8
                "c3,\"José,Lima",      // 9
                "c4,Cy,Rome",          // 10
                "c5,Di,\"Nice\"",      // 11
                "  \t",                // 12: blank to a reader
                "c6",                  // 13
            ]
            .join(end);
            let f = file(".csv", &format!("{text}{end}"));
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors.iter().map(|e| (e.line, e.field.clone())).collect();
            assert_eq!(
                said,
                [
                    (Some(5), None),
                    (Some(6), Some("id".to_string())),
                    (Some(9), None),
                    (Some(13), None),
                ],
                "{end:?}: {errors:?}"
            );
            assert_eq!(
                errors[3].message, "the row has 1 field but the header has 3",
                "{end:?}"
            );
            assert!(
                errors[2]
                    .message
                    .contains("not closed before line 11, so lines 9–11 were read as one row"),
                "{end:?}: {}",
                errors[2]
            );
            let contact = |id: &str| book.get(id).unwrap().unwrap();
            assert_eq!(
                contact("c1").city.as_deref(),
                Some(format!("Menlo{end}Park").as_str())
            );
            assert_eq!(contact("c4").city.as_deref(), Some("Rome"), "{end:?}");
            assert_eq!(contact("c5").city.as_deref(), Some("Nice"), "{end:?}");
            assert_eq!(book.len(), 3, "{end:?}");
        }
    }

    #[test]
    fn an_excel_export_in_windows_1252_keeps_its_contacts_and_is_said_once() {
        let mut text = b"id,first_name,last_name,city\r\nc1,Ada,Lovelace,London\r\n".to_vec();
        text.extend_from_slice(
            b"c2,J\xFCrgen,M\xFCller,K\xF6ln\r\nc3,Fran\xE7ois,Dupont,Paris\r\n",
        );
        let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        std::fs::write(f.path(), &text).unwrap();
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains(":3: field `first_name`: not UTF-8 text (2 rows are not; this is the first): read as Windows-1252"),
            "{said:?}"
        );
        // Read again when a firing asks, the same way.
        let c2 = book.get("c2").unwrap().unwrap();
        assert_eq!(
            (
                c2.first_name.as_deref(),
                c2.last_name.as_deref(),
                c2.city.as_deref()
            ),
            (Some("Jürgen"), Some("Müller"), Some("Köln"))
        );
        let c3 = book.get("c3").unwrap().unwrap();
        assert_eq!(c3.first_name.as_deref(), Some("François"));
        assert_eq!(book.len(), 3);
    }

    #[test]
    fn an_excel_export_in_its_systems_code_page_keeps_its_names() {
        use encoding_rs::{SHIFT_JIS, WINDOWS_1250, WINDOWS_1251};
        let write = |text: &str, encoding: &'static encoding_rs::Encoding| {
            let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
            std::fs::write(f.path(), encoding.encode(text).0).unwrap();
            f
        };
        // A Polish Excel: its header's names are read as the fields they
        // are, and every name as it was typed.
        let f = write(
            "id;Imię;Nazwisko;Miejscowość;Płeć\r\nc1;Łukasz;Wiśniewski;Łódź;m\r\n\
             c2;Małgorzata;Żółkiewska;Kraków;k\r\nc3;Paweł;Nowak;Gdańsk;m\r\n",
            WINDOWS_1250,
        );
        let (book, errors) = load(f.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].to_string().contains(
                ":1: field `Imię`: not UTF-8 text (4 rows are not; this is the first): \
                 read as Windows-1250 (Central European)"
            ),
            "{}",
            errors[0]
        );
        let c2 = book.get("c2").unwrap().unwrap();
        assert_eq!(
            person(&c2)[..3],
            [Some("Małgorzata"), Some("Żółkiewska"), Some("Kraków")]
        );
        assert_eq!(c2.gender.as_deref(), Some("k"));
        assert_eq!(c2.custom_fields, "{}", "every column is a field");
        // A Russian one whose first rows are all ASCII: the rows from the
        // first that is not tell the encoding, and the contacts before it
        // keep theirs.
        let mut text = String::from("id,first_name,last_name,city\n");
        for i in 0..2_000 {
            text.push_str(&format!("a{i},Ann,Lee,Leeds\n"));
        }
        text.push_str("r1,Иван,Петров,Москва\nr2,Мария,Смирнова,Санкт-Петербург\n");
        let f = write(&text, WINDOWS_1251);
        let (book, errors) = load(f.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .to_string()
                .contains(":2002: field `first_name`: not UTF-8 text (2 rows are not; this is the first): read as Windows-1251 (Cyrillic)"),
            "{}",
            errors[0]
        );
        assert_eq!(
            person(&book.get("r2").unwrap().unwrap())[..3],
            [Some("Мария"), Some("Смирнова"), Some("Санкт-Петербург")]
        );
        assert_eq!(person(&book.get("a0").unwrap().unwrap())[0], Some("Ann"));
        assert_eq!(book.len(), 2_002);
        // A Czech or Polish one too short for its bytes to tell: its
        // contacts' country, or else their emails' country domains, do.
        for (text, name) in [
            (
                "id,first_name,last_name,country\nc1,Jiří,Dvořák,CZ\n",
                "Jiří",
            ),
            ("id,email,first_name\nc1,pawel@firma.pl,Paweł\n", "Paweł"),
        ] {
            let (book, errors) = load(write(text, WINDOWS_1250).path());
            assert!(
                errors[0]
                    .to_string()
                    .contains("read as Windows-1250 (Central European)"),
                "{errors:?}"
            );
            assert_eq!(
                book.get("c1").unwrap().unwrap().first_name.as_deref(),
                Some(name)
            );
        }
        // A Japanese one.
        let f = write(
            "id,last_name,first_name,city\nc1,山田,太郎,東京都\nc2,佐藤,花子,大阪市\n",
            SHIFT_JIS,
        );
        let (book, errors) = load(f.path());
        assert!(
            errors[0]
                .to_string()
                .contains("read as Shift_JIS (Japanese)"),
            "{errors:?}"
        );
        assert_eq!(
            person(&book.get("c2").unwrap().unwrap())[..3],
            [Some("花子"), Some("佐藤"), Some("大阪市")]
        );
    }

    #[test]
    fn a_utf16_file_is_read_as_the_text_it_is() {
        // Excel's "Unicode Text": tab-separated, little-endian with a
        // byte-order mark; and the other orders, with and without one.
        let text = "id\tfirst_name\tlast_name\tcity\r\nc1\tМария\tSmith\t東京\r\n\
                    c2\tbroken\r\nc3\tZoë\t😀 Lee\tŁódź\r\n";
        let units: Vec<u16> = text.encode_utf16().collect();
        for (bom, big_endian) in [(true, false), (false, false), (true, true), (false, true)] {
            let mut bytes = Vec::new();
            for unit in bom
                .then_some(0xFEFF)
                .into_iter()
                .chain(units.iter().copied())
            {
                bytes.extend_from_slice(&if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            let f = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
            std::fs::write(f.path(), &bytes).unwrap();
            let case = format!("bom {bom}, big-endian {big_endian}");
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(
                said,
                [format!(
                    "{}:3: the row has 2 fields but the header has 4",
                    f.path().display()
                )],
                "{case}"
            );
            assert_eq!(book.len(), 2, "{case}");
            let c1 = book.get("c1").unwrap().unwrap();
            assert_eq!(
                person(&c1)[..3],
                [Some("Мария"), Some("Smith"), Some("東京")],
                "{case}"
            );
            // Read again through another reader, as a second thread does.
            let other = book.another_reader().unwrap();
            let c3 = other.get("c3").unwrap().unwrap();
            assert_eq!(
                person(&c3)[..3],
                [Some("Zoë"), Some("😀 Lee"), Some("Łódź")],
                "{case}"
            );
        }
        // JSON lines too.
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "{\"id\":\"c1\",\"first_name\":\"Ἀλέξανδρος\"}\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let f = tempfile::Builder::new()
            .suffix(".jsonl")
            .tempfile()
            .unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            book.get("c1").unwrap().unwrap().first_name.as_deref(),
            Some("Ἀλέξανδρος")
        );
    }

    /// Snowflake unloads a table as `.csv.gz` by default, BigQuery and
    /// Redshift when asked: read as the file inside, its format told by
    /// the extension before `.gz`.
    #[test]
    fn a_gzip_file_of_contacts_is_read_as_the_file_inside() {
        let gzip = |text: &str| crate::input::gzipped(text.as_bytes());
        for (suffix, line, text) in [
            (
                ".csv.gz",
                3,
                "ID,EMAIL,FIRST_NAME\nc1,ada@x.com,Ada\nc2,broken\nc3,bo@x.com,Björn\n",
            ),
            (
                ".json.gz",
                2,
                "[{\"id\": \"c1\", \"email\": \"ada@x.com\", \"first_name\": \"Ada\"},\n \"c2\",\n {\"id\": \"c3\", \"email\": \"bo@x.com\", \"first_name\": \"Björn\"}]",
            ),
            (
                ".jsonl.gz",
                2,
                "{\"id\": \"c1\", \"email\": \"ada@x.com\", \"first_name\": \"Ada\"}\n{\"id\": \"c2\",\n{\"id\": \"c3\", \"email\": \"bo@x.com\", \"first_name\": \"Björn\"}\n",
            ),
        ] {
            let f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
            std::fs::write(f.path(), gzip(text)).unwrap();
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(said.len(), 1, "{suffix}: {said:?}");
            assert!(
                said[0].starts_with(&format!("{}:{line}:", f.path().display())),
                "{suffix}: {said:?}"
            );
            assert_eq!(book.len(), 2, "{suffix}");
            let other = book.another_reader().unwrap();
            for (id, name) in [("c1", "Ada"), ("c3", "Björn")] {
                let c = other.get(id).unwrap().unwrap();
                assert_eq!(c.first_name.as_deref(), Some(name), "{suffix}");
            }
        }
        // A broken stream is said to be one, once.
        let f = tempfile::Builder::new()
            .suffix(".csv.gz")
            .tempfile()
            .unwrap();
        std::fs::write(f.path(), &gzip("id,email\nc1,a@x.com\n")[..20]).unwrap();
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(book.len(), 0);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("it is gzip-compressed and cannot be decompressed ("),
            "{said:?}"
        );
    }

    #[test]
    fn a_workbook_passed_for_contacts_is_said_to_be_one_once() {
        // An .xlsx is a ZIP archive: its bytes are no header row to list.
        let mut bytes = b"PK\x03\x04\x14\x00\x06\x00\x08\x00[Content_Types].xml".to_vec();
        bytes.extend(std::iter::repeat_n(0u8, 4096));
        let f = tempfile::Builder::new().suffix(".xlsx").tempfile().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 0);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .message
                .starts_with("the file is a ZIP archive, as an Excel (.xlsx), Numbers or OpenDocument workbook is, not text"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_quote_never_closed_loses_its_own_row_only() {
        for bom in ["", "\u{feff}"] {
            let f = file(
                ".csv",
                &format!(
                    "{bom}id,first_name,city\n\
                     c1,Ada,\"Menlo\nPark\"\n\
                     c2,\"José,Madrid\n\
                     c3,Mary,London\n\
                     c4,\"Ann, Jr\",Paris\n\
                     c5,Bo,Oslo\n"
                ),
            );
            let (book, errors) = load(f.path());
            let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(said.len(), 1, "{said:?}");
            assert!(
                // The stray quote pairs with the one that opens c4's name.
                said[0].contains(":4: the row has 4 fields but the header has 3")
                    && said[0]
                        .contains("not closed before line 6, so lines 4–6 were read as one row"),
                "{}",
                said[0]
            );
            let contact = |id: &str| book.get(id).unwrap();
            let city = |id: &str| contact(id).unwrap().city.clone();
            assert_eq!(city("c1").as_deref(), Some("Menlo\nPark"), "quoted");
            assert!(contact("c2").is_none());
            assert_eq!(
                book.refused("c2"),
                Some(&Refused {
                    line: 4,
                    why: "a quote opened on it is not closed before line 6".into()
                }),
                "a firing for c2 is told of its row"
            );
            assert_eq!(book.refused("c3"), None, "read on its own");
            assert_eq!(city("c3").as_deref(), Some("London"));
            let c4 = contact("c4").unwrap();
            assert_eq!(c4.first_name.as_deref(), Some("Ann, Jr"));
            assert_eq!(city("c5").as_deref(), Some("Oslo"));
            assert_eq!(book.len(), 4);
        }
    }

    #[test]
    fn a_row_whose_quoted_field_spans_lines_is_left_out_whole() {
        // A field too many in a row whose note runs over two lines: its
        // second line is no row of its own (here it would be a contact
        // `Building 5`), and no quote is said to be left open.
        let f = file(
            ".csv",
            "id,email,notes\r\n\
             c1,a@x.com,\"Flat 2,\r\nBuilding 5, Road \"\"7\"\"\",extra\r\n\
             c2,b@x.com,ok\r\n",
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].ends_with(":2: the row has 4 fields but the header has 3"),
            "{}",
            said[0]
        );
        assert_eq!(book.len(), 1);
        assert!(book.get("Building 5").unwrap().is_none());
        assert_eq!(
            book.refused("c1").map(|r| r.line),
            Some(2),
            "a firing for c1 is told of its row"
        );
        assert_eq!(book.get("c2").unwrap().unwrap().emails, ["b@x.com"]);
    }

    #[test]
    fn a_broken_contact_in_a_json_array_loses_only_itself() {
        // One contact a line, and pretty-printed; a comma missing inside a
        // contact and between two.
        let f = file(
            ".json",
            "[\n{\"id\": \"c1\"},\n{\"id\": \"c2\" \"email\": \"b@x.com\"},\n{\"id\": \"c3\"}\n{\"id\": \"c4\"}\n]\n",
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    Some(3),
                    "a contact that is not valid JSON (expected `,` or `}`) is left out; reading goes on at line 4"
                ),
                (Some(5), "a `,` is missing before this contact"),
            ]
        );
        assert_eq!(book.len(), 3);
        assert!(book.get("c2").unwrap().is_none());
        let f = file(
            ".json",
            "[\n  {\n    \"id\": \"c1\",\n    \"custom_fields\": {\n      \"x\": 1\n    }\n  },\n  {\n    \"id\": \"c2\",\n    \"email\": \"b@x.com\n  },\n  {\n    \"id\": \"c3\"\n  }",
        );
        let (book, errors) = load(f.path());
        let said: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert_eq!(said[0].0, Some(10), "{said:?}");
        assert!(
            said[0].1.ends_with("reading goes on at line 12"),
            "{said:?}"
        );
        assert_eq!(
            said[1],
            (Some(14), "the array of contacts is not closed with `]`")
        );
        for id in ["c1", "c3"] {
            assert_eq!(book.get(id).unwrap().unwrap().id, id);
        }
        assert!(book.get("c2").unwrap().is_none());
        // Minified on one line: nothing after a broken contact can be told
        // apart, and that is said.
        let f = file(
            ".json",
            r#"[{"id": "c1"}, {"id": "c2" "x": 1}, {"id": "c3"}]"#,
        );
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 1);
        assert!(
            errors[0]
                .message
                .ends_with("so the rest of the file is not read"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_json_field_of_the_wrong_type_loses_itself_not_its_contact() {
        let f = file(
            ".json",
            "[\n {\"id\": \"c1\", \"email\": [\"a@x.com\"]},\n {\"id\": 7, \"phone\": {\"x\": 1}}\n]",
        );
        let (book, errors) = load(f.path());
        // A field of the wrong type is left out, not its contact.
        assert_eq!(book.len(), 2);
        assert!(book.get("7").unwrap().unwrap().phones.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(errors[0].field.as_deref(), Some("phone"));
        assert!(
            errors[0]
                .message
                .starts_with("text was expected, not an object; the field is left out"),
            "{}",
            errors[0].message
        );
        // Without a usable id, there is no contact.
        let f = file(".jsonl", "{\"id\":{\"x\":1},\"email\":\"a@x.com\"}\n");
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 0);
        assert_eq!(
            (errors.len(), errors[0].field.as_deref()),
            (1, Some("id")),
            "{errors:?}"
        );
        let f = file(".jsonl", "{\"id\":\"a\",\"tier\":\"x\"}\n{oops\n");
        let (book, errors) = load(f.path());
        assert_eq!(
            book.get("a").unwrap().unwrap().custom_fields,
            r#"{"tier":"x"}"#
        );
        assert_eq!(errors[0].line, Some(2));
    }

    #[test]
    fn a_json_file_of_json_lines_is_read_as_lines() {
        let f = file(
            ".json",
            "\u{feff}{\"id\":\"a\",\"email\":\"a@x.com\"}\n{\"id\":\"b\"}\n{oops\n{\"id\":\"c\"}\n",
        );
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 3, "{errors:?}");
        assert_eq!(book.get("a").unwrap().unwrap().emails, ["a@x.com"]);
        assert!(book.get("c").unwrap().is_some());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(3));
        // A broken first contact loses only itself.
        let f = file(".json", "{oops\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 2, "{errors:?}");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(1));
        // One contact written over several lines is no JSON lines: the
        // file is refused as an array would be, at its first line.
        let f = file(".json", "{\n \"id\": \"a\"\n}\n");
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 0);
        assert_eq!(errors[0].line, Some(1));
        assert!(errors[0].message.contains("not a JSON array"), "{errors:?}");
    }

    #[test]
    fn every_format_reads_its_contacts_again_from_their_place() {
        // A byte-order mark, quoted cells across lines, CRLF endings, and
        // many contacts: each is found by id and read back whole.
        let mut csv = String::from("\u{feff}id,email,city,note\r\n");
        let mut lines = String::new();
        let mut array = String::from("\u{feff}[\n");
        for i in 0..500 {
            csv.push_str(&format!(
                "c{i},u{i}@x.com,\"Paris,\r\nFrance\",\"said \"\"hi\"\"\"\r\n"
            ));
            lines.push_str(&format!(
                "{{\"id\":\"c{i}\",\"email\":\"u{i}@x.com\",\"city\":\"Paris,\\nFrance\"}}\r\n\n"
            ));
            let sep = if i == 499 { "" } else { "," };
            array.push_str(&format!(" {{\"id\": \"c{i}\", \"email\": [\"u{i}@x.com\"], \"city\": \"Paris,\\nFrance\"}}{sep}\n"));
        }
        array.push(']');
        for (ext, text, city) in [
            (".csv", csv, "Paris,\r\nFrance"),
            (".jsonl", lines, "Paris,\nFrance"),
            (".json", array, "Paris,\nFrance"),
        ] {
            let f = file(ext, &text);
            let (book, errors) = load(f.path());
            assert!(errors.is_empty(), "{ext}: {errors:?}");
            assert_eq!(book.len(), 500, "{ext}");
            // In the file's order (read on), then out of it (sought).
            for i in (0..500).chain([0, 1, 250, 250, 499, 498]) {
                let c = book
                    .get(&format!("c{i}"))
                    .unwrap()
                    .unwrap_or_else(|| panic!("{ext} c{i}"));
                assert_eq!(c.id, format!("c{i}"), "{ext}");
                assert_eq!(c.emails, [format!("u{i}@x.com")], "{ext}");
                assert_eq!(c.city.as_deref(), Some(city), "{ext}");
            }
            assert!(book.get("c500").unwrap().is_none(), "{ext}");
            // Another reader on another thread, in the other direction,
            // while this one reads on: each finds every contact whole.
            let other = book.another_reader().unwrap();
            let read = |book: &ContactBook, i: usize| {
                let c = book.get(&format!("c{i}")).unwrap().unwrap();
                assert_eq!(
                    (c.id.as_str(), c.city.as_deref()),
                    (&*format!("c{i}"), Some(city))
                );
            };
            std::thread::scope(|s| {
                s.spawn(|| (0..500).rev().for_each(|i| read(&other, i)));
                (0..500).for_each(|i| read(&book, i));
            });
            assert_eq!(other.len(), 500, "{ext}");
        }
    }

    #[test]
    fn a_repeated_id_is_refused_wherever_it_is() {
        let mut text = String::from("id,email\n");
        for i in 0..300 {
            text.push_str(&format!("c{i},first{i}@x.com\n"));
        }
        text.push_str("c7,second@x.com\nc299,again@x.com\n");
        let f = file(".csv", &text);
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 300);
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(302), Some(303)], "{errors:?}");
        assert_eq!(book.get("c7").unwrap().unwrap().emails, ["first7@x.com"]);
        assert_eq!(
            book.get("c299").unwrap().unwrap().emails,
            ["first299@x.com"]
        );
    }

    #[test]
    fn a_file_cut_during_the_run_is_said_so() {
        let f = file(".csv", "id,email\nc1,a@x.com\nc2,b@x.com\n");
        let (book, _) = load(f.path());
        std::fs::write(f.path(), "id,email\n").unwrap();
        let why = book.get("c2").unwrap_err();
        assert!(
            why.contains("line 3") && why.contains("changed during the run"),
            "{why}"
        );
    }
}

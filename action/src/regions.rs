//! Countries, US states and Canadian provinces: names, codes and phone
//! calling codes, so a value typed any common way maps to the code Meta
//! matches on. Never a guess: an unknown name is `None`.

use crate::country_names::{ENTRIES, STARTS};
use std::cmp::Ordering;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One country: ISO 3166-1 alpha-2 and alpha-3, ITU calling code, the
/// national trunk prefix dialled before national numbers, English names.
#[derive(Debug, Clone, Copy)]
pub struct Country {
    /// ISO 3166-1 alpha-2, upper case.
    pub alpha2: &'static str,
    /// ISO 3166-1 alpha-3, upper case.
    pub alpha3: &'static str,
    /// Calling code digits, without `+`.
    pub calling_code: &'static str,
    /// Trunk prefix of national numbers (`0` in most countries), empty
    /// where national numbers keep their leading digits (Italy, Spain, ...).
    pub trunk_prefix: &'static str,
    /// English name.
    pub name: &'static str,
}

const fn c(
    alpha2: &'static str,
    alpha3: &'static str,
    calling_code: &'static str,
    trunk_prefix: &'static str,
    name: &'static str,
) -> Country {
    Country {
        alpha2,
        alpha3,
        calling_code,
        trunk_prefix,
        name,
    }
}

/// Every country and territory with an ISO 3166-1 code.
pub static COUNTRIES: &[Country] = &[
    c("AD", "AND", "376", "", "Andorra"),
    c("AE", "ARE", "971", "0", "United Arab Emirates"),
    c("AF", "AFG", "93", "0", "Afghanistan"),
    c("AG", "ATG", "1", "1", "Antigua and Barbuda"),
    c("AI", "AIA", "1", "1", "Anguilla"),
    c("AL", "ALB", "355", "0", "Albania"),
    c("AM", "ARM", "374", "0", "Armenia"),
    c("AO", "AGO", "244", "", "Angola"),
    c("AQ", "ATA", "672", "", "Antarctica"),
    c("AR", "ARG", "54", "0", "Argentina"),
    c("AS", "ASM", "1", "1", "American Samoa"),
    c("AT", "AUT", "43", "0", "Austria"),
    c("AU", "AUS", "61", "0", "Australia"),
    c("AW", "ABW", "297", "", "Aruba"),
    c("AX", "ALA", "358", "0", "Aland Islands"),
    c("AZ", "AZE", "994", "0", "Azerbaijan"),
    c("BA", "BIH", "387", "0", "Bosnia and Herzegovina"),
    c("BB", "BRB", "1", "1", "Barbados"),
    c("BD", "BGD", "880", "0", "Bangladesh"),
    c("BE", "BEL", "32", "0", "Belgium"),
    c("BF", "BFA", "226", "", "Burkina Faso"),
    c("BG", "BGR", "359", "0", "Bulgaria"),
    c("BH", "BHR", "973", "", "Bahrain"),
    c("BI", "BDI", "257", "", "Burundi"),
    c("BJ", "BEN", "229", "", "Benin"),
    c("BL", "BLM", "590", "0", "Saint Barthelemy"),
    c("BM", "BMU", "1", "1", "Bermuda"),
    c("BN", "BRN", "673", "", "Brunei"),
    c("BO", "BOL", "591", "0", "Bolivia"),
    c("BQ", "BES", "599", "", "Caribbean Netherlands"),
    c("BR", "BRA", "55", "0", "Brazil"),
    c("BS", "BHS", "1", "1", "Bahamas"),
    c("BT", "BTN", "975", "", "Bhutan"),
    c("BV", "BVT", "47", "", "Bouvet Island"),
    c("BW", "BWA", "267", "", "Botswana"),
    // Dialled `8 0` before national numbers, written `0` too (see the
    // old trunk prefixes of `normalize`).
    c("BY", "BLR", "375", "0", "Belarus"),
    c("BZ", "BLZ", "501", "", "Belize"),
    c("CA", "CAN", "1", "1", "Canada"),
    c("CC", "CCK", "61", "0", "Cocos (Keeling) Islands"),
    c("CD", "COD", "243", "0", "Democratic Republic of the Congo"),
    c("CF", "CAF", "236", "", "Central African Republic"),
    c("CG", "COG", "242", "", "Republic of the Congo"),
    c("CH", "CHE", "41", "0", "Switzerland"),
    c("CI", "CIV", "225", "", "Cote d'Ivoire"),
    c("CK", "COK", "682", "", "Cook Islands"),
    c("CL", "CHL", "56", "", "Chile"),
    c("CM", "CMR", "237", "", "Cameroon"),
    c("CN", "CHN", "86", "0", "China"),
    c("CO", "COL", "57", "", "Colombia"),
    c("CR", "CRI", "506", "", "Costa Rica"),
    c("CU", "CUB", "53", "0", "Cuba"),
    c("CV", "CPV", "238", "", "Cabo Verde"),
    c("CW", "CUW", "599", "", "Curacao"),
    c("CX", "CXR", "61", "0", "Christmas Island"),
    c("CY", "CYP", "357", "", "Cyprus"),
    c("CZ", "CZE", "420", "", "Czechia"),
    c("DE", "DEU", "49", "0", "Germany"),
    c("DJ", "DJI", "253", "", "Djibouti"),
    c("DK", "DNK", "45", "", "Denmark"),
    c("DM", "DMA", "1", "1", "Dominica"),
    c("DO", "DOM", "1", "1", "Dominican Republic"),
    c("DZ", "DZA", "213", "0", "Algeria"),
    c("EC", "ECU", "593", "0", "Ecuador"),
    c("EE", "EST", "372", "", "Estonia"),
    c("EG", "EGY", "20", "0", "Egypt"),
    c("EH", "ESH", "212", "0", "Western Sahara"),
    c("ER", "ERI", "291", "0", "Eritrea"),
    c("ES", "ESP", "34", "", "Spain"),
    c("ET", "ETH", "251", "0", "Ethiopia"),
    c("FI", "FIN", "358", "0", "Finland"),
    c("FJ", "FJI", "679", "", "Fiji"),
    c("FK", "FLK", "500", "", "Falkland Islands"),
    c("FM", "FSM", "691", "", "Micronesia"),
    c("FO", "FRO", "298", "", "Faroe Islands"),
    c("FR", "FRA", "33", "0", "France"),
    c("GA", "GAB", "241", "", "Gabon"),
    c("GB", "GBR", "44", "0", "United Kingdom"),
    c("GD", "GRD", "1", "1", "Grenada"),
    c("GE", "GEO", "995", "0", "Georgia"),
    c("GF", "GUF", "594", "0", "French Guiana"),
    c("GG", "GGY", "44", "0", "Guernsey"),
    c("GH", "GHA", "233", "0", "Ghana"),
    c("GI", "GIB", "350", "", "Gibraltar"),
    c("GL", "GRL", "299", "", "Greenland"),
    c("GM", "GMB", "220", "", "Gambia"),
    c("GN", "GIN", "224", "", "Guinea"),
    c("GP", "GLP", "590", "0", "Guadeloupe"),
    c("GQ", "GNQ", "240", "", "Equatorial Guinea"),
    c("GR", "GRC", "30", "", "Greece"),
    c(
        "GS",
        "SGS",
        "500",
        "",
        "South Georgia and the South Sandwich Islands",
    ),
    c("GT", "GTM", "502", "", "Guatemala"),
    c("GU", "GUM", "1", "1", "Guam"),
    c("GW", "GNB", "245", "", "Guinea-Bissau"),
    c("GY", "GUY", "592", "", "Guyana"),
    c("HK", "HKG", "852", "", "Hong Kong"),
    c("HM", "HMD", "672", "", "Heard Island and McDonald Islands"),
    c("HN", "HND", "504", "", "Honduras"),
    c("HR", "HRV", "385", "0", "Croatia"),
    c("HT", "HTI", "509", "", "Haiti"),
    c("HU", "HUN", "36", "06", "Hungary"),
    c("ID", "IDN", "62", "0", "Indonesia"),
    c("IE", "IRL", "353", "0", "Ireland"),
    c("IL", "ISR", "972", "0", "Israel"),
    c("IM", "IMN", "44", "0", "Isle of Man"),
    c("IN", "IND", "91", "0", "India"),
    c("IO", "IOT", "246", "", "British Indian Ocean Territory"),
    c("IQ", "IRQ", "964", "0", "Iraq"),
    c("IR", "IRN", "98", "0", "Iran"),
    c("IS", "ISL", "354", "", "Iceland"),
    c("IT", "ITA", "39", "", "Italy"),
    c("JE", "JEY", "44", "0", "Jersey"),
    c("JM", "JAM", "1", "1", "Jamaica"),
    c("JO", "JOR", "962", "0", "Jordan"),
    c("JP", "JPN", "81", "0", "Japan"),
    c("KE", "KEN", "254", "0", "Kenya"),
    c("KG", "KGZ", "996", "0", "Kyrgyzstan"),
    c("KH", "KHM", "855", "0", "Cambodia"),
    c("KI", "KIR", "686", "", "Kiribati"),
    c("KM", "COM", "269", "", "Comoros"),
    c("KN", "KNA", "1", "1", "Saint Kitts and Nevis"),
    c("KP", "PRK", "850", "0", "North Korea"),
    c("KR", "KOR", "82", "0", "South Korea"),
    c("KW", "KWT", "965", "", "Kuwait"),
    c("KY", "CYM", "1", "1", "Cayman Islands"),
    c("KZ", "KAZ", "7", "8", "Kazakhstan"),
    c("LA", "LAO", "856", "0", "Laos"),
    c("LB", "LBN", "961", "0", "Lebanon"),
    c("LC", "LCA", "1", "1", "Saint Lucia"),
    c("LI", "LIE", "423", "", "Liechtenstein"),
    c("LK", "LKA", "94", "0", "Sri Lanka"),
    c("LR", "LBR", "231", "0", "Liberia"),
    c("LS", "LSO", "266", "", "Lesotho"),
    c("LT", "LTU", "370", "0", "Lithuania"),
    c("LU", "LUX", "352", "", "Luxembourg"),
    c("LV", "LVA", "371", "", "Latvia"),
    c("LY", "LBY", "218", "0", "Libya"),
    c("MA", "MAR", "212", "0", "Morocco"),
    c("MC", "MCO", "377", "0", "Monaco"),
    c("MD", "MDA", "373", "0", "Moldova"),
    c("ME", "MNE", "382", "0", "Montenegro"),
    c("MF", "MAF", "590", "0", "Saint Martin"),
    c("MG", "MDG", "261", "0", "Madagascar"),
    c("MH", "MHL", "692", "1", "Marshall Islands"),
    c("MK", "MKD", "389", "0", "North Macedonia"),
    c("ML", "MLI", "223", "", "Mali"),
    c("MM", "MMR", "95", "0", "Myanmar"),
    c("MN", "MNG", "976", "0", "Mongolia"),
    c("MO", "MAC", "853", "", "Macao"),
    c("MP", "MNP", "1", "1", "Northern Mariana Islands"),
    c("MQ", "MTQ", "596", "0", "Martinique"),
    c("MR", "MRT", "222", "", "Mauritania"),
    c("MS", "MSR", "1", "1", "Montserrat"),
    c("MT", "MLT", "356", "", "Malta"),
    c("MU", "MUS", "230", "", "Mauritius"),
    c("MV", "MDV", "960", "", "Maldives"),
    c("MW", "MWI", "265", "0", "Malawi"),
    c("MX", "MEX", "52", "", "Mexico"),
    c("MY", "MYS", "60", "0", "Malaysia"),
    c("MZ", "MOZ", "258", "", "Mozambique"),
    c("NA", "NAM", "264", "0", "Namibia"),
    c("NC", "NCL", "687", "", "New Caledonia"),
    c("NE", "NER", "227", "", "Niger"),
    c("NF", "NFK", "672", "", "Norfolk Island"),
    c("NG", "NGA", "234", "0", "Nigeria"),
    c("NI", "NIC", "505", "", "Nicaragua"),
    c("NL", "NLD", "31", "0", "Netherlands"),
    c("NO", "NOR", "47", "", "Norway"),
    c("NP", "NPL", "977", "0", "Nepal"),
    c("NR", "NRU", "674", "", "Nauru"),
    c("NU", "NIU", "683", "", "Niue"),
    c("NZ", "NZL", "64", "0", "New Zealand"),
    c("OM", "OMN", "968", "", "Oman"),
    c("PA", "PAN", "507", "", "Panama"),
    c("PE", "PER", "51", "0", "Peru"),
    c("PF", "PYF", "689", "", "French Polynesia"),
    c("PG", "PNG", "675", "", "Papua New Guinea"),
    c("PH", "PHL", "63", "0", "Philippines"),
    c("PK", "PAK", "92", "0", "Pakistan"),
    c("PL", "POL", "48", "", "Poland"),
    c("PM", "SPM", "508", "", "Saint Pierre and Miquelon"),
    c("PN", "PCN", "64", "0", "Pitcairn"),
    c("PR", "PRI", "1", "1", "Puerto Rico"),
    c("PS", "PSE", "970", "0", "Palestine"),
    c("PT", "PRT", "351", "", "Portugal"),
    c("PW", "PLW", "680", "", "Palau"),
    c("PY", "PRY", "595", "0", "Paraguay"),
    c("QA", "QAT", "974", "", "Qatar"),
    c("RE", "REU", "262", "0", "Reunion"),
    c("RO", "ROU", "40", "0", "Romania"),
    c("RS", "SRB", "381", "0", "Serbia"),
    c("RU", "RUS", "7", "8", "Russia"),
    c("RW", "RWA", "250", "", "Rwanda"),
    c("SA", "SAU", "966", "0", "Saudi Arabia"),
    c("SB", "SLB", "677", "", "Solomon Islands"),
    c("SC", "SYC", "248", "", "Seychelles"),
    c("SD", "SDN", "249", "0", "Sudan"),
    c("SE", "SWE", "46", "0", "Sweden"),
    c("SG", "SGP", "65", "", "Singapore"),
    c("SH", "SHN", "290", "", "Saint Helena"),
    c("SI", "SVN", "386", "0", "Slovenia"),
    c("SJ", "SJM", "47", "", "Svalbard and Jan Mayen"),
    c("SK", "SVK", "421", "0", "Slovakia"),
    c("SL", "SLE", "232", "0", "Sierra Leone"),
    c("SM", "SMR", "378", "", "San Marino"),
    c("SN", "SEN", "221", "", "Senegal"),
    c("SO", "SOM", "252", "0", "Somalia"),
    c("SR", "SUR", "597", "", "Suriname"),
    c("SS", "SSD", "211", "0", "South Sudan"),
    c("ST", "STP", "239", "", "Sao Tome and Principe"),
    c("SV", "SLV", "503", "", "El Salvador"),
    c("SX", "SXM", "1", "1", "Sint Maarten"),
    c("SY", "SYR", "963", "0", "Syria"),
    c("SZ", "SWZ", "268", "", "Eswatini"),
    c("TC", "TCA", "1", "1", "Turks and Caicos Islands"),
    c("TD", "TCD", "235", "", "Chad"),
    c("TF", "ATF", "262", "0", "French Southern Territories"),
    c("TG", "TGO", "228", "", "Togo"),
    c("TH", "THA", "66", "0", "Thailand"),
    c("TJ", "TJK", "992", "8", "Tajikistan"),
    c("TK", "TKL", "690", "", "Tokelau"),
    c("TL", "TLS", "670", "", "Timor-Leste"),
    c("TM", "TKM", "993", "8", "Turkmenistan"),
    c("TN", "TUN", "216", "", "Tunisia"),
    c("TO", "TON", "676", "", "Tonga"),
    c("TR", "TUR", "90", "0", "Turkey"),
    c("TT", "TTO", "1", "1", "Trinidad and Tobago"),
    c("TV", "TUV", "688", "", "Tuvalu"),
    c("TW", "TWN", "886", "0", "Taiwan"),
    c("TZ", "TZA", "255", "0", "Tanzania"),
    c("UA", "UKR", "380", "0", "Ukraine"),
    c("UG", "UGA", "256", "0", "Uganda"),
    c(
        "UM",
        "UMI",
        "1",
        "1",
        "United States Minor Outlying Islands",
    ),
    c("US", "USA", "1", "1", "United States"),
    c("UY", "URY", "598", "0", "Uruguay"),
    c("UZ", "UZB", "998", "8", "Uzbekistan"),
    c("VA", "VAT", "39", "", "Vatican City"),
    c("VC", "VCT", "1", "1", "Saint Vincent and the Grenadines"),
    c("VE", "VEN", "58", "0", "Venezuela"),
    c("VG", "VGB", "1", "1", "British Virgin Islands"),
    c("VI", "VIR", "1", "1", "United States Virgin Islands"),
    c("VN", "VNM", "84", "0", "Vietnam"),
    c("VU", "VUT", "678", "", "Vanuatu"),
    c("WF", "WLF", "681", "", "Wallis and Futuna"),
    c("WS", "WSM", "685", "", "Samoa"),
    c("XK", "XKX", "383", "0", "Kosovo"),
    c("YE", "YEM", "967", "0", "Yemen"),
    c("YT", "MYT", "262", "0", "Mayotte"),
    c("ZA", "ZAF", "27", "0", "South Africa"),
    c("ZM", "ZMB", "260", "0", "Zambia"),
    c("ZW", "ZWE", "263", "0", "Zimbabwe"),
];

/// Other names people type for a country, already folded (see [`fold`]),
/// beside the generated ISO and CLDR names (`country_names`); they come
/// first.
static COUNTRY_ALIASES: &[(&str, &str)] = &[
    ("unitedstatesofamerica", "US"),
    ("america", "US"),
    ("us", "US"),
    ("usa", "US"),
    ("theunitedstates", "US"),
    ("greatbritain", "GB"),
    ("britain", "GB"),
    ("uk", "GB"),
    ("unitedkingdomofgreatbritainandnorthernireland", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northernireland", "GB"),
    ("nireland", "GB"),
    ("greatbritainandnorthernireland", "GB"),
    // The UK's nations by their ISO 3166-2 codes (`GB-ENG`).
    ("gbeng", "GB"),
    ("gbsct", "GB"),
    ("gbwls", "GB"),
    ("gbnir", "GB"),
    ("turksandcaicos", "TC"),
    ("deutschland", "DE"),
    ("espana", "ES"),
    ("españa", "ES"),
    ("italia", "IT"),
    ("brasil", "BR"),
    ("méxico", "MX"),
    ("holland", "NL"),
    ("thenetherlands", "NL"),
    ("nederland", "NL"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("österreich", "AT"),
    ("czechrepublic", "CZ"),
    ("russianfederation", "RU"),
    ("southkorea", "KR"),
    ("korearepublicof", "KR"),
    ("republicofkorea", "KR"),
    ("korea", "KR"),
    ("northkorea", "KP"),
    ("uae", "AE"),
    ("ksa", "SA"),
    ("emirates", "AE"),
    ("ivorycoast", "CI"),
    ("côtedivoire", "CI"),
    ("capeverde", "CV"),
    ("drc", "CD"),
    ("drcongo", "CD"),
    ("congokinshasa", "CD"),
    ("congobrazzaville", "CG"),
    ("congo", "CG"),
    ("congodemocraticrepublicofthe", "CD"),
    ("congodemocraticrepublic", "CD"),
    ("democraticrepublicofcongo", "CD"),
    ("congorepublicofthe", "CG"),
    ("congorepublic", "CG"),
    ("republicofcongo", "CG"),
    ("koreasouth", "KR"),
    ("koreanorth", "KP"),
    ("swaziland", "SZ"),
    ("burma", "MM"),
    ("easttimor", "TL"),
    ("macedonia", "MK"),
    ("vaticancity", "VA"),
    ("vatican", "VA"),
    ("macedoniatheformeryugoslavrepublicof", "MK"),
    ("holysee", "VA"),
    ("türkiye", "TR"),
    ("turkiye", "TR"),
    ("vietnam", "VN"),
    ("vietnamese", "VN"),
    ("macau", "MO"),
    ("hongkongsar", "HK"),
    ("hongkongchina", "HK"),
    ("hongkongsarchina", "HK"),
    ("macauchina", "MO"),
    ("macausarchina", "MO"),
    ("macaosarchina", "MO"),
    ("macaochina", "MO"),
    ("prc", "CN"),
    ("peoplesrepublicofchina", "CN"),
    ("republicofchina", "TW"),
    ("republicofireland", "IE"),
    ("eire", "IE"),
    ("newzealand", "NZ"),
    ("aotearoa", "NZ"),
    ("bolivia", "BO"),
    ("iranislamicrepublicof", "IR"),
    ("laopdr", "LA"),
    ("syrianarabrepublic", "SY"),
    ("tanzaniaunitedrepublicof", "TZ"),
    ("moldovarepublicof", "MD"),
    ("micronesiafederatedstatesof", "FM"),
    ("bruneidarussalam", "BN"),
    ("palestinestateof", "PS"),
    ("stkittsandnevis", "KN"),
    ("stlucia", "LC"),
    ("stvincentandthegrenadines", "VC"),
    ("usvirginislands", "VI"),
    ("bahamasthe", "BS"),
    ("thebahamas", "BS"),
    ("gambiathe", "GM"),
    ("thegambia", "GM"),
    // Abbreviations in Spanish (`EE.UU.`) and Portuguese (`EUA`), and
    // common short names the generated ones (each language's full name)
    // leave out.
    ("eeuu", "US"),
    ("eua", "US"),
    ("greatbritainandnorthernireland", "GB"),
    ("rsa", "ZA"),
    ("saudi", "SA"),
    ("السعودية", "SA"),
    ("ประเทศไทย", "TH"),
    ("香港", "HK"),
    ("澳門", "MO"),
    ("澳门", "MO"),
    ("臺灣", "TW"),
];

/// Folds a typed name for lookup: NFC, lowercase, letters and their
/// combining marks only (`U.S.A.` and `u s a` both fold to `usa`, `Korea,
/// Democratic People's Republic of` to `koreademocraticpeoplesrepublicof`).
/// Accents stay: `España` folds to `españa`.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        // ASCII is NFC already: skip the normaliser.
        return s
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
    }
    folded(s).collect()
}

fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.nfc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphabetic() || is_combining_mark(*c))
}

/// Whether `name` folds to `target` (already folded), without allocating.
fn folds_to(name: &str, target: &str) -> bool {
    if name.is_ascii() {
        return name
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| b.to_ascii_lowercase())
            .eq(target.bytes());
    }
    folded(name).eq(target.chars())
}

/// The country a typed value names: ISO alpha-2 or alpha-3 code (any case),
/// English name, or a common alias. `None` when it names no country.
pub fn country(s: &str) -> Option<&'static Country> {
    let trimmed = s.trim();
    if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
        let b = trimmed.as_bytes();
        if let Some(c) = by_code([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]) {
            return Some(c);
        }
        // `UK` is not ISO but everyone writes it.
        if trimmed.eq_ignore_ascii_case("uk") {
            return by_alpha2("GB");
        }
        return None;
    }
    if trimmed.len() == 3
        && trimmed.bytes().all(|b| b.is_ascii_alphabetic())
        && let Some(c) = COUNTRIES
            .iter()
            .find(|c| c.alpha3.eq_ignore_ascii_case(trimmed))
    {
        return Some(c);
    }
    let folded = fold(trimmed);
    if folded.is_empty() {
        return None;
    }
    // A code written with stray punctuation: `U.S.`, `C-A`.
    if folded.len() == 2 && folded.bytes().all(|b| b.is_ascii_lowercase()) && folded != trimmed {
        return country(&folded);
    }
    let named = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(alias, _)| *alias == folded)
            .map(|(_, code)| *code)
    };
    named(COUNTRY_ALIASES)
        .or_else(|| generated_name(&folded))
        .and_then(by_alpha2)
        .or_else(|| COUNTRIES.iter().find(|c| folds_to(c.name, &folded)))
}

/// The generated names (see `country_names`), each with the alpha-2 code it
/// names, sorted by the names' bytes.
#[cfg(test)]
fn generated_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    STARTS.windows(2).map(|w| generated_entry(w[0], w[1]))
}

fn generated_entry(start: u16, end: u16) -> (&'static str, &'static str) {
    ENTRIES[usize::from(start)..usize::from(end)].split_at(usize::from(end - start) - 2)
}

/// The alpha-2 code a generated name (already folded) names.
fn generated_name(folded: &str) -> Option<&'static str> {
    let (mut low, mut high) = (0, STARTS.len() - 1);
    while low < high {
        let mid = (low + high) / 2;
        let (name, code) = generated_entry(STARTS[mid], STARTS[mid + 1]);
        match name.as_bytes().cmp(folded.as_bytes()) {
            Ordering::Less => low = mid + 1,
            Ordering::Greater => high = mid,
            Ordering::Equal => return Some(code),
        }
    }
    None
}

/// The ISO alpha-2 code (upper case) of a typed country.
pub fn country_code(s: &str) -> Option<&'static str> {
    country(s).map(|c| c.alpha2)
}

/// The country with this alpha-2 code (upper case).
pub fn by_alpha2(code: &str) -> Option<&'static Country> {
    match *code.as_bytes() {
        [a, b] => by_code([a, b]),
        _ => None,
    }
}

/// The country with this alpha-2 code, given as its two bytes.
fn by_code(code: [u8; 2]) -> Option<&'static Country> {
    // The table is in alpha-2 order (a test keeps it so): every event looks
    // its contact's country up, twice. Two bytes read as one big-endian
    // number order as the text does, and compare without a call.
    let key = |code: [u8; 2]| u16::from_be_bytes(code);
    COUNTRIES
        .binary_search_by_key(&key(code), |c| {
            let b = c.alpha2.as_bytes();
            key([b[0], b[1]])
        })
        .ok()
        .map(|i| &COUNTRIES[i])
}

/// US states, districts and territories, then Canadian provinces and
/// territories: (code, name).
static US_STATES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("AS", "American Samoa"),
    ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"),
    ("VI", "Virgin Islands"),
    ("UM", "United States Minor Outlying Islands"),
];

static CA_PROVINCES: &[(&str, &str)] = &[
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// The abbreviations Brazilian and Australian addresses write after a
/// city (`São Paulo/SP`, `Rio de Janeiro - RJ`, `Sydney NSW 2000`): the
/// 27 federative units' and the 8 states' and territories' postal codes.
static STATES_AFTER_CITIES: &[&str] = &[
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR",
    "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO", // Brazil
    "NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT", // Australia
];

/// Whether `code` (any case) is the postal code of a US state, Canadian
/// province, Brazilian federative unit or Australian state: what an
/// address's line writes after its city.
pub fn state_after_city(code: &str) -> bool {
    (2..=3).contains(&code.len())
        && (STATES_AFTER_CITIES
            .iter()
            .any(|known| known.eq_ignore_ascii_case(code))
            || US_STATES
                .iter()
                .chain(CA_PROVINCES)
                .any(|(known, _)| known.eq_ignore_ascii_case(code)))
}

/// Other spellings of US states and Canadian provinces, folded: among
/// them the provinces' French names, as Canada Post and Quebec's
/// addresses write them, and the states' Spanish names, as Puerto Rico's
/// and Spanish-speaking customers' addresses write them, with their
/// accents and without.
static REGION_ALIASES: &[(&str, &str)] = &[
    ("nuevayork", "NY"),
    ("nuevajersey", "NJ"),
    ("nuevohampshire", "NH"),
    ("nuevoméxico", "NM"),
    ("nuevomexico", "NM"),
    ("carolinadelnorte", "NC"),
    ("carolinadelsur", "SC"),
    ("dakotadelnorte", "ND"),
    ("dakotadelsur", "SD"),
    ("virginiaoccidental", "WV"),
    ("luisiana", "LA"),
    ("pensilvania", "PA"),
    ("misisipi", "MS"),
    ("misuri", "MO"),
    ("hawái", "HI"),
    ("oregón", "OR"),
    ("míchigan", "MI"),
    ("kansás", "KS"),
    ("distritodecolumbia", "DC"),
    ("washingtondc", "DC"),
    ("districtofcolumbia", "DC"),
    ("québec", "QC"),
    ("colombiebritannique", "BC"),
    ("nouvelleécosse", "NS"),
    ("nouvelleecosse", "NS"),
    ("nouveaubrunswick", "NB"),
    ("terreneuveetlabrador", "NL"),
    ("terreneuve", "NL"),
    ("îleduprinceédouard", "PE"),
    ("ileduprinceedouard", "PE"),
    ("territoiresdunordouest", "NT"),
    ("territoireduyukon", "YT"),
    ("newfoundland", "NL"),
    ("labrador", "NL"),
    ("pei", "PE"),
    ("yukonterritory", "YT"),
    ("calif", "CA"),
    ("mass", "MA"),
    ("penn", "PA"),
    ("usvirginislands", "VI"),
    ("washdc", "DC"),
];

/// The abbreviations of US states and Canadian provinces that style guides
/// and older postal usage wrote before the two-letter codes (`Fla.`,
/// `Tex.`, `W. Va.`, `Ont.`, `Que.`, `P.Q.`, `Nfld.`) and names shortened by
/// their first word (`N. Carolina`, `So. Dakota`), folded. Several are
/// words or abbreviations elsewhere (`Del.`, `Man.`, `Ind.`), so they are
/// read only for a contact known to be in the US or Canada.
static REGION_ABBREVIATIONS: &[(&str, &str)] = &[
    ("ala", "AL"),
    ("alas", "AK"),
    ("ariz", "AZ"),
    ("ark", "AR"),
    ("cal", "CA"),
    ("colo", "CO"),
    ("conn", "CT"),
    ("del", "DE"),
    ("fla", "FL"),
    ("ill", "IL"),
    ("ind", "IN"),
    ("kan", "KS"),
    ("kans", "KS"),
    ("mich", "MI"),
    ("minn", "MN"),
    ("miss", "MS"),
    ("mont", "MT"),
    ("neb", "NE"),
    ("nebr", "NE"),
    ("nev", "NV"),
    ("nmex", "NM"),
    ("ndak", "ND"),
    ("sdak", "SD"),
    ("ncarolina", "NC"),
    ("nocarolina", "NC"),
    ("scarolina", "SC"),
    ("socarolina", "SC"),
    ("ndakota", "ND"),
    ("nodakota", "ND"),
    ("sdakota", "SD"),
    ("sodakota", "SD"),
    ("wvirginia", "WV"),
    ("wva", "WV"),
    ("okla", "OK"),
    ("ore", "OR"),
    ("oreg", "OR"),
    ("penna", "PA"),
    ("tenn", "TN"),
    ("tex", "TX"),
    ("wash", "WA"),
    ("wis", "WI"),
    ("wisc", "WI"),
    ("wyo", "WY"),
    ("alta", "AB"),
    ("man", "MB"),
    ("nfld", "NL"),
    ("nf", "NL"),
    ("nwt", "NT"),
    ("ont", "ON"),
    ("que", "QC"),
    ("pq", "QC"),
    ("sask", "SK"),
];

/// The two-letter code of a US state or Canadian province typed as a code
/// or a name. `country` (alpha-2) narrows the search when known; a two-letter
/// code is accepted only when it is a real one.
pub fn region_code(s: &str, country: Option<&str>) -> Option<&'static str> {
    let tables: &[&[(&str, &str)]] = match country {
        Some("US") => &[US_STATES],
        Some("CA") => &[CA_PROVINCES],
        None => &[US_STATES, CA_PROVINCES],
        Some(_) => return None,
    };
    let trimmed = s.trim();
    let folded = fold(trimmed);
    for table in tables {
        if let Some((code, _)) = table.iter().find(|(code, name)| {
            code.eq_ignore_ascii_case(trimmed) || folds_to(code, &folded) || folds_to(name, &folded)
        }) {
            return Some(code);
        }
    }
    let abbreviations: &[(&str, &str)] = if country.is_some() {
        REGION_ABBREVIATIONS
    } else {
        &[]
    };
    REGION_ALIASES
        .iter()
        .chain(abbreviations)
        .find(|(alias, code)| {
            *alias == folded && tables.iter().any(|t| t.iter().any(|(c, _)| c == code))
        })
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_by_code_name_and_alias() {
        for (typed, code) in [
            ("US", "US"),
            ("usa", "US"),
            ("U.S.A.", "US"),
            ("United States", "US"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("Great Britain", "GB"),
            ("gbr", "GB"),
            ("Deutschland", "DE"),
            ("España", "ES"),
            ("Côte d'Ivoire", "CI"),
            ("south korea", "KR"),
            ("EE.UU.", "US"),
            ("E.U.A.", "US"),
            ("ประเทศไทย", "TH"),
            ("السعودية", "SA"),
            ("香港", "HK"),
            ("澳門", "MO"),
            ("臺灣", "TW"),
        ] {
            assert_eq!(country_code(typed), Some(code), "{typed}");
        }
        for junk in ["Narnia", "", "XX", "123", "Bavaria"] {
            assert_eq!(country_code(junk), None, "{junk}");
        }
    }

    #[test]
    fn countries_as_exports_write_them() {
        for (typed, code) in [
            ("French Republic", "FR"),
            ("Swiss Confederation", "CH"),
            ("Korea Democratic Peoples Republic of", "KP"),
            ("Korea, Republic of", "KR"),
            ("Congo the Democratic Republic of the", "CD"),
            ("Taiwan Province of China", "TW"),
            ("Holy See Vatican City State", "VA"),
            ("Brasil", "BR"),
            ("Nederland", "NL"),
            ("Schweiz", "CH"),
            ("Österreich", "AT"),
            ("Italia", "IT"),
            ("Éire", "IE"),
            ("Россия", "RU"),
            ("日本", "JP"),
            ("Federal Republic of Germany", "DE"),
            ("Polska", "PL"),
            // Formal names as each country's people write them.
            ("Česká republika", "CZ"),
            ("Slovenská republika", "SK"),
            ("Rzeczpospolita Polska", "PL"),
            ("Bundesrepublik Deutschland", "DE"),
            ("Republik Österreich", "AT"),
            ("Reino de España", "ES"),
            ("República Federativa do Brasil", "BR"),
            ("Estados Unidos Mexicanos", "MX"),
            ("Российская Федерация", "RU"),
            ("Türkiye Cumhuriyeti", "TR"),
            ("中华人民共和国", "CN"),
            ("中華民國", "TW"),
            ("المملكة العربية السعودية", "SA"),
        ] {
            assert_eq!(country_code(typed), Some(code), "{typed}");
        }
    }

    #[test]
    fn the_generated_names_are_folded_and_sorted() {
        let names: Vec<_> = generated_names().collect();
        assert_eq!(names.len() + 1, STARTS.len());
        assert_eq!(usize::from(*STARTS.last().unwrap()), ENTRIES.len());
        for (name, code) in &names {
            assert_eq!(fold(name), *name, "not folded as `fold` folds");
            assert!(by_alpha2(code).is_some(), "{code}");
            assert_eq!(generated_name(name), Some(*code), "{name} is found");
        }
        assert!(
            names
                .windows(2)
                .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes())
        );
        for absent in ["", "a", "zzzz", "narnia", "aaaa"] {
            assert_eq!(generated_name(absent), None);
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in COUNTRIES {
            assert!(seen.insert(c.alpha2), "{}", c.alpha2);
            assert!(seen.insert(c.alpha3) || c.alpha3.len() == 3, "{}", c.alpha3);
        }
    }

    #[test]
    fn the_table_is_in_alpha2_order_so_every_code_is_found() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].alpha2 < w[1].alpha2));
        for c in COUNTRIES {
            assert_eq!(by_alpha2(c.alpha2).map(|f| f.alpha3), Some(c.alpha3));
            assert_eq!(
                country(&c.alpha2.to_ascii_lowercase()).map(|f| f.alpha2),
                Some(c.alpha2)
            );
        }
    }

    #[test]
    fn regions_never_truncated() {
        assert_eq!(region_code("California", None), Some("CA"));
        assert_eq!(region_code("new york", Some("US")), Some("NY"));
        assert_eq!(region_code("Québec", Some("CA")), Some("QC"));
        assert_eq!(region_code("Ontario", None), Some("ON"));
        assert_eq!(region_code("tx", None), Some("TX"));
        assert_eq!(region_code("Bavaria", Some("DE")), None);
        assert_eq!(region_code("Bavaria", None), None);
    }

    #[test]
    fn states_and_provinces_are_read_in_their_other_languages() {
        // Each in its country, in no known country, and not in the other.
        for (typed, country, other, code) in [
            // The US states in Spanish, as Puerto Rico's addresses write them.
            ("Nueva York", "US", "CA", "NY"),
            ("Carolina del Norte", "US", "CA", "NC"),
            ("Nuevo México", "US", "CA", "NM"),
            ("Nuevo Mexico", "US", "CA", "NM"),
            ("Luisiana", "US", "CA", "LA"),
            ("Pensilvania", "US", "CA", "PA"),
            ("Hawái", "US", "CA", "HI"),
            ("Virginia Occidental", "US", "CA", "WV"),
            ("Distrito de Columbia", "US", "CA", "DC"),
            // Canada's provinces in French, as Quebec's addresses write them.
            ("Colombie-Britannique", "CA", "US", "BC"),
            ("Nouvelle-Écosse", "CA", "US", "NS"),
            ("Nouvelle Ecosse", "CA", "US", "NS"),
            ("Nouveau-Brunswick", "CA", "US", "NB"),
            ("Terre-Neuve-et-Labrador", "CA", "US", "NL"),
            ("Île-du-Prince-Édouard", "CA", "US", "PE"),
            ("Ile du Prince Edouard", "CA", "US", "PE"),
            ("Territoires du Nord-Ouest", "CA", "US", "NT"),
            ("Territoire du Yukon", "CA", "US", "YT"),
        ] {
            assert_eq!(region_code(typed, Some(country)), Some(code), "{typed}");
            assert_eq!(region_code(typed, None), Some(code), "{typed}");
            assert_eq!(region_code(typed, Some(other)), None, "{typed}");
        }
    }

    #[test]
    fn older_abbreviations_are_read_for_a_contact_known_to_be_there() {
        assert_eq!(region_code("Fla.", Some("US")), Some("FL"));
        assert_eq!(region_code("W. Va.", Some("US")), Some("WV"));
        assert_eq!(region_code("N. Carolina", Some("US")), Some("NC"));
        assert_eq!(region_code("So. Dakota", Some("US")), Some("SD"));
        assert_eq!(region_code("Ont.", Some("CA")), Some("ON"));
        assert_eq!(region_code("P.Q.", Some("CA")), Some("QC"));
        // Another country's abbreviation is not this country's.
        assert_eq!(region_code("Ont.", Some("US")), None);
        assert_eq!(region_code("Tex.", Some("CA")), None);
        // With the country unknown, `Del.` may as well be Delhi.
        assert_eq!(region_code("Del.", None), None);
        assert_eq!(region_code("Wash DC", None), Some("DC"));
    }

    #[test]
    fn abbreviations_name_real_codes_and_are_no_code_themselves() {
        for (abbreviation, code) in REGION_ABBREVIATIONS.iter().chain(REGION_ALIASES) {
            assert!(
                US_STATES.iter().chain(CA_PROVINCES).any(|(c, _)| c == code),
                "{abbreviation} names {code}, which is no code"
            );
            assert!(
                !US_STATES
                    .iter()
                    .chain(CA_PROVINCES)
                    .any(|(c, _)| c.eq_ignore_ascii_case(abbreviation)),
                "{abbreviation} is a code itself"
            );
            assert_eq!(
                &fold(abbreviation),
                abbreviation,
                "{abbreviation} is not folded"
            );
        }
    }
}

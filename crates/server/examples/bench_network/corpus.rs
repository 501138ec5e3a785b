//! Generated content for the network benchmark: 200 member organisations
//! (countries, legal forms, sectors, languages) and their articles as the
//! ActivityPub `Article`s a member instance sends, in eight languages, with
//! bodies of a few hundred words drawn from small word lists written for
//! this benchmark (skewed, so some words are common and others rare).
//! Deterministic: the same numbers give the same members and articles.

use chrono::{DateTime, Duration, Utc};
use gazette_core::{LegalForm, MemberProfile};
use serde_json::{Value, json};

/// splitmix64: a small deterministic generator (no `rand` needed).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in `0.0..1.0`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Skewed towards 0 (the first entries of a list are the common ones).
    pub(crate) fn skewed(&mut self, n: usize) -> usize {
        ((self.unit().powi(3)) * n as f64) as usize % n.max(1)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// Words per language, the common ones first.
const WORDS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the",
            "and",
            "of",
            "to",
            "in",
            "our",
            "members",
            "cooperative",
            "community",
            "energy",
            "local",
            "with",
            "for",
            "housing",
            "workers",
            "project",
            "people",
            "social",
            "economy",
            "new",
            "year",
            "city",
            "village",
            "solidarity",
            "care",
            "food",
            "together",
            "shares",
            "board",
            "meeting",
            "renovation",
            "solar",
            "roof",
            "tenants",
            "farmers",
            "market",
            "repair",
            "circular",
            "youth",
            "training",
            "volunteers",
            "savings",
            "credit",
            "union",
            "mutual",
            "insurance",
            "elderly",
            "childcare",
            "bakery",
            "bicycle",
            "transport",
            "broadband",
            "heating",
            "wind",
            "turbine",
            "garden",
            "library",
            "festival",
            "assembly",
            "budget",
        ],
    ),
    (
        "fr",
        &[
            "la",
            "le",
            "et",
            "des",
            "les",
            "de",
            "nos",
            "membres",
            "coopérative",
            "économie",
            "sociale",
            "solidaire",
            "logement",
            "énergie",
            "citoyenne",
            "quartier",
            "habitants",
            "projet",
            "association",
            "mutuelle",
            "emploi",
            "insertion",
            "circuit",
            "court",
            "agriculteurs",
            "épicerie",
            "réemploi",
            "atelier",
            "vélo",
            "formation",
            "jeunes",
            "bénévoles",
            "assemblée",
            "générale",
            "épargne",
            "solidarité",
            "santé",
            "crèche",
            "rénovation",
            "toiture",
            "panneaux",
            "chaleur",
            "commune",
            "village",
            "marché",
            "boulangerie",
            "transition",
            "territoire",
            "bailleur",
            "locataires",
            "financement",
            "fondation",
            "culture",
        ],
    ),
    (
        "de",
        &[
            "die",
            "der",
            "und",
            "das",
            "für",
            "mit",
            "unsere",
            "Mitglieder",
            "Genossenschaft",
            "Energiegenossenschaft",
            "Wohnungsbau",
            "Nachbarschaft",
            "Bürger",
            "Gemeinschaft",
            "sozial",
            "Wirtschaft",
            "Projekt",
            "Verein",
            "Solidarität",
            "Pflege",
            "Landwirtschaft",
            "Hofladen",
            "Reparatur",
            "Werkstatt",
            "Fahrrad",
            "Ausbildung",
            "Jugend",
            "Ehrenamt",
            "Versammlung",
            "Sparkasse",
            "Kredit",
            "Versicherung",
            "Dorfladen",
            "Bäckerei",
            "Wärmenetz",
            "Photovoltaik",
            "Windrad",
            "Sanierung",
            "Mieter",
            "Stadtteil",
            "Gemeinde",
            "Stiftung",
            "Kultur",
            "Kita",
            "Finanzierung",
            "Teilhabe",
            "Inklusion",
            "Kreislaufwirtschaft",
        ],
    ),
    (
        "es",
        &[
            "la",
            "el",
            "y",
            "de",
            "los",
            "las",
            "nuestras",
            "socias",
            "cooperativa",
            "economía",
            "social",
            "solidaria",
            "vivienda",
            "energía",
            "comunitaria",
            "barrio",
            "vecinos",
            "proyecto",
            "asociación",
            "mutualidad",
            "empleo",
            "inserción",
            "agricultores",
            "mercado",
            "reparación",
            "taller",
            "bicicleta",
            "formación",
            "jóvenes",
            "voluntariado",
            "asamblea",
            "ahorro",
            "crédito",
            "salud",
            "cuidados",
            "rehabilitación",
            "tejado",
            "placas",
            "solares",
            "municipio",
            "pueblo",
            "panadería",
            "transición",
            "financiación",
            "fundación",
            "cultura",
            "inclusión",
            "circular",
        ],
    ),
    (
        "it",
        &[
            "la",
            "il",
            "e",
            "di",
            "delle",
            "dei",
            "nostri",
            "soci",
            "cooperativa",
            "economia",
            "sociale",
            "solidale",
            "abitare",
            "energia",
            "comunità",
            "quartiere",
            "abitanti",
            "progetto",
            "associazione",
            "mutua",
            "lavoro",
            "inserimento",
            "agricoltori",
            "mercato",
            "riparazione",
            "laboratorio",
            "bicicletta",
            "formazione",
            "giovani",
            "volontari",
            "assemblea",
            "risparmio",
            "credito",
            "salute",
            "cura",
            "ristrutturazione",
            "tetto",
            "pannelli",
            "comune",
            "borgo",
            "forno",
            "transizione",
            "finanziamento",
            "fondazione",
            "cultura",
            "inclusione",
            "circolare",
        ],
    ),
    (
        "nl",
        &[
            "de",
            "het",
            "en",
            "van",
            "voor",
            "met",
            "onze",
            "leden",
            "coöperatie",
            "energiecoöperatie",
            "buurt",
            "bewoners",
            "wonen",
            "sociale",
            "economie",
            "project",
            "vereniging",
            "onderlinge",
            "werk",
            "boeren",
            "markt",
            "repaircafé",
            "werkplaats",
            "fiets",
            "opleiding",
            "jongeren",
            "vrijwilligers",
            "ledenvergadering",
            "sparen",
            "krediet",
            "zorg",
            "kinderopvang",
            "renovatie",
            "dak",
            "zonnepanelen",
            "warmtenet",
            "gemeente",
            "dorp",
            "bakkerij",
            "transitie",
            "financiering",
            "stichting",
            "cultuur",
            "inclusie",
            "circulaire",
        ],
    ),
    (
        "pt",
        &[
            "a",
            "o",
            "e",
            "de",
            "das",
            "dos",
            "nossos",
            "cooperadores",
            "cooperativa",
            "economia",
            "social",
            "solidária",
            "habitação",
            "energia",
            "comunitária",
            "bairro",
            "moradores",
            "projeto",
            "associação",
            "mutualidade",
            "emprego",
            "inserção",
            "agricultores",
            "mercado",
            "reparação",
            "oficina",
            "bicicleta",
            "formação",
            "jovens",
            "voluntários",
            "assembleia",
            "poupança",
            "crédito",
            "saúde",
            "cuidados",
            "reabilitação",
            "telhado",
            "painéis",
            "município",
            "aldeia",
            "padaria",
            "transição",
            "financiamento",
            "fundação",
            "cultura",
            "inclusão",
            "circular",
        ],
    ),
    (
        "pl",
        &[
            "i",
            "w",
            "na",
            "do",
            "z",
            "nasi",
            "członkowie",
            "spółdzielnia",
            "ekonomia",
            "społeczna",
            "solidarna",
            "mieszkania",
            "energia",
            "obywatelska",
            "dzielnica",
            "mieszkańcy",
            "projekt",
            "stowarzyszenie",
            "towarzystwo",
            "praca",
            "rolnicy",
            "targ",
            "naprawa",
            "warsztat",
            "rower",
            "szkolenie",
            "młodzież",
            "wolontariusze",
            "zgromadzenie",
            "oszczędności",
            "kredyt",
            "zdrowie",
            "opieka",
            "remont",
            "dach",
            "fotowoltaika",
            "gmina",
            "wieś",
            "piekarnia",
            "transformacja",
            "finansowanie",
            "fundacja",
            "kultura",
            "włączenie",
            "obieg",
        ],
    ),
];

/// A word found in about one article in a thousand (the rare search).
pub(crate) const RARE_WORD: &str = "biochar";

/// Countries of members and the languages they write in.
const COUNTRIES: &[(&str, &[&str])] = &[
    ("FR", &["fr"]),
    ("DE", &["de"]),
    ("ES", &["es"]),
    ("IT", &["it"]),
    ("BE", &["fr", "nl"]),
    ("NL", &["nl"]),
    ("PT", &["pt"]),
    ("PL", &["pl"]),
    ("AT", &["de"]),
    ("IE", &["en"]),
    ("LU", &["fr", "de"]),
    ("SE", &["en"]),
];

pub(crate) const SECTORS: &[&str] = &[
    "energy",
    "housing",
    "food",
    "health",
    "care",
    "finance",
    "culture",
    "education",
    "mobility",
    "agriculture",
    "repair",
    "inclusion",
];

pub(crate) const TAGS: &[&str] = &[
    "energy",
    "housing",
    "cooperatives",
    "solidarity",
    "food",
    "care",
    "climate",
    "employment",
    "youth",
    "finance",
    "repair",
    "mobility",
    "culture",
    "rural",
    "democracy",
    "health",
    "circulareconomy",
    "training",
    "agm",
    "crowdfunding",
    "renovation",
    "farming",
    "inclusion",
    "commons",
    "elderly",
    "heating",
    "bicycles",
    "volunteering",
    "tenants",
    "europe",
];

const PLACES: &[&str] = &[
    "Lyon",
    "Gent",
    "Bilbao",
    "Bologna",
    "Leipzig",
    "Porto",
    "Kraków",
    "Utrecht",
    "Graz",
    "Cork",
    "Esch",
    "Malmö",
    "Nantes",
    "Liège",
    "Valencia",
    "Torino",
    "Freiburg",
    "Braga",
    "Gdańsk",
    "Groningen",
    "Linz",
    "Galway",
    "Lille",
    "Namur",
];

/// One member: where its fake instance listens and what it says about itself.
pub(crate) struct MemberSpec {
    pub(crate) port: u16,
    pub(crate) host: String,
    pub(crate) actor: String,
    pub(crate) profile: MemberProfile,
}

impl MemberSpec {
    pub(crate) fn handle(&self) -> String {
        format!("org@{}", self.host)
    }
}

/// Member `n` of the benchmark network, on `localhost:{port_base + n}`.
pub(crate) fn member(n: usize, port_base: u16) -> MemberSpec {
    let mut rng = Rng::new(n as u64 * 7919 + 1);
    let port = port_base + n as u16;
    let host = format!("localhost:{port}");
    let actor = format!("http://{host}/users/org");
    let (country, languages) = COUNTRIES[n % COUNTRIES.len()];
    let legal_form = LegalForm::ALL[rng.skewed(LegalForm::ALL.len())];
    let mut sectors: Vec<String> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let s = SECTORS[rng.skewed(SECTORS.len())].to_owned();
        if !sectors.contains(&s) {
            sectors.push(s);
        }
    }
    let mut langs: Vec<String> = languages.iter().map(|l| (*l).to_owned()).collect();
    if !langs.iter().any(|l| l == "en") && rng.chance(0.3) {
        langs.push("en".into());
    }
    let name = format!(
        "{} {} {} {n}",
        match legal_form {
            LegalForm::Cooperative => "Coop",
            LegalForm::Mutual => "Mutual",
            LegalForm::Association => "Association",
            LegalForm::Foundation => "Foundation",
            LegalForm::SocialEnterprise => "Social Enterprise",
            LegalForm::Other => "Collective",
        },
        capitalise(&sectors[0]),
        PLACES[n % PLACES.len()]
    );
    MemberSpec {
        port,
        actor: actor.clone(),
        profile: MemberProfile {
            name,
            url: Some(format!("http://{host}/")),
            country: Some(country.into()),
            legal_form: Some(legal_form.as_str().into()),
            sectors,
            languages: langs,
            logo: Some(format!("http://{host}/media/logo.png")),
        },
        host,
    }
}

fn words_of(lang: &str) -> &'static [&'static str] {
    WORDS.iter().find(|(l, _)| *l == lang).map_or(WORDS[0].1, |(_, w)| w)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn sentence(rng: &mut Rng, words: &[&str], len: usize) -> String {
    let s: Vec<&str> = (0..len).map(|_| words[rng.skewed(words.len())]).collect();
    format!("{}.", capitalise(&s.join(" ")))
}

/// Title, summary and HTML body of about `words` words in `lang`.
fn text(rng: &mut Rng, lang: &str, words: usize, rare: bool) -> (String, String, String) {
    let list = words_of(lang);
    let len = 4 + rng.below(6);
    let title = sentence(rng, list, len);
    let title = title.trim_end_matches('.').to_owned();
    let len = 15 + rng.below(15);
    let summary = sentence(rng, list, len);
    let mut body = String::with_capacity(words * 9);
    let mut written = 0;
    let mut paragraph = 0;
    while written < words {
        body.push_str("<p>");
        for _ in 0..3 + rng.below(4) {
            let len = 8 + rng.below(14);
            body.push_str(&sentence(rng, list, len));
            body.push(' ');
            written += len;
        }
        if rare && paragraph == 1 {
            body.push_str(&format!("{} {RARE_WORD}. ", PLACES[rng.below(PLACES.len())]));
        }
        body.push_str(&format!("{}</p>", PLACES[rng.below(PLACES.len())]));
        paragraph += 1;
    }
    (title, summary, body)
}

/// Article `n` of `member` (number `m`): the `Article` its instance sends,
/// published within the two years before `now`. `id_prefix` keeps the
/// ids of separate runs apart.
pub(crate) fn article(m: &MemberSpec, n: u64, id_prefix: &str, now: DateTime<Utc>) -> Value {
    let mut rng = Rng::new(n.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5);
    let langs = &m.profile.languages;
    let lang = if rng.chance(0.15) {
        "en"
    } else {
        rng.pick(langs).as_str()
    };
    let words = 200 + rng.below(700);
    let (title, summary, body) = text(&mut rng, lang, words, n % 1000 == 7);
    let mut content_map = serde_json::Map::new();
    content_map.insert(lang.to_owned(), json!(body));
    let mut name_map = serde_json::Map::new();
    name_map.insert(lang.to_owned(), json!(title));
    if rng.chance(0.15) {
        let other = if lang == "en" { rng.pick(langs).as_str() } else { "en" };
        if other != lang {
            let (t2, _, b2) = text(&mut rng, other, words / 2, false);
            content_map.insert(other.to_owned(), json!(b2));
            name_map.insert(other.to_owned(), json!(t2));
        }
    }
    let published = now - Duration::seconds(rng.below(730 * 86_400) as i64);
    let updated = if rng.chance(0.1) {
        published + Duration::hours(1 + rng.below(48) as i64)
    } else {
        published
    };
    let mut tags = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let t = TAGS[rng.skewed(TAGS.len())];
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let base = format!("http://{}", m.host);
    let slug = format!("{id_prefix}{n}");
    let mut article = json!({
        "id": format!("{base}/objects/{slug}"),
        "type": "Article",
        "name": title,
        "nameMap": name_map,
        "summary": format!("<p>{summary}</p>"),
        "content": body,
        "contentMap": content_map,
        "sse:kind": if rng.chance(0.25) { "interview" } else { "news" },
        "url": format!("{base}/articles/{slug}"),
        "attributedTo": format!("{base}/users/author{}", rng.below(5)),
        "published": published.to_rfc3339(),
        "updated": updated.to_rfc3339(),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [format!("{base}/users/org/followers")],
        "tag": tags.iter().map(|t| json!({"type": "Hashtag", "name": format!("#{t}"), "href": format!("{base}/tags/{t}")})).collect::<Vec<_>>(),
    });
    if rng.chance(0.4) {
        article["image"] = json!({"type": "Image", "url": format!("{base}/media/{slug}.jpg"), "name": "Photo"});
    }
    article
}

/// Which member writes article `n` of `members`: a few publish much more
/// than most, as in a real network.
pub(crate) fn author_of(n: u64, members: usize) -> usize {
    let mut rng = Rng::new(n ^ 0x5151_5151);
    let u = rng.unit();
    ((u * u) * members as f64) as usize % members.max(1)
}

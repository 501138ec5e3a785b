//! URL slugs: lowercase ASCII words joined by hyphens; and the accent
//! folding they share with the admin's searches ([`fold_for_search`]).

/// Makes a slug from a title: accents folded, everything else dropped.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in title.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else {
            dash = true;
        }
        if out.len() >= 80 {
            break;
        }
    }
    out
}

/// `text` in lower case with accents folded (`Élodie` → `elodie`), as
/// search keys are stored and searched for, so a search finds a name
/// whatever its case and accents.
pub fn fold_for_search(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).flat_map(fold).collect()
}

fn fold(c: char) -> Vec<char> {
    let s = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' | 'č' | 'Č' | 'ć' | 'Ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ě' | 'ę' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' | 'ń' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'ő' => "o",
        'œ' | 'Œ' => "oe",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'ů' | 'ű' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        'š' | 'Š' | 'ś' | 'ş' => "s",
        'ž' | 'Ž' | 'ź' | 'ż' => "z",
        'ł' | 'Ł' => "l",
        'ř' => "r",
        'đ' | 'ď' => "d",
        'ť' | 'ţ' => "t",
        _ => return vec![c],
    };
    s.chars().collect()
}

/// Why `slug` is not a valid slug, if it is not.
pub fn check(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("slug is empty".into());
    }
    if slug.len() > 120 {
        return Err("slug is longer than 120 characters".into());
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
        || slug.ends_with('-')
    {
        return Err(format!(
            "slug `{slug}` may only contain lowercase letters, digits and inner hyphens"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents() {
        assert_eq!(
            slugify("Économie sociale : l'œuvre d'une coopérative !"),
            "economie-sociale-l-oeuvre-d-une-cooperative"
        );
        assert_eq!(slugify("  Ünïcode -- 2026 "), "unicode-2026");
        assert_eq!(fold_for_search("Élodie ŒUVRE @Zoë@Ex.org"), "elodie oeuvre @zoe@ex.org");
    }

    #[test]
    fn checks() {
        assert!(check("a-b-1").is_ok());
        assert!(check("A-b").is_err());
        assert!(check("-a").is_err());
        assert!(check("").is_err());
    }
}

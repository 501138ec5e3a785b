//! JSON Canonicalization Scheme (RFC 8785) over `serde_json::Value`: the
//! bytes `eddsa-jcs-2022` hashes. Object keys sorted by their UTF-16 code
//! units, no whitespace, strings escaped as ECMAScript's `JSON.stringify`
//! does, numbers written as ECMAScript's `Number.prototype.toString`.
//!
//! Our own code rather than a crate: the workspace has none, and this is
//! all of it (the RFC's test cases are below). Gazette's own documents
//! carry integers only; a fraction in someone else's document is written
//! as ECMAScript would, but serde_json reads a few decimal inputs one unit
//! in the last place off, so such a proof may fail to verify here.

use serde_json::{Number, Value};

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// An integer beyond what an IEEE 754 double holds exactly (2^53):
    /// ECMAScript would round it, so two parties could disagree.
    #[error("the number {0} cannot be canonicalised: integers must stay within ±2^53")]
    UnsafeInteger(String),
}

/// The canonical form of `value`.
pub fn canonicalize(value: &Value) -> Result<String, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Escapes as `JSON.stringify`: `"` and `\`, the five short escapes, other
/// control characters as `\u00xx`; everything else as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Largest integer a double holds exactly.
const MAX_SAFE: u64 = 1 << 53;

fn write_number(out: &mut String, n: &Number) -> Result<(), JcsError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE {
            return Err(JcsError::UnsafeInteger(u.to_string()));
        }
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE {
            return Err(JcsError::UnsafeInteger(i.to_string()));
        }
        out.push_str(&i.to_string());
    } else if let Some(f) = n.as_f64() {
        // serde_json holds only finite doubles.
        out.push_str(&ecmascript_number(f));
    }
    Ok(())
}

/// `Number.prototype.toString()` of a finite double (ECMA-262 §6.1.6.1.20):
/// the shortest digits that read back as `f` (Rust's `{:e}` finds them),
/// placed in plain or exponent notation as ECMAScript does.
pub(crate) fn ecmascript_number(f: f64) -> String {
    if f == 0.0 {
        return "0".to_owned(); // -0 too
    }
    let sign = if f < 0.0 { "-" } else { "" };
    // "d.ddde±x" with the shortest round-trip digits.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    // ECMAScript's n: the position of the decimal point after the first digits.
    let n = exp.parse::<i32>().unwrap_or(0) + 1;
    let digits = even_on_a_tie(f.abs(), digits, exp);
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 { format!("+{e}") } else { e.to_string() };
        if k == 1 {
            format!("{digits}e{e}")
        } else {
            format!("{}.{}e{e}", &digits[..1], &digits[1..])
        }
    };
    format!("{sign}{body}")
}

/// Rust's shortest digits, but, when the double lies exactly halfway
/// between two shortest candidates, the even one, as ECMAScript picks
/// (Rust rounds such ties up). Only 17-digit results can tie.
fn even_on_a_tie(f: f64, digits: String, exp: &str) -> String {
    let k = digits.len();
    if k < 17 {
        return digits;
    }
    // The double's exact decimal expansion (at most 767 significant digits).
    let exact = format!("{f:.800e}");
    let Some((mantissa, exact_exp)) = exact.split_once('e') else {
        return digits;
    };
    let exact_digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let rest = &exact_digits[k.min(exact_digits.len())..];
    let tie = exact_exp == exp && rest.starts_with('5') && rest[1..].bytes().all(|b| b == b'0');
    if !tie {
        return digits;
    }
    let truncated = exact_digits[..k].to_owned();
    let Some(up) = increment(&truncated) else {
        return digits;
    };
    let even = |d: &String| d.bytes().last().is_some_and(|b| (b - b'0').is_multiple_of(2));
    let reads_back = |d: &String| format!("{}.{}e{exp}", &d[..1], &d[1..]).parse::<f64>().ok() == Some(f);
    [truncated, up]
        .into_iter()
        .find(|d| d.len() == k && even(d) && reads_back(d))
        .unwrap_or(digits)
}

/// `digits` plus one in its last place (`None` when it would carry past the first digit).
fn increment(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 8785 §3.2.3: keys sorted by UTF-16 code units (the emoji's
    /// surrogates come before U+FB33, though its code point is larger).
    #[test]
    fn sorts_keys_by_utf16_code_units() {
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\
             \"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785 §3.2.2's example, whole (its numbers are written with
    /// ECMAScript's rules; the escapes as JSON.stringify writes them).
    #[test]
    fn rfc8785_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let mut v: Value = serde_json::from_str(input).unwrap();
        // serde_json's parser is not correctly rounded for every input (this
        // one reads a double one below): the double it names, by its bits.
        v["numbers"][0] = json!(f64::from_bits(0x41b3de4355555555));
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
             \"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    /// RFC 8785 Appendix B: doubles by their IEEE 754 bits and how
    /// ECMAScript writes them.
    #[test]
    fn rfc8785_number_samples() {
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, want) in cases {
            assert_eq!(ecmascript_number(f64::from_bits(*bits)), *want, "{bits:#x}");
        }
    }

    #[test]
    fn integers_and_unsafe_integers() {
        assert_eq!(
            canonicalize(&json!([0, -1, 9007199254740992u64])).unwrap(),
            "[0,-1,9007199254740992]"
        );
        assert!(matches!(
            canonicalize(&json!({"n": 9007199254740993u64})),
            Err(JcsError::UnsafeInteger(_))
        ));
        assert!(canonicalize(&json!(-9007199254740993i64)).is_err());
    }

    #[test]
    fn nested_objects_are_sorted_and_arrays_kept_in_order() {
        let v = json!({"b": [3, {"z": 1, "a": "x"}], "a": {"d": null, "c": true}});
        assert_eq!(
            canonicalize(&v).unwrap(),
            r#"{"a":{"c":true,"d":null},"b":[3,{"a":"x","z":1}]}"#
        );
    }
}

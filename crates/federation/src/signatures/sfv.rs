//! The part of RFC 8941 structured fields that RFC 9421 signatures use:
//! parsing a dictionary (`Signature-Input`, `Signature`, `Content-Digest`,
//! `Accept-Signature`) and serialising an inner list with its parameters,
//! which is the `@signature-params` line of a signature base.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// A bare item (decimals are not supported: no signature parameter uses them).
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// Parameters in the order they were given.
pub type Params = Vec<(String, Bare)>;

/// A bare item with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub bare: Bare,
    pub params: Params,
}

/// A dictionary member: an item or an inner list.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Item(Item),
    InnerList(Vec<Item>, Params),
}

/// The value of parameter `name`, if given.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<&'a Bare> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Parses a dictionary; a later member with the same key replaces the
/// earlier one, as RFC 8941 says.
pub fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, String> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    let mut out: Vec<(String, Member)> = Vec::new();
    p.skip_sp();
    if p.at_end() {
        return Ok(out);
    }
    loop {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                let (items, params) = p.inner_list()?;
                Member::InnerList(items, params)
            } else {
                let bare = p.bare()?;
                Member::Item(Item {
                    bare,
                    params: p.params()?,
                })
            }
        } else {
            Member::Item(Item {
                bare: Bare::Bool(true),
                params: p.params()?,
            })
        };
        out.retain(|(k, _)| *k != key);
        out.push((key, member));
        p.skip_ows();
        if p.at_end() {
            return Ok(out);
        }
        if !p.eat(b',') {
            return Err(format!("expected `,` at byte {}", p.i));
        }
        p.skip_ows();
        if p.at_end() {
            return Err("trailing `,`".into());
        }
    }
}

/// `("a" "b";x=1);created=1;keyid="k"`: an inner list serialised as RFC 8941 says.
pub fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let mut out = String::from("(");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        serialize_bare(&item.bare, &mut out);
        serialize_params(&item.params, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

/// `"name";p=1`: one item with its parameters.
pub fn serialize_item(item: &Item) -> String {
    let mut out = String::new();
    serialize_bare(&item.bare, &mut out);
    serialize_params(&item.params, &mut out);
    out
}

/// `;name=value…` appended to `out`.
pub fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if *v != Bare::Bool(true) {
            out.push('=');
            serialize_bare(v, out);
        }
    }
}

fn serialize_bare(bare: &Bare, out: &mut String) {
    match bare {
        Bare::Integer(i) => out.push_str(&i.to_string()),
        Bare::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Bare::Token(t) => out.push_str(t),
        Bare::Bytes(b) => {
            out.push(':');
            out.push_str(&BASE64.encode(b));
            out.push(':');
        }
        Bare::Bool(true) => out.push_str("?1"),
        Bare::Bool(false) => out.push_str("?0"),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(format!("expected a key at byte {start}")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*') {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn params(&mut self) -> Result<Params, String> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') { self.bare()? } else { Bare::Bool(true) };
            params.retain(|(k, _)| *k != key);
            params.push((key, value));
        }
        Ok(params)
    }

    fn inner_list(&mut self) -> Result<(Vec<Item>, Params), String> {
        self.eat(b'(');
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                return Ok((items, self.params()?));
            }
            let bare = self.bare()?;
            items.push(Item {
                bare,
                params: self.params()?,
            });
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(format!("expected a space or `)` at byte {}", self.i));
            }
        }
    }

    fn bare(&mut self) -> Result<Bare, String> {
        let start = self.i;
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                self.i += 1;
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
                if self.peek() == Some(b'.') {
                    return Err(format!("decimal at byte {start} not supported"));
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                if text.len() > 16 {
                    return Err(format!("integer at byte {start} too long"));
                }
                text.parse()
                    .map(Bare::Integer)
                    .map_err(|_| format!("bad integer at byte {start}"))
            }
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return Err(format!("unterminated string at byte {start}")),
                        Some(b'"') => {
                            self.i += 1;
                            return Ok(Bare::String(out));
                        }
                        Some(b'\\') => {
                            self.i += 1;
                            match self.peek() {
                                Some(c @ (b'"' | b'\\')) => out.push(c as char),
                                _ => return Err(format!("bad escape in string at byte {start}")),
                            }
                            self.i += 1;
                        }
                        Some(c @ 0x20..=0x7e) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        Some(_) => return Err(format!("bad character in string at byte {}", self.i)),
                    }
                }
            }
            Some(b':') => {
                self.i += 1;
                let from = self.i;
                while let Some(c) = self.peek() {
                    if c == b':' {
                        break;
                    }
                    self.i += 1;
                }
                if !self.eat(b':') {
                    return Err(format!("unterminated byte sequence at byte {start}"));
                }
                BASE64
                    .decode(&self.s[from..self.i - 1])
                    .map(Bare::Bytes)
                    .map_err(|_| format!("byte sequence at byte {start} is not base64"))
            }
            Some(b'?') => {
                self.i += 1;
                let value = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err(format!("bad boolean at byte {start}")),
                };
                self.i += 1;
                Ok(Bare::Bool(value))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                self.i += 1;
                while let Some(c) = self.peek() {
                    // tchar, ":" and "/"
                    if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                Ok(Bare::Token(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => Err(format!("expected an item at byte {start}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reserialises_signature_inputs() {
        let input = r#"sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example", sig2=("@method")"#;
        let dict = parse_dictionary(input).unwrap();
        assert_eq!(dict.len(), 2);
        let Member::InnerList(items, params) = &dict[0].1 else {
            panic!("not an inner list")
        };
        assert_eq!(items.len(), 3);
        assert_eq!(param(&items[2].params, "name"), Some(&Bare::String("Pet".into())));
        assert_eq!(param(params, "created"), Some(&Bare::Integer(1618884473)));
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#
        );
    }

    #[test]
    fn parses_byte_sequences_tokens_and_booleans() {
        let dict = parse_dictionary("a=:aGk=:, b=tok/en;x, c, d=?0").unwrap();
        assert_eq!(
            dict[0].1,
            Member::Item(Item {
                bare: Bare::Bytes(b"hi".to_vec()),
                params: vec![]
            })
        );
        assert_eq!(
            dict[1].1,
            Member::Item(Item {
                bare: Bare::Token("tok/en".into()),
                params: vec![("x".into(), Bare::Bool(true))]
            })
        );
        assert_eq!(
            dict[2].1,
            Member::Item(Item {
                bare: Bare::Bool(true),
                params: vec![]
            })
        );
        assert_eq!(
            dict[3].1,
            Member::Item(Item {
                bare: Bare::Bool(false),
                params: vec![]
            })
        );
    }

    #[test]
    fn refuses_malformed_dictionaries() {
        for bad in [
            "A=1", "a=", "a=1,", "a=\"open", "a=:!!:", "a=(\"x\"", "a=1.5", "a=1 b=2",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
        assert!(parse_dictionary("").unwrap().is_empty());
    }
}

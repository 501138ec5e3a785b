//! A small element tree over quick-xml, enough to read WordPress exports,
//! RSS and Atom: element names as written (`wp:status`, `content:encoded`),
//! attributes, and each element's text (character data and CDATA, entities
//! resolved). Namespaces are matched by their usual prefixes, which is how
//! WordPress and feed generators write them.

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element with its attributes, text and child elements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text (not its children's), with entities resolved.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, empty if none.
    pub fn text_of(&self, name: &str) -> &str {
        self.child(name).map(|c| c.text.trim()).unwrap_or("")
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a whole document and returns its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML error at byte {at}: {e}"))?;
        match event {
            Event::Start(start) => stack.push(open(&start)?),
            Event::Empty(start) => {
                let element = open(&start)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(element);
                }
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(format!("XML error at byte {at}: closing tag without opening tag"));
                }
                if let Some(done) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.children.push(done);
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| format!("XML text at byte {at}: {e}"))?;
                push_text(&mut stack, &text);
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| format!("XML CDATA at byte {at}: {e}"))?;
                push_text(&mut stack, &text);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.decode().map_err(|e| format!("XML entity at byte {at}: {e}"))?;
                        quick_xml::escape::resolve_xml_entity(&name)
                            .map(str::to_owned)
                            .ok_or_else(|| format!("XML error at byte {at}: unknown entity `&{name};`"))?
                    }
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err("XML error: the document ends inside an element".into());
    }
    stack
        .pop()
        .and_then(|doc| doc.children.into_iter().next())
        .ok_or_else(|| "XML error: the document has no root element".into())
}

fn open(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in start.attributes().with_checks(false) {
        let a = a.map_err(|e| format!("XML attribute of <{name}>: {e}"))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| format!("XML attribute `{key}` of <{name}>: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Default::default()
    })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_attributes_text_cdata_and_entities() {
        let doc = parse(
            br#"<?xml version="1.0"?><rss><channel><title>A &amp; B &#233;</title>
            <item><content:encoded><![CDATA[<p>Hi</p>]]></content:encoded><category domain="post_tag" nicename="x">X</category><e/></item></channel></rss>"#,
        )
        .expect("parses");
        assert_eq!(doc.name, "rss");
        let channel = doc.child("channel").expect("channel");
        assert_eq!(channel.text_of("title"), "A & B é");
        let item = channel.child("item").expect("item");
        assert_eq!(item.text_of("content:encoded"), "<p>Hi</p>");
        let cat = item.child("category").expect("category");
        assert_eq!(cat.attr("domain"), Some("post_tag"));
        assert!(item.child("e").is_some());
    }

    #[test]
    fn refuses_broken_documents() {
        assert!(parse(b"<rss><channel></rss>").is_err());
        assert!(parse(b"").is_err());
    }
}

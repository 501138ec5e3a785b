//! The shapes received activities share: an object given by its id or
//! embedded ([`ObjectRef`]), an embedded object of any type ([`Embedded`]),
//! a property that may hold one value or a list ([`one_or_many`]), and the
//! parse that names the field a sender got wrong ([`parse`]).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use url::Url;

use crate::error::FederationError;

/// An object property: a bare id, or the object embedded.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectRef<T = Embedded> {
    Id(Url),
    Embedded(T),
}

/// What has an `id` when embedded (it may be missing: an embedded object
/// need not be addressable).
pub trait HasId {
    fn object_id(&self) -> Option<&Url>;
}

impl<T: HasId> ObjectRef<T> {
    /// The id, given bare or in the embedded object.
    pub fn id(&self) -> Option<&Url> {
        match self {
            ObjectRef::Id(id) => Some(id),
            ObjectRef::Embedded(o) => o.object_id(),
        }
    }

    /// The embedded object, if it was embedded.
    pub fn embedded(&self) -> Option<&T> {
        match self {
            ObjectRef::Id(_) => None,
            ObjectRef::Embedded(o) => Some(o),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectRef<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RefVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for RefVisitor<T> {
            type Value = ObjectRef<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id (a URL) or an embedded object")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Url::parse(s)
                    .map(ObjectRef::Id)
                    .map_err(|e| E::custom(format!("`{s}` is not a URL: {e}")))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectRef::Embedded)
            }
        }
        d.deserialize_any(RefVisitor(std::marker::PhantomData))
    }
}

/// An embedded object of any type: its `id` and `type` read, the rest kept
/// as it came for the handler that reads more of it (a reply's `Note`, a
/// followed actor's `Article`).
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    pub id: Option<Url>,
    pub kind: Option<String>,
    pub raw: Value,
}

impl HasId for Embedded {
    fn object_id(&self) -> Option<&Url> {
        self.id.as_ref()
    }
}

impl Embedded {
    /// The object's `type`, when it has one.
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The id of the object (bare or embedded) in property `name`.
    pub fn id_in(&self, name: &str) -> Option<String> {
        match self.raw.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Embedded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(d)?;
        if !raw.is_object() {
            return Err(de::Error::custom("expected an embedded object"));
        }
        let id = match raw.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(Url::parse(s).map_err(|e| de::Error::custom(format!("id `{s}` is not a URL: {e}")))?)
            }
            Some(_) => return Err(de::Error::custom("id is not a string")),
        };
        let kind = match raw.get("type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            // JSON-LD allows several types; the first one names it for us.
            Some(Value::Array(types)) => types.iter().find_map(Value::as_str).map(str::to_owned),
            Some(_) => return Err(de::Error::custom("type is not a string")),
        };
        Ok(Embedded { id, kind, raw })
    }
}

/// A property that may hold one value or a list of them, read as a list.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let one = |v: Value| serde_json::from_value::<T>(v).map_err(de::Error::custom);
    match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().map(one).collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![one(other)?]),
    }
}

/// Parses an activity of type `kind` from its body; a failure is a 400
/// that names the field (`object.id`, `target`…) and what was wrong with it.
pub fn parse<T: DeserializeOwned>(kind: &str, body: &[u8]) -> Result<T, FederationError> {
    // The path is tracked only once a parse has failed: tracking it costs
    // every parse, and only a failed one needs it.
    if let Ok(parsed) = serde_json::from_slice(body) {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            FederationError::bad_request(format!("the {kind} activity does not parse: {inner}"))
        } else {
            FederationError::bad_request(format!("the {kind} activity does not parse at `{path}`: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Test {
        object: ObjectRef,
        #[serde(default, deserialize_with = "one_or_many")]
        many: Vec<ObjectRef>,
    }

    fn message(e: FederationError) -> String {
        match e {
            FederationError::Refused(status, m) => {
                assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
                m
            }
            other => panic!("not a refusal: {other}"),
        }
    }

    #[test]
    fn an_object_is_an_id_or_embedded() {
        let t: Test = parse("Test", br#"{"object": "https://a.example/n/1"}"#).unwrap();
        assert_eq!(t.object, ObjectRef::Id(Url::parse("https://a.example/n/1").unwrap()));
        assert!(t.many.is_empty());
        let t: Test = parse(
            "Test",
            br#"{"object": {"id": "https://a.example/n/1", "type": "Note", "content": "hi"}, "many": "https://a.example/x"}"#,
        )
        .unwrap();
        assert_eq!(t.object.id().map(Url::as_str), Some("https://a.example/n/1"));
        let embedded = t.object.embedded().unwrap();
        assert_eq!(embedded.kind(), Some("Note"));
        assert_eq!(embedded.raw["content"], "hi");
        assert_eq!(t.many.len(), 1);
        let t: Test = parse("Test", br#"{"object": {"type": ["Note", "x:Other"]}, "many": []}"#).unwrap();
        assert_eq!(t.object.id(), None, "an embedded object need not have an id");
        assert_eq!(t.object.embedded().unwrap().kind(), Some("Note"));
    }

    #[test]
    fn a_bad_field_is_named() {
        let m = message(parse::<Test>("Like", br#"{}"#).unwrap_err());
        assert!(m.contains("Like") && m.contains("missing field `object`"), "{m}");
        let m = message(parse::<Test>("Like", br#"{"object": "not a url"}"#).unwrap_err());
        assert!(
            m.contains("at `object`") && m.contains("`not a url` is not a URL"),
            "{m}"
        );
        let m = message(parse::<Test>("Like", br#"{"object": {"id": "nope"}}"#).unwrap_err());
        assert!(m.contains("at `object`") && m.contains("id `nope` is not a URL"), "{m}");
        let m = message(parse::<Test>("Like", br#"{"object": 42}"#).unwrap_err());
        assert!(m.contains("an id (a URL) or an embedded object"), "{m}");
        let m = message(parse::<Test>("Flag", br#"{"object": "https://a.example/", "many": [3]}"#).unwrap_err());
        assert!(m.contains("at `many`"), "{m}");
        let m = message(parse::<Test>("Like", b"{not json").unwrap_err());
        assert!(m.starts_with("the Like activity does not parse"), "{m}");
    }
}

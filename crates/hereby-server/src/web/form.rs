//! A submitted form read into the API's own request types, so that a form and a JSON body
//! reach the one parser (`Command::try_from(request)`) as the same value. Forms differ from
//! JSON in a few ways this reader bridges: every value is text, a blank field means absent,
//! a ticked checkbox sends `on` (a hidden `false` before it stands for "unticked"), a
//! repeated field or a comma-separated one fills a list, and the last of repeated values
//! wins for a single one.

use serde::de::value::{Error, MapDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::session::Fields;
use crate::error::ApiError;

/// The values of one field name, in the order sent.
struct Values<'a>(Vec<&'a str>);

impl<'a> Values<'a> {
    fn last(&self) -> &'a str {
        self.0.last().copied().unwrap_or_default()
    }
}

impl<'de> IntoDeserializer<'de, Error> for Values<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Values<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.last())
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.last().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => visitor.visit_bool(true),
            "off" | "false" | "0" | "no" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!("`{other}` is not yes or no"))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // Only fields that were sent (and not blank) are here at all.
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let items = self
            .0
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty());
        visitor.visit_seq(de::value::SeqDeserializer::new(items))
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let raw = self.last();
        visitor.visit_u16(
            raw.parse().map_err(|_| {
                de::Error::custom(format!("`{raw}` is not a number from 0 to 65535"))
            })?,
        )
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let raw = self.last();
        visitor.visit_u32(
            raw.parse()
                .map_err(|_| de::Error::custom(format!("`{raw}` is not a number")))?,
        )
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let raw = self.last();
        visitor.visit_u64(
            raw.parse()
                .map_err(|_| de::Error::custom(format!("`{raw}` is not a number")))?,
        )
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let raw = self.last();
        visitor.visit_i64(
            raw.parse()
                .map_err(|_| de::Error::custom(format!("`{raw}` is not a number")))?,
        )
    }

    forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// Reads the form into `T`, the API's request type for the same action. `_csrf` and the
/// fields named in `besides` (values the API takes from the path, such as an action item's
/// number) are left out.
pub(crate) fn request<T: DeserializeOwned>(
    fields: &Fields,
    besides: &[&str],
) -> Result<T, ApiError> {
    let mut grouped: Vec<(&str, Values<'_>)> = Vec::new();
    for (name, value) in fields.pairs() {
        let value = value.trim();
        if name == "_csrf" || besides.contains(&name) || value.is_empty() {
            continue;
        }
        match grouped.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, values)) => values.0.push(value),
            None => grouped.push((name, Values(vec![value]))),
        }
    }
    T::deserialize(MapDeserializer::new(grouped.into_iter())).map_err(|error: Error| {
        let message = error.to_string();
        let message = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            Some(field) => format!("{field}: must not be empty"),
            None => message,
        };
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            message,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn forms_read_into_the_api_s_request_types() {
        let declare: hereby_api::DeclareRequest = request(
            &fields(&[
                ("_csrf", "x"),
                ("title", " Checkout down "),
                ("summary", ""),
                ("services", "checkout, payments"),
                ("potential", "false"),
                ("potential", "on"),
                ("visibility", "restricted"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(declare.title, "Checkout down");
        assert_eq!(declare.summary, None, "a blank field is absent");
        assert_eq!(declare.services, ["checkout", "payments"]);
        assert!(
            declare.potential,
            "the ticked checkbox after the hidden `false` wins"
        );
        assert_eq!(declare.visibility.as_deref(), Some("restricted"));

        let rule: hereby_api::WitnessRule =
            request(&fields(&[("required", "false")]), &[]).unwrap();
        assert!(!rule.required, "an unticked checkbox is its hidden `false`");

        let done: hereby_api::ReasonRequest =
            request(&fields(&[("item", "3"), ("reason", "")]), &["item"]).unwrap();
        assert_eq!(done.reason, None);

        let missing =
            request::<hereby_api::NoteRequest>(&fields(&[("text", "  ")]), &[]).unwrap_err();
        assert_eq!(missing.message, "text: must not be empty");
        let unknown =
            request::<hereby_api::NoteRequest>(&fields(&[("text", "x"), ("y", "z")]), &[])
                .unwrap_err();
        assert_eq!(unknown.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        let bad =
            request::<hereby_api::WitnessRule>(&fields(&[("required", "maybe")]), &[]).unwrap_err();
        assert!(bad.message.contains("maybe"), "{}", bad.message);
    }
}

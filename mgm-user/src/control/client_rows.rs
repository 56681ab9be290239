//! Reading a response whose data is an array one row at a time: serde's visitor hands every
//! element to a callback as soon as it is parsed, so the array is never held whole.
use crate::control::api::Response;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// A [`Response`] whose `data` rows go to `each`; what it returns has no data. A response of
/// another protocol version stops before its rows, with the message in `mismatch`.
pub(super) struct StreamedResponse<'a, T, F> {
    pub each: &'a mut F,
    pub mismatch: &'a mut Option<String>,
    pub _row: PhantomData<T>,
}

impl<'de, T, F> DeserializeSeed<'de> for StreamedResponse<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(T) -> Result<(), ()>,
{
    type Value = Response<()>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, F> Visitor<'de> for StreamedResponse<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(T) -> Result<(), ()>,
{
    type Value = Response<()>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut resp = Response::<()> {
            version: 0,
            id: None,
            ok: false,
            data: None,
            error: None,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => resp.version = map.next_value()?,
                "id" => resp.id = map.next_value()?,
                "ok" => resp.ok = map.next_value()?,
                "error" => resp.error = map.next_value()?,
                "data" => {
                    // Rows of another version may not read as `T`: stop before them.
                    if let Err(e) = resp.check_version() {
                        *self.mismatch = Some(e);
                        return Err(de::Error::custom("another protocol version"));
                    }
                    map.next_value_seed(Rows {
                        each: &mut *self.each,
                        _row: PhantomData::<T>,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(resp)
    }
}

/// The array of rows (or `null`), each handed to `each`.
struct Rows<'a, T, F> {
    each: &'a mut F,
    _row: PhantomData<T>,
}

impl<'de, T, F> DeserializeSeed<'de> for Rows<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(T) -> Result<(), ()>,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T, F> Visitor<'de> for Rows<'_, T, F>
where
    T: DeserializeOwned,
    F: FnMut(T) -> Result<(), ()>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<T>()? {
            (self.each)(row).map_err(|()| de::Error::custom("stopped by the reader"))?;
        }
        Ok(())
    }
}

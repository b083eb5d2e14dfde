//! Lenient decoding for the generated types (the generator points fields at
//! it): Plugipay's official SDKs accept `null` where a map or list may be
//! absent, and so do we.

use serde::{Deserialize, Deserializer};

/// Reads `null` (or an absent field, with `#[serde(default)]`) as `T`'s default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

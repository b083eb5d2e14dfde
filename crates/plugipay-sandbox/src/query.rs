//! A request's query string read as an operation's generated parameters:
//! each parameter is checked alone first, so one whose value does not fit
//! its type is a validation error naming it (`error.field`); unknown
//! parameters are ignored, as by the live API.

use serde::de::DeserializeOwned;

use crate::failure::Failure;

/// The query string (none: every parameter unset) as `T`.
pub(crate) fn read<T: DeserializeOwned + Default>(query: Option<&str>) -> Result<T, Failure> {
    let Some(query) = query else {
        return Ok(T::default());
    };
    let malformed = || Failure::malformed("the query string is malformed");
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| malformed())?;
    for (name, value) in &pairs {
        let alone = serde_urlencoded::to_string([(name, value)]).map_err(|_| malformed())?;
        serde_urlencoded::from_str::<T>(&alone).map_err(|_| {
            Failure::validation(
                name.as_str(),
                format!("{name} {value:?} is not a valid value of this parameter"),
            )
        })?;
    }
    serde_urlencoded::from_str(query)
        .map_err(|_| Failure::malformed("the query string repeats a parameter or is malformed"))
}

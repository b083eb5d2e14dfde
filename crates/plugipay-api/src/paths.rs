//! The paths of the spec's customer and event operations, from the
//! generated descriptors: for mocks and raw requests that should follow the
//! spec when a path moves (regenerating is the only edit).
//!
//! ```
//! use plugipay_api::paths;
//!
//! assert!(paths::customers().ends_with("/customers"));
//! assert_eq!(paths::customer("a/b"), format!("{}/a%2Fb", paths::customers()));
//! ```

use crate::endpoint::Endpoint;
use crate::endpoints::{GetCustomer, GetEvent, ListCustomers, ListEvents};

/// The customers collection (`list_customers`, `create_customer`).
pub fn customers() -> &'static str {
    ListCustomers::PATH
}

/// One customer, its id escaped as one path segment (as it is sent).
pub fn customer(id: &str) -> String {
    GetCustomer { id: id.to_owned() }.path()
}

/// The events collection (`list_events`).
pub fn events() -> &'static str {
    ListEvents::PATH
}

/// One event, its id escaped as one path segment.
pub fn event(id: &str) -> String {
    GetEvent { id: id.to_owned() }.path()
}

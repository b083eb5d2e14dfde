//! The sandbox's integration tests, one binary with a module per concern:
//! end to end through the SDK, fidelity to the live API's published
//! behaviour, rate limits, webhook deliveries, the fault proxy and hostile
//! clients. `common` holds an independent client written from the protocol
//! and the checks of answers against the spec.

mod common;

mod deliveries;
mod e2e;
mod fault_proxy;
mod fidelity;
mod hostile_clients;
mod rate_limits;
